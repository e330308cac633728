//! The provided buffer ring the multishot receives fill: `ENTRIES` buffers of
//! `BUFFER_SIZE` bytes in one allocation, and the ring of entries (page-aligned) through
//! which we hand buffers to the kernel.

use std::alloc::Layout;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::{BufRingEntry, RecvMsgOut};

use super::{BUFFER_GROUP, Ring};

/// Buffers in the ring (a power of two). Buffers come back after each pass, so this only
/// bounds the datagrams one pass can take in; the rest wait in the socket buffers.
const ENTRIES: u16 = 1024;
/// Per buffer: the `io_uring_recvmsg_out` header (16 bytes), the source address (28) and
/// the datagram. RTP over UDP on an Ethernet path fits well below it; bigger datagrams are
/// reported truncated and dropped, as with `recvmmsg`.
const BUFFER_SIZE: usize = 2048;
const PAGE: usize = 4096;

/// The `msghdr` of every multishot receive: room for an IPv4 or IPv6 source address, no
/// control data.
pub(super) fn recv_template() -> Box<libc::msghdr> {
    // SAFETY: all-zero bytes are a valid msghdr (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    Box::new(msg)
}

/// A received datagram, borrowed from its buffer until the buffer is recycled.
pub(crate) struct Datagram<'a> {
    pub(crate) from: SocketAddr,
    /// Empty if the datagram was truncated (never valid RTP).
    pub(crate) data: &'a [u8],
}

pub(crate) struct RecvBuffers {
    entries: NonNull<BufRingEntry>,
    memory: NonNull<u8>,
    /// Our tail: where the next recycled buffer goes (published by [`Self::publish`]).
    tail: u16,
    registered: bool,
    /// The receives' `msghdr` (its name and control lengths lay out each buffer).
    template: Box<libc::msghdr>,
}

// SAFETY: the struct owns both allocations (and the template, whose pointers are null);
// the pointers move with it between threads.
unsafe impl Send for RecvBuffers {}

fn entries_layout() -> Layout {
    let size = usize::from(ENTRIES) * size_of::<BufRingEntry>();
    Layout::from_size_align(size.max(PAGE), PAGE).unwrap_or_else(|_| Layout::new::<u64>())
}

fn memory_layout() -> Layout {
    Layout::from_size_align(usize::from(ENTRIES) * BUFFER_SIZE, PAGE)
        .unwrap_or_else(|_| Layout::new::<u64>())
}

impl RecvBuffers {
    pub(crate) fn new() -> Self {
        // SAFETY: both layouts have a non-zero size. A failed allocation aborts through
        // `handle_alloc_error`, as `Box` would.
        let (entries, memory) = unsafe {
            let entries = std::alloc::alloc_zeroed(entries_layout()).cast::<BufRingEntry>();
            let memory = std::alloc::alloc_zeroed(memory_layout());
            (entries, memory)
        };
        let entries = NonNull::new(entries)
            .unwrap_or_else(|| std::alloc::handle_alloc_error(entries_layout()));
        let memory =
            NonNull::new(memory).unwrap_or_else(|| std::alloc::handle_alloc_error(memory_layout()));
        let mut buffers = Self {
            entries,
            memory,
            tail: 0,
            registered: false,
            template: recv_template(),
        };
        for bid in 0..ENTRIES {
            buffers.recycle(bid);
        }
        buffers
    }

    /// Registers the ring with `ring` as [`BUFFER_GROUP`], all buffers available.
    pub(crate) fn register(&mut self, ring: &Ring) -> std::io::Result<()> {
        self.publish();
        // SAFETY (receive buffers, module doc): the entries and the memory they point to
        // stay allocated until `unregister` succeeds; `Drop` leaks them otherwise.
        unsafe {
            ring.ring.submitter().register_buf_ring_with_flags(
                self.entries.as_ptr() as u64,
                ENTRIES,
                BUFFER_GROUP,
                0,
            )?;
        }
        self.registered = true;
        Ok(())
    }

    /// Tells the kernel to forget the buffers (after every receive has ended).
    pub(crate) fn unregister(&mut self, ring: &Ring) {
        if self.registered
            && ring
                .ring
                .submitter()
                .unregister_buf_ring(BUFFER_GROUP)
                .is_ok()
        {
            self.registered = false;
        }
    }

    /// The datagram a receive completion of `used` bytes put in buffer `bid`.
    pub(crate) fn datagram(&self, bid: u16, used: usize) -> Option<Datagram<'_>> {
        if bid >= ENTRIES || used > BUFFER_SIZE {
            return None;
        }
        // SAFETY (receive buffers, module doc): a completion handed buffer `bid` to us;
        // the kernel does not touch it until we recycle it, which needs `&mut self` and so
        // ends this borrow first.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                self.memory.as_ptr().add(usize::from(bid) * BUFFER_SIZE),
                used,
            )
        };
        let out = RecvMsgOut::parse(bytes, &self.template).ok()?;
        let from = source(out.name_data())?;
        // The payload borrowed from the buffer rather than from `out`.
        let payload = out.payload_data();
        let start = (payload.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
        let data = if out.is_payload_truncated() {
            &[][..]
        } else {
            bytes.get(start..start.checked_add(payload.len())?)?
        };
        Some(Datagram { from, data })
    }

    /// Gives buffer `bid` back to the kernel (visible after [`Self::publish`]).
    pub(crate) fn recycle(&mut self, bid: u16) {
        if bid >= ENTRIES {
            return;
        }
        let index = usize::from(self.tail & (ENTRIES - 1));
        // SAFETY: `index` < ENTRIES, inside the entries allocation. The kernel has
        // consumed this entry: we only recycle buffers it handed out, so at most ENTRIES
        // are ever between its head and our tail. The tail field overlaps entry 0's
        // reserved field, which these setters do not write.
        unsafe {
            let entry = &mut *self.entries.as_ptr().add(index);
            entry.set_addr(self.memory.as_ptr().add(usize::from(bid) * BUFFER_SIZE) as u64);
            entry.set_len(BUFFER_SIZE as u32);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes the recycled buffers to the kernel.
    pub(crate) fn publish(&self) {
        // SAFETY: the tail field lies in the first entry, inside our allocation, aligned
        // for u16; the kernel only reads it, and we write it only through this atomic.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()).cast_mut();
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for RecvBuffers {
    fn drop(&mut self) {
        if self.registered {
            // The kernel may still write into them: never free them under it.
            tracing::debug!("leaking io_uring receive buffers still registered");
            return;
        }
        // SAFETY: allocated in `new` with these layouts; unregistered, so unused.
        unsafe {
            std::alloc::dealloc(self.entries.as_ptr().cast(), entries_layout());
            std::alloc::dealloc(self.memory.as_ptr(), memory_layout());
        }
    }
}

/// The source address of a datagram, from the `sockaddr` bytes the kernel wrote.
fn source(name: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes([*name.first()?, *name.get(1)?]);
    let port = u16::from_be_bytes([*name.get(2)?, *name.get(3)?]);
    match i32::from(family) {
        libc::AF_INET => {
            let ip: [u8; 4] = name.get(4..8)?.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            let flowinfo = u32::from_be_bytes(name.get(4..8)?.try_into().ok()?);
            let ip: [u8; 16] = name.get(8..24)?.try_into().ok()?;
            let scope = u32::from_ne_bytes(name.get(24..28)?.try_into().ok()?);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flowinfo,
                scope,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_parse_from_sockaddr_bytes() {
        let mut v4 = [0u8; 28];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&5004u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(source(&v4), Some("127.0.0.1:5004".parse().unwrap()));
        let mut v6 = [0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&6000u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(source(&v6), Some("[::1]:6000".parse().unwrap()));
        assert_eq!(source(&v6[..10]), None);
        assert_eq!(source(&[0u8; 28]), None);
    }
}
