//! One shard, the only task on its thread's current-thread runtime: owns a set of legs
//! (alone or bridged in pairs) and their sockets, reads the sockets the reactor reported
//! ready, relays, and runs the legs' timers.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use cec_media::leg::Channel;
use cec_media::{End, MediaLeg};
use cec_sdp::Direction;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;

use super::io::{Outgoing, RECV_BATCH, RecvBatch, SendBatch};
use super::ready::ReadySet;
use super::relay::{LegIo, Relay, Unit};
use super::uring::UringSend;
use super::{IoMode, LegId, MediaError, MediaEvent, PortReservation};

/// How often the legs' timers (RTP timeout, RTCP) are checked.
const TICK: Duration = Duration::from_millis(50);
/// `recvmmsg` rounds on one socket before the others get a turn.
const ROUNDS_PER_SOCKET: usize = 4;

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
    /// Make a lone leg send what it receives back to its peer.
    Echo {
        leg: LegId,
        reply: Reply,
    },
    Release(LegId),
    Stop,
}

/// A leg socket registered with the shard's reactor for reading only. `tokio::net`
/// sockets also register for writability, and on loopback every datagram we send frees its
/// buffer at once, so each send queued an EPOLLOUT event that the shard then woke up and
/// walked for nothing (about half of all epoll events in the profile).
type ReadSocket = AsyncFd<UdpSocket>;

/// Registers `socket` with the current reactor for reading only.
// tokio 1.54 deprecated the safe constructors because an arbitrary `AsRawFd` type could
// change or close its descriptor behind the registration. A `std::net::UdpSocket` owns
// its descriptor and never changes it, and the `AsyncFd` owns the socket until
// `into_inner`, so the case that made them unsound cannot happen here; the replacement
// (`register_with_interest`) is `unsafe`, which the workspace forbids.
#[expect(
    deprecated,
    reason = "sound for an owned UdpSocket; the replacement is unsafe"
)]
fn read_socket(socket: UdpSocket) -> Option<ReadSocket> {
    AsyncFd::with_interest(socket, Interest::READABLE).ok()
}

pub(crate) struct SocketEntry {
    socket: ReadSocket,
    waker: Waker,
    unit: usize,
    end: End,
    channel: Channel,
}

pub(crate) struct Shard {
    index: usize,
    commands: mpsc::UnboundedReceiver<Command>,
    peers: Arc<[mpsc::UnboundedSender<Command>]>,
    ready: Arc<ReadySet>,
    pending: Vec<usize>,
    sockets: Vec<Option<SocketEntry>>,
    free_sockets: Vec<usize>,
    relay: Relay,
    legs: HashMap<LegId, usize>,
    /// Legs that moved away from this shard, and where to.
    forward: HashMap<LegId, usize>,
    rx: RecvBatch,
    tick: Pin<Box<Sleep>>,
}

impl Shard {
    pub(crate) fn new(
        index: usize,
        commands: mpsc::UnboundedReceiver<Command>,
        peers: Arc<[mpsc::UnboundedSender<Command>]>,
        events: mpsc::Sender<MediaEvent>,
        counters: Arc<[ShardCounters]>,
        io: IoMode,
    ) -> Self {
        // Auto was resolved by the engine; a shard whose ring fails falls back alone.
        let tx = match io {
            IoMode::Mmsg => None,
            IoMode::Uring | IoMode::Auto => UringSend::new(),
        }
        .map_or_else(
            || Outgoing::Mmsg(Box::new(SendBatch::new())),
            |ring| Outgoing::Uring(Box::new(ring)),
        );
        Self {
            index,
            commands,
            peers,
            ready: Arc::new(ReadySet::default()),
            pending: Vec::with_capacity(256),
            sockets: Vec::new(),
            free_sockets: Vec::new(),
            relay: Relay::new(index, events, counters, tx),
            legs: HashMap::new(),
            forward: HashMap::new(),
            rx: RecvBatch::new(),
            tick: Box::pin(tokio::time::sleep(TICK)),
        }
    }

    pub(crate) async fn run(mut self) {
        poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.ready.register(cx.waker());
        loop {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(Command::Stop) | None) => return Poll::Ready(()),
                Poll::Ready(Some(command)) => self.command(command),
                Poll::Pending => break,
            }
        }
        if self.tick.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            self.relay.run_timers(now);
            self.tick.as_mut().reset((now + TICK).into());
            // Registers the timer again.
            let _ = self.tick.as_mut().poll(cx);
        }
        let mut pending = std::mem::take(&mut self.pending);
        self.ready.take(&mut pending);
        for slot in pending.drain(..) {
            if self.service(slot) {
                // Still data after our rounds: come back after the others.
                self.ready.mark(slot);
            }
        }
        self.pending = pending;
        self.relay.finish_batch();
        Poll::Pending
    }

    /// Reads and relays what socket `slot` holds; true if it may hold more.
    fn service(&mut self, slot: usize) -> bool {
        let Some(Some(entry)) = self.sockets.get(slot) else {
            return false;
        };
        let mut cx = Context::from_waker(&entry.waker);
        let fd = entry.socket.as_raw_fd();
        for _ in 0..ROUNDS_PER_SOCKET {
            // Pending registers the socket's waker with the reactor.
            let Poll::Ready(Ok(mut guard)) = entry.socket.poll_read_ready(&mut cx) else {
                return false;
            };
            let rx = &mut self.rx;
            rx.clear();
            match rx.receive(fd) {
                // Drained: clear the readiness now instead of after one more empty read.
                // It is cleared only for the readiness tick we saw, so data arriving after
                // our read still wakes us.
                Ok(count) if count < RECV_BATCH => guard.clear_ready(),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => guard.clear_ready(),
                // E.g. a reported ICMP error: the next read works again.
                Err(_) => return true,
            }
            let now = Instant::now();
            for index in 0..self.rx.count() {
                if let Some((from, data)) = self.rx.get(index) {
                    self.relay
                        .deliver(now, entry.unit, entry.end, entry.channel, from, data);
                }
            }
            // After a drained read the next `poll_read_ready` registers our waker (or
            // finds data that arrived meanwhile).
        }
        true
    }

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
            Command::Echo { leg, reply } => self.echo(leg, reply),
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
        match self.moved_to(leg) {
            Some(next) => {
                let _ = next.send(Command::Echo { leg, reply });
            }
            None => {
                let _ = reply.send(Err(MediaError::UnknownLeg(leg)));
            }
        }
    }

    fn owned_leg(&mut self, id: LegId) -> Option<&mut MediaLeg> {
        let unit = *self.legs.get(&id)?;
        self.relay.leg_mut(unit, id)
    }

    /// Where a leg that moved away from this shard went.
    fn moved_to(&self, leg: LegId) -> Option<&mpsc::UnboundedSender<Command>> {
        let next = *self.forward.get(&leg)?;
        // Never to ourselves: that would loop.
        (next != self.index).then(|| self.peers.get(next)).flatten()
    }

    /// Sends a command for a leg that moved away after it; drops it for unknown legs.
    fn pass_on(&mut self, leg: LegId, command: Command) {
        if let Some(next) = self.moved_to(leg) {
            let _ = next.send(command);
        }
    }

    fn export(&mut self, a: LegId, b: LegId, reply: Reply) {
        let Some(&unit) = self.legs.get(&b) else {
            match self.moved_to(b) {
                Some(next) => {
                    let _ = next.send(Command::Bridge { a, b, reply });
                }
                None => {
                    let _ = reply.send(Err(MediaError::UnknownLeg(b)));
                }
            }
            return;
        };
        if self.relay.is_pair(unit) {
            let _ = reply.send(Err(MediaError::AlreadyBridged(b)));
            return;
        }
        let Some(transfer) = self.take_single(unit) else {
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
        let Transfer {
            id,
            leg,
            rtp,
            rtcp,
            ports,
        } = transfer;
        match self.register(unit, End::B, id, rtp, rtcp, ports) {
            Some(io) => {
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
        let Some(unit) = self.legs.remove(&id) else {
            if let Some(next) = self.forward.remove(&id)
                && next != self.index
                && let Some(peer) = self.peers.get(next)
            {
                let _ = peer.send(Command::Release(id));
            }
            return;
        };
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
        let Transfer {
            id,
            leg,
            rtp,
            rtcp,
            ports,
        } = transfer;
        // It lives here now: commands for it stop being forwarded.
        self.forward.remove(&id);
        let unit = self.relay.reserve_unit();
        if let Some(io) = self.register(unit, End::A, id, rtp, rtcp, ports) {
            self.relay.fill_unit(unit, Unit::single(leg, io));
            self.legs.insert(id, unit);
        } else {
            self.relay.free_unit(unit);
        }
    }

    fn take_single(&mut self, unit: usize) -> Option<Transfer> {
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

    /// Registers a leg's sockets with the reactor and with this shard.
    fn register(
        &mut self,
        unit: usize,
        end: End,
        id: LegId,
        rtp: UdpSocket,
        rtcp: UdpSocket,
        ports: PortReservation,
    ) -> Option<LegIo> {
        let (rtp_fd, rtcp_fd) = (rtp.as_raw_fd(), rtcp.as_raw_fd());
        let rtp = read_socket(rtp)?;
        let rtcp = read_socket(rtcp)?;
        let rtp_slot = self.add_socket(rtp, unit, end, Channel::Rtp);
        let rtcp_slot = self.add_socket(rtcp, unit, end, Channel::Rtcp);
        Some(LegIo {
            id,
            rtp_slot,
            rtcp_slot,
            rtp_fd,
            rtcp_fd,
            ports,
        })
    }

    fn add_socket(&mut self, socket: ReadSocket, unit: usize, end: End, channel: Channel) -> usize {
        let slot = self.free_sockets.pop().unwrap_or(self.sockets.len());
        let entry = SocketEntry {
            socket,
            waker: self.ready.waker(slot),
            unit,
            end,
            channel,
        };
        match self.sockets.get_mut(slot) {
            Some(free) => *free = Some(entry),
            None => self.sockets.push(Some(entry)),
        }
        // Data may already be waiting: look once; the reactor reports what comes later.
        self.ready.mark(slot);
        slot
    }

    /// Removes a socket from the reactor and the shard, handing it back.
    fn deregister(&mut self, slot: usize) -> Option<UdpSocket> {
        let entry = self.sockets.get_mut(slot)?.take()?;
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
