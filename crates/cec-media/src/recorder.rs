//! Two-channel call recorder: caller on channel 0, agent on channel 1, one 20 ms frame per
//! tick so both sides stay aligned, silence for gaps and loss.
//!
//! The WAV file is written incrementally through a `Write + Seek` sink: audio is buffered
//! in memory for at most `flush_interval` (≤ 1 s), then appended and the RIFF and data
//! sizes are patched. A writer that dies without [`Recorder::finish`] leaves a valid file
//! missing at most the last second.

use std::collections::VecDeque;
use std::io::{self, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use crate::frame::{FRAME_DURATION, FRAME_SAMPLES, Frame, SAMPLE_RATE, frames_in};
use crate::jitter::{JitterBuffer, JitterConfig, Playout};

/// Bytes of the canonical 44-byte PCM WAV header.
pub const WAV_HEADER_BYTES: u64 = 44;
const CHANNELS: u16 = 2;
const BYTES_PER_FRAME: usize = FRAME_SAMPLES * CHANNELS as usize * 2;
/// WAV sizes are 32-bit: stop before the RIFF size would overflow.
const MAX_WAV_DATA_BYTES: u64 = u32::MAX as u64 - WAV_HEADER_BYTES;

/// Which party a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The customer: channel 0 (left).
    Caller,
    /// The agent: channel 1 (right).
    Agent,
}

/// What a paused recording contains for the paused time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PauseMode {
    /// Silence of the paused length: the file keeps the call's timeline.
    #[default]
    Silence,
    /// Nothing: the file is shorter than the call.
    Cut,
}

/// Recorder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Stop after this much audio.
    pub max_duration: Option<Duration>,
    /// Stop before the file would exceed this many bytes (header included).
    pub max_bytes: Option<u64>,
    /// How much audio may wait in memory before being written; capped at 1 s.
    pub flush_interval: Duration,
    /// What pausing does.
    pub pause_mode: PauseMode,
    /// Reordering per side.
    pub jitter: JitterConfig,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            max_duration: None,
            max_bytes: None,
            flush_interval: Duration::from_secs(1),
            pause_mode: PauseMode::Silence,
            jitter: JitterConfig::default(),
        }
    }
}

/// Why a recording stopped by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_duration` reached.
    DurationLimit,
    /// `max_bytes` (or the 4 GiB WAV limit) reached.
    SizeLimit,
    /// Writing to the sink failed.
    WriteFailed,
}

/// Something the owner of a recorder must know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecorderEvent {
    /// The recording stopped; the file is complete up to here.
    Stopped {
        /// Why.
        reason: StopReason,
    },
}

/// A recorder failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The sink failed.
    #[error("writing the recording failed: {0}")]
    Io(#[from] io::Error),
}

/// Records one call into a two-channel 8 kHz 16-bit WAV.
#[derive(Debug)]
pub struct Recorder<W: Write + Seek> {
    sink: W,
    config: RecorderConfig,
    caller: JitterBuffer<Frame>,
    agent: JitterBuffer<Frame>,
    /// Interleaved little-endian samples not yet written.
    pending: Vec<u8>,
    flushed_bytes: u64,
    frames: u64,
    flush_every: u64,
    paused: bool,
    stopped: bool,
    next_tick: Instant,
    events: VecDeque<RecorderEvent>,
}

impl<W: Write + Seek> Recorder<W> {
    /// Starts a recording at `now`, writing the WAV header to `sink`.
    pub fn new(now: Instant, mut sink: W, config: RecorderConfig) -> Result<Self, RecordError> {
        let flush_every = frames_in(config.flush_interval.min(Duration::from_secs(1))).max(1);
        sink.seek(SeekFrom::Start(0))?;
        sink.write_all(&wav_header(0))?;
        sink.flush()?;
        Ok(Self {
            sink,
            caller: JitterBuffer::new(config.jitter),
            agent: JitterBuffer::new(config.jitter),
            pending: Vec::with_capacity(BYTES_PER_FRAME * flush_every as usize),
            config,
            flushed_bytes: 0,
            frames: 0,
            flush_every,
            paused: false,
            stopped: false,
            next_tick: now + FRAME_DURATION,
            events: VecDeque::new(),
        })
    }

    /// Offers a received frame of one side for the timeline.
    pub fn push(&mut self, side: Side, seq: u16, frame: Frame) {
        if self.stopped {
            return;
        }
        match side {
            Side::Caller => self.caller.push(seq, frame),
            Side::Agent => self.agent.push(seq, frame),
        };
    }

    /// When the next frame is due, unless stopped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.stopped).then_some(self.next_tick)
    }

    /// Writes every frame due by `now` (silence where a side has nothing).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), RecordError> {
        while !self.stopped && self.next_tick <= now {
            self.next_tick += FRAME_DURATION;
            let caller = frame_of(&self.caller.pop());
            let agent = frame_of(&self.agent.pop());
            self.write_frame(caller.as_ref(), agent.as_ref())?;
        }
        Ok(())
    }

    /// Appends one 20 ms stereo frame directly (no jitter buffer, no clock); `None` is
    /// silence. Honours pause and the limits.
    pub fn write_frame(
        &mut self,
        caller: Option<&Frame>,
        agent: Option<&Frame>,
    ) -> Result<(), RecordError> {
        if self.stopped {
            return Ok(());
        }
        let (caller, agent) = match (self.paused, self.config.pause_mode) {
            (false, _) => (caller, agent),
            (true, PauseMode::Silence) => (None, None),
            (true, PauseMode::Cut) => return Ok(()),
        };
        if let Some(reason) = self.limit_reached() {
            return self.stop(reason);
        }
        for i in 0..FRAME_SAMPLES {
            let left = caller.and_then(|f| f.get(i)).copied().unwrap_or(0);
            let right = agent.and_then(|f| f.get(i)).copied().unwrap_or(0);
            self.pending.extend_from_slice(&left.to_le_bytes());
            self.pending.extend_from_slice(&right.to_le_bytes());
        }
        self.frames += 1;
        if self.frames.is_multiple_of(self.flush_every) {
            self.flush()?;
        }
        Ok(())
    }

    /// Pauses (see [`PauseMode`]).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes after [`Recorder::pause`].
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// Whether paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Whether stopped by a limit or a write failure.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Audio recorded so far (written or pending).
    pub fn duration(&self) -> Duration {
        FRAME_DURATION * u32::try_from(self.frames).unwrap_or(u32::MAX)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RecorderEvent> {
        self.events.pop_front()
    }

    /// Writes pending audio and patches the header sizes.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        let result = self.write_pending();
        if result.is_err() {
            self.stopped = true;
            self.events.push_back(RecorderEvent::Stopped {
                reason: StopReason::WriteFailed,
            });
        }
        result.map_err(RecordError::from)
    }

    /// Flushes and returns the sink.
    pub fn finish(mut self) -> Result<W, RecordError> {
        self.flush()?;
        Ok(self.sink)
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.sink
                .seek(SeekFrom::Start(WAV_HEADER_BYTES + self.flushed_bytes))?;
            self.sink.write_all(&self.pending)?;
            self.flushed_bytes += self.pending.len() as u64;
            self.pending.clear();
        }
        let header = wav_header(u32::try_from(self.flushed_bytes).unwrap_or(u32::MAX));
        self.sink.seek(SeekFrom::Start(0))?;
        self.sink.write_all(&header)?;
        self.sink.flush()
    }

    fn limit_reached(&self) -> Option<StopReason> {
        let after_next = (self.frames + 1) * BYTES_PER_FRAME as u64;
        let next_end = FRAME_DURATION.saturating_mul(u32::try_from(self.frames + 1).ok()?);
        if self.config.max_duration.is_some_and(|max| next_end > max) {
            return Some(StopReason::DurationLimit);
        }
        let over_size = self
            .config
            .max_bytes
            .is_some_and(|max| WAV_HEADER_BYTES + after_next > max);
        (over_size || after_next > MAX_WAV_DATA_BYTES).then_some(StopReason::SizeLimit)
    }

    fn stop(&mut self, reason: StopReason) -> Result<(), RecordError> {
        self.flush()?;
        self.stopped = true;
        self.events.push_back(RecorderEvent::Stopped { reason });
        Ok(())
    }
}

fn frame_of(playout: &Playout<Frame>) -> Option<Frame> {
    match playout {
        Playout::Item { item, .. } => Some(*item),
        Playout::Lost { .. } | Playout::Buffering => None,
    }
}

/// A 44-byte header for 8 kHz stereo 16-bit PCM with `data_bytes` of samples.
fn wav_header(data_bytes: u32) -> [u8; 44] {
    let block_align = CHANNELS * 2;
    let byte_rate = SAMPLE_RATE * u32::from(block_align);
    let mut h = [0u8; 44];
    let parts: [&[u8]; 13] = [
        b"RIFF",
        &data_bytes.saturating_add(36).to_le_bytes(),
        b"WAVE",
        b"fmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(), // PCM
        &CHANNELS.to_le_bytes(),
        &SAMPLE_RATE.to_le_bytes(),
        &byte_rate.to_le_bytes(),
        &block_align.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &data_bytes.to_le_bytes(),
    ];
    let mut at = 0;
    for part in parts {
        if let Some(dst) = h.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
    h
}
