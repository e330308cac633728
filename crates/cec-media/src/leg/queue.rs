//! Outgoing packets held inline, so the relay path never allocates once warmed up.

use std::collections::VecDeque;
use std::net::SocketAddr;

/// Largest datagram a leg sends (RTP with G.711 at 20 ms is 172 bytes).
pub const MAX_DATAGRAM: usize = 1500;
/// Packets held before the oldest is dropped (the owner is not draining).
pub const QUEUE_LIMIT: usize = 32;

/// Which of the leg's two sockets a datagram leaves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The RTP port.
    Rtp,
    /// The RTCP port (RTP port + 1).
    Rtcp,
}

/// A datagram to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Socket to send from.
    pub channel: Channel,
    /// Destination.
    pub to: SocketAddr,
    /// The datagram.
    pub bytes: &'a [u8],
}

#[derive(Debug, Clone)]
pub(crate) struct Datagram {
    pub(crate) channel: Channel,
    pub(crate) to: SocketAddr,
    pub(crate) len: usize,
    pub(crate) buf: [u8; MAX_DATAGRAM],
}

impl Datagram {
    fn boxed(channel: Channel, to: SocketAddr) -> Box<Self> {
        Box::new(Self {
            channel,
            to,
            len: 0,
            buf: [0; MAX_DATAGRAM],
        })
    }
}

/// FIFO of datagrams, at most [`QUEUE_LIMIT`]. Datagrams are boxed and their boxes reused,
/// so a packet is written once, in place, and queueing moves only a pointer; and a leg
/// holds only as many buffers as it ever had queued at once (one or two for a relay that
/// is drained after every packet) instead of [`QUEUE_LIMIT`] up front.
#[derive(Debug, Clone)]
pub(crate) struct SendQueue {
    queue: VecDeque<Box<Datagram>>,
    /// The datagram most recently handed out by `pop` (borrowed by `Transmit`).
    current: Option<Box<Datagram>>,
    /// Emptied buffers, ready for the next push.
    #[expect(
        clippy::vec_box,
        reason = "boxes move between queue, current and spare without copying the buffer"
    )]
    spare: Vec<Box<Datagram>>,
    pub(crate) dropped: u64,
}

impl SendQueue {
    pub(crate) fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            current: None,
            spare: Vec::new(),
            dropped: 0,
        }
    }

    /// Appends a datagram written by `fill` (which returns its length, or `None` to
    /// abandon it). Returns whether it was queued.
    pub(crate) fn push_with(
        &mut self,
        channel: Channel,
        to: SocketAddr,
        fill: impl FnOnce(&mut [u8; MAX_DATAGRAM]) -> Option<usize>,
    ) -> bool {
        if self.queue.len() >= QUEUE_LIMIT
            && let Some(oldest) = self.queue.pop_front()
        {
            self.spare.push(oldest);
            self.dropped += 1;
        }
        // The buffer of the datagram last sent is free again once a new one is pushed.
        if let Some(sent) = self.current.take() {
            self.spare.push(sent);
        }
        let mut datagram = self
            .spare
            .pop()
            .unwrap_or_else(|| Datagram::boxed(channel, to));
        let Some(len) = fill(&mut datagram.buf) else {
            self.spare.push(datagram);
            return false;
        };
        datagram.channel = channel;
        datagram.to = to;
        datagram.len = len.min(MAX_DATAGRAM);
        self.queue.push_back(datagram);
        true
    }

    pub(crate) fn pop(&mut self) -> Option<Transmit<'_>> {
        let next = self.queue.pop_front()?;
        if let Some(sent) = self.current.replace(next) {
            self.spare.push(sent);
        }
        let current = self.current.as_deref()?;
        Some(Transmit {
            channel: current.channel,
            to: current.to,
            bytes: current.buf.get(..current.len).unwrap_or_default(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn push(queue: &mut SendQueue, tag: u8) -> bool {
        queue.push_with(Channel::Rtp, addr(u16::from(tag)), |buf| {
            buf[..3].fill(tag);
            Some(3)
        })
    }

    #[test]
    fn pops_in_order_with_the_bytes_written() {
        let mut queue = SendQueue::new();
        for tag in 1..=3 {
            assert!(push(&mut queue, tag));
        }
        for tag in 1..=3 {
            let transmit = queue.pop().unwrap();
            assert_eq!(transmit.bytes, [tag; 3]);
            assert_eq!(transmit.to, addr(u16::from(tag)));
        }
        assert!(queue.pop().is_none());
    }

    #[test]
    fn drops_the_oldest_beyond_the_limit() {
        let mut queue = SendQueue::new();
        for tag in 0..(QUEUE_LIMIT as u8 + 2) {
            push(&mut queue, tag);
        }
        assert_eq!(queue.len(), QUEUE_LIMIT);
        assert_eq!(queue.dropped, 2);
        assert_eq!(queue.pop().unwrap().bytes, [2; 3]);
    }

    #[test]
    fn an_abandoned_fill_queues_nothing() {
        let mut queue = SendQueue::new();
        assert!(!queue.push_with(Channel::Rtcp, addr(9), |_| None));
        assert_eq!(queue.len(), 0);
        assert!(queue.pop().is_none());
    }

    #[test]
    fn a_drained_queue_reuses_one_or_two_buffers() {
        let mut queue = SendQueue::new();
        for tag in 0..100 {
            push(&mut queue, tag);
            assert_eq!(queue.pop().unwrap().bytes, [tag; 3]);
        }
        // One buffer in flight (current) and at most one spare: not one per packet.
        assert!(queue.spare.len() + usize::from(queue.current.is_some()) <= 2);
        assert!(queue.queue.capacity() < QUEUE_LIMIT);
    }
}
