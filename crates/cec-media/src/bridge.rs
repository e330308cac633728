//! Relays media between the two legs of a bridged call: header rewrite in place (no
//! allocation per packet), G.711 A-law <-> µ-law transcoding when the legs differ, DTMF
//! relayed as RFC 4733 events with the payload type remapped, or converted to in-band
//! tones when the far leg has no telephone-event.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::frame::{FRAME_SAMPLES, samples_in};
use crate::leg::{DropReason, MediaLeg, Received};
use crate::tone::{Tone, ToneGenerator};

/// Length of an in-band DTMF tone made from an RFC 4733 event.
pub const INBAND_DTMF_DURATION: Duration = Duration::from_millis(100);

/// One of the two legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    /// The first leg (usually the caller).
    A,
    /// The second leg (usually the agent).
    B,
}

impl End {
    /// The other end.
    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// What the bridge did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forwarded {
    /// Audio relayed (transcoded if the codecs differ).
    Audio,
    /// Audio relayed with in-band DTMF in place of the voice.
    InbandDtmf,
    /// A telephone event relayed; `new_digit` is set on the first packet of an event.
    Event {
        /// The digit, first time only.
        new_digit: Option<char>,
    },
    /// Valid, but the other leg does not take it (not sending, no telephone-event, or it
    /// would go backwards in its stream).
    NotRelayed,
    /// RTCP, consumed by the receiving leg.
    Rtcp,
    /// Rejected by the receiving leg.
    Dropped(DropReason),
}

#[derive(Debug, Clone)]
struct Inband {
    generator: ToneGenerator,
    samples_left: u64,
}

/// Two legs relaying to each other.
#[derive(Debug, Clone)]
pub struct Bridge {
    a: MediaLeg,
    b: MediaLeg,
    /// In-band DTMF being inserted towards A and towards B.
    inband: [Option<Inband>; 2],
    scratch: [i16; FRAME_SAMPLES],
}

impl Bridge {
    /// Bridges `a` and `b`. Each keeps its own continuous outgoing stream and starts a new
    /// segment in it, so a bridge made again with the same source (hold, then resume)
    /// continues our sequence by one instead of the mapping of the earlier bridge, which
    /// would skip every packet the source sent in between.
    pub fn new(mut a: MediaLeg, mut b: MediaLeg) -> Self {
        a.new_segment();
        b.new_segment();
        Self {
            a,
            b,
            inband: [None, None],
            scratch: [0; FRAME_SAMPLES],
        }
    }

    /// A leg.
    pub fn leg(&self, end: End) -> &MediaLeg {
        match end {
            End::A => &self.a,
            End::B => &self.b,
        }
    }

    /// A leg, mutably (to poll its transmits, events and timers).
    pub fn leg_mut(&mut self, end: End) -> &mut MediaLeg {
        match end {
            End::A => &mut self.a,
            End::B => &mut self.b,
        }
    }

    /// Ends the bridge and returns the legs (e.g. to put one on hold music), each at the
    /// start of a new segment: whatever feeds a leg next continues its stream by one.
    pub fn into_legs(self) -> (MediaLeg, MediaLeg) {
        let (mut a, mut b) = (self.a, self.b);
        a.new_segment();
        b.new_segment();
        (a, b)
    }

    /// Handles a datagram received by leg `end` and relays it to the other leg.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        end: End,
        from: SocketAddr,
        data: &[u8],
    ) -> Forwarded {
        let (source, target) = match end {
            End::A => (&mut self.a, &mut self.b),
            End::B => (&mut self.b, &mut self.a),
        };
        let received = source.handle_packet(now, from, data);
        let inband_slot = match end.other() {
            End::A => 0,
            End::B => 1,
        };
        match &received {
            Received::Audio { packet, .. } => {
                if let Some(Some(inband)) = self.inband.get_mut(inband_slot) {
                    let n = packet.payload().len().min(FRAME_SAMPLES);
                    let samples = self.scratch.get_mut(..n).unwrap_or_default();
                    inband.generator.fill(samples);
                    inband.samples_left = inband.samples_left.saturating_sub(n as u64);
                    if inband.samples_left == 0 {
                        self.inband[inband_slot] = None;
                    }
                    let samples = self.scratch.get(..n).unwrap_or_default();
                    return relayed(
                        target.relay_replacing(now, &received, samples),
                        Forwarded::InbandDtmf,
                    );
                }
                relayed(target.relay(now, &received), Forwarded::Audio)
            }
            Received::Dtmf { new_digit, .. } => {
                let new_digit = *new_digit;
                if target.config().telephone_event.is_some() {
                    return relayed(target.relay(now, &received), Forwarded::Event { new_digit });
                }
                // The far leg has no telephone-event: play the digit in-band instead.
                if let Some(tone) = new_digit.and_then(Tone::dtmf) {
                    self.inband[inband_slot] = Some(Inband {
                        generator: ToneGenerator::new(tone),
                        samples_left: samples_in(INBAND_DTMF_DURATION),
                    });
                }
                Forwarded::Event { new_digit }
            }
            Received::Rtcp => Forwarded::Rtcp,
            Received::Dropped(reason) => Forwarded::Dropped(*reason),
        }
    }
}

fn relayed(queued: bool, outcome: Forwarded) -> Forwarded {
    if queued {
        outcome
    } else {
        Forwarded::NotRelayed
    }
}
