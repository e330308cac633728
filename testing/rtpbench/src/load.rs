//! One `rtp-load` worker thread: two sockets (the callers' side and the callees' side of
//! its calls), paced `sendmmsg` of one packet per stream every 20 ms (staggered over 1 ms
//! slots so the engine sees a steady rate, not bursts), and `recvmmsg` with kernel receive
//! timestamps (`SO_TIMESTAMPNS`), so the measured delay does not depend on when this thread
//! wakes up.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cec_rtp::packet::{RtpHeader, RtpPacket};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg,
    sendmmsg, setsockopt, sockopt,
};
use nix::sys::time::TimeSpec;

use crate::hist::Histogram;

/// Packets per call per direction per second.
pub const PACKET_RATE: u32 = 50;
/// G.711 at 20 ms.
pub const PAYLOAD: usize = 160;
const SLOTS: usize = 20;
const BATCH: usize = 64;
const PACKET: usize = 12 + PAYLOAD;

/// CLOCK_REALTIME in nanoseconds (the clock of `SO_TIMESTAMPNS`).
pub fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A call as the load tool sees it.
#[derive(Debug, Clone, Copy)]
pub struct CallPath {
    /// Global call index (carried in every payload).
    pub index: u32,
    /// Where the caller side sends (the engine's caller-facing port).
    pub caller_to: SocketAddr,
    /// Where the callee side sends (the engine's callee-facing port).
    pub callee_to: SocketAddr,
}

/// When to send and what counts.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Sending starts (monotonic).
    pub start: Instant,
    /// Measurement window in CLOCK_REALTIME ns: packets sent inside it are counted.
    pub window: (u64, u64),
    /// Sending stops.
    pub stop: Instant,
    /// Receiving stops (after a drain period).
    pub drain_until: Instant,
}

/// What one worker measured inside the window.
#[derive(Debug, Default, Clone)]
pub struct Measured {
    /// Packets sent with a send time inside the window.
    pub sent: u64,
    /// Of those, received at the far side.
    pub received: u64,
    /// Sender-to-receiver delay, µs.
    pub latency: Histogram,
    /// |D(i-1, i)| of RFC 3550 §6.4.1 between consecutive packets of a stream, µs.
    pub delay_variation: Histogram,
    /// Sum over streams of the RFC 3550 interarrival jitter at the end, µs.
    pub jitter_sum: f64,
    /// Streams that contributed to `jitter_sum`.
    pub jitter_streams: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct StreamState {
    seq: u32,
    last: Option<(u32, i64)>,
    jitter_ns: f64,
}

/// Binds a worker socket with large buffers (forced past rmem_max when we may).
pub fn bind_socket(ip: std::net::IpAddr) -> anyhow::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0))?;
    let size = 16 << 20;
    if setsockopt(&socket, sockopt::RcvBufForce, &size).is_err() {
        let _ = setsockopt(&socket, sockopt::RcvBuf, &size);
    }
    if setsockopt(&socket, sockopt::SndBufForce, &size).is_err() {
        let _ = setsockopt(&socket, sockopt::SndBuf, &size);
    }
    setsockopt(&socket, sockopt::ReceiveTimestampns, &true)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

struct Sender {
    bufs: Vec<[u8; PACKET]>,
    addrs: Vec<Option<SockaddrStorage>>,
    len: usize,
    headers: MultiHeaders<SockaddrStorage>,
}

impl Sender {
    fn new() -> Self {
        Self {
            bufs: vec![[0; PACKET]; BATCH],
            addrs: vec![None; BATCH],
            len: 0,
            headers: MultiHeaders::preallocate(BATCH, None),
        }
    }

    fn push(&mut self, socket: &UdpSocket, to: SocketAddr, packet: impl FnOnce(&mut [u8])) {
        if self.len == BATCH {
            self.flush(socket);
        }
        if let (Some(buf), Some(addr)) = (self.bufs.get_mut(self.len), self.addrs.get_mut(self.len))
        {
            packet(buf);
            *addr = Some(SockaddrStorage::from(to));
            self.len += 1;
        }
    }

    fn flush(&mut self, socket: &UdpSocket) {
        let mut start = 0;
        while start < self.len {
            let slices: Vec<[IoSlice<'_>; 1]> = self
                .bufs
                .get(start..self.len)
                .unwrap_or_default()
                .iter()
                .map(|b| [IoSlice::new(b)])
                .collect();
            let addrs = self.addrs.get(start..self.len).unwrap_or_default();
            let none: [ControlMessage<'_>; 0] = [];
            let flags = MsgFlags::empty();
            match sendmmsg(
                socket.as_raw_fd(),
                &mut self.headers,
                &slices,
                addrs,
                none,
                flags,
            ) {
                Ok(results) => start += results.count().max(1),
                // A full buffer: wait a little (this is the generator, not the engine).
                Err(_) => std::thread::sleep(Duration::from_micros(100)),
            }
        }
        self.len = 0;
    }
}

struct Receiver {
    bufs: Vec<[u8; 2048]>,
    lens: [usize; BATCH],
    stamps: [u64; BATCH],
    headers: MultiHeaders<SockaddrStorage>,
}

impl Receiver {
    fn new() -> Self {
        Self {
            bufs: vec![[0; 2048]; BATCH],
            lens: [0; BATCH],
            stamps: [0; BATCH],
            headers: MultiHeaders::preallocate(BATCH, Some(nix::cmsg_space!(TimeSpec))),
        }
    }

    /// Reads one batch; returns how many datagrams.
    fn receive(&mut self, socket: &UdpSocket) -> usize {
        let Self {
            bufs,
            lens,
            stamps,
            headers,
        } = self;
        let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
            bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
        let flags = MsgFlags::MSG_DONTWAIT;
        let Ok(results) = recvmmsg(socket.as_raw_fd(), headers, iovs.iter_mut(), flags, None)
        else {
            return 0;
        };
        let mut count = 0;
        for (slot, message) in results.enumerate() {
            let stamp = message.cmsgs().ok().and_then(|mut cmsgs| {
                cmsgs.find_map(|c| match c {
                    ControlMessageOwned::ScmTimestampns(ts) => {
                        Some(ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
                    }
                    _ => None,
                })
            });
            if let (Some(len), Some(at)) = (lens.get_mut(slot), stamps.get_mut(slot)) {
                *len = message.bytes;
                *at = stamp.unwrap_or_else(realtime_ns);
            }
            count = slot + 1;
        }
        count
    }
}

/// Runs one worker: `calls` through `caller` and `callee` sockets, until `schedule.drain_until`.
pub fn run(
    calls: &[CallPath],
    caller: &UdpSocket,
    callee: &UdpSocket,
    schedule: Schedule,
) -> Measured {
    let mut measured = Measured::default();
    // Stream 2*i: caller -> callee of local call i; 2*i+1: callee -> caller.
    let mut streams = vec![StreamState::default(); calls.len() * 2];
    let local: std::collections::HashMap<u32, usize> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.index, i))
        .collect();
    let (mut to_callee, mut to_caller) = (Sender::new(), Sender::new());
    let mut rx = Receiver::new();
    let (window_start, window_end) = schedule.window;
    let mut tick: u64 = 0;
    let mut next = schedule.start;
    loop {
        let now = Instant::now();
        while next <= now && next < schedule.stop {
            let slot = (tick % SLOTS as u64) as usize;
            let sent_ns = realtime_ns();
            let in_window = (window_start..window_end).contains(&sent_ns);
            for (i, call) in calls.iter().enumerate().skip(slot).step_by(SLOTS) {
                for (dir, sender, socket, to) in [
                    (0, &mut to_callee, caller, call.caller_to),
                    (1, &mut to_caller, callee, call.callee_to),
                ] {
                    let Some(stream) = streams.get_mut(2 * i + dir) else {
                        continue;
                    };
                    let seq = stream.seq;
                    stream.seq = seq.wrapping_add(1);
                    measured.sent += u64::from(in_window);
                    sender.push(socket, to, |buf| {
                        write_packet(buf, call.index, dir as u32, seq, sent_ns);
                    });
                }
            }
            tick += 1;
            next += Duration::from_millis(1);
        }
        to_callee.flush(caller);
        to_caller.flush(callee);
        // Packets from the caller arrive on the callee socket (dir 0) and vice versa.
        for (socket, dir) in [(callee, 0usize), (caller, 1usize)] {
            loop {
                let count = rx.receive(socket);
                for slot in 0..count {
                    let (Some(buf), Some(&len), Some(&rx_ns)) =
                        (rx.bufs.get(slot), rx.lens.get(slot), rx.stamps.get(slot))
                    else {
                        continue;
                    };
                    let Some((call, seq, sent_ns)) =
                        read_packet(buf.get(..len).unwrap_or_default())
                    else {
                        continue;
                    };
                    if !(window_start..window_end).contains(&sent_ns) {
                        continue;
                    }
                    let Some(stream) = local.get(&call).and_then(|i| streams.get_mut(2 * i + dir))
                    else {
                        continue;
                    };
                    measured.received += 1;
                    let transit = rx_ns as i64 - sent_ns as i64;
                    measured.latency.record(transit.max(0) as u64 / 1_000);
                    if let Some((last_seq, last_transit)) = stream.last
                        && seq == last_seq.wrapping_add(1)
                    {
                        let d = (transit - last_transit).unsigned_abs();
                        measured.delay_variation.record(d / 1_000);
                        stream.jitter_ns += (d as f64 - stream.jitter_ns) / 16.0;
                    }
                    stream.last = Some((seq, transit));
                }
                if count < BATCH {
                    break;
                }
            }
        }
        let now = Instant::now();
        if now >= schedule.drain_until {
            break;
        }
        let wake = if next < schedule.stop {
            next
        } else {
            now + Duration::from_millis(5)
        };
        std::thread::sleep(wake.saturating_duration_since(now));
    }
    for stream in streams.iter().filter(|s| s.last.is_some()) {
        measured.jitter_sum += stream.jitter_ns / 1_000.0;
        measured.jitter_streams += 1;
    }
    measured
}

fn write_packet(buf: &mut [u8], call: u32, dir: u32, seq: u32, sent_ns: u64) {
    let header = RtpHeader {
        payload_type: 8,
        sequence: seq as u16,
        timestamp: seq.wrapping_mul(160),
        ssrc: call.wrapping_mul(2).wrapping_add(dir),
        ..RtpHeader::default()
    };
    let mut payload = [0xD5u8; PAYLOAD];
    payload[..8].copy_from_slice(&sent_ns.to_be_bytes());
    payload[8..12].copy_from_slice(&call.to_be_bytes());
    payload[12..16].copy_from_slice(&seq.to_be_bytes());
    let _ = header.write(&payload, buf);
}

/// (call, sequence, send time) from a relayed packet.
fn read_packet(data: &[u8]) -> Option<(u32, u32, u64)> {
    let packet = RtpPacket::parse(data).ok()?;
    let payload = packet.payload();
    let sent = u64::from_be_bytes(payload.get(..8)?.try_into().ok()?);
    let call = u32::from_be_bytes(payload.get(8..12)?.try_into().ok()?);
    let seq = u32::from_be_bytes(payload.get(12..16)?.try_into().ok()?);
    Some((call, seq, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_carry_call_sequence_and_time() {
        let mut buf = [0u8; PACKET];
        write_packet(&mut buf, 7, 1, 300, 123_456_789);
        assert_eq!(read_packet(&buf), Some((7, 300, 123_456_789)));
        assert_eq!(RtpPacket::parse(&buf).unwrap().payload().len(), PAYLOAD);
        assert_eq!(read_packet(&buf[..20]), None);
    }
}
