//! One continuous outgoing RTP stream per leg, whatever feeds it.
//!
//! The far end must see a single stream: one SSRC, sequence numbers that never jump back,
//! timestamps that follow wall-clock time. The stream is cut into segments; each local
//! source (prompt, hold music, mixer) or relayed remote stream starts a new segment, which
//! is anchored right after what was last sent, the timestamp advanced by the real time
//! that passed, and its first packet carries the marker bit.

use std::time::{Duration, Instant};

use crate::frame::{FRAME_DURATION, FRAME_TIMESTAMP_STEP};

/// A local source silent this long starts a new segment (a new talkspurt).
const LOCAL_GAP: Duration = Duration::from_millis(100);
/// A relayed sequence number further than this from the last one re-anchors the segment.
const RELAY_JUMP: u16 = 100;

/// Header fields for one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Marker bit (first packet of a segment).
    pub marker: bool,
    /// Our SSRC.
    pub ssrc: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Nothing sent in the current segment yet.
    Fresh,
    /// Locally generated frames: timestamp counts frames from the anchor.
    Local,
    /// Relayed packets from `ssrc`: out = in + offset.
    Relay {
        ssrc: u32,
        first_seq: u16,
        highest_seq: u16,
        seq_offset: u16,
        ts_offset: u32,
    },
}

/// Sequence/timestamp continuity for one outgoing stream.
#[derive(Debug, Clone)]
pub struct OutboundStream {
    ssrc: u32,
    /// Next sequence number after the highest sent.
    next_seq: u16,
    /// Timestamp of the latest-stamped packet, and when it was stamped.
    last: Option<(u32, Instant)>,
    /// Timestamp the next local frame gets.
    next_local_ts: u32,
    segment: Segment,
    sent: u64,
}

impl OutboundStream {
    /// A stream with the given SSRC and random initial sequence number and timestamp
    /// (RFC 3550 §5.1: the caller supplies the randomness).
    pub fn new(ssrc: u32, initial_seq: u16, initial_timestamp: u32) -> Self {
        Self {
            ssrc,
            next_seq: initial_seq,
            last: None,
            next_local_ts: initial_timestamp,
            segment: Segment::Fresh,
            sent: 0,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Packets stamped so far.
    pub fn packets_sent(&self) -> u64 {
        self.sent
    }

    /// The latest timestamp sent, if any.
    pub fn last_timestamp(&self) -> Option<u32> {
        self.last.map(|(ts, _)| ts)
    }

    /// The RTP timestamp that corresponds to `now` on this stream's clock (for RTCP SR).
    pub fn timestamp_at(&self, now: Instant) -> u32 {
        match self.last {
            Some((ts, at)) => ts.wrapping_add(elapsed_samples(at, now)),
            None => self.next_local_ts,
        }
    }

    /// Ends the current segment: the next packet, local or relayed, is re-anchored.
    pub fn new_segment(&mut self) {
        self.segment = Segment::Fresh;
    }

    /// Stamps a locally generated 20 ms frame sent at `now`.
    pub fn stamp_local(&mut self, now: Instant) -> Stamp {
        let continuing = self.segment == Segment::Local
            && self
                .last
                .is_some_and(|(_, at)| now.saturating_duration_since(at) < LOCAL_GAP);
        let marker = !continuing;
        if !continuing {
            self.next_local_ts = self.anchor(now);
            self.segment = Segment::Local;
        }
        let timestamp = self.next_local_ts;
        self.next_local_ts = timestamp.wrapping_add(FRAME_TIMESTAMP_STEP);
        self.emit(now, self.next_seq, timestamp, marker)
    }

    /// Stamps a packet relayed from another stream; `None` means drop it (it belongs
    /// before the start of the current segment, so sending it would go backwards).
    pub fn stamp_relay(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        marker: bool,
    ) -> Option<Stamp> {
        if let Segment::Relay {
            ssrc: current,
            first_seq,
            highest_seq,
            seq_offset,
            ts_offset,
        } = self.segment
        {
            let from_start = seq.wrapping_sub(first_seq) as i16;
            let from_highest = seq.wrapping_sub(highest_seq) as i16;
            if current == ssrc && from_highest.unsigned_abs() <= RELAY_JUMP {
                if from_start < 0 {
                    return None;
                }
                let out_seq = seq.wrapping_add(seq_offset);
                if from_highest > 0 {
                    self.segment = Segment::Relay {
                        ssrc,
                        first_seq,
                        highest_seq: seq,
                        seq_offset,
                        ts_offset,
                    };
                }
                return Some(self.emit(now, out_seq, timestamp.wrapping_add(ts_offset), marker));
            }
        }
        // A new relayed stream (or a jump in it): anchor after what we sent.
        let anchor = self.anchor(now);
        self.segment = Segment::Relay {
            ssrc,
            first_seq: seq,
            highest_seq: seq,
            seq_offset: self.next_seq.wrapping_sub(seq),
            ts_offset: anchor.wrapping_sub(timestamp),
        };
        Some(self.emit(now, self.next_seq, anchor, true))
    }

    /// The timestamp for a segment starting at `now`: at least one frame after the last
    /// packet, more if more real time has passed.
    fn anchor(&self, now: Instant) -> u32 {
        match self.last {
            None => self.next_local_ts,
            Some((ts, at)) => {
                let elapsed = elapsed_samples(at, now).max(FRAME_TIMESTAMP_STEP);
                ts.wrapping_add(elapsed)
            }
        }
    }

    fn emit(&mut self, now: Instant, seq: u16, timestamp: u32, marker: bool) -> Stamp {
        // Track the furthest sequence number sent; reordered relays may be behind it.
        if seq.wrapping_sub(self.next_seq) as i16 >= 0 {
            self.next_seq = seq.wrapping_add(1);
        }
        let newer = self
            .last
            .is_none_or(|(last_ts, _)| timestamp.wrapping_sub(last_ts) as i32 >= 0);
        if newer {
            self.last = Some((timestamp, now));
        }
        self.sent += 1;
        Stamp {
            seq,
            timestamp,
            marker,
            ssrc: self.ssrc,
        }
    }
}

/// Samples of the 8 kHz clock between `from` and `to`, rounded to whole frames so
/// anchors stay frame-aligned.
fn elapsed_samples(from: Instant, to: Instant) -> u32 {
    let elapsed = to.saturating_duration_since(from);
    let frames = (elapsed.as_nanos() + FRAME_DURATION.as_nanos() / 2) / FRAME_DURATION.as_nanos();
    let samples = u64::try_from(frames)
        .unwrap_or(u64::MAX)
        .saturating_mul(u64::from(FRAME_TIMESTAMP_STEP));
    // RTP timestamps wrap; only the low 32 bits matter.
    samples as u32
}
