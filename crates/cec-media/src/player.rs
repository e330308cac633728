//! Plays prompts, tones and silence as 20 ms frames paced by `now`: sequences, loops (hold
//! music) and DTMF barge-in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::frame::{FRAME_DURATION, FRAME_SAMPLES, Frame, samples_in};
use crate::prompt::Prompt;
use crate::tone::{Tone, ToneGenerator};

/// If the caller polls this late, pacing restarts from `now` instead of bursting frames.
const MAX_LAG: Duration = Duration::from_millis(100);

/// One element of a playlist.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayItem {
    /// A recorded prompt, played to its end.
    Prompt(Prompt),
    /// A generated tone for a fixed time.
    Tone {
        /// The tone.
        tone: Tone,
        /// How long to play it.
        duration: Duration,
    },
    /// Silence for a fixed time.
    Silence(Duration),
}

/// How often a playlist plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Once.
    Once,
    /// This many times in total (0 behaves like 1).
    Times(u32),
    /// Until stopped (hold music).
    Forever,
}

/// What the player plays: items in order, repeated, optionally interruptible by DTMF.
#[derive(Debug, Clone, PartialEq)]
pub struct Playlist {
    /// Played in order.
    pub items: Vec<PlayItem>,
    /// How many passes.
    pub repeat: Repeat,
    /// Whether a DTMF digit stops playback (and is reported).
    pub barge_in: bool,
}

/// Peak amplitude of the hold chime's notes: about -15 dBm0, softer than call-progress
/// tones, since a caller may hear it for minutes.
const HOLD_AMPLITUDE: i16 = 4_000;

impl Playlist {
    /// One item, played once, not interruptible.
    pub fn once(item: PlayItem) -> Self {
        Self {
            items: vec![item],
            repeat: Repeat::Once,
            barge_in: false,
        }
    }

    /// The default hold pattern, for a queue without hold music: a soft two-note chime
    /// ("ding-dong": 650 Hz for 240 ms, then 520 Hz for 400 ms, a falling major third)
    /// every 5 s, looped until stopped, not interruptible.
    ///
    /// Why this and not a standard tone: ITU-T E.180 leaves "comfort" and queue tones to
    /// national practice, and the ringback and busy cadences callers do know mean
    /// something else ("it is ringing", "give up"). A quiet chime with long silences reads
    /// as "still connected, waiting" everywhere. Each note holds a whole number of
    /// cycles, so it starts and ends at a zero crossing (no click).
    pub fn hold_pattern() -> Self {
        let note = |frequency: f64, millis: u64| PlayItem::Tone {
            tone: Tone {
                frequencies: vec![frequency],
                amplitude: HOLD_AMPLITUDE,
                cadence: Vec::new(),
            },
            duration: Duration::from_millis(millis),
        };
        Self {
            items: vec![
                note(650.0, 240),
                note(520.0, 400),
                PlayItem::Silence(Duration::from_millis(4_360)),
            ],
            repeat: Repeat::Forever,
            barge_in: false,
        }
    }
}

/// What happened to a playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerEvent {
    /// All passes played.
    Finished,
    /// A DTMF digit interrupted playback.
    BargeIn {
        /// The digit (`0`-`9`, `*`, `#`, `A`-`D`).
        digit: char,
    },
    /// [`Player::play`] or [`Player::stop`] replaced the playlist before it ended.
    Stopped,
}

/// Where the player is inside the current item.
#[derive(Debug, Clone)]
enum Cursor {
    Prompt { prompt: Prompt, offset: usize },
    Tone { generator: ToneGenerator, left: u64 },
    Silence { left: u64 },
}

impl Cursor {
    fn is_exhausted(&self) -> bool {
        match self {
            Self::Prompt { prompt, offset } => *offset >= prompt.samples().len(),
            Self::Tone { left, .. } | Self::Silence { left } => *left == 0,
        }
    }
}

/// Produces frames of the current playlist on demand.
#[derive(Debug, Clone, Default)]
pub struct Player {
    playlist: Option<Playlist>,
    item: usize,
    passes: u32,
    cursor: Option<Cursor>,
    /// Samples produced in the current pass (an empty pass must not loop forever).
    pass_samples: u64,
    next_due: Option<Instant>,
    events: VecDeque<PlayerEvent>,
}

impl Player {
    /// An idle player.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `playlist` now, replacing (and reporting [`PlayerEvent::Stopped`] for) any
    /// playlist still playing.
    pub fn play(&mut self, now: Instant, playlist: Playlist) {
        self.stop();
        self.item = 0;
        self.passes = 0;
        self.pass_samples = 0;
        self.cursor = playlist.items.first().map(Self::cursor_for);
        if self.cursor.is_none() {
            self.events.push_back(PlayerEvent::Finished);
            return;
        }
        self.playlist = Some(playlist);
        self.next_due = Some(now);
    }

    /// Stops playback.
    pub fn stop(&mut self) {
        if self.playlist.take().is_some() {
            self.events.push_back(PlayerEvent::Stopped);
        }
        self.finish_quietly();
    }

    /// Whether a playlist is playing.
    pub fn is_playing(&self) -> bool {
        self.playlist.is_some()
    }

    /// Reports a received DTMF digit; returns whether it interrupted playback.
    pub fn handle_dtmf(&mut self, digit: char) -> bool {
        let interruptible = self.playlist.as_ref().is_some_and(|p| p.barge_in);
        if interruptible {
            self.playlist = None;
            self.finish_quietly();
            self.events.push_back(PlayerEvent::BargeIn { digit });
        }
        interruptible
    }

    /// When the next frame is due, if playing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_due
    }

    /// The next frame if one is due at `now`.
    pub fn poll_frame(&mut self, now: Instant) -> Option<Frame> {
        let due = self.next_due?;
        if now < due {
            return None;
        }
        let base = if now.duration_since(due) > MAX_LAG {
            now
        } else {
            due
        };
        self.next_due = Some(base + FRAME_DURATION);
        let mut frame = [0; FRAME_SAMPLES];
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(rest) = frame.get_mut(filled..) else {
                break;
            };
            match self.render(rest) {
                Some(0) => self.next_item(),
                Some(n) => filled += n,
                None => break,
            }
        }
        // An item ending exactly on the frame boundary: move on now, so the end of the
        // playlist is reported with its last frame rather than after an extra one.
        while self.cursor.as_ref().is_some_and(Cursor::is_exhausted) {
            self.next_item();
        }
        if self.playlist.is_none() {
            // The last samples are out (padded with silence); nothing further is due.
            self.next_due = None;
        }
        Some(frame)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PlayerEvent> {
        self.events.pop_front()
    }

    fn finish_quietly(&mut self) {
        self.cursor = None;
        self.next_due = None;
    }

    fn cursor_for(item: &PlayItem) -> Cursor {
        match item {
            PlayItem::Prompt(prompt) => Cursor::Prompt {
                prompt: prompt.clone(),
                offset: 0,
            },
            PlayItem::Tone { tone, duration } => Cursor::Tone {
                generator: ToneGenerator::new(tone.clone()),
                left: samples_in(*duration),
            },
            PlayItem::Silence(duration) => Cursor::Silence {
                left: samples_in(*duration),
            },
        }
    }

    /// Writes samples of the current item into `out`; `Some(0)` when the item is done,
    /// `None` when nothing is playing.
    fn render(&mut self, out: &mut [i16]) -> Option<usize> {
        let written = match self.cursor.as_mut()? {
            Cursor::Prompt { prompt, offset } => {
                let rest = prompt.samples().get(*offset..).unwrap_or_default();
                let n = rest.len().min(out.len());
                out.iter_mut().zip(rest).for_each(|(o, s)| *o = *s);
                *offset += n;
                n
            }
            Cursor::Tone { generator, left } => {
                let n = out.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                generator.fill(out.get_mut(..n).unwrap_or_default());
                *left -= n as u64;
                n
            }
            Cursor::Silence { left } => {
                let n = out.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                out.iter_mut().take(n).for_each(|o| *o = 0);
                *left -= n as u64;
                n
            }
        };
        self.pass_samples += written as u64;
        Some(written)
    }

    fn next_item(&mut self) {
        let Some(playlist) = self.playlist.as_ref() else {
            self.finish_quietly();
            return;
        };
        self.item += 1;
        if self.item >= playlist.items.len() {
            self.passes += 1;
            let more = match playlist.repeat {
                Repeat::Once => false,
                Repeat::Times(n) => self.passes < n,
                Repeat::Forever => true,
            };
            // A pass that produced nothing would loop forever without producing audio.
            if !more || self.pass_samples == 0 {
                self.playlist = None;
                self.cursor = None;
                self.events.push_back(PlayerEvent::Finished);
                return;
            }
            self.item = 0;
            self.pass_samples = 0;
        }
        self.cursor = playlist.items.get(self.item).map(Self::cursor_for);
    }
}
