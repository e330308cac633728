//! The RFC 4733 receiver (§2.5.2): turns event packets into one report per digit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{TelephoneEvent, event_to_char};
use crate::error::DtmfError;

/// How long after the last packet an event without an end packet is declared over.
pub const DEFAULT_END_TIMEOUT: Duration = Duration::from_millis(300);
/// How many finished segment timestamps are remembered to drop their late packets.
const RECENT_SEGMENTS: usize = 16;
/// Segments of long events are split at this duration (RFC 4733 §2.5.1.3).
const MAX_SEGMENT: u32 = 0xFFFF;
/// A packet of an older event arriving this late (in timestamp units: 10 s at 8 kHz) is
/// not late but from a restarted clock.
const MAX_LATENESS: u32 = 80_000;

/// One received DTMF digit, reported once when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// The digit (`0`-`9`, `*`, `#`, `A`-`D`).
    pub digit: char,
    /// Its event code.
    pub event: u8,
    /// RTP timestamp of the event's start.
    pub timestamp: u32,
    /// Total duration in RTP timestamp units (all segments; the longest duration seen when
    /// the end was lost).
    pub duration_samples: u32,
    /// Volume field of the last packet.
    pub volume: u8,
    /// `true` when no end packet arrived (ended by timeout or by the next event).
    pub end_lost: bool,
}

#[derive(Debug, Clone)]
struct Current {
    event: u8,
    start_timestamp: u32,
    segment_timestamp: u32,
    segment_duration: u16,
    earlier_segments: u32,
    volume: u8,
    last_seen: Instant,
}

/// Reassembles RFC 4733 DTMF events from packets that may be lost, duplicated, late or
/// reordered, and reports each digit exactly once.
///
/// An event is identified by its RTP timestamp: packets with the timestamp of an event
/// already reported are dropped, so duplicate and late end packets do nothing, and two
/// presses of the same digit are two digits. The first packet seen of a new timestamp
/// starts the event whether or not it has the marker (the start may be lost);
/// [`handle`](Self::handle) says so at once. An event ends at its first end packet, when a
/// newer event starts, or [`end timeout`](Self::with_end_timeout) after its last packet.
/// A timestamp more than 10 s (at 8 kHz) behind the newest event is taken as a restarted
/// sender clock and starts a new event. Non-DTMF events (codes above 15) and zero
/// durations are ignored.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    end_timeout: Duration,
    current: Option<Current>,
    recent: VecDeque<u32>,
    newest_timestamp: Option<u32>,
    last_seq: Option<u16>,
    ready: VecDeque<DigitEvent>,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfReceiver {
    /// A receiver with the default end timeout.
    pub fn new() -> Self {
        Self {
            end_timeout: DEFAULT_END_TIMEOUT,
            current: None,
            recent: VecDeque::with_capacity(RECENT_SEGMENTS),
            newest_timestamp: None,
            last_seq: None,
            ready: VecDeque::new(),
        }
    }

    /// Sets how long after its last packet an unfinished event is declared over.
    pub fn with_end_timeout(mut self, timeout: Duration) -> Self {
        self.end_timeout = timeout;
        self
    }

    /// Handles one telephone-event packet (RTP sequence number, RTP timestamp, payload).
    ///
    /// Returns the digit when this packet is the first one seen of a new DTMF event (its
    /// start packet, or the first survivor when the start was lost), so that a caller can
    /// react at once (barge-in, relaying the digit in-band); `None` for every other packet,
    /// including the later segments of a long event. The finished digit is still reported
    /// by [`poll_event`](Self::poll_event) when the event ends.
    pub fn handle(
        &mut self,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
        now: Instant,
    ) -> Result<Option<char>, DtmfError> {
        let te = TelephoneEvent::parse(payload)?;
        // An exact duplicate of the previous packet carries nothing new.
        if self.last_seq == Some(seq) {
            return Ok(None);
        }
        self.last_seq = Some(seq);
        if te.event > 15 || te.duration == 0 || self.recent.contains(&timestamp) {
            return Ok(None);
        }
        if let Some(cur) = &mut self.current {
            if timestamp == cur.segment_timestamp {
                if te.event == cur.event {
                    cur.segment_duration = cur.segment_duration.max(te.duration);
                    cur.volume = te.volume;
                    cur.last_seen = now;
                    if te.end {
                        self.finish(false);
                    }
                }
                return Ok(None);
            }
            let delta = timestamp.wrapping_sub(cur.segment_timestamp);
            let continues = te.event == cur.event
                && (delta == u32::from(cur.segment_duration) || delta == MAX_SEGMENT);
            if continues {
                let finished_segment = cur.segment_timestamp;
                cur.earlier_segments = cur.earlier_segments.saturating_add(delta);
                cur.segment_timestamp = timestamp;
                cur.segment_duration = te.duration;
                cur.volume = te.volume;
                cur.last_seen = now;
                self.remember(finished_segment);
                self.newest_timestamp = Some(timestamp);
                if te.end {
                    self.finish(false);
                }
                return Ok(None);
            }
        }
        // Not the current event: only a newer timestamp starts one; older ones are stale,
        // unless far older: then the sender's clock jumped back (a restart) and it is new.
        if self
            .newest_timestamp
            .is_some_and(|newest| !is_newer(timestamp, newest) && !is_clock_jump(timestamp, newest))
        {
            return Ok(None);
        }
        if self.current.is_some() {
            self.finish(true);
        }
        self.newest_timestamp = Some(timestamp);
        self.current = Some(Current {
            event: te.event,
            start_timestamp: timestamp,
            segment_timestamp: timestamp,
            segment_duration: te.duration,
            earlier_segments: 0,
            volume: te.volume,
            last_seen: now,
        });
        if te.end {
            self.finish(false);
        }
        Ok(event_to_char(te.event))
    }

    /// Ends an event whose packets stopped arriving more than the end timeout ago.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self
            .current
            .as_ref()
            .is_some_and(|c| now.saturating_duration_since(c.last_seen) >= self.end_timeout)
        {
            self.finish(true);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .as_ref()
            .map(|c| c.last_seen + self.end_timeout)
    }

    /// The next finished digit.
    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        self.ready.pop_front()
    }

    /// The digit being received right now, if any (for early reaction such as barge-in).
    pub fn current_digit(&self) -> Option<char> {
        self.current.as_ref().and_then(|c| event_to_char(c.event))
    }

    fn finish(&mut self, end_lost: bool) {
        let Some(cur) = self.current.take() else {
            return;
        };
        self.remember(cur.segment_timestamp);
        if let Some(digit) = event_to_char(cur.event) {
            self.ready.push_back(DigitEvent {
                digit,
                event: cur.event,
                timestamp: cur.start_timestamp,
                duration_samples: cur
                    .earlier_segments
                    .saturating_add(u32::from(cur.segment_duration)),
                volume: cur.volume,
                end_lost,
            });
        }
    }

    fn remember(&mut self, timestamp: u32) {
        if self.recent.len() == RECENT_SEGMENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(timestamp);
    }
}

/// RTP timestamp serial comparison: `a` is after `b` (within half the 32-bit space).
fn is_newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// `a` is further behind `b` than any reordering could explain, so the sender restarted
/// its RTP clock (e.g. a B2BUA re-anchored the stream without a new SSRC).
fn is_clock_jump(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) > MAX_LATENESS
}
