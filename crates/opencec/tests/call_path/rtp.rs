//! The customer's media, played by the test: a UDP socket named in the carrier's SDP. It
//! learns the platform's RTP address from the first packet it gets (hold music), then sends
//! a PCMA tone there every 20 ms, and keeps every payload it receives, time-stamped, so the
//! test can tell hold music from the agent's voice by frequency.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cec_rtp::g711;

/// A received RTP packet.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub payload_type: u8,
    pub payload: Vec<u8>,
}

pub struct RtpPeer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl RtpPeer {
    /// Starts the peer, sending a `tone_hz` tone once it knows where to.
    pub fn start(tone_hz: f64) -> RtpPeer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind RTP peer");
        socket
            .set_read_timeout(Some(Duration::from_millis(5)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (stop_flag, sink) = (stop.clone(), received.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut remote: Option<SocketAddr> = None;
            let mut next_send = Instant::now();
            let (mut seq, mut ts, mut phase) = (0u16, 0u32, 0f64);
            while !stop_flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf)
                    && n > 12
                    && buf[0] >> 6 == 2
                {
                    remote.get_or_insert(from);
                    sink.lock().expect("rtp log").push(Received {
                        at: Instant::now(),
                        payload_type: buf[1] & 0x7f,
                        payload: buf[12..n].to_vec(),
                    });
                }
                if let Some(to) = remote
                    && Instant::now() >= next_send
                {
                    let mut packet = vec![0x80, 8];
                    packet.extend_from_slice(&seq.to_be_bytes());
                    packet.extend_from_slice(&ts.to_be_bytes());
                    packet.extend_from_slice(&0x5eed_0001u32.to_be_bytes());
                    for _ in 0..160 {
                        let sample = (phase.sin() * 8000.0) as i16;
                        phase += 2.0 * std::f64::consts::PI * tone_hz / 8000.0;
                        packet.push(g711::alaw_encode(sample));
                    }
                    let _ = socket.send_to(&packet, to);
                    seq = seq.wrapping_add(1);
                    ts = ts.wrapping_add(160);
                    next_send += Duration::from_millis(20);
                }
            }
        });
        RtpPeer {
            addr,
            stop,
            received,
            thread: Some(thread),
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("rtp log").clone()
    }

    /// Whether packets received after `since` carry a `hz` tone (PCMA or PCMU).
    pub fn heard_since(&self, since: Instant, hz: f64) -> bool {
        let samples: Vec<i16> = self
            .received()
            .iter()
            .filter(|r| r.at >= since && matches!(r.payload_type, 0 | 8))
            .flat_map(|r| {
                r.payload
                    .iter()
                    .map(|b| {
                        if r.payload_type == 8 {
                            g711::alaw_decode(*b)
                        } else {
                            g711::ulaw_decode(*b)
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        dominant(&samples, hz)
    }
}

impl Drop for RtpPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Goertzel power of `hz` in `samples` (8 kHz), normalised by the signal's energy.
pub fn relative_power(samples: &[i16], hz: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
    let (mut s1, mut s2, mut energy) = (0f64, 0f64, 0f64);
    for &x in samples {
        let x = f64::from(x);
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        energy += x * x;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if energy == 0.0 {
        0.0
    } else {
        power / (energy * samples.len() as f64)
    }
}

/// Whether `hz` carries most of the energy of at least one second of `samples`.
pub fn dominant(samples: &[i16], hz: f64) -> bool {
    samples.len() >= 8000 && relative_power(samples, hz) > 0.25
}
