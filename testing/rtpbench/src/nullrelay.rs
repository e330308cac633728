//! The relay threads of `null-relay`, the benchmark's floor engine: a datagram arriving on
//! one socket of a call leaves unchanged from the call's other socket, with nothing else
//! done (no RTP parsing, no header rewrite, no timers). Whatever CPU it spends per packet
//! is what any userspace relay pays the kernel on this machine; our engine and rtpengine
//! can only be compared against it, not below it.
//!
//! Each thread owns an epoll instance and the sockets of its calls. The control thread
//! binds the sockets, hands them over through a channel and only then registers them with
//! the thread's epoll (`epoll_ctl` is safe across threads), so a thread never sees an event
//! for a call it does not know yet. Receives are `recvmmsg` into buffers allocated once;
//! sends are `sendto` (or `send` on a connected socket) straight out of those buffers.

use std::io::IoSliceMut;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, send, sendto};

/// Largest datagram relayed whole; longer ones are cut to this (the benchmark sends 172).
const MAX_DATAGRAM: usize = 2048;
/// Events taken from epoll per wake-up.
const EVENTS: usize = 256;
/// Longest sleep in `epoll_wait`, so commands are picked up on an idle thread.
const IDLE_WAIT_MS: u16 = 100;

/// Which of a call's two sockets: the one facing the caller (offerer) or the callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Receives from and sends to the caller; its port goes into the answer.
    Caller = 0,
    /// Receives from and sends to the callee; its port goes into the offer.
    Callee = 1,
}

impl Side {
    fn other(self) -> Self {
        match self {
            Self::Caller => Self::Callee,
            Self::Callee => Self::Caller,
        }
    }
}

/// The epoll token of one socket: the call's slot in its thread and the side.
pub fn token(slot: usize, side: Side) -> u64 {
    ((slot as u64) << 1) | side as u64
}

fn untoken(token: u64) -> (usize, Side) {
    let side = if token & 1 == 0 {
        Side::Caller
    } else {
        Side::Callee
    };
    ((token >> 1) as usize, side)
}

/// Where a side's datagrams go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Not known yet (no SDP address, nothing received): datagrams for it are dropped.
    Unknown,
    /// `sendto` this address; replaced by the source of each datagram the side receives
    /// (latching).
    Addr(SockaddrStorage),
    /// The socket is `connect`ed to the peer: plain `send`, no latching (the kernel only
    /// delivers the peer's datagrams to it).
    Connected,
}

impl Peer {
    /// The peer at `addr` as given by SDP.
    pub fn addr(addr: SocketAddr) -> Self {
        Self::Addr(SockaddrStorage::from(addr))
    }
}

/// A call's two sockets and where each side sends.
#[derive(Debug)]
pub struct Call {
    /// Indexed by [`Side`].
    pub sockets: [UdpSocket; 2],
    /// Indexed by [`Side`].
    pub peers: [Peer; 2],
}

/// What the control thread tells a relay thread.
#[derive(Debug)]
pub enum Command {
    /// A new call in `slot` (its sockets get registered right after this is sent).
    Add {
        /// The call's slot in this thread.
        slot: usize,
        /// The call.
        call: Call,
    },
    /// `side` of the call in `slot` now sends to `peer` (an answer, a connect).
    SetPeer {
        /// The call's slot.
        slot: usize,
        /// Which side.
        side: Side,
        /// Its peer.
        peer: Peer,
    },
    /// The call in `slot` ends: its sockets close (which also removes them from epoll).
    Remove {
        /// The call's slot.
        slot: usize,
    },
}

/// Datagrams relayed and system calls made by one thread, returned when it stops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// `epoll_wait` calls that returned events.
    pub wakeups: u64,
    /// `recvmmsg` calls.
    pub receives: u64,
    /// Datagrams received.
    pub datagrams: u64,
    /// Datagrams sent on.
    pub relayed: u64,
}

/// One relay thread: its epoll, its calls by slot, and receive buffers for `BATCH`
/// datagrams per `recvmmsg`.
pub struct Relay<const BATCH: usize> {
    epoll: Arc<Epoll>,
    commands: Receiver<Command>,
    calls: Vec<Option<Call>>,
    bufs: Box<[[u8; MAX_DATAGRAM]; BATCH]>,
    headers: MultiHeaders<SockaddrStorage>,
    events: Vec<EpollEvent>,
    /// Edge-triggered registration: drain each socket until a short batch. Level-triggered:
    /// one batch per event, epoll reports the socket again if more is queued.
    edge: bool,
    counters: Counters,
}

impl<const BATCH: usize> Relay<BATCH> {
    /// A relay thread's state, fed by `commands`, waiting on `epoll` whose registrations are
    /// edge-triggered when `edge` is set (see [`register`]).
    pub fn new(epoll: Arc<Epoll>, commands: Receiver<Command>, edge: bool) -> Self {
        Self {
            epoll,
            commands,
            calls: Vec::new(),
            bufs: Box::new([[0; MAX_DATAGRAM]; BATCH]),
            headers: MultiHeaders::preallocate(BATCH, None),
            events: vec![EpollEvent::empty(); EVENTS],
            edge,
            counters: Counters::default(),
        }
    }

    /// Relays until the command channel closes; returns what it counted.
    pub fn run(mut self) -> Counters {
        loop {
            let ready = match self
                .epoll
                .wait(&mut self.events, EpollTimeout::from(IDLE_WAIT_MS))
            {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => 0,
                Err(_) => return self.counters,
            };
            // Commands first: a call's sockets are registered only after its Add was sent.
            if !self.apply_commands() {
                return self.counters;
            }
            if ready == 0 {
                continue;
            }
            self.counters.wakeups += 1;
            for i in 0..ready {
                let Some(event) = self.events.get(i) else {
                    break;
                };
                let (slot, side) = untoken(event.data());
                self.drain(slot, side);
            }
        }
    }

    /// Applies queued commands; false once the control thread is gone.
    fn apply_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(command) => self.apply(command),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Add { slot, call } => {
                if self.calls.len() <= slot {
                    self.calls.resize_with(slot + 1, || None);
                }
                if let Some(entry) = self.calls.get_mut(slot) {
                    *entry = Some(call);
                }
            }
            Command::SetPeer { slot, side, peer } => {
                if let Some(Some(call)) = self.calls.get_mut(slot)
                    && let Some(entry) = call.peers.get_mut(side as usize)
                {
                    *entry = peer;
                }
            }
            Command::Remove { slot } => {
                if let Some(entry) = self.calls.get_mut(slot) {
                    *entry = None;
                }
            }
        }
    }

    /// Reads `side`'s socket and sends each datagram on from the other side. Edge-triggered:
    /// until a short batch (nothing more queued; a datagram arriving later raises a new
    /// edge). Level-triggered: one batch, so `--batch 1` costs one `recvmmsg` per datagram
    /// and no failed attempt to find a second.
    fn drain(&mut self, slot: usize, side: Side) {
        let Some(Some(call)) = self.calls.get_mut(slot) else {
            return;
        };
        let Call { sockets, peers } = call;
        let [caller_socket, callee_socket] = &*sockets;
        let (from, to) = match side {
            Side::Caller => (caller_socket, callee_socket),
            Side::Callee => (callee_socket, caller_socket),
        };
        let out = side.other() as usize;
        loop {
            let mut lens = [0usize; BATCH];
            let mut count = 0;
            {
                // Slices over the buffers allocated once; building them is a few stores each.
                let mut iovs = self.bufs.each_mut().map(|b| [IoSliceMut::new(b)]);
                let Ok(results) = recvmmsg(
                    from.as_raw_fd(),
                    &mut self.headers,
                    iovs.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                ) else {
                    return;
                };
                for (message, len) in results.zip(lens.iter_mut()) {
                    *len = message.bytes;
                    count += 1;
                    // Latch: the side's peer is whoever sent to it last.
                    if let (Some(source), Some(peer)) =
                        (message.address, peers.get_mut(side as usize))
                        && !matches!(peer, Peer::Connected)
                    {
                        *peer = Peer::Addr(source);
                    }
                }
            }
            self.counters.receives += 1;
            self.counters.datagrams += count as u64;
            let peer = peers.get(out).copied().unwrap_or(Peer::Unknown);
            for (buf, &len) in self.bufs.iter().zip(&lens).take(count) {
                let Some(datagram) = buf.get(..len) else {
                    continue;
                };
                let sent = match &peer {
                    Peer::Unknown => continue,
                    Peer::Addr(addr) => sendto(to.as_raw_fd(), datagram, addr, MsgFlags::empty()),
                    Peer::Connected => send(to.as_raw_fd(), datagram, MsgFlags::empty()),
                };
                // A full send buffer drops the datagram, as a relay under overload must.
                self.counters.relayed += u64::from(sent.is_ok());
            }
            if count < BATCH || !self.edge {
                return;
            }
        }
    }
}

/// Registers `socket` with `epoll` for reading under `token`, edge- or level-triggered.
pub fn register(epoll: &Epoll, socket: &UdpSocket, token: u64, edge: bool) -> nix::Result<()> {
    let mut flags = EpollFlags::EPOLLIN;
    if edge {
        flags |= EpollFlags::EPOLLET;
    }
    epoll.add(socket, EpollEvent::new(flags, token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::epoll::EpollCreateFlags;
    use std::sync::mpsc;
    use std::time::Duration;

    fn bound() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        socket
    }

    #[test]
    fn tokens_round_trip() {
        for slot in [0, 1, 7, 1 << 40] {
            for side in [Side::Caller, Side::Callee] {
                assert_eq!(untoken(token(slot, side)), (slot, side));
            }
        }
        assert_ne!(token(3, Side::Caller), token(3, Side::Callee));
    }

    /// Relays both ways, latches the caller's real source, honours a later SetPeer, and
    /// stops when the control side hangs up.
    fn relays_both_ways<const BATCH: usize>(edge: bool, connected: bool) {
        let epoll = Arc::new(Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).unwrap());
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn({
            let epoll = Arc::clone(&epoll);
            move || Relay::<BATCH>::new(epoll, rx, edge).run()
        });
        let (caller, callee) = (bound(), bound());
        let (facing_caller, facing_callee) = (bound(), bound());
        let addrs = (
            facing_caller.local_addr().unwrap(),
            facing_callee.local_addr().unwrap(),
        );
        for s in [&facing_caller, &facing_callee] {
            s.set_nonblocking(true).unwrap();
        }
        let caller_peer = if connected {
            facing_caller.connect(caller.local_addr().unwrap()).unwrap();
            Peer::Connected
        } else {
            Peer::Unknown // learnt by latching
        };
        let (c1, c2) = (
            facing_caller.try_clone().unwrap(),
            facing_callee.try_clone().unwrap(),
        );
        let call = Call {
            sockets: [facing_caller, facing_callee],
            peers: [caller_peer, Peer::Unknown],
        };
        tx.send(Command::Add { slot: 5, call }).unwrap();
        register(&epoll, &c1, token(5, Side::Caller), edge).unwrap();
        register(&epoll, &c2, token(5, Side::Callee), edge).unwrap();
        // Callee unknown: the caller's datagram is dropped (and the caller latched).
        caller.send_to(b"lost", addrs.0).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        tx.send(Command::SetPeer {
            slot: 5,
            side: Side::Callee,
            peer: Peer::addr(callee.local_addr().unwrap()),
        })
        .unwrap();
        let mut buf = [0u8; 64];
        // Enough datagrams to fill several batches in one go.
        for i in 0..20u8 {
            caller.send_to(&[i; 10], addrs.0).unwrap();
        }
        for i in 0..20u8 {
            let (len, from) = callee.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..len], from), (&[i; 10][..], addrs.1));
        }
        callee.send_to(b"back", addrs.1).unwrap();
        let (len, from) = caller.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&b"back"[..], addrs.0));
        tx.send(Command::Remove { slot: 5 }).unwrap();
        drop((tx, c1, c2));
        let counters = thread.join().unwrap();
        assert_eq!(counters.datagrams, 22);
        assert_eq!(counters.relayed, 21);
    }

    #[test]
    fn relays_level_triggered_batch_1() {
        relays_both_ways::<1>(false, false);
    }

    #[test]
    fn relays_edge_triggered_batch_8() {
        relays_both_ways::<8>(true, false);
    }

    #[test]
    fn relays_level_triggered_on_connected_sockets_batch_4() {
        relays_both_ways::<4>(false, true);
    }
}
