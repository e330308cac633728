//! One shard: owns a set of legs (alone or bridged in pairs) and their sockets, relays
//! what they receive and runs their timers. Two loops drive a shard, each on its own
//! thread: [`ring`] (io_uring: multishot receives, sends and the wait in one syscall per
//! pass) and [`epoll`] (tokio's reactor, `recvmmsg`/`sendmmsg`), the fallback where the
//! kernel refuses io_uring. Everything else — commands, moving legs between shards for a
//! bridge, releasing, starting and stopping playback — is shared and lives here. Both
//! loops wake every [`TICK`] for the legs' timers, and every 20 ms on the play clock
//! (`media/playback.rs`) only while a leg of the shard plays.

mod epoll;
mod ring;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cec_media::leg::Channel;
use cec_media::{End, MediaLeg, Playlist, Renegotiation};
use cec_sdp::Direction;
use nix::sys::eventfd::EventFd;
use tokio::sync::{mpsc, oneshot};

use super::relay::{LegIo, Relay, Unit};
use super::{LegId, MediaError, MediaEvent, PortReservation};

pub(crate) use epoll::spawn_epoll;
pub(crate) use ring::spawn_ring;

/// How often the legs' timers (RTP timeout, RTCP) are checked.
const TICK: Duration = Duration::from_millis(50);

/// When a shard must wake next: for the legs' timers (`timers`, every [`TICK`]), or on
/// the play clock while a leg plays. The timers then run on the play clock's ticks, at
/// most 20 ms late, so playback costs 50 wake-ups a second, not 50 more than the 20.
pub(crate) fn wake_at(timers: Instant, play: Option<Instant>) -> Instant {
    play.unwrap_or(timers)
}

/// The shard a leg starts on (and where commands for it are sent first). Ids are
/// hashed: the call core allocates legs in caller/callee pairs, and a plain `id % n`
/// would put every caller leg, and so every bridge, on the same shard.
pub(crate) fn home(leg: LegId, shards: usize) -> usize {
    let mixed = leg.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (mixed % shards.max(1) as u64) as usize
}

/// Per-shard counters, read by `MediaEngine::stats`.
#[derive(Debug, Default)]
pub(crate) struct ShardCounters {
    pub(crate) received: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) send_failed: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    /// Passes of the shard's loop: how often its thread woke up.
    pub(crate) wakeups: AtomicU64,
}

/// A leg with its sockets, on its way into a shard.
#[derive(Debug)]
pub(crate) struct Transfer {
    pub(crate) id: LegId,
    pub(crate) leg: MediaLeg,
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    pub(crate) ports: PortReservation,
}

type Reply = oneshot::Sender<Result<(), MediaError>>;

/// What a shard is asked to do. A shard that no longer owns the leg forwards the command
/// along the leg's moves, so per-leg order is kept.
#[derive(Debug)]
pub(crate) enum Command {
    Add(Box<Transfer>),
    /// To `b`'s shard: move `b` to `a`'s shard and bridge them there.
    Bridge {
        a: LegId,
        b: LegId,
        reply: Reply,
    },
    /// `leg` moving in to be bridged with `join`.
    Adopt {
        leg: Box<Transfer>,
        join: LegId,
        reply: Reply,
    },
    SetRemote {
        leg: LegId,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
    },
    SetDirection {
        leg: LegId,
        direction: Direction,
    },
    /// A new offer/answer outcome for a live leg (codec change on answer, re-INVITE).
    Renegotiate {
        leg: LegId,
        update: Box<Renegotiation>,
        reply: Reply,
    },
    /// End the bridge `leg` is in; both legs stay, alone, on this shard.
    Unbridge {
        leg: LegId,
        reply: Reply,
    },
    /// Make a lone leg send what it receives back to its peer.
    Echo {
        leg: LegId,
        reply: Reply,
    },
    /// Play a playlist on a leg (ending its bridge first).
    Play {
        leg: LegId,
        playlist: Box<Playlist>,
        reply: Reply,
    },
    /// Stop what a leg plays.
    StopPlay {
        leg: LegId,
        reply: Reply,
    },
    Release(LegId),
    Stop,
}

/// The sending side of a shard's command queue. A ring shard sleeps in `io_uring_enter`,
/// not in tokio, so each command also bumps its eventfd, which the ring watches.
#[derive(Debug, Clone)]
pub(crate) struct ShardSender {
    commands: mpsc::UnboundedSender<Command>,
    wake: Option<Arc<EventFd>>,
}

impl ShardSender {
    /// A queue for a shard; `wake` for a ring shard.
    pub(crate) fn new(wake: Option<Arc<EventFd>>) -> (Self, mpsc::UnboundedReceiver<Command>) {
        let (commands, receiver) = mpsc::unbounded_channel();
        (Self { commands, wake }, receiver)
    }

    /// Queues `command`; fails if the shard has stopped.
    pub(crate) fn send(&self, command: Command) -> Result<(), MediaError> {
        self.commands
            .send(command)
            .map_err(|_| MediaError::Stopped)?;
        if let Some(wake) = &self.wake {
            // EAGAIN (counter saturated) still leaves it readable: the shard wakes.
            let _ = wake.write(1);
        }
        Ok(())
    }
}

/// Legs placed on each shard (by their home shard), kept by the engine when it allocates
/// and by the shards when a leg ends.
pub(crate) type Placed = Arc<[AtomicUsize]>;

/// Counts leg `id` off its home shard (never below zero: a leg is counted off once, by
/// whoever ends it, but a stray release must not wrap the count).
pub(crate) fn unplace(placed: &Placed, id: LegId) {
    if let Some(count) = placed.get(home(id, placed.len())) {
        let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// What builds a shard, whichever loop runs it.
pub(crate) struct ShardParts {
    pub(crate) index: usize,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) peers: Arc<[ShardSender]>,
    pub(crate) events: mpsc::Sender<MediaEvent>,
    pub(crate) counters: Arc<[ShardCounters]>,
    pub(crate) placed: Placed,
    /// The eventfd a ring shard watches (the one its senders bump).
    pub(crate) wake: Option<Arc<EventFd>>,
    /// Longest a ring shard holds a datagram to batch it with others.
    pub(crate) batch_wait: Duration,
}

/// A socket as its loop holds it.
enum Socket {
    Epoll(epoll::EpollSocket),
    Ring(ring::RingSocket),
}

impl Socket {
    fn into_inner(self) -> UdpSocket {
        match self {
            Self::Epoll(socket) => socket.into_inner(),
            Self::Ring(socket) => socket.into_inner(),
        }
    }
}

struct SocketEntry {
    socket: Socket,
    /// Distinguishes this registration from others of the same slot.
    generation: u64,
    unit: usize,
    end: End,
    channel: Channel,
}

/// The loop-specific state.
enum Backend {
    Epoll(Box<epoll::EpollState>),
    Ring(ring::RingState),
}

pub(crate) struct Shard {
    index: usize,
    commands: mpsc::UnboundedReceiver<Command>,
    peers: Arc<[ShardSender]>,
    sockets: Vec<Option<SocketEntry>>,
    free_sockets: Vec<usize>,
    relay: Relay,
    legs: HashMap<LegId, usize>,
    /// Legs that moved away from this shard, and where to.
    forward: HashMap<LegId, usize>,
    placed: Placed,
    socket_generation: u64,
    backend: Backend,
}

impl Shard {
    /// A shard with no legs yet, sending through `tx`, driven by the loop of `backend`.
    fn from_parts(parts: ShardParts, tx: super::io::Outgoing, backend: Backend) -> Self {
        let ShardParts {
            index,
            commands,
            peers,
            events,
            counters,
            placed,
            ..
        } = parts;
        Self {
            index,
            commands,
            peers,
            sockets: Vec::new(),
            free_sockets: Vec::new(),
            relay: Relay::new(index, events, counters, tx),
            legs: HashMap::new(),
            forward: HashMap::new(),
            placed,
            socket_generation: 0,
            backend,
        }
    }

    /// Handles one command.
    fn command(&mut self, command: Command) {
        match command {
            Command::Add(transfer) => {
                let id = transfer.id;
                self.install_single(*transfer);
                tracing::trace!(shard = self.index, %id, "leg added");
            }
            Command::Bridge { a, b, reply } => self.export(a, b, reply),
            Command::Adopt { leg, join, reply } => self.adopt(*leg, join, reply),
            Command::SetRemote { leg, rtp, rtcp } => match self.owned_leg(leg) {
                Some(media) => media.set_remote(rtp, rtcp),
                None => self.pass_on(leg, Command::SetRemote { leg, rtp, rtcp }),
            },
            Command::SetDirection { leg, direction } => match self.owned_leg(leg) {
                Some(media) => media.set_direction(direction),
                None => self.pass_on(leg, Command::SetDirection { leg, direction }),
            },
            Command::Renegotiate { leg, update, reply } => match self.owned_leg(leg) {
                Some(media) => {
                    media.renegotiate(Instant::now(), *update);
                    let _ = reply.send(Ok(()));
                }
                None => self.pass_on_or_fail(leg, reply, |reply| Command::Renegotiate {
                    leg,
                    update,
                    reply,
                }),
            },
            Command::Unbridge { leg, reply } => self.unbridge(leg, reply),
            Command::Echo { leg, reply } => self.echo(leg, reply),
            Command::Play {
                leg,
                playlist,
                reply,
            } => self.play(leg, playlist, reply),
            Command::StopPlay { leg, reply } => match self.legs.get(&leg) {
                Some(&unit) => {
                    let _ = reply.send(self.relay.stop_play(unit, leg));
                }
                None => self.pass_on_or_fail(leg, reply, |reply| Command::StopPlay { leg, reply }),
            },
            Command::Release(leg) => self.release(leg),
            Command::Stop => {}
        }
    }

    fn echo(&mut self, leg: LegId, reply: Reply) {
        if let Some(&unit) = self.legs.get(&leg) {
            let outcome = self.relay.set_echo(unit, leg);
            if outcome.is_ok() {
                tracing::trace!(shard = self.index, %leg, "leg echoes");
            }
            let _ = reply.send(outcome);
            return;
        }
        self.pass_on_or_fail(leg, reply, |reply| Command::Echo { leg, reply });
    }

    /// Plays on `leg`; a bridged leg leaves its bridge first (its partner goes silent,
    /// alone), so putting a call on hold is one command.
    fn play(&mut self, leg: LegId, playlist: Box<Playlist>, reply: Reply) {
        let Some(&unit) = self.legs.get(&leg) else {
            self.pass_on_or_fail(leg, reply, |reply| Command::Play {
                leg,
                playlist,
                reply,
            });
            return;
        };
        if self.relay.is_pair(unit) {
            self.split(unit);
        }
        // End B of a bridge now leads a unit of its own.
        let unit = self.legs.get(&leg).copied().unwrap_or(unit);
        let outcome = self.relay.play(unit, leg, Instant::now(), *playlist);
        if outcome.is_ok() {
            tracing::trace!(shard = self.index, %leg, "leg plays");
        }
        let _ = reply.send(outcome);
    }

    fn unbridge(&mut self, leg: LegId, reply: Reply) {
        let Some(&unit) = self.legs.get(&leg) else {
            self.pass_on_or_fail(leg, reply, |reply| Command::Unbridge { leg, reply });
            return;
        };
        if !self.split(unit) {
            let _ = reply.send(Err(MediaError::NotBridged(leg)));
            return;
        }
        tracing::trace!(shard = self.index, %leg, "unbridged");
        let _ = reply.send(Ok(()));
    }

    /// Ends the bridge of `unit`; false if it is not a bridge.
    fn split(&mut self, unit: usize) -> bool {
        let Some((moved, slots)) = self.relay.split(unit) else {
            return false;
        };
        // End B's leg now leads a unit of its own.
        let (new_unit, id) = moved;
        self.legs.insert(id, new_unit);
        for slot in slots {
            if let Some(Some(entry)) = self.sockets.get_mut(slot) {
                entry.unit = new_unit;
                entry.end = End::A;
            }
        }
        true
    }

    fn owned_leg(&mut self, id: LegId) -> Option<&mut MediaLeg> {
        let unit = *self.legs.get(&id)?;
        self.relay.leg_mut(unit, id)
    }

    /// Where a leg that moved away from this shard went.
    fn moved_to(&self, leg: LegId) -> Option<&ShardSender> {
        let next = *self.forward.get(&leg)?;
        // Never to ourselves: that would loop.
        (next != self.index).then(|| self.peers.get(next)).flatten()
    }

    /// Sends a command that expects a reply after a leg that moved away; answers
    /// [`MediaError::UnknownLeg`] for unknown legs.
    fn pass_on_or_fail(&self, leg: LegId, reply: Reply, command: impl FnOnce(Reply) -> Command) {
        match self.moved_to(leg) {
            Some(next) => {
                let _ = next.send(command(reply));
            }
            None => {
                let _ = reply.send(Err(MediaError::UnknownLeg(leg)));
            }
        }
    }

    /// Sends a command for a leg that moved away after it; drops it for unknown legs.
    fn pass_on(&mut self, leg: LegId, command: Command) {
        if let Some(next) = self.moved_to(leg) {
            let _ = next.send(command);
        }
    }

    fn export(&mut self, a: LegId, b: LegId, reply: Reply) {
        let Some(&unit) = self.legs.get(&b) else {
            self.pass_on_or_fail(b, reply, |reply| Command::Bridge { a, b, reply });
            return;
        };
        if self.relay.is_pair(unit) {
            let _ = reply.send(Err(MediaError::AlreadyBridged(b)));
            return;
        }
        let Some(transfer) = self.take_single(unit, b) else {
            let _ = reply.send(Err(MediaError::UnknownLeg(b)));
            return;
        };
        let target = home(a, self.peers.len());
        self.forward.insert(b, target);
        if let Some(peer) = self.peers.get(target) {
            let _ = peer.send(Command::Adopt {
                leg: Box::new(transfer),
                join: a,
                reply,
            });
        }
    }

    fn adopt(&mut self, transfer: Transfer, join: LegId, reply: Reply) {
        let id = transfer.id;
        let Some(&unit) = self.legs.get(&join) else {
            if let Some(&next) = self.forward.get(&join)
                && next != self.index
                && let Some(peer) = self.peers.get(next)
            {
                self.forward.insert(id, next);
                let _ = peer.send(Command::Adopt {
                    leg: Box::new(transfer),
                    join,
                    reply,
                });
                return;
            }
            // The partner is gone: keep the leg here, alone.
            self.install_single(transfer);
            let _ = reply.send(Err(MediaError::UnknownLeg(join)));
            return;
        };
        if self.relay.is_pair(unit) {
            self.install_single(transfer);
            let _ = reply.send(Err(MediaError::AlreadyBridged(join)));
            return;
        }
        self.forward.remove(&id);
        match self.register(unit, End::B, transfer) {
            Some((leg, io)) => {
                self.relay.join(unit, leg, io);
                self.legs.insert(id, unit);
                let _ = reply.send(Ok(()));
            }
            None => {
                let _ = reply.send(Err(MediaError::Stopped));
            }
        }
    }

    fn release(&mut self, id: LegId) {
        let Some(&unit) = self.legs.get(&id) else {
            if let Some(next) = self.forward.remove(&id)
                && next != self.index
                && let Some(peer) = self.peers.get(next)
            {
                let _ = peer.send(Command::Release(id));
            }
            return;
        };
        // What its sockets already received goes to the leg while it still has them.
        if let Some(slots) = self.relay.socket_slots(unit, id) {
            self.detach(slots);
        }
        self.legs.remove(&id);
        self.leg_ended(id);
        let (released, moved) = self.relay.remove_leg(unit, id);
        if let Some(io) = released {
            self.unregister(io);
        }
        // The partner now sits at end A of the unit.
        for slot in moved.into_iter().flatten() {
            if let Some(Some(entry)) = self.sockets.get_mut(slot) {
                entry.end = End::A;
            }
        }
    }

    fn install_single(&mut self, transfer: Transfer) {
        let id = transfer.id;
        // It lives here now: commands for it stop being forwarded.
        self.forward.remove(&id);
        let unit = self.relay.reserve_unit();
        if let Some((leg, io)) = self.register(unit, End::A, transfer) {
            self.relay.fill_unit(unit, Unit::single(leg, io));
            self.legs.insert(id, unit);
        } else {
            self.relay.free_unit(unit);
        }
    }

    /// A leg is gone for good: its home shard has one leg fewer for placement.
    fn leg_ended(&self, id: LegId) {
        unplace(&self.placed, id);
    }

    fn take_single(&mut self, unit: usize, id: LegId) -> Option<Transfer> {
        // Deliver what its sockets already took in before the leg leaves.
        if let Some(slots) = self.relay.socket_slots(unit, id) {
            self.detach(slots);
        }
        let (leg, io) = self.relay.take_single(unit)?;
        self.legs.remove(&io.id);
        let id = io.id;
        let rtp = self.deregister(io.rtp_slot);
        let rtcp = self.deregister(io.rtcp_slot);
        let (Some(rtp), Some(rtcp)) = (rtp, rtcp) else {
            return None;
        };
        Some(Transfer {
            id,
            leg,
            rtp,
            rtcp,
            ports: io.ports,
        })
    }

    /// Registers a leg's sockets with this shard's loop; if that fails the leg is gone.
    fn register(&mut self, unit: usize, end: End, transfer: Transfer) -> Option<(MediaLeg, LegIo)> {
        let Transfer {
            id,
            leg,
            rtp,
            rtcp,
            ports,
        } = transfer;
        let (rtp_fd, rtcp_fd) = (rtp.as_raw_fd(), rtcp.as_raw_fd());
        let Some(rtp_slot) = self.add_socket(rtp, unit, end, Channel::Rtp) else {
            self.leg_ended(id);
            return None;
        };
        let Some(rtcp_slot) = self.add_socket(rtcp, unit, end, Channel::Rtcp) else {
            self.detach([rtp_slot, rtp_slot]);
            drop(self.deregister(rtp_slot));
            self.leg_ended(id);
            return None;
        };
        let io = LegIo {
            id,
            rtp_slot,
            rtcp_slot,
            rtp_fd,
            rtcp_fd,
            ports,
        };
        Some((leg, io))
    }

    fn add_socket(
        &mut self,
        socket: UdpSocket,
        unit: usize,
        end: End,
        channel: Channel,
    ) -> Option<usize> {
        let slot = self.free_sockets.pop().unwrap_or(self.sockets.len());
        let socket = match &mut self.backend {
            Backend::Epoll(state) => Socket::Epoll(state.attach(socket, slot)?),
            Backend::Ring(state) => Socket::Ring(state.attach(&mut self.relay, socket, slot)),
        };
        self.socket_generation += 1;
        let entry = SocketEntry {
            socket,
            generation: self.socket_generation,
            unit,
            end,
            channel,
        };
        match self.sockets.get_mut(slot) {
            Some(free) => *free = Some(entry),
            None => self.sockets.push(Some(entry)),
        }
        Some(slot)
    }

    /// Stops reading two sockets (a leg's) before they leave the shard; what they had
    /// already taken in is delivered first.
    fn detach(&mut self, slots: [usize; 2]) {
        if matches!(self.backend, Backend::Ring(_)) {
            self.quiesce(slots);
        }
    }

    /// Removes a socket from the shard (after [`Self::detach`]), handing it back.
    fn deregister(&mut self, slot: usize) -> Option<UdpSocket> {
        let entry = self.sockets.get_mut(slot)?.take()?;
        if let Some(ring) = self.relay.ring_mut() {
            ring.unregister_file(slot);
        }
        self.free_sockets.push(slot);
        Some(entry.socket.into_inner())
    }

    /// Closes a released leg's sockets, then frees its ports.
    fn unregister(&mut self, io: LegIo) {
        // Nothing queued may name a descriptor number the kernel could hand out again.
        self.relay.flush();
        drop(self.deregister(io.rtp_slot));
        drop(self.deregister(io.rtcp_slot));
        drop(io);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_callers_spread_over_shards() {
        // Callers are every other id (caller, callee, caller, ...).
        let mut per_shard = [0usize; 2];
        for id in (1..2_000).step_by(2) {
            per_shard[home(LegId(id), 2)] += 1;
        }
        assert!(per_shard.iter().all(|&n| n > 400), "{per_shard:?}");
        let mut four = [0usize; 4];
        for id in 1..4_000 {
            four[home(LegId(id), 4)] += 1;
        }
        assert!(four.iter().all(|&n| n > 800), "{four:?}");
    }
}
