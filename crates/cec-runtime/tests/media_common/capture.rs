//! A peer that records every RTP packet a leg sends it (in the background, with the
//! kernel's arrival times, so a test task starved by a loaded machine still sees when
//! packets really came), can talk a tone to a leg at 20 ms pace, and tells tones apart
//! (Goertzel).

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cec_media::leg::decode_payload;
use cec_media::{FRAME_SAMPLES, Frame, Tone, ToneGenerator};
use cec_rtp::g711::G711;
use cec_rtp::packet::RtpHeader;
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use nix::sys::time::TimeSpec;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::{WAIT, parse};

/// One RTP packet as the peer received it.
#[derive(Debug, Clone)]
pub struct Got {
    /// When it arrived (the kernel's receive timestamp).
    pub at: Instant,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub pt: u8,
    pub marker: bool,
    pub payload: Vec<u8>,
}

impl Got {
    /// The decoded samples (payload type 0 = PCMU, 8 = PCMA).
    pub fn samples(&self) -> Frame {
        let codec = G711::from_payload_type(self.pt).expect("a G.711 payload type");
        decode_payload(codec, &self.payload)
    }

    /// Which of `candidates` (Hz) is the strongest in this packet, if any is clearly there.
    pub fn tone(&self, candidates: &[f64]) -> Option<f64> {
        strongest(&self.samples(), candidates)
    }
}

/// Power of `frequency` in `samples` (Goertzel), about A² / 4 for a sine of peak A.
pub fn goertzel(samples: &[i16], frequency: f64) -> f64 {
    let n = samples.len() as f64;
    let coeff = 2.0 * (std::f64::consts::TAU * frequency / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s = f64::from(*x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

/// The strongest of `candidates` in `samples`, if it has a peak amplitude above ~1000 and
/// ten times the power of the runner-up.
pub fn strongest(samples: &[i16], candidates: &[f64]) -> Option<f64> {
    let mut powers: Vec<(f64, f64)> = candidates
        .iter()
        .map(|&f| (goertzel(samples, f), f))
        .collect();
    powers.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best, frequency) = *powers.first()?;
    let runner_up = powers.get(1).map_or(0.0, |p| p.0);
    (best > 1000.0 * 1000.0 / 4.0 && best > 10.0 * runner_up).then_some(frequency)
}

/// A loopback peer that records what arrives on its socket until dropped.
pub struct Peer {
    pub socket: Arc<UdpSocket>,
    pub ssrc: u32,
    seq: u16,
    timestamp: u32,
    got: Arc<Mutex<Vec<Got>>>,
    capture: JoinHandle<()>,
}

impl Peer {
    pub async fn bind(ssrc: u32) -> Self {
        let socket = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let capture = tokio::spawn(record(Arc::clone(&socket), Arc::clone(&got)));
        Self {
            socket,
            ssrc,
            seq: 1,
            timestamp: 0,
            got,
            capture,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends one packet with payload type `pt` (seq +1, timestamp +160 each).
    pub async fn send(&mut self, to: SocketAddr, pt: u8, payload: &[u8]) {
        let header = RtpHeader {
            payload_type: pt,
            sequence: self.seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            ..RtpHeader::default()
        };
        let mut buf = [0u8; 1500];
        let len = header.write(payload, &mut buf).unwrap();
        self.socket.send_to(&buf[..len], to).await.unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(160);
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Packets received so far.
    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// Waits until at least `count` packets arrived (panics after [`WAIT`]); returns all.
    pub async fn wait_for(&self, count: usize) -> Vec<Got> {
        let deadline = Instant::now() + WAIT;
        while self.count() < count {
            assert!(
                Instant::now() < deadline,
                "{} of {count} packets within the wait",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.got()
    }

    /// Packets that arrive from now during `window`.
    pub async fn arriving_within(&self, window: Duration) -> Vec<Got> {
        let before = self.count();
        tokio::time::sleep(window).await;
        self.got().split_off(before)
    }

    /// Sends `frequency` Hz in `codec` to `to` every 20 ms from a task of its own (same
    /// socket, SSRC `ssrc`), until the handle is aborted.
    pub fn talk(&self, to: SocketAddr, codec: G711, frequency: f64, ssrc: u32) -> JoinHandle<()> {
        let socket = Arc::clone(&self.socket);
        tokio::spawn(async move {
            let mut tone = ToneGenerator::new(Tone::continuous(frequency));
            let mut ticks = tokio::time::interval(Duration::from_millis(20));
            let (mut seq, mut timestamp) = (5_000u16, 90_000u32);
            loop {
                ticks.tick().await;
                let mut payload = [0u8; FRAME_SAMPLES];
                codec.encode_slice(&tone.next_frame(), &mut payload);
                let header = RtpHeader {
                    payload_type: codec.payload_type(),
                    sequence: seq,
                    timestamp,
                    ssrc,
                    ..RtpHeader::default()
                };
                let mut buf = [0u8; 1500];
                let len = header.write(&payload, &mut buf).unwrap();
                let _ = socket.send_to(&buf[..len], to).await;
                seq = seq.wrapping_add(1);
                timestamp = timestamp.wrapping_add(160);
            }
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.capture.abort();
    }
}

async fn record(socket: Arc<UdpSocket>, got: Arc<Mutex<Vec<Got>>>) {
    setsockopt(&*socket, sockopt::ReceiveTimestampns, &true).unwrap();
    let mut buf = [0u8; 2048];
    loop {
        let fd = socket.as_raw_fd();
        let received = socket
            .async_io(Interest::READABLE, || receive(fd, &mut buf))
            .await;
        let Ok((len, at)) = received else {
            continue;
        };
        let data = &buf[..len];
        if cec_rtp::packet::is_rtcp(data) {
            continue;
        }
        let packet = parse(data);
        let entry = Got {
            at,
            seq: packet.sequence(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
            pt: packet.payload_type(),
            marker: packet.marker(),
            payload: packet.payload().to_vec(),
        };
        got.lock().unwrap().push(entry);
    }
}

/// One datagram and when the kernel received it.
fn receive(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Instant)> {
    let mut space = nix::cmsg_space!(TimeSpec);
    let mut iov = [IoSliceMut::new(buf)];
    let message =
        recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT)
            .map_err(io::Error::from)?;
    let mut at = Instant::now();
    for cmsg in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(stamp) = cmsg {
            at = to_instant(stamp).unwrap_or(at);
        }
    }
    Ok((message.bytes, at))
}

/// The monotonic instant of a wall-clock kernel timestamp (as long ago as it is now).
fn to_instant(stamp: TimeSpec) -> Option<Instant> {
    let since_epoch = Duration::new(
        u64::try_from(stamp.tv_sec()).ok()?,
        u32::try_from(stamp.tv_nsec()).ok()?,
    );
    let age = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH + since_epoch)
        .unwrap_or_default();
    Instant::now().checked_sub(age)
}
