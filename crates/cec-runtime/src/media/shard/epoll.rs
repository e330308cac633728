//! The epoll loop of a shard, where io_uring is unavailable: the shard is the only task
//! on its thread's current-thread tokio runtime, reads the sockets the reactor reported
//! ready with `recvmmsg`, and sends with `sendmmsg` per socket.

use std::future::{Future, poll_fn};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Sleep;

use super::{Backend, Command, Shard, ShardParts, TICK};
use crate::media::MediaError;
use crate::media::io::{Outgoing, RECV_BATCH, RecvBatch, SendBatch};
use crate::media::ready::ReadySet;

/// `recvmmsg` rounds on one socket before the others get a turn.
const ROUNDS_PER_SOCKET: usize = 4;

/// Runs one shard on its own OS thread with a current-thread runtime: the thread waits in
/// its own epoll, and a socket becoming readable wakes the shard on the same thread. On
/// the shared multi-thread runtime every wake-up could cross threads and wait for
/// whichever worker held the reactor, which cost CPU and milliseconds of delay variation.
pub(crate) fn spawn_epoll(parts: ShardParts) -> Result<(), MediaError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("cec-media-{}", parts.index))
        .spawn(move || run_on(&runtime, parts))?;
    Ok(())
}

/// Runs the epoll loop of a shard on `runtime`, on the calling thread.
pub(super) fn run_on(runtime: &tokio::runtime::Runtime, parts: ShardParts) {
    // The shard's sockets and timer register with this thread's reactor.
    runtime.block_on(async move {
        let mut shard = Shard::new_epoll(parts);
        poll_fn(|cx| shard.poll_epoll(cx)).await;
    });
}

/// A leg socket registered with the shard's reactor for reading only. `tokio::net`
/// sockets also register for writability, and on loopback every datagram we send frees its
/// buffer at once, so each send queued an EPOLLOUT event that the shard then woke up and
/// walked for nothing (about half of all epoll events in the profile).
pub(super) struct EpollSocket {
    socket: AsyncFd<UdpSocket>,
    waker: Waker,
}

impl EpollSocket {
    pub(super) fn into_inner(self) -> UdpSocket {
        self.socket.into_inner()
    }
}

pub(super) struct EpollState {
    ready: Arc<ReadySet>,
    pending: Vec<usize>,
    rx: RecvBatch,
    /// Wakes the shard on the play clock while a leg plays, else for the legs' timers.
    tick: Pin<Box<Sleep>>,
    /// When the legs' timers are next run.
    next_timers: Instant,
    /// A stop arrived in the middle of a pass.
    stopping: bool,
}

impl EpollState {
    /// Registers `socket` with the current reactor for reading only.
    // tokio 1.54 deprecated the safe constructors because an arbitrary `AsRawFd` type could
    // change or close its descriptor behind the registration. A `std::net::UdpSocket` owns
    // its descriptor and never changes it, and the `AsyncFd` owns the socket until
    // `into_inner`, so the case that made them unsound cannot happen here; the replacement
    // (`register_with_interest`) is `unsafe`.
    #[expect(
        deprecated,
        reason = "sound for an owned UdpSocket; the replacement is unsafe"
    )]
    pub(super) fn attach(&mut self, socket: UdpSocket, slot: usize) -> Option<EpollSocket> {
        let socket = AsyncFd::with_interest(socket, Interest::READABLE).ok()?;
        // Data may already be waiting: look once; the reactor reports what comes later.
        self.ready.mark(slot);
        Some(EpollSocket {
            socket,
            waker: self.ready.waker(slot),
        })
    }
}

impl Shard {
    fn new_epoll(parts: ShardParts) -> Self {
        let backend = Backend::Epoll(Box::new(EpollState {
            ready: Arc::new(ReadySet::default()),
            pending: Vec::with_capacity(256),
            rx: RecvBatch::new(),
            tick: Box::pin(tokio::time::sleep(TICK)),
            next_timers: Instant::now() + TICK,
            stopping: false,
        }));
        Self::from_parts(parts, Outgoing::Mmsg(Box::new(SendBatch::new())), backend)
    }

    fn poll_epoll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.relay.count_wakeup();
        if let Backend::Epoll(state) = &self.backend {
            state.ready.register(cx.waker());
        }
        loop {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(Command::Stop) | None) => return Poll::Ready(()),
                Poll::Ready(Some(command)) => self.command(command),
                Poll::Pending => break,
            }
        }
        let Backend::Epoll(state) = &mut self.backend else {
            return Poll::Ready(());
        };
        let mut pending = std::mem::take(&mut state.pending);
        state.ready.take(&mut pending);
        for slot in pending.drain(..) {
            if self.service(slot)
                && let Backend::Epoll(state) = &self.backend
            {
                // Still data after our rounds: come back after the others.
                state.ready.mark(slot);
            }
        }
        if let Backend::Epoll(state) = &mut self.backend {
            state.pending = pending;
        }
        // After the datagrams and the commands that came with them (a `play` among them
        // sends its first frame in this pass).
        self.run_clocks(cx);
        self.relay.finish_batch();
        if let Backend::Epoll(state) = &self.backend
            && state.stopping
        {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Runs the legs' timers and the play clock when due, and sets the tick to wake the
    /// shard for the next (see [`super::wake_at`]).
    fn run_clocks(&mut self, cx: &mut Context<'_>) {
        let Backend::Epoll(state) = &mut self.backend else {
            return;
        };
        let now = Instant::now();
        if now >= state.next_timers {
            self.relay.run_timers(now);
            state.next_timers = now + TICK;
        }
        self.relay.run_playback(now);
        let wake_at = super::wake_at(state.next_timers, self.relay.play_deadline());
        let wake_at = tokio::time::Instant::from_std(wake_at);
        if state.tick.deadline() != wake_at {
            state.tick.as_mut().reset(wake_at);
        }
        // Registers the timer; one already due (time passed since `now`) is run by the
        // next pass, right away.
        if state.tick.as_mut().poll(cx).is_ready() {
            cx.waker().wake_by_ref();
        }
    }

    /// Reads and relays what socket `slot` holds; true if it may hold more.
    fn service(&mut self, slot: usize) -> bool {
        for _ in 0..ROUNDS_PER_SOCKET {
            let generation = match self.read(slot) {
                Read::Datagrams(generation) => generation,
                Read::Nothing => return false,
                Read::Failed => return true,
            };
            // Commands queued before these datagrams were sent apply to them first (a
            // renegotiation, a new remote), as in the ring loop.
            self.drain_commands();
            // Such a command may have released or moved the socket: then they are dropped.
            let Some(Some(entry)) = self.sockets.get(slot) else {
                return false;
            };
            let Backend::Epoll(state) = &self.backend else {
                return false;
            };
            if entry.generation != generation {
                return false;
            }
            let now = Instant::now();
            for index in 0..state.rx.count() {
                if let Some((from, data)) = state.rx.get(index) {
                    self.relay
                        .deliver(now, entry.unit, entry.end, entry.channel, from, data);
                }
            }
            // After a drained read the next `poll_read_ready` registers our waker (or
            // finds data that arrived meanwhile).
        }
        true
    }

    /// One `recvmmsg` from socket `slot` into the shard's receive batch.
    fn read(&mut self, slot: usize) -> Read {
        let Backend::Epoll(state) = &mut self.backend else {
            return Read::Nothing;
        };
        let Some(Some(entry)) = self.sockets.get(slot) else {
            return Read::Nothing;
        };
        let super::Socket::Epoll(socket) = &entry.socket else {
            return Read::Nothing;
        };
        let mut cx = Context::from_waker(&socket.waker);
        // Pending registers the socket's waker with the reactor.
        let Poll::Ready(Ok(mut guard)) = socket.socket.poll_read_ready(&mut cx) else {
            return Read::Nothing;
        };
        let rx = &mut state.rx;
        rx.clear();
        match rx.receive(socket.socket.as_raw_fd()) {
            // Drained: clear the readiness now instead of after one more empty read. It is
            // cleared only for the readiness tick we saw, so data arriving after our read
            // still wakes us.
            Ok(count) if count < RECV_BATCH => guard.clear_ready(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                guard.clear_ready();
                return Read::Nothing;
            }
            // E.g. a reported ICMP error: the next read works again.
            Err(_) => return Read::Failed,
        }
        Read::Datagrams(entry.generation)
    }

    /// Handles the commands queued now (a stop is kept for the end of the pass).
    fn drain_commands(&mut self) {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => {
                    if let Backend::Epoll(state) = &mut self.backend {
                        state.stopping = true;
                    }
                    return;
                }
                Ok(command) => self.command(command),
                Err(TryRecvError::Empty) => return,
            }
        }
    }
}

/// What one read of a socket gave.
enum Read {
    /// The receive batch holds datagrams of the socket registered as this generation.
    Datagrams(u64),
    Nothing,
    Failed,
}
