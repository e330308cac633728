//! The echo-test number gives the real binary answered calls: CANCEL of a ringing INVITE
//! (200, 487, ACK) over UDP and TCP, the 200 retransmitted at T1 doubling to a UAC that
//! withholds its ACK and our BYE at 64·T1 (raw socket, timing checked), SIPp withholding its
//! ACK until it has seen the 200 three more times and then completing the call, and full echo calls over UDP and TCP signalling in
//! which RTP sent to the port of the 200's SDP comes back.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{RawUdp, Server, assert_ok, injection, sipp, temp_dir};

/// A server whose echo test rings `ring_ms` (UDP and TCP on loopback), with `extra` lines
/// added to `[sip]`.
fn echo_server(tag: &str, ring_ms: u64, extra: &str) -> Server {
    Server::start_in(
        temp_dir(tag),
        &format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]\n\
             echo_ring_ms = {ring_ms}\n{extra}"
        ),
        &[],
        // The echo test logs each release at debug level.
        &[("OPENCEC_LOG", "info,opencec=debug")],
    )
}

/// How many echo calls the server released for `reason`.
fn released(server: &Server, reason: &str) -> usize {
    server
        .log_lines()
        .iter()
        .filter(|l| l.contains("echo call released") && l.contains(reason))
        .count()
}

fn echo_number() -> PathBuf {
    injection("echo", &["echo;"])
}

#[test]
fn cancel_of_a_ringing_echo_call_gets_487_and_releases_the_call() {
    // Rings a full second: SIPp cancels after the 180, long before the answer.
    let server = echo_server("echo-cancel", 1_000, "");
    for (target, transport) in [
        (server.udp.expect("udp"), "u1"),
        (server.tcp.expect("tcp"), "t1"),
    ] {
        assert_ok(
            &sipp(
                "cancel_pending_offer.xml",
                target,
                transport,
                Some(&echo_number()),
                1,
                &[],
            ),
            &format!("CANCEL of a ringing echo call over {transport}"),
        );
    }
    // Both legs were released on the CANCEL, and never answered, even after the ringing
    // time.
    assert_eq!(released(&server, "cancelled"), 2, "{}", server.log_text());
    std::thread::sleep(Duration::from_millis(1_300));
    let log = server.log_text();
    assert!(!log.contains("echo call answered"), "{log}");
    assert!(server.stop(), "clean exit");
}

#[test]
fn sipp_withholding_its_ack_sees_the_200_retransmitted_then_completes_the_call() {
    // T1 = 100 ms: the three retransmissions SIPp waits for arrive within 0.7 s.
    let server = echo_server("echo-sipp-noack", 0, "t1_ms = 100\n");
    let output = sipp(
        "invite_withhold_ack.xml",
        server.udp.expect("udp"),
        "u1",
        Some(&echo_number()),
        1,
        &[],
    );
    assert_ok(&output, "SIPp withholding its ACK over UDP");
    // SIPp's final screen: "200 <----  Messages  Retrans ..." for the first 200 it waited for.
    let screen = String::from_utf8_lossy(&output.stdout);
    let retransmissions = screen
        .lines()
        .find(|l| l.trim_start().starts_with("200 <---"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no 200 row in SIPp's screen:\n{screen}"));
    assert!(
        retransmissions >= 3,
        "the 200 came {retransmissions} extra times:\n{screen}"
    );
    // The late ACK confirmed the call and SIPp's BYE ended it (not the missing-ACK timeout).
    assert!(
        server.wait_log(Duration::from_secs(5), |l| l.contains("echo call released")),
        "{}",
        server.log_text()
    );
    assert_eq!(released(&server, "no ACK"), 0, "{}", server.log_text());
    assert!(server.stop(), "clean exit");
}

fn echo_invite(port: u16, branch: &str) -> String {
    let sdp = "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
               a=rtpmap:101 telephone-event/8000\r\n";
    format!(
        "INVITE sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: <sip:echo@127.0.0.1>\r\n\
         Call-ID: {branch}@raw\r\nCSeq: 1 INVITE\r\nContact: <sip:raw@127.0.0.1:{port}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

#[test]
fn echo_answer_is_retransmitted_at_t1_doubling_to_a_uac_that_withholds_its_ack() {
    // T1 = 50 ms: the 200 goes out at +0, +50, +150, +350, +750, +1550 ms ..., and without
    // an ACK the server gives up at 64·T1 = 3.2 s with a BYE.
    let server = echo_server("echo-noack", 50, "t1_ms = 50\n");
    let target = server.udp.expect("udp");
    let client = RawUdp::bind("127.0.0.1");
    let start = Instant::now();
    client.send(target, &echo_invite(client.port(), "z9hG4bKechonoack"));
    let got = client.collect(start, Duration::from_millis(4_000));
    let oks: Vec<Duration> = got
        .iter()
        .filter(|(_, m)| m.starts_with("SIP/2.0 200"))
        .map(|(t, _)| *t)
        .collect();
    assert!(
        got.iter().any(|(_, m)| m.starts_with("SIP/2.0 180")),
        "{got:?}"
    );
    assert!(oks.len() >= 6, "{oks:?}");
    // Each gap doubles: 50, 100, 200, 400, 800 ms (generous for a busy machine).
    for (i, expected) in [50u64, 100, 200, 400, 800].into_iter().enumerate() {
        let gap = oks[i + 1] - oks[i];
        let expected = Duration::from_millis(expected);
        assert!(
            gap >= expected.mul_f32(0.8) && gap <= expected + Duration::from_millis(120),
            "gap {i}: {gap:?} vs {expected:?}; all: {oks:?}"
        );
    }
    let answer = &got
        .iter()
        .find(|(_, m)| m.starts_with("SIP/2.0 200"))
        .expect("200")
        .1;
    assert!(answer.contains("c=IN IP4 127.0.0.1"), "{answer}");
    assert!(answer.contains("a=rtpmap:8 PCMA/8000"), "{answer}");
    // No ACK: the BYE comes at 64·T1 after the 200, and no 200 after it.
    let (bye_at, bye) = got
        .iter()
        .find(|(_, m)| m.starts_with("BYE "))
        .expect("BYE after 64·T1");
    let since_answer = *bye_at - oks[0];
    assert!(
        since_answer >= Duration::from_millis(3_100) && since_answer < Duration::from_millis(3_800),
        "{since_answer:?}"
    );
    assert!(oks.iter().all(|t| t < bye_at), "200 after the BYE: {oks:?}");
    // Answer the BYE, as a phone would.
    let via = bye.lines().find(|l| l.starts_with("Via:")).expect("via");
    let header = |name: &str| {
        bye.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    client.send(
        target,
        &format!(
            "SIP/2.0 200 OK\r\n{via}\r\n{}\r\n{}\r\n{}\r\n{}\r\nContent-Length: 0\r\n\r\n",
            header("From:"),
            header("To:"),
            header("Call-ID:"),
            header("CSeq:")
        ),
    );
    assert!(
        server.wait_log(Duration::from_secs(2), |l| l.contains("echo call ended")
            && l.contains("no ACK")),
        "{}",
        server.log_text()
    );
    assert_eq!(released(&server, "no ACK"), 1);
    assert!(server.stop(), "clean exit");
}

/// A 12-byte RTP header (version 2) and `payload`.
fn rtp_packet(pt: u8, seq: u16, timestamp: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, pt];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&timestamp.to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// The RTP port in the first 200 OK of SIPp's message trace in `dir`, once it is there.
fn answered_rtp_port(dir: &std::path::Path, timeout: Duration) -> Option<u16> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with("_messages.log") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let Some(answer) = text.find("SIP/2.0 200 OK") else {
                continue;
            };
            let port = text[answer..]
                .lines()
                .find_map(|l| l.trim().strip_prefix("m=audio "))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|p| p.parse().ok());
            if port.is_some() {
                return port;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// SIPp calls the echo number, the test sends RTP to the port in the 200's SDP while SIPp
/// pauses, and every packet comes back; then SIPp's BYE gets 200.
fn echo_call_round_trip(server: &Server, target: SocketAddr, transport: &str) {
    let dir = temp_dir(&format!("sipp-echo-call-{transport}"));
    let sipp = Command::new("timeout")
        .current_dir(&dir)
        .args(["60", "sipp", &target.to_string(), "-sf"])
        .arg(common::scenario("echo_call.xml"))
        .args(["-t", transport, "-m", "1", "-i", "127.0.0.1", "-nostdin"])
        .args(["-d", "1500", "-timeout", "20", "-timeout_error"])
        .args(["-trace_err", "-trace_msg", "-inf"])
        .arg(echo_number())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sipp (apt-get install sip-tester)");
    let port = answered_rtp_port(&dir, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no 200 with SDP in SIPp's trace\n{}", server.log_text()));
    let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    rtp.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let leg: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut buf = [0u8; 2048];
    let mut echoed_ssrc = None;
    for index in 0..10u16 {
        let payload = [index as u8 ^ 0x5A; 160];
        let packet = rtp_packet(0, 100 + index, 160 * u32::from(index), 0xCAFE, &payload);
        rtp.send_to(&packet, leg).expect("send rtp");
        let (len, from) = loop {
            let (len, from) = rtp.recv_from(&mut buf).expect("echoed packet");
            // Skip our RTCP reports (payload types 200-204 in the second byte).
            if !(200..=204).contains(&buf[1]) {
                break (len, from);
            }
        };
        assert_eq!(from, leg, "echoed from the port in our SDP");
        assert_eq!(&buf[12..len], &payload[..], "packet {index} payload");
        assert_eq!(buf[1] & 0x7F, 0, "PCMU as negotiated");
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        assert_ne!(ssrc, 0xCAFE, "sent in our stream, not the caller's");
        assert!(echoed_ssrc.is_none_or(|s| s == ssrc), "one SSRC");
        echoed_ssrc = Some(ssrc);
    }
    let output = sipp.wait_with_output().expect("sipp");
    assert_ok(&output, &format!("echo call over {transport}"));
}

#[test]
fn an_echo_call_sends_rtp_back_over_udp_and_tcp_signalling() {
    let server = echo_server("echo-call", 50, "");
    echo_call_round_trip(&server, server.udp.expect("udp"), "u1");
    echo_call_round_trip(&server, server.tcp.expect("tcp"), "t1");
    assert!(
        server.wait_log(Duration::from_secs(2), |l| l.contains("echo call ended")
            && l.contains("caller hung up")),
        "{}",
        server.log_text()
    );
    assert_eq!(
        released(&server, "caller hung up"),
        2,
        "{}",
        server.log_text()
    );
    assert!(server.stop(), "clean exit");
}
