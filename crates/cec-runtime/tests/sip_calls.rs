//! The SIP stack that the binary runs (transports + driver + endpoint) answering calls over
//! real loopback UDP, with a small test application in place of the call core (which does not
//! exist yet): it rings at once and answers 200 after a second. Against it, SIPp cancels a
//! pending INVITE (200 to the CANCEL, 487 to the INVITE), and a raw UAC that withholds its
//! ACK sees the 200 retransmitted at T1, 2·T1, 4·T1 until it ACKs.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_runtime::sip_driver::{SipApplication, SipDriver};
use cec_runtime::{ListenSpec, SipTransports, TransportConfig};
use cec_sip::{Endpoint, EndpointConfig, Event, TransactionId};
use cec_sip_msg::Method;

/// Rings at once, answers after `answer_after`.
struct RingThenAnswer {
    answer_after: Duration,
    pending: Vec<(Instant, TransactionId)>,
}

impl SipApplication for RingThenAnswer {
    fn handle_event(&mut self, now: Instant, endpoint: &mut Endpoint, event: Event) {
        match event {
            Event::Request { tx, request, .. } if request.method() == Some(&Method::Invite) => {
                let _ = endpoint.provisional(now, tx, 180, "Ringing", None, false);
                self.pending.push((now + self.answer_after, tx));
            }
            Event::Request { tx, .. } => {
                let _ = endpoint.respond_status(now, tx, 200, "OK");
            }
            Event::Cancelled { invite } => self.pending.retain(|(_, tx)| *tx != invite),
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().map(|(at, _)| *at).min()
    }

    fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        let (due, later): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|(at, _)| *at <= now);
        self.pending = later;
        for (_, tx) in due {
            let sdp = Bytes::from_static(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n");
            let _ = endpoint.answer(now, tx, Some(sdp));
        }
    }
}

/// Starts the stack on a free UDP port; returns the address and the runtime (drop stops it).
fn start_stack() -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = runtime.block_on(async {
        let config = TransportConfig {
            listen: vec!["udp:127.0.0.1:0".parse::<ListenSpec>().expect("listen")],
            ..TransportConfig::default()
        };
        let (transports, inbound) = SipTransports::bind(config).await.expect("bind");
        let addr = transports.local_addrs()[0].1;
        let mut counter = 0u64;
        let endpoint = Endpoint::new(EndpointConfig::default(), move || {
            counter = counter.wrapping_add(0x9E37_79B9_7F4A_7C15);
            counter
        });
        let app = RingThenAnswer {
            answer_after: Duration::from_secs(1),
            pending: Vec::new(),
        };
        let driver = SipDriver::new(endpoint, app, &transports, inbound, None);
        tokio::spawn(async move {
            let _transports = transports;
            driver.run(std::future::pending()).await;
        });
        addr
    });
    (addr, runtime)
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop/sipp")
        .join(name)
}

#[test]
fn sipp_cancels_a_pending_invite() {
    let (addr, _runtime) = start_stack();
    let dir = std::env::temp_dir().join(format!("sip-calls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let inf = dir.join("users.csv");
    std::fs::write(&inf, "SEQUENTIAL\n1001;\n").expect("inf");
    let output = Command::new("timeout")
        .current_dir(&dir)
        .args(["60", "sipp", &addr.to_string(), "-sf"])
        .arg(scenario("cancel_pending.xml"))
        .args(["-inf"])
        .arg(&inf)
        .args([
            "-m",
            "3",
            "-i",
            "127.0.0.1",
            "-nostdin",
            "-timeout",
            "20",
            "-timeout_error",
            "-trace_err",
        ])
        .output()
        .expect("run sipp (apt-get install sip-tester)");
    assert!(
        output.status.success(),
        "sipp exit {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .take(25)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn two_hundred_ok_is_retransmitted_to_a_uac_that_withholds_its_ack() {
    let (addr, _runtime) = start_stack();
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = client.local_addr().expect("addr").port();
    let invite = format!(
        "INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKwithhold;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:uac@127.0.0.1>;tag=u1\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: withhold@test\r\nCSeq: 1 INVITE\r\nContact: <sip:uac@127.0.0.1:{port}>\r\nContent-Length: 0\r\n\r\n"
    );
    client.send_to(invite.as_bytes(), addr).expect("send");
    let start = Instant::now();
    let mut oks = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while start.elapsed() < Duration::from_millis(3_000) {
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with("SIP/2.0 200") {
                oks.push((start.elapsed(), text));
            }
        }
    }
    // Answered at 1 s, then retransmitted at +0.5 s and +1.5 s (T1 doubling), ACK withheld.
    let times: Vec<u128> = oks.iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(oks.len(), 3, "{times:?}");
    assert!((900..1_300).contains(&times[0]), "{times:?}");
    assert!((1_350..1_800).contains(&times[1]), "{times:?}");
    assert!((2_350..2_800).contains(&times[2]), "{times:?}");
    // The ACK (a new transaction, To tag from the 200) stops it.
    let to_tag = oks[0]
        .1
        .lines()
        .find(|l| l.starts_with("To:"))
        .and_then(|l| l.split("tag=").nth(1))
        .expect("tag")
        .trim()
        .to_string();
    let ack = format!(
        "ACK sip:opencec@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKwithholdack;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:uac@127.0.0.1>;tag=u1\r\nTo: <sip:1001@127.0.0.1>;tag={to_tag}\r\n\
         Call-ID: withhold@test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    );
    client.send_to(ack.as_bytes(), addr).expect("send ack");
    let after = Instant::now();
    let mut later = 0;
    while after.elapsed() < Duration::from_millis(2_500) {
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            later += usize::from(buf[..n].starts_with(b"SIP/2.0 200"));
        }
    }
    assert_eq!(later, 0, "200 retransmitted after the ACK");
}
