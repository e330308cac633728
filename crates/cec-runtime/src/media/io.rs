//! Batched datagram I/O on raw socket descriptors: `recvmmsg` into buffers allocated once,
//! and `sendmmsg` of consecutive datagrams leaving the same socket. nix wraps both
//! syscalls behind a safe API, so this module needs no `unsafe`.
//!
//! nix's preallocated message headers hold raw pointers and are not `Send`, while a shard
//! must be `Send` to be built and run by its runtime; so the headers live in thread-locals
//! (built once per shard thread) and only the buffers live in the shard.

use std::cell::RefCell;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

use super::uring::Ring;
use cec_media::leg::MAX_DATAGRAM;
use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrLike, SockaddrStorage, recvmmsg, sendmmsg,
    sendto,
};

/// Datagrams read per `recvmmsg` call.
pub(crate) const RECV_BATCH: usize = 16;
/// Datagrams written per `sendmmsg` call.
pub(crate) const SEND_BATCH: usize = 16;
/// Receive buffer per datagram: a bigger datagram is truncated and dropped.
const RECV_BUF: usize = 2048;

thread_local! {
    static RECV_HEADERS: RefCell<Option<MultiHeaders<SockaddrStorage>>> = const { RefCell::new(None) };
    static SEND_HEADERS: RefCell<Option<MultiHeaders<SockaddrStorage>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's headers for `batch` messages.
fn with_headers<R>(
    key: &'static std::thread::LocalKey<RefCell<Option<MultiHeaders<SockaddrStorage>>>>,
    batch: usize,
    f: impl FnOnce(&mut MultiHeaders<SockaddrStorage>) -> io::Result<R>,
) -> io::Result<R> {
    key.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| io::Error::other("batch headers in use"))?;
        let headers = slot.get_or_insert_with(|| MultiHeaders::preallocate(batch, None));
        f(headers)
    })
}

fn to_std(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// One `recvmmsg` worth of datagrams.
pub(crate) struct RecvBatch {
    bufs: Box<[[u8; RECV_BUF]]>,
    lens: [usize; RECV_BATCH],
    from: [Option<SocketAddr>; RECV_BATCH],
    count: usize,
}

impl RecvBatch {
    pub(crate) fn new() -> Self {
        Self {
            bufs: vec![[0; RECV_BUF]; RECV_BATCH].into_boxed_slice(),
            lens: [0; RECV_BATCH],
            from: [None; RECV_BATCH],
            count: 0,
        }
    }

    /// Reads up to [`RECV_BATCH`] datagrams without blocking; `Ok(n)` with `n` datagrams,
    /// `WouldBlock` when there was none.
    pub(crate) fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        let Self {
            bufs,
            lens,
            from,
            count,
        } = self;
        *count = 0;
        with_headers(&RECV_HEADERS, RECV_BATCH, |headers| {
            let mut buffers = bufs.iter_mut();
            let mut iovs: [[IoSliceMut<'_>; 1]; RECV_BATCH] = std::array::from_fn(|_| {
                [IoSliceMut::new(
                    buffers.next().map_or(&mut [][..], |buf| &mut buf[..]),
                )]
            });
            let results = recvmmsg(fd, headers, iovs.iter_mut(), MsgFlags::MSG_DONTWAIT, None)
                .map_err(io::Error::from)?;
            for (slot, message) in results.enumerate() {
                let (Some(len), Some(source)) = (lens.get_mut(slot), from.get_mut(slot)) else {
                    break;
                };
                let truncated = message.flags.contains(MsgFlags::MSG_TRUNC);
                // A truncated datagram is reported with length 0: it is never valid RTP.
                *len = if truncated { 0 } else { message.bytes };
                *source = message.address.as_ref().and_then(to_std);
                *count = slot + 1;
            }
            Ok(*count)
        })
    }

    /// Forgets the last batch.
    pub(crate) fn clear(&mut self) {
        self.count = 0;
    }

    /// Datagrams in the last batch.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Datagram `index` of the last batch and its source.
    pub(crate) fn get(&self, index: usize) -> Option<(SocketAddr, &[u8])> {
        if index >= self.count {
            return None;
        }
        let from = (*self.from.get(index)?)?;
        let len = *self.lens.get(index)?;
        Some((from, self.bufs.get(index)?.get(..len)?))
    }
}

/// Counters of a [`SendBatch`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SendCounters {
    pub(crate) sent: u64,
    pub(crate) failed: u64,
}

/// Datagrams waiting to leave one socket; flushed when the socket changes or it is full.
pub(crate) struct SendBatch {
    fd: Option<RawFd>,
    bufs: Box<[[u8; MAX_DATAGRAM]]>,
    lens: [usize; SEND_BATCH],
    addrs: [Option<SockaddrStorage>; SEND_BATCH],
    len: usize,
    pub(crate) counters: SendCounters,
}

impl SendBatch {
    pub(crate) fn new() -> Self {
        Self {
            fd: None,
            bufs: vec![[0; MAX_DATAGRAM]; SEND_BATCH].into_boxed_slice(),
            lens: [0; SEND_BATCH],
            addrs: [None; SEND_BATCH],
            len: 0,
            counters: SendCounters::default(),
        }
    }

    /// Queues `bytes` for `to` from socket `fd` (copied: the caller's buffer is reused).
    pub(crate) fn push(&mut self, fd: RawFd, to: SocketAddr, bytes: &[u8]) {
        if self.fd != Some(fd) || self.len >= SEND_BATCH {
            self.flush();
        }
        self.fd = Some(fd);
        let slot = self.len;
        let (Some(buf), Some(len), Some(addr)) = (
            self.bufs.get_mut(slot),
            self.lens.get_mut(slot),
            self.addrs.get_mut(slot),
        ) else {
            return;
        };
        let Some(target) = buf.get_mut(..bytes.len()) else {
            self.counters.failed += 1;
            return;
        };
        target.copy_from_slice(bytes);
        *len = bytes.len();
        *addr = Some(SockaddrStorage::from(to));
        self.len += 1;
    }

    /// Sends what is queued; datagrams the kernel refuses are counted and dropped (UDP:
    /// the peer's loss concealment handles it, retrying would add delay).
    pub(crate) fn flush(&mut self) {
        let (Some(fd), queued) = (self.fd, self.len) else {
            return;
        };
        self.len = 0;
        match queued {
            0 => {}
            1 => self.send_one(fd),
            _ => self.send_many(fd, queued),
        }
    }

    fn send_one(&mut self, fd: RawFd) {
        let (Some(buf), Some(len), Some(Some(addr))) =
            (self.bufs.first(), self.lens.first(), self.addrs.first())
        else {
            return;
        };
        let data = buf.get(..*len).unwrap_or_default();
        match sendto(fd, data, addr as &dyn SockaddrLike, MsgFlags::MSG_DONTWAIT) {
            Ok(_) => self.counters.sent += 1,
            Err(_) => self.counters.failed += 1,
        }
    }

    fn send_many(&mut self, fd: RawFd, queued: usize) {
        let mut start = 0;
        // sendmmsg may send fewer than asked (e.g. a full socket buffer): retry the rest
        // once per datagram at most, then drop what is left.
        while start < queued {
            let Self {
                bufs, lens, addrs, ..
            } = self;
            let slices: [[IoSlice<'_>; 1]; SEND_BATCH] = std::array::from_fn(|i| {
                let len = lens.get(i).copied().unwrap_or(0);
                [IoSlice::new(
                    bufs.get(i).and_then(|b| b.get(..len)).unwrap_or_default(),
                )]
            });
            let pending = slices.get(start..queued).unwrap_or_default();
            let targets = addrs.get(start..queued).unwrap_or_default();
            let result = with_headers(&SEND_HEADERS, SEND_BATCH, |headers| {
                let no_control: [ControlMessage<'_>; 0] = [];
                let flags = MsgFlags::MSG_DONTWAIT;
                let results = sendmmsg(fd, headers, pending, targets, no_control, flags)
                    .map_err(io::Error::from)?;
                Ok(results.count())
            });
            match result {
                Ok(sent) => {
                    // Zero sent would loop forever: count it as one failure.
                    self.counters.sent += sent as u64;
                    self.counters.failed += u64::from(sent == 0);
                    start += sent.max(1);
                }
                Err(_) => {
                    // The first datagram failed: drop it and try the rest.
                    self.counters.failed += 1;
                    start += 1;
                }
            }
        }
    }
}

/// A socket of the shard: its descriptor, and its slot (the io_uring loop registers
/// sockets in the ring's file table at that index).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SocketRef {
    pub(crate) fd: RawFd,
    pub(crate) slot: usize,
}

/// Where a shard's outgoing datagrams go: `sendmmsg` per socket (epoll loop), or the
/// shard's io_uring, submitted with the next wait (ring loop).
pub(crate) enum Outgoing {
    Mmsg(Box<SendBatch>),
    Ring(Box<Ring>),
}

impl Outgoing {
    /// Queues `bytes` for `to` from `socket` (copied: the caller's buffer is reused).
    pub(crate) fn push(&mut self, socket: SocketRef, to: SocketAddr, bytes: &[u8]) {
        match self {
            Self::Mmsg(batch) => batch.push(socket.fd, to, bytes),
            Self::Ring(ring) => ring.push_send(socket, to, bytes),
        }
    }

    /// Sends what is queued now.
    pub(crate) fn flush(&mut self) {
        match self {
            Self::Mmsg(batch) => batch.flush(),
            Self::Ring(ring) => ring.submit(),
        }
    }

    /// Sent and failed datagrams so far.
    pub(crate) fn counters(&self) -> SendCounters {
        match self {
            Self::Mmsg(batch) => batch.counters,
            Self::Ring(ring) => ring.counters,
        }
    }
}
