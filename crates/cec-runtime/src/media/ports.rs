//! RTP port pairs from `media.rtp_ports`: an even port for RTP and the odd port after it
//! for RTCP (RFC 3550 §11). A pair is reserved by a [`PortReservation`] guard and comes
//! back to the pool when the guard drops, on every path. A pair that cannot be bound
//! (another process holds it) is skipped; only a range with no bindable pair left is an
//! error.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use socket2::{Domain, Protocol, Socket, Type};

use super::MediaError;

/// A range of UDP ports, both ends included, e.g. `"20000-29999"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// `20000-29999`, the default of `media.rtp_ports`.
    pub const DEFAULT: Self = Self {
        first: 20000,
        last: 29999,
    };

    /// A range holding at least one even port whose odd neighbour is also inside.
    pub fn new(first: u16, last: u16) -> Result<Self, MediaError> {
        let range = Self { first, last };
        if first == 0 || range.pair_count() == 0 {
            return Err(MediaError::InvalidPortRange(range.to_string()));
        }
        Ok(range)
    }

    /// First port.
    pub fn first(self) -> u16 {
        self.first
    }

    /// Last port.
    pub fn last(self) -> u16 {
        self.last
    }

    /// The lowest even port of the range.
    fn first_even(self) -> u32 {
        u32::from(self.first) + u32::from(self.first % 2)
    }

    /// How many even/odd pairs fit.
    pub fn pair_count(self) -> usize {
        let last = u32::from(self.last);
        let even = self.first_even();
        if last < even + 1 {
            return 0;
        }
        (last - even).div_ceil(2) as usize
    }

    /// The RTP (even) port of pair `index`.
    fn rtp_port(self, index: usize) -> Option<u16> {
        let port = self.first_even() + 2 * u32::try_from(index).ok()?;
        u16::try_from(port).ok().filter(|p| *p < self.last)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortRange {
    type Err = MediaError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || MediaError::InvalidPortRange(text.to_owned());
        let (first, last) = text.trim().split_once('-').ok_or_else(invalid)?;
        let first = first.trim().parse().map_err(|_| invalid())?;
        let last = last.trim().parse().map_err(|_| invalid())?;
        Self::new(first, last).map_err(|_| invalid())
    }
}

#[derive(Debug)]
struct PoolState {
    in_use: Vec<bool>,
    /// Where the next search starts: round robin, so a just-released pair is the last to
    /// be reused (late packets of the old call do not reach the new one).
    cursor: usize,
    used: usize,
}

/// Hands out bound RTP/RTCP socket pairs from a [`PortRange`]. Shared by the engine and its
/// reservations (`Arc`).
#[derive(Debug)]
pub struct PortAllocator {
    ip: IpAddr,
    range: PortRange,
    socket_buffer: Option<usize>,
    state: Mutex<PoolState>,
}

impl PortAllocator {
    /// A pool over `range` on `ip`; `socket_buffer` sets SO_RCVBUF / SO_SNDBUF (best effort).
    pub fn new(ip: IpAddr, range: PortRange, socket_buffer: Option<usize>) -> Arc<Self> {
        Arc::new(Self {
            ip,
            range,
            socket_buffer,
            state: Mutex::new(PoolState {
                in_use: vec![false; range.pair_count()],
                cursor: 0,
                used: 0,
            }),
        })
    }

    /// The range.
    pub fn range(&self) -> PortRange {
        self.range
    }

    /// Pairs currently reserved.
    pub fn in_use(&self) -> usize {
        self.lock().used
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves and binds the next free pair; pairs that fail to bind are skipped.
    pub fn allocate(self: &Arc<Self>) -> Result<PortPair, MediaError> {
        let mut state = self.lock();
        let count = state.in_use.len();
        for step in 0..count {
            let index = (state.cursor + step) % count;
            if state.in_use.get(index).copied().unwrap_or(true) {
                continue;
            }
            let Some(port) = self.range.rtp_port(index) else {
                continue;
            };
            let Ok((rtp, rtcp)) = self.bind_pair(port) else {
                // Taken by someone else (or not bindable at all): try the next pair.
                continue;
            };
            if let Some(slot) = state.in_use.get_mut(index) {
                *slot = true;
            }
            state.used += 1;
            state.cursor = (index + 1) % count;
            return Ok(PortPair {
                rtp,
                rtcp,
                reservation: PortReservation {
                    pool: Arc::clone(self),
                    index,
                    port,
                },
            });
        }
        Err(MediaError::PortsExhausted {
            first: self.range.first,
            last: self.range.last,
        })
    }

    fn bind_pair(&self, port: u16) -> io::Result<(UdpSocket, UdpSocket)> {
        let rtp = self.bind(port)?;
        let rtcp = self.bind(port.checked_add(1).ok_or(io::ErrorKind::InvalidInput)?)?;
        Ok((rtp, rtcp))
    }

    fn bind(&self, port: u16) -> io::Result<UdpSocket> {
        let addr = SocketAddr::new(self.ip, port);
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if let Some(size) = self.socket_buffer {
            // Best effort: the kernel caps these at net.core.{r,w}mem_max.
            let _ = socket.set_recv_buffer_size(size);
            let _ = socket.set_send_buffer_size(size);
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        Ok(socket.into())
    }

    fn release(&self, index: usize) {
        let mut state = self.lock();
        if let Some(slot) = state.in_use.get_mut(index)
            && *slot
        {
            *slot = false;
            state.used = state.used.saturating_sub(1);
        }
    }
}

/// Keeps one pair reserved; dropping it returns the pair to the pool.
#[derive(Debug)]
pub struct PortReservation {
    pool: Arc<PortAllocator>,
    index: usize,
    port: u16,
}

impl PortReservation {
    /// The RTP (even) port; RTCP is the next one.
    pub fn rtp_port(&self) -> u16 {
        self.port
    }
}

impl Drop for PortReservation {
    fn drop(&mut self) {
        self.pool.release(self.index);
    }
}

/// A bound RTP/RTCP socket pair (non-blocking) and its reservation.
#[derive(Debug)]
pub struct PortPair {
    // Field order matters: the sockets close before the reservation frees the ports.
    /// The RTP socket (even port).
    pub rtp: UdpSocket,
    /// The RTCP socket (RTP port + 1).
    pub rtcp: UdpSocket,
    /// The reservation; drop it after the sockets.
    pub reservation: PortReservation,
}

impl PortPair {
    /// The RTP socket's local address.
    pub fn rtp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.reservation.pool.ip, self.reservation.port)
    }

    /// The RTCP socket's local address.
    pub fn rtcp_addr(&self) -> SocketAddr {
        SocketAddr::new(
            self.reservation.pool.ip,
            self.reservation.port.saturating_add(1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_ranges() {
        let range: PortRange = "20000-29999".parse().unwrap();
        assert_eq!(
            (range.first(), range.last(), range.pair_count()),
            (20000, 29999, 5000)
        );
        let odd: PortRange = " 20001 - 20004 ".parse().unwrap();
        assert_eq!(odd.pair_count(), 1);
        assert_eq!(odd.rtp_port(0), Some(20002));
        assert_eq!(odd.rtp_port(1), None);
        for bad in [
            "",
            "20000",
            "20000-",
            "x-y",
            "20001-20001",
            "20000-20000",
            "0-10",
            "9-3",
        ] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad:?} accepted");
        }
        let top: PortRange = "65534-65535".parse().unwrap();
        assert_eq!(top.rtp_port(0), Some(65534));
    }

    proptest! {
        #[test]
        fn never_panics_and_pairs_stay_inside(text in "\\PC{0,20}", first: u16, last: u16) {
            let _ = text.parse::<PortRange>();
            if let Ok(range) = PortRange::new(first, last) {
                let printed: PortRange = range.to_string().parse().unwrap();
                prop_assert_eq!(printed, range);
                for index in 0..range.pair_count().min(64) {
                    let port = range.rtp_port(index).unwrap();
                    prop_assert!(port % 2 == 0 && port >= first && port < last);
                }
                prop_assert!(range.rtp_port(range.pair_count()).is_none());
            }
        }
    }
}
