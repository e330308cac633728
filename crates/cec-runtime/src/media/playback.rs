//! Playback on lone legs (hold music, tones, prompts): a [`cec_media::Player`] per playing
//! unit, sent through the leg's own stream ([`cec_media::MediaLeg::send_frame`]: our SSRC,
//! continuous sequence numbers, timestamps that follow real time) in the leg's codec of
//! the moment, so a renegotiation switches the playback too.
//!
//! One 20 ms clock per shard paces every playing leg: the shard wakes on it only while
//! something plays (an idle shard keeps its 50 ms timer tick), and a leg that starts
//! playing joins the clock's phase, so a thousand queued callers cost one wake-up per
//! 20 ms, not one each. Each player paces itself against the clock's ticks; a shard that
//! woke late catches up at most 100 ms of frames (the player's limit) and then starts
//! afresh from now instead of bursting.

use std::time::Instant;

use cec_media::{FRAME_DURATION, Playlist};

use super::relay::{Media, Relay, unit_of};
use super::{LegId, MediaError};

/// The playing units of a shard and the clock that paces them.
#[derive(Debug, Default)]
pub(crate) struct PlayClock {
    /// Units that may hold a player. A unit whose player ended another way (a bridge, a
    /// release, echo) stays listed until the next tick drops it.
    units: Vec<usize>,
    /// The next tick, while any unit plays.
    next: Option<Instant>,
}

impl PlayClock {
    /// Lists `unit` as playing; returns when its first frame is due: now if the clock was
    /// idle (no waiting for the first frame), else the clock's next tick (its phase).
    fn start(&mut self, unit: usize, now: Instant) -> Instant {
        if !self.units.contains(&unit) {
            self.units.push(unit);
        }
        *self.next.get_or_insert(now)
    }

    /// `unit` stopped playing; the clock stops when nothing else plays.
    fn stop(&mut self, unit: usize) {
        self.units.retain(|&listed| listed != unit);
        if self.units.is_empty() {
            self.next = None;
        }
    }

    /// Moves the clock to its first tick after `now` (keeping its phase), or stops it
    /// when nothing plays.
    fn advance(&mut self, now: Instant) {
        if self.units.is_empty() {
            self.next = None;
            return;
        }
        let Some(at) = self.next else {
            return;
        };
        if at > now {
            return;
        }
        let behind = now.duration_since(at).as_nanos() / FRAME_DURATION.as_nanos();
        let ticks = u32::try_from(behind + 1).unwrap_or(u32::MAX);
        self.next = Some(
            FRAME_DURATION
                .checked_mul(ticks)
                .and_then(|ahead| at.checked_add(ahead))
                .unwrap_or(now + FRAME_DURATION),
        );
    }
}

impl Relay {
    /// Plays `playlist` on the lone leg `id` of unit `index`, replacing what it played
    /// (and its echo). A finished playlist is reported as
    /// [`cec_media::LegEvent::PlaybackFinished`].
    pub(crate) fn play(
        &mut self,
        index: usize,
        id: LegId,
        now: Instant,
        playlist: Playlist,
    ) -> Result<(), MediaError> {
        let unit = unit_of(&mut self.units, index, id)?;
        if matches!(unit.media, Media::Pair(_)) {
            return Err(MediaError::AlreadyBridged(id));
        }
        unit.echo = false;
        let start = self.playback.start(index, now);
        unit.player
            .get_or_insert_with(Box::default)
            .play(start, playlist);
        // An empty playlist has finished already: report it now.
        unit.drain(now, &mut self.tx, &self.events, &mut self.events_dropped);
        Ok(())
    }

    /// Stops what leg `id` of unit `index` plays (nothing to stop is fine).
    pub(crate) fn stop_play(&mut self, index: usize, id: LegId) -> Result<(), MediaError> {
        let unit = unit_of(&mut self.units, index, id)?;
        unit.player = None;
        self.playback.stop(index);
        Ok(())
    }

    /// When the shard must next wake for playback; `None` while nothing plays.
    pub(crate) fn play_deadline(&self) -> Option<Instant> {
        self.playback.next
    }

    /// On a tick of the play clock: sends the frames due on every playing leg, reports
    /// finished playlists, and moves the clock on. Does nothing between ticks.
    pub(crate) fn run_playback(&mut self, now: Instant) {
        if self.playback.next.is_none_or(|at| at > now) {
            return;
        }
        let Self {
            units,
            playback,
            tx,
            events,
            events_dropped,
            ..
        } = self;
        playback.units.retain(|&index| {
            let Some(Some(unit)) = units.get_mut(index) else {
                return false;
            };
            let (Some(player), Media::Single(leg)) = (unit.player.as_mut(), &mut unit.media) else {
                return false;
            };
            // Bounded: the player catches up at most 100 ms, then restarts from `now`.
            while let Some(frame) = player.poll_frame(now) {
                // Not sent while the leg does not send (hold from the peer's side): the
                // playlist goes on regardless, like a radio.
                let _ = leg.send_frame(now, &frame);
            }
            unit.drain(now, tx, events, events_dropped);
            unit.player.is_some()
        });
        playback.advance(now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_clock_keeps_its_phase_and_stops_with_the_last_player() {
        let t0 = Instant::now();
        let mut clock = PlayClock::default();
        assert_eq!(clock.start(3, t0), t0, "an idle clock starts now");
        clock.advance(t0 + Duration::from_millis(1));
        assert_eq!(clock.next, Some(t0 + FRAME_DURATION));
        // A second player joins the clock's phase.
        assert_eq!(
            clock.start(5, t0 + Duration::from_millis(7)),
            t0 + FRAME_DURATION
        );
        // Woken late: the next tick stays on the 20 ms grid.
        clock.advance(t0 + Duration::from_millis(103));
        assert_eq!(clock.next, Some(t0 + Duration::from_millis(120)));
        clock.stop(3);
        assert!(clock.next.is_some(), "leg 5 still plays");
        clock.stop(5);
        assert_eq!(clock.next, None, "an idle shard does not wake for playback");
    }
}
