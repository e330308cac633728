//! The io_uring send path: a shard queues every datagram of a relay pass, for all its
//! sockets, as `IORING_OP_SENDMSG` entries and submits them with one `io_uring_enter` at
//! the end of the pass. Each leg socket sees 50 packets/s, so `sendmmsg` per socket is one
//! syscall per packet; here it is one per pass, whatever the number of sockets.
//!
//! This is the only module of the workspace with `unsafe` code, for two reasons:
//!
//! - `SubmissionQueue::push` is `unsafe` because the kernel reads the entry's pointers
//!   (the `msghdr`, and through it the address and the payload) after the call returns,
//!   until the operation completes. Every pointer we hand over points into a [`Slot`] on
//!   the heap (`Box<Slot>`): the box never moves (the pool only ever pushes more boxes),
//!   a slot is filled only when it is free, and it becomes free again only when its
//!   completion has been reaped. So the memory stays valid and unchanged while the kernel
//!   may read it. If the sender is dropped with sends still in flight (the shard stops
//!   while a send waits), the pool is leaked rather than freed under the kernel.
//! - A [`Slot`] holds raw pointers (`msghdr`, `iovec`) into itself, which makes it
//!   `!Send`; a shard must be `Send` to reach its thread. The pointers only ever point
//!   into the same heap allocation, which moves with its owner, so sending the pool to
//!   another thread keeps them valid (`unsafe impl Send`).
//!
//! Sends carry `MSG_DONTWAIT`: with it io_uring returns `EAGAIN` for a full socket buffer
//! instead of parking the send until the socket is writable, so a send completes during
//! the submit that issues it and a full buffer drops the datagram, as with `sendmmsg`.
//!
//! Why not a crate that hides this: tokio-uring and monoio replace the runtime with their
//! own, and their buffer ownership model (a buffer per operation, moved in and out) would
//! mean an allocation or a move per packet; we need a send-only ring next to tokio's epoll
//! reactor, with buffers owned by the shard.

#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use cec_media::leg::MAX_DATAGRAM;
use io_uring::{IoUring, Probe, opcode, types};

use super::io::SendCounters;

/// Submission queue entries; a pass with more sends submits when the queue is full.
const RING_ENTRIES: u32 = 256;
/// Completion queue entries: room for several passes' worth of completions.
const COMPLETION_ENTRIES: u32 = 4 * RING_ENTRIES;
/// Send buffers allocated when the shard starts; the pool doubles if ever exhausted.
const INITIAL_SLOTS: usize = 256;

/// Whether io_uring works here with what we use (set up a ring, `SENDMSG` supported).
/// Containers often refuse `io_uring_setup` (seccomp, `kernel.io_uring_disabled`).
pub(crate) fn available() -> bool {
    build_ring().is_ok()
}

fn build_ring() -> io::Result<IoUring> {
    // Only the shard thread touches its ring: single issuer, and no interrupt to run
    // completion work (sends complete inline during the submit anyway).
    let ring = IoUring::builder()
        .setup_cqsize(COMPLETION_ENTRIES)
        .setup_single_issuer()
        .setup_coop_taskrun()
        .build(RING_ENTRIES)
        .or_else(|_| {
            IoUring::builder()
                .setup_cqsize(COMPLETION_ENTRIES)
                .build(RING_ENTRIES)
        })?;
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    if !probe.is_supported(opcode::SendMsg::CODE) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "io_uring without IORING_OP_SENDMSG",
        ));
    }
    Ok(ring)
}

/// One send buffer with its message header; boxed so the kernel's pointers stay valid.
struct Slot {
    buf: [u8; MAX_DATAGRAM],
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
    iov: libc::iovec,
    msg: libc::msghdr,
}

// SAFETY: the raw pointers in `iov` and `msg` point into the same heap allocation (the
// `Box<Slot>`), which moves between threads as a whole with its owner.
unsafe impl Send for Slot {}

impl Slot {
    fn boxed() -> Box<Self> {
        // SAFETY: all-zero bytes are valid for these plain C structs and the byte array;
        // null pointers in `iov`/`msg` are filled in before any use.
        let v4: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let v6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        let msg: libc::msghdr = unsafe { std::mem::zeroed() };
        Box::new(Self {
            buf: [0; MAX_DATAGRAM],
            v4,
            v6,
            iov: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
            msg,
        })
    }

    /// Copies the datagram in and points the header at it; false if it does not fit.
    fn fill(&mut self, to: SocketAddr, bytes: &[u8]) -> bool {
        let Some(target) = self.buf.get_mut(..bytes.len()) else {
            return false;
        };
        target.copy_from_slice(bytes);
        let (name, name_len): (*mut libc::c_void, usize) = match to {
            SocketAddr::V4(v4) => {
                self.v4.sin_family = libc::AF_INET as libc::sa_family_t;
                self.v4.sin_port = v4.port().to_be();
                self.v4.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
                ((&raw mut self.v4).cast(), size_of::<libc::sockaddr_in>())
            }
            SocketAddr::V6(v6) => {
                self.v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                self.v6.sin6_port = v6.port().to_be();
                self.v6.sin6_flowinfo = v6.flowinfo().to_be();
                self.v6.sin6_addr.s6_addr = v6.ip().octets();
                self.v6.sin6_scope_id = v6.scope_id();
                ((&raw mut self.v6).cast(), size_of::<libc::sockaddr_in6>())
            }
        };
        self.iov.iov_base = self.buf.as_mut_ptr().cast();
        self.iov.iov_len = bytes.len();
        self.msg.msg_name = name;
        self.msg.msg_namelen = name_len as libc::socklen_t;
        self.msg.msg_iov = &raw mut self.iov;
        self.msg.msg_iovlen = 1;
        true
    }
}

static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

/// Datagrams of a relay pass on their way out through one io_uring.
pub(crate) struct UringSend {
    // Declared first so it is dropped (closed) before `slots` if `Drop` leaves them alone.
    ring: IoUring,
    #[expect(
        clippy::vec_box,
        reason = "the kernel reads a slot in place: a Vec<Slot> would move them all on growth"
    )]
    slots: Vec<Box<Slot>>,
    free: Vec<usize>,
    in_flight: usize,
    pub(crate) counters: SendCounters,
}

impl UringSend {
    /// A ring and [`INITIAL_SLOTS`] buffers; `None` (logged once per process) if the
    /// kernel refuses io_uring, so the caller falls back to `sendmmsg`.
    pub(crate) fn new() -> Option<Self> {
        match build_ring() {
            Ok(ring) => Some(Self {
                ring,
                slots: (0..INITIAL_SLOTS).map(|_| Slot::boxed()).collect(),
                free: (0..INITIAL_SLOTS).rev().collect(),
                in_flight: 0,
                counters: SendCounters::default(),
            }),
            Err(e) => {
                if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "io_uring unavailable, media sends use sendmmsg");
                }
                None
            }
        }
    }

    /// Buffers in the pool (grows by doubling when all are in flight).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Queues `bytes` for `to` from socket `fd` (copied into a pool buffer). Nothing is
    /// sent until [`UringSend::flush`], or a full submission queue.
    pub(crate) fn push(&mut self, fd: RawFd, to: SocketAddr, bytes: &[u8]) {
        let Some(index) = self.free_slot() else {
            self.counters.failed += 1;
            return;
        };
        let Some(slot) = self.slots.get_mut(index) else {
            self.counters.failed += 1;
            return;
        };
        if !slot.fill(to, bytes) {
            self.free.push(index);
            self.counters.failed += 1;
            return;
        }
        let entry = opcode::SendMsg::new(types::Fd(fd), &raw const slot.msg)
            .flags(libc::MSG_DONTWAIT as u32)
            .build()
            .user_data(index as u64);
        if self.ring.submission().is_full() {
            self.submit();
        }
        // SAFETY: the entry points at `slot.msg`, which points at `slot.iov`, `slot.buf`
        // and `slot.v4`/`v6`, all inside this slot's box. The slot is now out of the free
        // list and returns to it only in `reap`, after the kernel reported the completion
        // for `user_data == index`; the box is never dropped or moved before that (see
        // the module doc and `Drop`).
        let pushed = unsafe { self.ring.submission().push(&entry) };
        if pushed.is_ok() {
            self.in_flight += 1;
        } else {
            // Still full after a submit: the ring is stuck; drop the datagram.
            self.free.push(index);
            self.counters.failed += 1;
        }
    }

    /// A free slot, reaping completions or growing the pool if none is free.
    fn free_slot(&mut self) -> Option<usize> {
        if let Some(index) = self.free.pop() {
            return Some(index);
        }
        self.submit();
        if let Some(index) = self.free.pop() {
            return Some(index);
        }
        // Rare: every buffer is in flight. Double the pool; existing boxes do not move.
        let old = self.slots.len();
        let grow = old.max(1);
        self.slots.extend((0..grow).map(|_| Slot::boxed()));
        self.free.extend((old..old + grow).rev());
        tracing::debug!(slots = old + grow, "io_uring send pool grown");
        self.free.pop()
    }

    /// Submits what is queued (one syscall) and reaps the completions that are ready.
    pub(crate) fn flush(&mut self) {
        if self.in_flight > 0 {
            self.submit();
        }
    }

    fn submit(&mut self) {
        if !self.ring.submission().is_empty()
            && let Err(e) = self.ring.submit()
        {
            // EBUSY: completions must be reaped first; the entries stay queued.
            tracing::debug!(error = %e, "io_uring submit failed; retrying after reap");
            self.reap();
            let _ = self.ring.submit();
        }
        self.reap();
    }

    /// Frees the slots of completed sends and counts them.
    fn reap(&mut self) {
        for completion in self.ring.completion() {
            let index = usize::try_from(completion.user_data()).unwrap_or(usize::MAX);
            if index >= self.slots.len() {
                continue;
            }
            self.free.push(index);
            self.in_flight = self.in_flight.saturating_sub(1);
            if completion.result() >= 0 {
                self.counters.sent += 1;
            } else {
                self.counters.failed += 1;
            }
        }
    }
}

impl Drop for UringSend {
    fn drop(&mut self) {
        self.submit();
        if self.in_flight > 0 {
            // The kernel may still read these buffers: never free them under it.
            tracing::debug!(in_flight = self.in_flight, "leaking io_uring send buffers");
            std::mem::forget(std::mem::take(&mut self.slots));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[test]
    fn sends_from_many_sockets_in_one_flush_beyond_the_pool_size() {
        let Some(mut tx) = UringSend::new() else {
            // io_uring refused here (container): the fallback is tested elsewhere.
            return;
        };
        // One sink per source, so no receive buffer overflows (a few hundred datagrams).
        let pairs: Vec<_> = (0..6)
            .map(|_| {
                let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
                sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                (UdpSocket::bind("127.0.0.1:0").unwrap(), sink)
            })
            .collect();
        // More than the pool and the submission queue: slots must be recycled, nothing dropped.
        let count = INITIAL_SLOTS + 44;
        for n in 0..count {
            let (source, sink) = &pairs[n % pairs.len()];
            let to = sink.local_addr().unwrap();
            tx.push(source.as_raw_fd(), to, &(n as u32).to_be_bytes());
        }
        tx.flush();
        let mut seen = vec![false; count];
        let mut buf = [0u8; 16];
        for (index, (source, sink)) in pairs.iter().enumerate() {
            for _ in (index..count).step_by(pairs.len()) {
                let (len, from) = sink.recv_from(&mut buf).unwrap();
                assert_eq!(len, 4);
                assert_eq!(from, source.local_addr().unwrap());
                let n = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
                assert_eq!(
                    n % pairs.len(),
                    index,
                    "datagram {n} reached the wrong sink"
                );
                assert!(!seen[n], "datagram {n} twice");
                seen[n] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(tx.counters.sent, count as u64);
        assert_eq!(tx.counters.failed, 0);
        assert_eq!(tx.free.len(), tx.capacity());
    }

    #[test]
    fn bad_descriptor_and_oversized_datagrams_count_as_failures() {
        let Some(mut tx) = UringSend::new() else {
            return;
        };
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        tx.push(-1, to, b"x");
        tx.push(-1, to, &[0; MAX_DATAGRAM + 1]);
        tx.flush();
        assert_eq!(tx.counters.sent, 0);
        assert_eq!(tx.counters.failed, 2);
        assert_eq!(tx.free.len(), tx.capacity());
    }
}
