//! The per-shard relay state: units (a lone leg or a bridged pair), what each received
//! datagram does to them, and where their output goes. Nothing here touches the reactor;
//! the shard hands in datagrams and socket descriptors. Playback on lone legs (hold
//! music, prompts) is in [`super::playback`].

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cec_media::leg::Channel;
use cec_media::{Bridge, End, LegEvent, MediaLeg, Player, PlayerEvent, Received};
use tokio::sync::mpsc;

use super::io::{Outgoing, SendCounters, SocketRef};
use super::playback::PlayClock;
use super::shard::ShardCounters;
use super::uring::Ring;
use super::{LegId, MediaError, MediaEvent, PortReservation};

/// A leg's sockets as the relay sees them. Dropping it frees the ports, so the shard
/// closes the sockets first.
#[derive(Debug)]
pub(crate) struct LegIo {
    pub(crate) id: LegId,
    pub(crate) rtp_slot: usize,
    pub(crate) rtcp_slot: usize,
    pub(crate) rtp_fd: RawFd,
    pub(crate) rtcp_fd: RawFd,
    pub(crate) ports: PortReservation,
}

impl LegIo {
    /// The socket of `channel`: its descriptor and its slot in the shard.
    fn socket(&self, channel: Channel) -> SocketRef {
        match channel {
            Channel::Rtp => SocketRef {
                fd: self.rtp_fd,
                slot: self.rtp_slot,
            },
            Channel::Rtcp => SocketRef {
                fd: self.rtcp_fd,
                slot: self.rtcp_slot,
            },
        }
    }
}

#[derive(Debug)]
pub(crate) enum Media {
    Single(Box<MediaLeg>),
    Pair(Box<Bridge>),
}

/// A lone leg (at end A) or a bridge; `io` is indexed by end.
#[derive(Debug)]
pub(crate) struct Unit {
    pub(super) media: Media,
    io: [Option<LegIo>; 2],
    /// A lone leg sends what it receives back to its peer (echo test). Bridging ends it.
    pub(super) echo: bool,
    /// What a lone leg plays (hold music, a prompt); bridging, echo and release end it.
    pub(super) player: Option<Box<Player>>,
}

impl Unit {
    pub(crate) fn single(leg: MediaLeg, io: LegIo) -> Self {
        Self {
            media: Media::Single(Box::new(leg)),
            io: [Some(io), None],
            echo: false,
            player: None,
        }
    }

    /// A lone leg, alone again after a bridge (nothing playing, no echo).
    fn alone(leg: MediaLeg, io: Option<LegIo>) -> Self {
        Self {
            media: Media::Single(Box::new(leg)),
            io: [io, None],
            echo: false,
            player: None,
        }
    }

    fn leg_mut(&mut self, end: End) -> Option<&mut MediaLeg> {
        match (&mut self.media, end) {
            (Media::Single(leg), End::A) => Some(leg),
            (Media::Single(_), End::B) => None,
            (Media::Pair(bridge), end) => Some(bridge.leg_mut(end)),
        }
    }

    pub(super) fn end_of(&self, id: LegId) -> Option<End> {
        match &self.io {
            [Some(io), _] if io.id == id => Some(End::A),
            [_, Some(io)] if io.id == id => Some(End::B),
            _ => None,
        }
    }

    /// Moves both legs' queued datagrams to `tx` and their events (and the player's) to
    /// `events`; forgets a player that has ended.
    pub(super) fn drain(
        &mut self,
        now: Instant,
        tx: &mut Outgoing,
        events: &mpsc::Sender<MediaEvent>,
        dropped: &mut u64,
    ) {
        for end in [End::A, End::B] {
            let index = end_index(end);
            let Some(Some(io)) = self.io.get(index) else {
                continue;
            };
            let (id, rtp, rtcp) = (io.id, io.socket(Channel::Rtp), io.socket(Channel::Rtcp));
            let Some(leg) = self.leg_mut(end) else {
                continue;
            };
            while let Some(transmit) = leg.poll_transmit(now) {
                let socket = match transmit.channel {
                    Channel::Rtp => rtp,
                    Channel::Rtcp => rtcp,
                };
                tx.push(socket, transmit.to, transmit.bytes);
            }
            while let Some(event) = leg.poll_event() {
                if events.try_send(MediaEvent { leg: id, event }).is_err() {
                    *dropped += 1;
                }
            }
        }
        let Some(player) = self.player.as_mut() else {
            return;
        };
        let id = self.io.first().and_then(Option::as_ref).map(|io| io.id);
        while let Some(event) = player.poll_event() {
            let event = match event {
                PlayerEvent::Finished => LegEvent::PlaybackFinished,
                PlayerEvent::BargeIn { digit } => LegEvent::PlaybackInterrupted { digit },
                // Only when our owner stopped or replaced it: it knows.
                PlayerEvent::Stopped => continue,
            };
            if let Some(leg) = id
                && events.try_send(MediaEvent { leg, event }).is_err()
            {
                *dropped += 1;
            }
        }
        if !player.is_playing() {
            self.player = None;
        }
    }
}

fn end_index(end: End) -> usize {
    match end {
        End::A => 0,
        End::B => 1,
    }
}

pub(crate) struct Relay {
    index: usize,
    pub(super) units: Vec<Option<Unit>>,
    free_units: Vec<usize>,
    pub(super) tx: Outgoing,
    pub(super) events: mpsc::Sender<MediaEvent>,
    counters: Arc<[ShardCounters]>,
    received: u64,
    pub(super) events_dropped: u64,
    /// Loop passes (wake-ups) not yet published.
    wakeups: u64,
    published: SendCounters,
    /// The units that play, and the 20 ms clock that paces them.
    pub(super) playback: PlayClock,
}

impl Relay {
    pub(crate) fn new(
        index: usize,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<[ShardCounters]>,
        tx: Outgoing,
    ) -> Self {
        Self {
            index,
            units: Vec::new(),
            free_units: Vec::new(),
            tx,
            events,
            counters,
            received: 0,
            events_dropped: 0,
            wakeups: 0,
            published: SendCounters::default(),
            playback: PlayClock::default(),
        }
    }

    /// Handles one datagram that arrived on the `channel` socket of leg `end` of `unit`.
    pub(crate) fn deliver(
        &mut self,
        now: Instant,
        unit: usize,
        end: End,
        channel: Channel,
        from: SocketAddr,
        data: &[u8],
    ) {
        self.received += 1;
        let Some(Some(unit)) = self.units.get_mut(unit) else {
            return;
        };
        let echo = unit.echo;
        let player = &mut unit.player;
        match (&mut unit.media, channel) {
            (Media::Pair(bridge), Channel::Rtp) => {
                let _ = bridge.handle_packet(now, end, from, data);
            }
            // Only RTCP is taken from the RTCP port (never relayed as RTP).
            (Media::Pair(bridge), Channel::Rtcp) => {
                let _ = bridge.leg_mut(end).handle_rtcp(now, from, data);
            }
            (Media::Single(leg), Channel::Rtp) => {
                let received = leg.handle_packet(now, from, data);
                if echo {
                    // Through the leg's own stream: our SSRC, continuous sequence and
                    // timestamp, events with our telephone-event type; rewritten in place.
                    let _ = leg.relay(now, &received);
                } else if let (
                    Some(player),
                    Received::Dtmf {
                        new_digit: Some(digit),
                        ..
                    },
                ) = (player.as_mut(), received)
                {
                    // A playlist that allows barge-in stops (reported by `drain`).
                    player.handle_dtmf(digit);
                }
            }
            (Media::Single(leg), Channel::Rtcp) => {
                let _ = leg.handle_rtcp(now, from, data);
            }
        }
        unit.drain(now, &mut self.tx, &self.events, &mut self.events_dropped);
    }

    /// Runs due leg timers (RTP timeout, RTCP reports).
    pub(crate) fn run_timers(&mut self, now: Instant) {
        for unit in self.units.iter_mut().flatten() {
            let mut due = false;
            for end in [End::A, End::B] {
                if let Some(leg) = unit.leg_mut(end)
                    && leg.poll_timeout().is_some_and(|at| at <= now)
                {
                    leg.handle_timeout(now);
                    due = true;
                }
            }
            if due {
                unit.drain(now, &mut self.tx, &self.events, &mut self.events_dropped);
            }
        }
    }

    /// Sends what is queued now (before a socket it names is closed).
    pub(crate) fn flush(&mut self) {
        self.tx.flush();
    }

    /// Sends what is batched and publishes the counters.
    pub(crate) fn finish_batch(&mut self) {
        self.tx.flush();
        self.publish_counters();
    }

    /// Counts one pass of the shard's loop (published with the other counters).
    pub(crate) fn count_wakeup(&mut self) {
        self.wakeups += 1;
    }

    /// Publishes the counters (the ring loop sends with its next wait).
    pub(crate) fn publish_counters(&mut self) {
        let Some(counters) = self.counters.get(self.index) else {
            return;
        };
        let now = self.tx.counters();
        let add = |counter: &std::sync::atomic::AtomicU64, value: u64| {
            if value > 0 {
                counter.fetch_add(value, Ordering::Relaxed);
            }
        };
        add(&counters.received, std::mem::take(&mut self.received));
        add(
            &counters.events_dropped,
            std::mem::take(&mut self.events_dropped),
        );
        add(&counters.wakeups, std::mem::take(&mut self.wakeups));
        add(&counters.sent, now.sent - self.published.sent);
        add(&counters.send_failed, now.failed - self.published.failed);
        self.published = now;
    }

    /// The ring, when the shard runs the io_uring loop.
    pub(crate) fn ring_mut(&mut self) -> Option<&mut Ring> {
        match &mut self.tx {
            Outgoing::Ring(ring) => Some(ring),
            Outgoing::Mmsg(_) => None,
        }
    }

    /// The RTP and RTCP socket slots of leg `id` in unit `index`.
    pub(crate) fn socket_slots(&self, index: usize, id: LegId) -> Option<[usize; 2]> {
        let unit = self.units.get(index)?.as_ref()?;
        unit.io
            .iter()
            .flatten()
            .find(|io| io.id == id)
            .map(|io| [io.rtp_slot, io.rtcp_slot])
    }

    pub(crate) fn reserve_unit(&mut self) -> usize {
        self.free_units.pop().unwrap_or_else(|| {
            self.units.push(None);
            self.units.len() - 1
        })
    }

    pub(crate) fn fill_unit(&mut self, index: usize, unit: Unit) {
        if let Some(slot) = self.units.get_mut(index) {
            *slot = Some(unit);
        }
    }

    pub(crate) fn free_unit(&mut self, index: usize) {
        if let Some(slot) = self.units.get_mut(index) {
            *slot = None;
            self.free_units.push(index);
        }
    }

    pub(crate) fn is_pair(&self, index: usize) -> bool {
        matches!(
            self.units.get(index),
            Some(Some(Unit {
                media: Media::Pair(_),
                ..
            }))
        )
    }

    /// Makes the lone leg `id` of unit `index` echo what it receives.
    pub(crate) fn set_echo(&mut self, index: usize, id: LegId) -> Result<(), MediaError> {
        let unit = unit_of(&mut self.units, index, id)?;
        match unit.media {
            Media::Single(_) => {
                unit.echo = true;
                // Echo replaces whatever played.
                unit.player = None;
                Ok(())
            }
            Media::Pair(_) => Err(MediaError::AlreadyBridged(id)),
        }
    }

    pub(crate) fn leg_mut(&mut self, index: usize, id: LegId) -> Option<&mut MediaLeg> {
        let unit = self.units.get_mut(index)?.as_mut()?;
        let end = unit.end_of(id)?;
        unit.leg_mut(end)
    }

    /// Takes a lone leg out (to move it to another shard).
    pub(crate) fn take_single(&mut self, index: usize) -> Option<(MediaLeg, LegIo)> {
        let slot = self.units.get_mut(index)?;
        match slot.take()? {
            Unit {
                media: Media::Single(leg),
                io: [Some(io), _],
                ..
            } => {
                self.free_units.push(index);
                Some((*leg, io))
            }
            other => {
                *slot = Some(other);
                None
            }
        }
    }

    /// Bridges the lone leg of `index` (end A) with `leg` (end B).
    pub(crate) fn join(&mut self, index: usize, leg: MediaLeg, io: LegIo) {
        let Some(slot) = self.units.get_mut(index) else {
            return;
        };
        let Some(unit) = slot.take() else {
            return;
        };
        *slot = Some(match unit {
            Unit {
                media: Media::Single(a),
                io: [a_io, _],
                ..
            } => Unit {
                media: Media::Pair(Box::new(Bridge::new(*a, leg))),
                io: [a_io, Some(io)],
                echo: false,
                // A bridge ends the playback (hold music stops when the call resumes).
                player: None,
            },
            paired => paired,
        });
    }

    /// Ends the bridge of unit `index`: end A stays in it alone, end B's leg moves to a
    /// new unit (also alone). Returns the new unit with the moved leg's id, and that leg's
    /// socket slots; `None` if the unit is not a bridge.
    pub(crate) fn split(&mut self, index: usize) -> Option<((usize, LegId), [usize; 2])> {
        let slot = self.units.get_mut(index)?;
        let (bridge, a_io, b_io) = match slot.take()? {
            Unit {
                media: Media::Pair(bridge),
                io: [a_io, Some(b_io)],
                ..
            } => (bridge, a_io, b_io),
            other => {
                *slot = Some(other);
                return None;
            }
        };
        let (a, b) = bridge.into_legs();
        if let Some(slot) = self.units.get_mut(index) {
            *slot = Some(Unit::alone(a, a_io));
        }
        let moved = (b_io.id, [b_io.rtp_slot, b_io.rtcp_slot]);
        let new_index = self.reserve_unit();
        self.fill_unit(new_index, Unit::single(b, b_io));
        Some(((new_index, moved.0), moved.1))
    }

    /// Removes leg `id` from its unit; returns its I/O (to close) and, if its bridge
    /// partner moved from end B to end A, the partner's socket slots.
    pub(crate) fn remove_leg(
        &mut self,
        index: usize,
        id: LegId,
    ) -> (Option<LegIo>, Option<[usize; 2]>) {
        let Some(slot) = self.units.get_mut(index) else {
            return (None, None);
        };
        let Some(unit) = slot.take() else {
            return (None, None);
        };
        let Some(end) = unit.end_of(id) else {
            *slot = Some(unit);
            return (None, None);
        };
        let Unit {
            media,
            io: [a_io, b_io],
            ..
        } = unit;
        match media {
            Media::Single(_) => {
                self.free_units.push(index);
                (a_io, None)
            }
            Media::Pair(bridge) => {
                let (a, b) = bridge.into_legs();
                let (kept, kept_io, released, moved) = match end {
                    End::A => {
                        let moved = b_io.as_ref().map(|io| [io.rtp_slot, io.rtcp_slot]);
                        (b, b_io, a_io, moved)
                    }
                    End::B => (a, a_io, b_io, None),
                };
                *slot = Some(Unit::alone(kept, kept_io));
                (released, moved)
            }
        }
    }
}

/// Unit `index` of `units`, if leg `id` is one of its ends (a free function, so callers
/// keep using the relay's other fields while holding the unit).
pub(crate) fn unit_of(
    units: &mut [Option<Unit>],
    index: usize,
    id: LegId,
) -> Result<&mut Unit, MediaError> {
    units
        .get_mut(index)
        .and_then(Option::as_mut)
        .filter(|unit| unit.end_of(id).is_some())
        .ok_or(MediaError::UnknownLeg(id))
}
