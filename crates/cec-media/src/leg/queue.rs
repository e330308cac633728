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

/// FIFO of datagrams with a fixed capacity, allocated once.
#[derive(Debug, Clone)]
pub(crate) struct SendQueue {
    queue: VecDeque<Datagram>,
    /// The datagram most recently handed out by `pop` (borrowed by `Transmit`).
    current: Option<Datagram>,
    pub(crate) dropped: u64,
}

impl SendQueue {
    pub(crate) fn new() -> Self {
        Self {
            queue: VecDeque::with_capacity(QUEUE_LIMIT),
            current: None,
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
        if self.queue.len() >= QUEUE_LIMIT {
            self.queue.pop_front();
            self.dropped += 1;
        }
        // Reuse the slot of the datagram last sent, if any, instead of a fresh buffer.
        let mut datagram = self.current.take().unwrap_or(Datagram {
            channel,
            to,
            len: 0,
            buf: [0; MAX_DATAGRAM],
        });
        let Some(len) = fill(&mut datagram.buf) else {
            self.current = Some(datagram);
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
        let current = self.current.insert(next);
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
