//! The RFC 4733 sender (§2.5.1): one digit at a time, one packet per poll.

use std::time::{Duration, Instant};

use super::{MAX_VOLUME, TelephoneEvent, char_to_event};
use crate::error::DtmfError;

/// Default interval between event packets (the audio packetisation of the carrier).
pub const DEFAULT_PACKET_INTERVAL: Duration = Duration::from_millis(20);
/// Default volume field (-10 dBm0).
pub const DEFAULT_VOLUME: u8 = 10;
/// The final packet is sent this many times (RFC 4733 §2.5.1.4).
const END_PACKET_COPIES: u8 = 3;
/// Largest duration one segment can carry (RFC 4733 §2.5.1.3).
const MAX_SEGMENT_SAMPLES: u64 = 0xFFFF;

/// One telephone-event packet to send; the caller adds sequence number and SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Payload type to put in the RTP header.
    pub payload_type: u8,
    /// RTP marker: set on the first packet of the event only.
    pub marker: bool,
    /// RTP timestamp: the event's (or, for long events, the segment's) start.
    pub timestamp: u32,
    /// The event payload.
    pub payload: TelephoneEvent,
}

#[derive(Debug, Clone)]
struct Active {
    event: u8,
    start: Instant,
    total_samples: u64,
    segment_timestamp: u32,
    segment_start_samples: u64,
    packets_sent: u64,
    next_packet_at: Instant,
    end_copies_sent: u8,
}

/// Generates the packets of RFC 4733 DTMF events.
///
/// [`start`](Self::start) a digit, then call [`poll`](Self::poll) until it returns `None`,
/// and again at [`poll_timeout`](Self::poll_timeout). Packet `k` (from 0) is due at
/// `start + k·interval` and reports `(k+1)·interval` of duration, capped at the digit's
/// length; the packet that reaches the length carries the E bit and is sent three times,
/// one interval apart. Every packet of a segment has the same RTP timestamp; events longer
/// than 0xFFFF samples continue in a new segment whose timestamp is 0xFFFF later.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    payload_type: u8,
    clock_rate: u32,
    interval: Duration,
    interval_samples: u64,
    volume: u8,
    active: Option<Active>,
}

impl DtmfSender {
    /// A sender for `payload_type` at `clock_rate` Hz sending one packet per
    /// `packet_interval`.
    pub fn new(
        payload_type: u8,
        clock_rate: u32,
        packet_interval: Duration,
    ) -> Result<Self, DtmfError> {
        if clock_rate == 0 {
            return Err(DtmfError::ZeroClockRate);
        }
        let interval_samples = samples(packet_interval, clock_rate);
        if interval_samples == 0 {
            return Err(DtmfError::ZeroDuration);
        }
        Ok(Self {
            payload_type,
            clock_rate,
            interval: packet_interval,
            interval_samples,
            volume: DEFAULT_VOLUME,
            active: None,
        })
    }

    /// Sets the volume field of future events (0..=63, attenuation in dB below 0 dBm0).
    pub fn set_volume(&mut self, volume: u8) -> Result<(), DtmfError> {
        if volume > MAX_VOLUME {
            return Err(DtmfError::BadVolume(volume));
        }
        self.volume = volume;
        Ok(())
    }

    /// Whether an event is being sent.
    pub fn is_busy(&self) -> bool {
        self.active.is_some()
    }

    /// Starts sending `digit` for `duration`; its first packet is due at `now` and carries
    /// `rtp_timestamp`. A digit still being sent is abandoned without its end packets, so
    /// callers should wait until [`is_busy`](Self::is_busy) is false.
    pub fn start(
        &mut self,
        digit: char,
        duration: Duration,
        now: Instant,
        rtp_timestamp: u32,
    ) -> Result<(), DtmfError> {
        let event = char_to_event(digit).ok_or(DtmfError::UnknownDigit(digit))?;
        self.start_event(event, duration, now, rtp_timestamp)
    }

    /// Like [`start`](Self::start) for any event code (e.g. 16 = flash).
    pub fn start_event(
        &mut self,
        event: u8,
        duration: Duration,
        now: Instant,
        rtp_timestamp: u32,
    ) -> Result<(), DtmfError> {
        let total_samples = samples(duration, self.clock_rate);
        if total_samples == 0 {
            return Err(DtmfError::ZeroDuration);
        }
        self.active = Some(Active {
            event,
            start: now,
            total_samples,
            segment_timestamp: rtp_timestamp,
            segment_start_samples: 0,
            packets_sent: 0,
            next_packet_at: now,
            end_copies_sent: 0,
        });
        Ok(())
    }

    /// Ends the current event early at `now` (e.g. the key was released): the next packet
    /// carries the E bit with the duration reached so far (at least one interval).
    pub fn stop(&mut self, now: Instant) {
        let interval_samples = self.interval_samples;
        let clock_rate = self.clock_rate;
        if let Some(a) = &mut self.active {
            let elapsed = samples(now.saturating_duration_since(a.start), clock_rate);
            let sent = a.packets_sent * interval_samples;
            a.total_samples = a.total_samples.min(elapsed.max(sent).max(interval_samples));
        }
    }

    /// When the next packet is due, if an event is active.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.active.as_ref().map(|a| a.next_packet_at)
    }

    /// The next packet if one is due at `now`. Call repeatedly until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<EventPacket> {
        let active = self.active.as_mut()?;
        if now < active.next_packet_at {
            return None;
        }
        let first = active.packets_sent == 0 && active.end_copies_sent == 0;
        let elapsed = ((active.packets_sent + 1) * self.interval_samples).min(active.total_samples);
        let timestamp = active.segment_timestamp;
        let mut end = false;
        let segment_duration = if elapsed - active.segment_start_samples > MAX_SEGMENT_SAMPLES {
            // Close this segment at its maximum; the next packet opens a new one.
            active.segment_start_samples += MAX_SEGMENT_SAMPLES;
            active.segment_timestamp = timestamp.wrapping_add(MAX_SEGMENT_SAMPLES as u32);
            MAX_SEGMENT_SAMPLES
        } else {
            end = elapsed >= active.total_samples;
            elapsed - active.segment_start_samples
        };
        let packet = EventPacket {
            payload_type: self.payload_type,
            marker: first,
            timestamp,
            payload: TelephoneEvent {
                event: active.event,
                end,
                volume: self.volume,
                // At most MAX_SEGMENT_SAMPLES.
                duration: segment_duration as u16,
            },
        };
        active.next_packet_at += self.interval;
        if end {
            active.end_copies_sent += 1;
            if active.end_copies_sent >= END_PACKET_COPIES {
                self.active = None;
            }
        } else {
            active.packets_sent += 1;
        }
        Some(packet)
    }
}

/// Number of clock ticks in `d`, rounded to nearest.
fn samples(d: Duration, clock_rate: u32) -> u64 {
    let ticks = (d.as_nanos() * u128::from(clock_rate) + 500_000_000) / 1_000_000_000;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}
