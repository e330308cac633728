//! The io_uring loop of a shard (see `media/uring`): the thread sleeps in
//! `io_uring_enter`, which submits the sends of the last pass and waits for the next
//! batch of datagrams; each datagram is relayed from the buffer the kernel put it in.

use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;
use tokio::sync::mpsc::error::TryRecvError;

use super::{Backend, Command, Shard, ShardParts, Socket, SocketEntry, TICK};
use crate::media::MediaError;
use crate::media::io::{Outgoing, SocketRef};
use crate::media::relay::Relay;
use crate::media::uring::{Completion, RecvBuffers, Ring, Token};

/// Completions a pass waits for before `batch_wait` ends the wait early.
const BATCH: usize = 64;
/// A socket whose receive keeps failing this many times in a row is given up (logged).
const MAX_FAILURES: u32 = 100;
/// Bound on waiting for cancelled receives to end.
const QUIESCE_ROUNDS: usize = 50;

/// Runs one shard on its own OS thread around an io_uring built on that thread (the ring
/// is single-issuer). If the ring cannot be built there, the thread runs the epoll loop.
pub(crate) fn spawn_ring(parts: ShardParts) -> Result<(), MediaError> {
    // Built here so a failure to build it is reported by `start`, not lost in the thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("cec-media-{}", parts.index))
        .spawn(move || match RingState::new(&parts) {
            Ok((ring, state)) => {
                drop(runtime);
                Shard::new_ring(parts, ring, state).run_ring();
            }
            Err(e) => {
                tracing::warn!(shard = parts.index, error = %e, "io_uring failed; shard uses epoll");
                super::epoll::run_on(&runtime, parts);
            }
        })?;
    Ok(())
}

/// A leg socket whose datagrams arrive through a multishot receive.
pub(super) struct RingSocket {
    socket: UdpSocket,
    generation: u32,
    /// A multishot receive is live for it.
    armed: bool,
    /// Its receive is being cancelled: do not re-arm.
    closing: bool,
    failures: u32,
}

impl RingSocket {
    pub(super) fn into_inner(self) -> UdpSocket {
        self.socket
    }

    fn socket_ref(&self, slot: usize) -> SocketRef {
        SocketRef {
            fd: self.socket.as_raw_fd(),
            slot,
        }
    }

    fn token(&self, slot: usize) -> Token {
        Token::Recv {
            slot: slot as u32,
            generation: self.generation,
        }
    }
}

pub(super) struct RingState {
    buffers: RecvBuffers,
    completions: Vec<Completion>,
    /// Sockets whose multishot receive ended and must be armed again.
    rearm: Vec<usize>,
    generation: u32,
    wake: Option<Arc<EventFd>>,
    batch_wait: Duration,
}

impl RingState {
    fn new(parts: &ShardParts) -> std::io::Result<(Ring, Self)> {
        let ring = Ring::new()?;
        let mut buffers = RecvBuffers::new();
        buffers.register(&ring)?;
        Ok((
            ring,
            Self {
                buffers,
                completions: Vec::with_capacity(1024),
                rearm: Vec::new(),
                generation: 0,
                wake: parts.wake.clone(),
                batch_wait: parts.batch_wait,
            },
        ))
    }

    /// Starts receiving on `socket` in `slot`.
    pub(super) fn attach(
        &mut self,
        relay: &mut Relay,
        socket: UdpSocket,
        slot: usize,
    ) -> RingSocket {
        self.generation = Token::next_generation(self.generation);
        let mut entry = RingSocket {
            socket,
            generation: self.generation,
            armed: false,
            closing: false,
            failures: 0,
        };
        if let Some(ring) = relay.ring_mut() {
            let socket = entry.socket_ref(slot);
            ring.register_file(slot, socket.fd);
            entry.armed = ring.arm_recv(socket, entry.token(slot));
        }
        if !entry.armed {
            self.rearm.push(slot);
        }
        entry
    }
}

impl Shard {
    fn new_ring(parts: ShardParts, ring: Ring, state: RingState) -> Self {
        Self::from_parts(parts, Outgoing::Ring(Box::new(ring)), Backend::Ring(state))
    }

    fn run_ring(mut self) {
        self.arm_wake();
        let mut next_tick = Instant::now() + TICK;
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Stop) | Err(TryRecvError::Disconnected) => {
                        self.shutdown_ring();
                        return;
                    }
                    Ok(command) => self.command(command),
                    Err(TryRecvError::Empty) => break,
                }
            }
            // After the commands: one queued before a datagram was sent (the remote
            // changed, a renegotiation) applies to it, as in the epoll loop.
            self.complete();
            let now = Instant::now();
            if now >= next_tick {
                self.relay.run_timers(now);
                next_tick = now + TICK;
            }
            // Its frames go out with this pass's sends.
            self.relay.run_playback(now);
            self.rearm();
            self.relay.count_wakeup();
            self.relay.publish_counters();
            let Backend::Ring(state) = &mut self.backend else {
                return;
            };
            state.buffers.publish();
            let batch_wait = state.batch_wait;
            let wake_at = super::wake_at(next_tick, self.relay.play_deadline());
            let timeout = wake_at.saturating_duration_since(Instant::now());
            if let Some(ring) = self.relay.ring_mut() {
                ring.enter(
                    BATCH,
                    Some(batch_wait),
                    timeout.max(Duration::from_micros(1)),
                );
            }
        }
    }

    fn arm_wake(&mut self) {
        let Backend::Ring(state) = &self.backend else {
            return;
        };
        if let (Some(wake), Some(ring)) = (&state.wake, self.relay.ring_mut()) {
            ring.arm_wake(wake.as_fd().as_raw_fd());
        }
    }

    /// Arms the receives that ended (buffers ran out, an error) again.
    fn rearm(&mut self) {
        let Backend::Ring(state) = &mut self.backend else {
            return;
        };
        if state.rearm.is_empty() {
            return;
        }
        let Some(ring) = self.relay.ring_mut() else {
            return;
        };
        let mut retry = Vec::new();
        for slot in state.rearm.drain(..) {
            if let Some(Some(entry)) = self.sockets.get_mut(slot)
                && let Socket::Ring(socket) = &mut entry.socket
                && !socket.armed
                && !socket.closing
            {
                socket.armed = ring.arm_recv(socket.socket_ref(slot), socket.token(slot));
                if !socket.armed {
                    // The submission queue stayed full: next pass.
                    retry.push(slot);
                }
            }
        }
        state.rearm = retry;
    }

    /// Relays the datagrams the ring delivered and handles its other completions.
    fn complete(&mut self) {
        let Backend::Ring(state) = &mut self.backend else {
            return;
        };
        let Some(ring) = self.relay.ring_mut() else {
            return;
        };
        ring.drain(&mut state.completions);
        if state.completions.is_empty() {
            return;
        }
        let now = Instant::now();
        for completion in state.completions.drain(..) {
            match completion.token {
                Token::Wake => {
                    if let Some(wake) = &state.wake {
                        // Resets the counter; commands are read at the top of the loop.
                        let _ = wake.read();
                    }
                    if !completion.more
                        && let (Some(wake), Some(ring)) = (&state.wake, self.relay.ring_mut())
                    {
                        ring.arm_wake(wake.as_fd().as_raw_fd());
                    }
                }
                Token::Recv { slot, generation } => {
                    let slot = slot as usize;
                    let entry = match self.sockets.get_mut(slot) {
                        Some(Some(entry)) => match &mut entry.socket {
                            Socket::Ring(socket) if socket.generation == generation => {
                                Some((entry.unit, entry.end, entry.channel, socket))
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    let Some((unit, end, channel, socket)) = entry else {
                        // A socket that left: its buffer goes back, nothing else.
                        if let Some(buffer) = completion.buffer {
                            state.buffers.recycle(buffer);
                        }
                        continue;
                    };
                    if !completion.more {
                        socket.armed = false;
                        if completion.result < 0 && completion.result != -libc::ENOBUFS {
                            socket.failures += 1;
                            if socket.failures == MAX_FAILURES {
                                tracing::warn!(
                                    shard = self.index,
                                    errno = -completion.result,
                                    "media socket keeps failing to receive; given up"
                                );
                            }
                        }
                        if !socket.closing && socket.failures < MAX_FAILURES {
                            state.rearm.push(slot);
                        }
                    }
                    if completion.result >= 0 {
                        socket.failures = 0;
                    }
                    if let Some(buffer) = completion.buffer {
                        if let Ok(used) = usize::try_from(completion.result)
                            && let Some(datagram) = state.buffers.datagram(buffer, used)
                        {
                            self.relay.deliver(
                                now,
                                unit,
                                end,
                                channel,
                                datagram.from,
                                datagram.data,
                            );
                        }
                        state.buffers.recycle(buffer);
                    }
                }
                Token::Send | Token::Cancel => {}
            }
        }
    }

    /// Cancels the receives of `slots` and waits until they ended, relaying what they
    /// delivered meanwhile.
    pub(super) fn quiesce(&mut self, slots: [usize; 2]) {
        self.cancel_receives(&slots);
    }

    /// Cancels the receives of `slots` (marking them closing, so they are not armed again)
    /// and enters the ring until none of them is armed (bounded).
    fn cancel_receives(&mut self, slots: &[usize]) {
        let Some(ring) = self.relay.ring_mut() else {
            return;
        };
        for &slot in slots {
            if let Some(Some(entry)) = self.sockets.get_mut(slot)
                && let Socket::Ring(socket) = &mut entry.socket
                && !socket.closing
            {
                socket.closing = true;
                if socket.armed {
                    ring.cancel(socket.token(slot));
                }
            }
        }
        for _ in 0..QUIESCE_ROUNDS {
            if !slots.iter().any(|&slot| self.is_armed(slot)) {
                return;
            }
            if let Some(ring) = self.relay.ring_mut() {
                ring.enter(1, None, Duration::from_millis(20));
            }
            self.complete();
        }
        // Late completions of these sockets are recognised by their generation and dropped.
        tracing::warn!(
            shard = self.index,
            "io_uring receives did not end after cancel"
        );
    }

    fn is_armed(&self, slot: usize) -> bool {
        matches!(
            self.sockets.get(slot),
            Some(Some(SocketEntry { socket: Socket::Ring(socket), .. })) if socket.armed
        )
    }

    /// Ends every receive, then lets the kernel forget the buffers so they can be freed.
    fn shutdown_ring(&mut self) {
        if let Some(ring) = self.relay.ring_mut() {
            ring.cancel(Token::Wake);
        }
        let all: Vec<usize> = (0..self.sockets.len()).collect();
        self.cancel_receives(&all);
        if let (Backend::Ring(state), Some(ring)) = (&mut self.backend, self.relay.ring_mut()) {
            state.buffers.unregister(ring);
            ring.unregister_files();
        }
    }
}
