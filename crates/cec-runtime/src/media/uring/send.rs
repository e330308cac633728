//! Send buffers for the ring: the payload and destination address of each queued send,
//! in boxes that stay put while the kernel may read them.

use std::net::SocketAddr;

use cec_media::leg::MAX_DATAGRAM;

/// Sends queued between two submissions before one is forced.
const SLOTS: usize = 512;

/// One queued send.
pub(super) struct Slot {
    buf: [u8; MAX_DATAGRAM],
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

// SAFETY: a slot holds no pointers (only plain C address structs and bytes).
unsafe impl Send for Slot {}

impl Slot {
    fn boxed() -> Box<Self> {
        // SAFETY: all-zero bytes are valid for these plain C structs.
        let (v4, v6) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        Box::new(Self {
            buf: [0; MAX_DATAGRAM],
            v4,
            v6,
        })
    }
}

/// Where a filled slot's bytes are, for the submission entry.
pub(super) struct Filled {
    pub(super) payload: *const u8,
    pub(super) payload_len: u32,
    pub(super) address: *const libc::sockaddr,
    pub(super) address_len: libc::socklen_t,
}

/// The slots of the sends queued since the last submission.
pub(super) struct SendSlots {
    #[expect(
        clippy::vec_box,
        reason = "the kernel reads a slot in place: a Vec<Slot> would move them all on growth"
    )]
    slots: Vec<Box<Slot>>,
    used: usize,
}

impl SendSlots {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Slot::boxed()).collect(),
            used: 0,
        }
    }

    pub(super) fn is_full(&self) -> bool {
        self.used >= self.slots.len()
    }

    /// Copies a datagram into the next slot; `None` if it is too big or all are queued.
    pub(super) fn fill(&mut self, to: SocketAddr, bytes: &[u8]) -> Option<Filled> {
        let slot = self.slots.get_mut(self.used)?;
        let target = slot.buf.get_mut(..bytes.len())?;
        target.copy_from_slice(bytes);
        let (address, address_len): (*const libc::sockaddr, usize) = match to {
            SocketAddr::V4(v4) => {
                slot.v4.sin_family = libc::AF_INET as libc::sa_family_t;
                slot.v4.sin_port = v4.port().to_be();
                slot.v4.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
                ((&raw const slot.v4).cast(), size_of::<libc::sockaddr_in>())
            }
            SocketAddr::V6(v6) => {
                slot.v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                slot.v6.sin6_port = v6.port().to_be();
                slot.v6.sin6_flowinfo = v6.flowinfo().to_be();
                slot.v6.sin6_addr.s6_addr = v6.ip().octets();
                slot.v6.sin6_scope_id = v6.scope_id();
                ((&raw const slot.v6).cast(), size_of::<libc::sockaddr_in6>())
            }
        };
        self.used += 1;
        Some(Filled {
            payload: slot.buf.as_ptr(),
            payload_len: bytes.len() as u32,
            address,
            address_len: address_len as libc::socklen_t,
        })
    }

    /// Every queued send was consumed by the kernel (and, being `MSG_DONTWAIT`,
    /// finished): the slots may be filled again.
    pub(super) fn reset(&mut self) {
        self.used = 0;
    }

    /// Some entries were not consumed (a submit kept failing): we cannot tell which slots
    /// they use, so every queued slot is leaked and replaced. Never seen in practice.
    pub(super) fn retire(&mut self) {
        if self.used == 0 {
            return;
        }
        tracing::warn!(
            queued = self.used,
            "io_uring kept sends queued; leaking their buffers"
        );
        for slot in self.slots.iter_mut().take(self.used) {
            std::mem::forget(std::mem::replace(slot, Slot::boxed()));
        }
        self.used = 0;
    }
}
