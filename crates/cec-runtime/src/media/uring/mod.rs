//! The io_uring event loop of a shard: one ring per shard thread carries every receive
//! (a multishot `RECVMSG` per socket, filling buffers the kernel picks from a provided
//! buffer ring), every send (`SEND` with a destination address) and the shard's wake-up
//! (a multishot poll on an eventfd). The shard thread sleeps in `io_uring_enter`, which in
//! the same call submits the sends of the last pass and waits for the next batch of
//! datagrams, so a relay pass costs one syscall whatever the number of sockets. Each leg
//! socket sees 50 datagrams a second, so with epoll every datagram was a wake-up, an
//! `epoll_wait` and a `recvmmsg` of one.
//!
//! With `IORING_SETUP_DEFER_TASKRUN` the kernel does the receive work only when the
//! shard enters the ring, and wakes it only when enough completions are pending: the
//! shard asks for a batch (`want`) but at most `min_wait` of waiting once one datagram is
//! there (kernel 6.12 and later; older kernels wake on every datagram). That bounds the
//! delay a datagram can gain in the engine.
//!
//! This directory is the only place in the workspace with `unsafe` code, for these
//! reasons (each block names which one it relies on):
//!
//! - **Send buffers.** `SubmissionQueue::push` is `unsafe` because the kernel reads the
//!   entry's pointers (payload and destination address) after the call returns. They
//!   point into a boxed [`send::Slot`] that is not reused until the submission that
//!   carried it has been consumed; sends carry `MSG_DONTWAIT`, which makes io_uring finish
//!   (or fail) them inside that submit instead of parking them, so a consumed send no
//!   longer references its slot. Successful sends post no completion
//!   (`IOSQE_CQE_SKIP_SUCCESS`): the ring's completions are almost all datagrams.
//! - **Receive buffers.** The provided buffer ring ([`bufring::RecvBuffers`]) is memory
//!   the kernel writes datagrams into. We read a buffer only after a completion handed it
//!   to us and give it back afterwards; the memory is freed only after the ring no longer
//!   knows it (receives cancelled and reaped, buffer ring unregistered), else leaked.
//! - **Multishot receives** read the `msghdr` template when submitted; the template is a
//!   box owned by the ring.
//!
//! Why not a crate that hides this: tokio-uring and monoio replace the runtime with their
//! own and move a buffer in and out of every operation (an allocation or a copy per
//! packet); we need buffers owned by the shard and a loop that the shard drives.

#![allow(unsafe_code)]

mod bufring;
mod send;

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{IoUring, Probe, cqueue, opcode, squeue, types};

pub(crate) use bufring::RecvBuffers;

use super::io::{SendCounters, SocketRef};

/// Submission queue entries (sends of one pass beyond this are submitted early).
const RING_ENTRIES: u32 = 1024;
/// Completion queue entries: a few passes' worth of datagrams.
const COMPLETION_ENTRIES: u32 = 8 * RING_ENTRIES;
/// The buffer group of the receive buffers.
const BUFFER_GROUP: u16 = 0;
/// Most sockets a ring registers in its file table (registered files skip the file
/// lookup and reference count of every operation); sockets beyond use their descriptor.
const MAX_FIXED_FILES: u32 = 1 << 16;

/// What an operation was for; kept in its `user_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// The multishot receive of socket `slot`, registration `generation`.
    Recv { slot: u32, generation: u32 },
    /// A send (only failures complete).
    Send,
    /// The shard's eventfd became readable.
    Wake,
    /// A cancellation (only failures complete).
    Cancel,
}

const KIND_SHIFT: u32 = 56;
const GENERATION_MASK: u64 = 0x00FF_FFFF;

impl Token {
    fn encode(self) -> u64 {
        match self {
            Self::Recv { slot, generation } => {
                (1 << KIND_SHIFT)
                    | ((u64::from(generation) & GENERATION_MASK) << 32)
                    | u64::from(slot)
            }
            Self::Send => 2 << KIND_SHIFT,
            Self::Wake => 3 << KIND_SHIFT,
            Self::Cancel => 4 << KIND_SHIFT,
        }
    }

    fn decode(value: u64) -> Option<Self> {
        match value >> KIND_SHIFT {
            1 => Some(Self::Recv {
                slot: (value & 0xFFFF_FFFF) as u32,
                generation: ((value >> 32) & GENERATION_MASK) as u32,
            }),
            2 => Some(Self::Send),
            3 => Some(Self::Wake),
            4 => Some(Self::Cancel),
            _ => None,
        }
    }

    /// Generations wrap within the bits a token keeps.
    pub(crate) fn next_generation(generation: u32) -> u32 {
        generation.wrapping_add(1) & GENERATION_MASK as u32
    }
}

/// A completion the shard has to act on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    pub(crate) token: Token,
    /// Bytes used in the buffer, or `-errno`.
    pub(crate) result: i32,
    /// The operation stays armed (multishot); false means it ended and must be re-armed.
    pub(crate) more: bool,
    /// The receive buffer the datagram is in.
    pub(crate) buffer: Option<u16>,
}

/// Whether io_uring works here with everything the ring loop uses. Containers often
/// refuse `io_uring_setup` (seccomp, `kernel.io_uring_disabled`), and kernels before
/// 6.1 lack some of it.
pub(crate) fn available() -> bool {
    let Ok(ring) = Ring::new() else {
        return false;
    };
    let mut buffers = RecvBuffers::new();
    let registered = buffers.register(&ring).is_ok();
    if registered {
        buffers.unregister(&ring);
    }
    registered
}

/// One shard's ring.
pub(crate) struct Ring {
    ring: IoUring,
    sends: send::SendSlots,
    /// The kernel can bound the wait for a batch (`min_wait_usec`, Linux 6.12).
    batching: bool,
    recv_template: Box<libc::msghdr>,
    /// Which file-table entries hold a socket (indexed by shard socket slot).
    fixed: Vec<bool>,
    pub(crate) counters: SendCounters,
}

impl Ring {
    /// A ring for the calling thread (it must be the only thread to use it).
    pub(crate) fn new() -> io::Result<Self> {
        let ring = IoUring::builder()
            .setup_cqsize(COMPLETION_ENTRIES)
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_submit_all()
            .build(RING_ENTRIES)?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        // SEND_ZC came with SEND's destination address (Linux 6.0), as did multishot
        // RECVMSG; DEFER_TASKRUN (6.1) was checked by the setup above.
        for code in [
            opcode::SendZc::CODE,
            opcode::RecvMsg::CODE,
            opcode::PollAdd::CODE,
        ] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "io_uring lacks an operation the media shards use",
                ));
            }
        }
        let batching = ring.params().is_feature_min_timeout();
        // The table may not exceed the descriptor limit; without one, descriptors it is.
        let table = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(0, |(soft, _)| soft)
            .min(u64::from(MAX_FIXED_FILES)) as u32;
        let fixed = if table > 0 && ring.submitter().register_files_sparse(table).is_ok() {
            vec![false; table as usize]
        } else {
            Vec::new()
        };
        Ok(Self {
            ring,
            sends: send::SendSlots::new(),
            batching,
            recv_template: bufring::recv_template(),
            fixed,
            counters: SendCounters::default(),
        })
    }

    /// Puts socket `fd` into the file table at `slot`; false if it stays a descriptor.
    pub(crate) fn register_file(&mut self, slot: usize, fd: RawFd) -> bool {
        let Some(entry) = self.fixed.get_mut(slot) else {
            return false;
        };
        *entry = self
            .ring
            .submitter()
            .register_files_update(slot as u32, &[fd])
            .is_ok_and(|n| n == 1);
        *entry
    }

    /// Empties file-table entry `slot` (the socket leaves the shard). Queued operations
    /// naming it are submitted first.
    pub(crate) fn unregister_file(&mut self, slot: usize) {
        if let Some(true) = self.fixed.get(slot).copied() {
            self.submit();
            let _ = self
                .ring
                .submitter()
                .register_files_update(slot as u32, &[-1]);
            if let Some(entry) = self.fixed.get_mut(slot) {
                *entry = false;
            }
        }
    }

    /// Empties the whole file table (the shard stops): the ring no longer keeps the
    /// sockets open, so their ports are free as soon as the shard closes them.
    pub(crate) fn unregister_files(&mut self) {
        if self.fixed.is_empty() {
            return;
        }
        self.submit();
        let _ = self.ring.submitter().unregister_files();
        self.fixed.clear();
    }

    fn is_fixed(&self, slot: usize) -> bool {
        self.fixed.get(slot).copied().unwrap_or(false)
    }

    /// Queues `bytes` for `to` from socket `fd` (copied). Sent by the next
    /// [`Ring::enter`] or [`Ring::submit`].
    pub(crate) fn push_send(&mut self, socket: SocketRef, to: SocketAddr, bytes: &[u8]) {
        // Make room before filling a slot: a submit between filling and pushing would
        // count the filled slot as free again while its entry is not yet queued.
        if self.sends.is_full() || self.ring.submission().is_full() {
            self.submit();
        }
        let fixed = self.is_fixed(socket.slot);
        let Some(slot) = self.sends.fill(to, bytes) else {
            self.counters.failed += 1;
            return;
        };
        let entry = if fixed {
            opcode::Send::new(
                types::Fixed(socket.slot as u32),
                slot.payload,
                slot.payload_len,
            )
            .flags(libc::MSG_DONTWAIT)
            .dest_addr(slot.address)
            .dest_addr_len(slot.address_len)
            .build()
        } else {
            opcode::Send::new(types::Fd(socket.fd), slot.payload, slot.payload_len)
                .flags(libc::MSG_DONTWAIT)
                .dest_addr(slot.address)
                .dest_addr_len(slot.address_len)
                .build()
        };
        let entry = entry
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(Token::Send.encode());
        // SAFETY (send buffers, module doc): the pointers are into a boxed slot that stays
        // allocated and unchanged until this submission has been consumed.
        if !self.push(&entry) {
            self.counters.failed += 1;
            return;
        }
        self.counters.sent += 1;
    }

    /// Starts the multishot receive of socket `fd` into the receive buffers.
    pub(crate) fn arm_recv(&mut self, socket: SocketRef, token: Token) -> bool {
        let template = &raw const *self.recv_template;
        let entry = if self.is_fixed(socket.slot) {
            opcode::RecvMsgMulti::new(types::Fixed(socket.slot as u32), template, BUFFER_GROUP)
                .build()
        } else {
            opcode::RecvMsgMulti::new(types::Fd(socket.fd), template, BUFFER_GROUP).build()
        };
        self.push(&entry.user_data(token.encode()))
    }

    /// Watches `fd` (the shard's eventfd) for readability, repeatedly.
    pub(crate) fn arm_wake(&mut self, fd: RawFd) -> bool {
        let entry = opcode::PollAdd::new(types::Fd(fd), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(Token::Wake.encode());
        self.push(&entry)
    }

    /// Cancels the operation with `token` (its last completion follows).
    pub(crate) fn cancel(&mut self, token: Token) -> bool {
        let entry = opcode::AsyncCancel::new(token.encode())
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(Token::Cancel.encode());
        self.push(&entry)
    }

    /// Pushes an entry, submitting first if the queue is full; false if it stays full.
    fn push(&mut self, entry: &squeue::Entry) -> bool {
        if self.ring.submission().is_full() {
            self.submit();
        }
        // SAFETY: every pointer an entry carries is covered by the module doc: send slots
        // (kept until consumed), the receive template (owned by this ring); poll and
        // cancel entries carry none.
        unsafe { self.ring.submission().push(entry).is_ok() }
    }

    /// Submits what is queued without waiting (no syscall when nothing is queued).
    pub(crate) fn submit(&mut self) {
        if self.ring.submission().is_empty() {
            return;
        }
        self.enter_with(0, None, None);
    }

    /// Submits what is queued and waits for completions: until `want` are there, or
    /// `min_wait` (if given and the kernel supports it; else `want` is 1) has passed with
    /// at least one, or `timeout`.
    pub(crate) fn enter(&mut self, want: usize, min_wait: Option<Duration>, timeout: Duration) {
        let want = match min_wait {
            Some(_) if !self.batching => 1,
            _ => want.max(1),
        };
        self.enter_with(want, min_wait, Some(timeout));
    }

    fn enter_with(&mut self, want: usize, min_wait: Option<Duration>, timeout: Option<Duration>) {
        let timespec = timeout.map(Timespec::from);
        for _ in 0..8 {
            let result = match &timespec {
                Some(ts) => {
                    let mut args = SubmitArgs::new().timespec(ts);
                    if self.batching
                        && let Some(min_wait) = min_wait
                    {
                        let micros = u32::try_from(min_wait.as_micros()).unwrap_or(u32::MAX);
                        args = args.min_wait_usec(micros);
                    }
                    self.ring.submitter().submit_with_args(want, &args)
                }
                None => self.ring.submitter().submit_and_wait(want),
            };
            match result {
                Ok(_) => break,
                // The wait timed out or a signal came: what was queued is submitted.
                Err(e) if e.raw_os_error() == Some(libc::ETIME) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => break,
                // EBUSY/EAGAIN: completions must be reaped (the caller does) or memory is
                // short; try again without waiting.
                Err(e) => {
                    tracing::debug!(error = %e, "io_uring submit failed; retrying");
                    if self.ring.submission().is_empty() {
                        break;
                    }
                }
            }
        }
        if self.ring.submission().is_empty() {
            // Every send submitted so far has been consumed, hence finished.
            self.sends.reset();
        } else {
            // Entries still queued keep their slots; new sends take fresh ones.
            self.sends.retire();
        }
    }

    /// Moves the completions that need action into `out`; counts failed sends.
    pub(crate) fn drain(&mut self, out: &mut Vec<Completion>) {
        for completion in self.ring.completion() {
            let Some(token) = Token::decode(completion.user_data()) else {
                continue;
            };
            match token {
                Token::Send => {
                    // Only failures complete (SKIP_SUCCESS); they were counted as sent.
                    self.counters.sent = self.counters.sent.saturating_sub(1);
                    self.counters.failed += 1;
                }
                Token::Cancel => {}
                Token::Recv { .. } | Token::Wake => out.push(Completion {
                    token,
                    result: completion.result(),
                    more: cqueue::more(completion.flags()),
                    buffer: cqueue::buffer_select(completion.flags()),
                }),
            }
        }
    }
}
