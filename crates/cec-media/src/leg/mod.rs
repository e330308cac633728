//! One media leg per SIP dialog side: receives and validates the peer's RTP, latches to
//! its real address (symmetric RTP), detects RTP timeouts, sends local audio or relayed
//! packets as one continuous stream, and runs RTCP and quality monitoring.

mod config;
mod queue;
mod renegotiate;
mod rtcp;

pub use config::{LegConfig, LegError, Renegotiation, StreamIds};
pub use queue::{Channel, MAX_DATAGRAM, QUEUE_LIMIT, Transmit};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cec_rtp::dtmf::{DtmfReceiver, TelephoneEvent};
use cec_rtp::g711::G711;
use cec_rtp::packet::{RtpHeader, RtpPacket, is_rtcp, rewrite_header};
use cec_rtp::stats::{ReceiverStats, to_rtp_units};
use cec_sdp::Direction;

use crate::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::outbound::OutboundStream;
use crate::quality::{IntervalQuality, QualityAlert};
use queue::SendQueue;
use renegotiate::{PayloadKind, PreviousFormat};

/// Why a received datagram was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Not a valid RTP or RTCP packet.
    Malformed,
    /// A payload type that is not negotiated (any more: see [`MediaLeg::renegotiate`]).
    UnexpectedPayloadType(u8),
    /// From an address other than the one we latched to (or were told to use).
    WrongSource,
    /// Our direction does not receive (hold or inactive).
    NotReceiving,
}

/// What a received datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'d> {
    /// Voice from the peer.
    Audio {
        /// The packet (borrowing the datagram).
        packet: RtpPacket<'d>,
        /// Its codec (the previous one for a late packet in the previous format).
        codec: G711,
    },
    /// An RFC 4733 telephone event.
    Dtmf {
        /// The packet (borrowing the datagram).
        packet: RtpPacket<'d>,
        /// The event payload.
        event: TelephoneEvent,
        /// The digit, on the first packet seen of its event (also raised as an event).
        new_digit: Option<char>,
    },
    /// RTCP (consumed by the leg).
    Rtcp,
    /// Not used.
    Dropped(DropReason),
}

/// Something the owner of a leg must know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LegEvent {
    /// We now send RTP to where the peer's packets come from.
    Latched {
        /// The address latched to.
        remote: SocketAddr,
    },
    /// No RTP for the configured time while receiving.
    RtpTimeout {
        /// Time since the last packet (or since the leg started or was last
        /// renegotiated, if that is later).
        silent_for: Duration,
    },
    /// RTP arrived again after a timeout.
    RtpResumed,
    /// The peer changed its SSRC.
    RemoteSsrcChanged {
        /// The new SSRC.
        ssrc: u32,
    },
    /// A DTMF digit (once per RFC 4733 event).
    Dtmf {
        /// The digit.
        digit: char,
    },
    /// The peer sent an RTCP BYE.
    RemoteBye,
    /// Quality of the last RTCP interval.
    Quality(IntervalQuality),
    /// The last interval crossed a quality limit.
    QualityAlert(QualityAlert),
    /// A playlist played on the leg (by its owner's [`crate::Player`]) reached its end, so
    /// an IVR can go on. Not raised when the owner stopped or replaced it.
    /// [`MediaLeg`] itself never raises it: the owner that plays into the leg does.
    PlaybackFinished,
    /// A DTMF digit interrupted a playlist that allows barge-in (the digit is also
    /// reported as [`LegEvent::Dtmf`], before this). Raised by the leg's owner, like
    /// [`LegEvent::PlaybackFinished`].
    PlaybackInterrupted {
        /// The digit that interrupted it.
        digit: char,
    },
}

/// A sans-IO RTP/RTCP endpoint for one dialog side.
#[derive(Debug, Clone)]
pub struct MediaLeg {
    config: LegConfig,
    remote_rtp: Option<SocketAddr>,
    remote_rtcp: Option<SocketAddr>,
    latched: bool,
    rtcp_latched: bool,
    remote_ssrc: Option<u32>,
    /// Formats of the terms before the last renegotiation, until the peer switches.
    previous: Option<PreviousFormat>,
    outbound: OutboundStream,
    /// Statistics of the peer's current SSRC, from its first packet.
    stats: Option<ReceiverStats>,
    dtmf: DtmfReceiver,
    queue: SendQueue,
    events: VecDeque<LegEvent>,
    /// Origin of the arrival clock given to the statistics.
    started: Instant,
    /// Start of the RTP-timeout watch when nothing has arrived since: creation or the
    /// last renegotiation.
    watch_since: Instant,
    last_received: Option<Instant>,
    timed_out: bool,
    rtcp: rtcp::RtcpState,
}

impl MediaLeg {
    /// A leg starting at `now`.
    pub fn new(now: Instant, config: LegConfig) -> Self {
        let ids = config.ids;
        Self {
            remote_rtp: config.remote_rtp,
            remote_rtcp: config.remote_rtcp,
            latched: false,
            rtcp_latched: false,
            remote_ssrc: None,
            previous: None,
            outbound: OutboundStream::new(ids.ssrc, ids.initial_seq, ids.initial_timestamp),
            stats: None,
            dtmf: DtmfReceiver::new(),
            queue: SendQueue::new(),
            events: VecDeque::new(),
            started: now,
            watch_since: now,
            last_received: None,
            timed_out: false,
            rtcp: rtcp::RtcpState::new(now + config.rtcp_interval),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LegConfig {
        &self.config
    }

    /// The voice codec.
    pub fn codec(&self) -> G711 {
        self.config.codec
    }

    /// Where RTP goes now (the latched address once latched).
    pub fn remote_rtp(&self) -> Option<SocketAddr> {
        self.remote_rtp
    }

    /// The peer's SSRC, once seen.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.remote_ssrc
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.outbound.ssrc()
    }

    /// RFC 3550 reception statistics of the peer's stream: `None` until its first packet
    /// is received; they start afresh when the peer changes its SSRC.
    pub fn stats(&self) -> Option<&ReceiverStats> {
        self.stats.as_ref()
    }

    /// Latest RTT measured from RTCP.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtcp.rtt
    }

    /// Datagrams dropped because the owner did not drain [`MediaLeg::poll_transmit`].
    pub fn dropped_transmits(&self) -> u64 {
        self.queue.dropped
    }

    /// Changes direction (re-INVITE hold / resume); the stream stays continuous.
    pub fn set_direction(&mut self, direction: Direction) {
        if direction.sends() && !self.config.direction.sends() {
            // Resuming: re-anchor the next packet, so that what was not relayed during the
            // hold does not show as a sequence gap (loss) at the peer.
            self.outbound.new_segment();
        }
        self.config.direction = direction;
        if !direction.receives() {
            self.timed_out = false;
        }
    }

    /// Starts a new segment of the outgoing stream: the next packet, played or relayed,
    /// continues our sequence by one and moves the timestamp on by the time that passed.
    /// For owners that change what feeds the leg (a bridge made or ended), so that what
    /// the source sent meanwhile, not relayed, does not show as a sequence gap (loss) at
    /// the peer when the same source is relayed again.
    pub fn new_segment(&mut self) {
        self.outbound.new_segment();
    }

    /// A new remote address from a re-INVITE: forget the latch and latch again.
    pub fn set_remote(&mut self, rtp: Option<SocketAddr>, rtcp: Option<SocketAddr>) {
        self.config.remote_rtp = rtp;
        self.config.remote_rtcp = rtcp;
        self.remote_rtp = rtp;
        self.remote_rtcp = rtcp;
        self.latched = false;
        self.rtcp_latched = false;
    }

    /// Handles a datagram received on the RTP port (RTCP multiplexed there is accepted).
    pub fn handle_packet<'d>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &'d [u8],
    ) -> Received<'d> {
        if is_rtcp(data) {
            return self.handle_rtcp(now, from, data);
        }
        let Ok(packet) = RtpPacket::parse(data) else {
            return Received::Dropped(DropReason::Malformed);
        };
        let pt = packet.payload_type();
        let Some(kind) = self.payload_kind(pt) else {
            return Received::Dropped(DropReason::UnexpectedPayloadType(pt));
        };
        if let Some(reason) = self.check_source(from) {
            return Received::Dropped(reason);
        }
        self.note_payload_type(pt);
        if self.remote_ssrc != Some(packet.ssrc()) {
            if self.remote_ssrc.is_some() {
                self.events.push_back(LegEvent::RemoteSsrcChanged {
                    ssrc: packet.ssrc(),
                });
                // A new source: its sequence numbers and timestamps are unrelated.
                self.stats = None;
                self.dtmf = DtmfReceiver::new();
            }
            self.remote_ssrc = Some(packet.ssrc());
        }
        self.last_received = Some(now);
        if self.timed_out {
            self.timed_out = false;
            self.events.push_back(LegEvent::RtpResumed);
        }
        if !self.config.direction.receives() {
            return Received::Dropped(DropReason::NotReceiving);
        }
        let arrival = to_rtp_units(now.saturating_duration_since(self.started), SAMPLE_RATE);
        self.stats
            .get_or_insert_with(|| ReceiverStats::new_validated(packet.sequence()))
            .on_packet(packet.sequence(), packet.timestamp(), arrival);
        if let PayloadKind::Voice(codec) = kind {
            return Received::Audio { packet, codec };
        }
        let Ok(event) = TelephoneEvent::parse(packet.payload()) else {
            return Received::Dropped(DropReason::Malformed);
        };
        let new_digit = self
            .dtmf
            .handle(packet.sequence(), packet.timestamp(), packet.payload(), now)
            .ok()
            .flatten();
        // Digits are raised at their start; the receiver's end-of-event reports are not
        // needed, only drained.
        while self.dtmf.poll_event().is_some() {}
        if let Some(digit) = new_digit {
            self.events.push_back(LegEvent::Dtmf { digit });
        }
        Received::Dtmf {
            packet,
            event,
            new_digit,
        }
    }

    /// Latching and source filtering; `None` means accept.
    fn check_source(&mut self, from: SocketAddr) -> Option<DropReason> {
        if self.latched {
            return (Some(from) != self.remote_rtp).then_some(DropReason::WrongSource);
        }
        if !self.config.latching {
            return None;
        }
        // First valid packet: send where the peer really is (NAT), and from now on only
        // accept that address.
        self.latched = true;
        if self.remote_rtp != Some(from) {
            self.remote_rtp = Some(from);
            self.events.push_back(LegEvent::Latched { remote: from });
        }
        None
    }

    /// Sends a locally produced 20 ms frame (prompt, tone, hold music, mix).
    pub fn send_frame(&mut self, now: Instant, frame: &Frame) -> bool {
        let Some(to) = self.sending_to() else {
            return false;
        };
        let codec = self.config.codec;
        let mut payload = [0u8; FRAME_SAMPLES];
        codec.encode_slice(frame, &mut payload);
        let stamp = self.outbound.stamp_local(now);
        let header = RtpHeader {
            marker: stamp.marker,
            payload_type: self.config.payload_type,
            sequence: stamp.seq,
            timestamp: stamp.timestamp,
            ssrc: stamp.ssrc,
            ..RtpHeader::default()
        };
        let queued = self
            .queue
            .push_with(Channel::Rtp, to, |buf| header.write(&payload, buf).ok());
        if queued {
            self.rtcp.count_sent(FRAME_SAMPLES, stamp.timestamp);
        }
        queued
    }

    /// Relays a packet received on another leg, rewriting its header in place into our
    /// stream (sequence, timestamp, SSRC, payload type) and transcoding G.711 if the
    /// codecs differ. Events go out with our telephone-event type, or are dropped if we
    /// have none. Does not allocate.
    pub fn relay(&mut self, now: Instant, received: &Received<'_>) -> bool {
        self.relay_with(now, received, None)
    }

    /// Like [`MediaLeg::relay`] for an audio packet, but with its samples replaced by
    /// `samples` (e.g. in-band DTMF), encoded in our codec.
    pub fn relay_replacing(
        &mut self,
        now: Instant,
        received: &Received<'_>,
        samples: &[i16],
    ) -> bool {
        matches!(received, Received::Audio { .. }) && self.relay_with(now, received, Some(samples))
    }

    fn relay_with(
        &mut self,
        now: Instant,
        received: &Received<'_>,
        replacement: Option<&[i16]>,
    ) -> bool {
        let (packet, source_codec) = match received {
            Received::Audio { packet, codec } => (packet, Some(*codec)),
            Received::Dtmf { packet, .. } => (packet, None),
            Received::Rtcp | Received::Dropped(_) => return false,
        };
        let payload_type = match source_codec {
            Some(_) => self.config.payload_type,
            None => match self.config.telephone_event {
                Some(pt) => pt,
                None => return false,
            },
        };
        let ours = self.config.codec;
        let transcode = source_codec.filter(|c| *c != ours);
        let Some(to) = self.sending_to() else {
            return false;
        };
        let Some(stamp) = self.outbound.stamp_relay(
            now,
            packet.ssrc(),
            packet.sequence(),
            packet.timestamp(),
            packet.marker(),
        ) else {
            return false;
        };
        let bytes = packet.as_bytes();
        let payload_start = packet.header_len();
        let payload_len = packet.payload().len();
        let queued = self.queue.push_with(Channel::Rtp, to, |buf| {
            let out = buf.get_mut(..bytes.len())?;
            out.copy_from_slice(bytes);
            let pt = Some(payload_type);
            rewrite_header(
                out,
                stamp.seq,
                stamp.timestamp,
                stamp.ssrc,
                pt,
                Some(stamp.marker),
            )
            .ok()?;
            let payload = out.get_mut(payload_start..payload_start + payload_len)?;
            if let Some(samples) = replacement {
                payload.fill(ours.silence());
                ours.encode_slice(samples, payload);
            } else if let Some(from) = transcode {
                payload
                    .iter_mut()
                    .for_each(|code| *code = from.to_other(*code));
            }
            Some(bytes.len())
        });
        if queued {
            self.rtcp.count_sent(payload_len, stamp.timestamp);
        }
        queued
    }

    fn sending_to(&self) -> Option<SocketAddr> {
        self.config
            .direction
            .sends()
            .then_some(self.remote_rtp)
            .flatten()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit<'_>> {
        self.queue.pop()
    }

    /// Datagrams waiting.
    pub fn pending_transmits(&self) -> usize {
        self.queue.len()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<LegEvent> {
        self.events.pop_front()
    }

    /// When [`MediaLeg::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rtcp = Some(self.rtcp.next_report);
        rtcp.into_iter().chain(self.timeout_deadline()).min()
    }

    fn timeout_deadline(&self) -> Option<Instant> {
        let watching = self.config.direction.receives() && !self.timed_out;
        watching.then(|| self.silent_since() + self.config.rtp_timeout)
    }

    /// The last packet, or the start of the watch if nothing arrived since.
    fn silent_since(&self) -> Instant {
        self.last_received
            .map_or(self.watch_since, |last| last.max(self.watch_since))
    }

    /// Runs due timers: RTP timeout, RTCP report and quality evaluation.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.timeout_deadline()
            && deadline <= now
        {
            self.timed_out = true;
            let since = self.silent_since();
            self.events.push_back(LegEvent::RtpTimeout {
                silent_for: now.saturating_duration_since(since),
            });
        }
        if self.rtcp.next_report <= now {
            self.rtcp.next_report = now + self.config.rtcp_interval;
            self.send_report(now);
        }
    }
}

/// Decodes a G.711 payload into a frame (short payloads are padded with silence).
pub fn decode_payload(codec: G711, payload: &[u8]) -> Frame {
    let mut frame = [0i16; FRAME_SAMPLES];
    codec.decode_slice(payload, &mut frame);
    frame
}
