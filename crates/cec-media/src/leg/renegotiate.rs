//! Applying a new offer/answer to a live leg: the codec, payload types, direction and
//! remote addresses change; our stream (SSRC, sequence numbers, timestamps) does not.
//!
//! # Packets in the previous format
//!
//! RFC 3264 §8.3.2 keeps a payload type bound to its codec for the whole session and lets
//! the peer switch formats only once it has the new SDP, so packets in the old format keep
//! arriving for a moment after we switch (in flight, or sent before the peer's answer took
//! effect; as offerer we allocate the leg before the answer says what the peer will send).
//! Since the old payload type still unambiguously names the old codec, the leg accepts
//! the previous voice and telephone-event payload types, with their own codec, until the
//! first packet in a format that only the new terms have arrives: then the peer has
//! switched and the old types are dropped as
//! [`DropReason::UnexpectedPayloadType`](super::DropReason::UnexpectedPayloadType). A relay
//! transcodes such a packet from its own codec, so nothing is mangled during the switch.

use std::time::Instant;

use cec_rtp::g711::G711;

#[cfg(doc)]
use super::DropReason;
use super::{MediaLeg, Renegotiation};

/// The formats in force before the last renegotiation, accepted until the peer switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PreviousFormat {
    payload_type: u8,
    codec: G711,
    telephone_event: Option<u8>,
}

impl PreviousFormat {
    fn has(&self, payload_type: u8) -> bool {
        self.payload_type == payload_type || self.telephone_event == Some(payload_type)
    }
}

/// What a received payload type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PayloadKind {
    /// Voice in this codec.
    Voice(G711),
    /// RFC 4733 telephone events.
    Event,
}

impl MediaLeg {
    /// Applies a new negotiation (the answer to our offer, or a later re-INVITE / UPDATE)
    /// to the live leg.
    ///
    /// - Our SSRC, sequence numbers and timestamps continue: the peer sees one stream.
    ///   Frames sent and packets relayed from now on use the new codec and payload types
    ///   (a relay transcodes A-law <-> µ-law when the source now differs, and stops when
    ///   it matches).
    /// - Packets in the previous format are still accepted until the peer's first packet
    ///   in the new one (see the module documentation).
    /// - A remote address different from the previous SDP's forgets the latch, like
    ///   [`MediaLeg::set_remote`]; the same address keeps it (so a NATed peer is not
    ///   briefly sent to its private address).
    /// - The RTP timeout counts afresh from `now`: the peer may need a moment to start
    ///   sending on the new terms.
    /// - Reception statistics and DTMF state carry on; they reset only when the peer's
    ///   SSRC changes.
    pub fn renegotiate(&mut self, now: Instant, update: Renegotiation) {
        let config = &self.config;
        let format_changed = config.codec != update.codec
            || config.payload_type != update.payload_type
            || config.telephone_event != update.telephone_event;
        if format_changed {
            self.previous = Some(PreviousFormat {
                payload_type: config.payload_type,
                codec: config.codec,
                telephone_event: config.telephone_event,
            });
        }
        if config.remote_rtp != update.remote_rtp || config.remote_rtcp != update.remote_rtcp {
            self.set_remote(update.remote_rtp, update.remote_rtcp);
        }
        self.config.codec = update.codec;
        self.config.payload_type = update.payload_type;
        self.config.telephone_event = update.telephone_event;
        self.set_direction(update.direction);
        self.watch_since = now;
    }

    /// The terms the leg currently uses, as a [`Renegotiation`] (remote addresses as the
    /// SDP gave them, not the latched ones): a starting point to change one field.
    pub fn negotiated(&self) -> Renegotiation {
        Renegotiation {
            codec: self.config.codec,
            payload_type: self.config.payload_type,
            telephone_event: self.config.telephone_event,
            direction: self.config.direction,
            remote_rtp: self.config.remote_rtp,
            remote_rtcp: self.config.remote_rtcp,
        }
    }

    /// Whether packets in the previous format are still accepted.
    pub fn accepts_previous_format(&self) -> bool {
        self.previous.is_some()
    }

    /// What `payload_type` carries under the current terms, or the previous ones while the
    /// peer has not switched; `None` if neither negotiated it.
    pub(super) fn payload_kind(&self, payload_type: u8) -> Option<PayloadKind> {
        if payload_type == self.config.payload_type {
            return Some(PayloadKind::Voice(self.config.codec));
        }
        if self.config.telephone_event == Some(payload_type) {
            return Some(PayloadKind::Event);
        }
        let previous = self.previous?;
        if payload_type == previous.payload_type {
            return Some(PayloadKind::Voice(previous.codec));
        }
        (previous.telephone_event == Some(payload_type)).then_some(PayloadKind::Event)
    }

    /// Records that the peer sent `payload_type` (from the right source): a type only the
    /// new terms have means the peer switched, so the previous format is no longer taken.
    pub(super) fn note_payload_type(&mut self, payload_type: u8) {
        if self.previous.is_some_and(|p| !p.has(payload_type)) {
            self.previous = None;
        }
    }
}
