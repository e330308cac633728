//! Flood protection with distinct loopback sources: a source far above the
//! per-IP message rate loses messages while a modest source loses none, and
//! a source holding many idle (half-open) TCP connections hits its cap while
//! another source still connects and gets a message through; half-open
//! slots are freed by the first message or by the first-message timeout.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use cec_runtime::{Inbound, RateLimit, SipTransports, TransportKind};
use common::*;
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout};

#[tokio::test]
async fn a_flooding_source_is_limited_and_a_modest_one_is_not() {
    let mut cfg = config(&["udp:127.0.0.1:0"]);
    cfg.rate_limit = Some(RateLimit {
        per_second: 50,
        burst: 20,
    });
    let (transports, mut rx) = SipTransports::bind(cfg).await.unwrap();
    let server = transports.local_addr(TransportKind::Udp).unwrap();
    let started = Instant::now();

    let flooder = tokio::spawn(async move {
        let socket = udp_from("127.0.0.2").await;
        let via = "SIP/2.0/UDP 127.0.0.2;branch=z9hG4bKf";
        for i in 0..600 {
            let msg = request("OPTIONS", via, &format!("flood-{i}"));
            socket.send_to(msg.as_bytes(), server).await.unwrap();
            if i % 50 == 49 {
                // Keep the kernel buffer from overflowing: the limiter, not
                // the socket, must be what drops these.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });
    let modest = tokio::spawn(async move {
        let socket = udp_from("127.0.0.3").await;
        let via = "SIP/2.0/UDP 127.0.0.3;branch=z9hG4bKm";
        for i in 0..10 {
            let msg = request("OPTIONS", via, &format!("modest-{i}"));
            socket.send_to(msg.as_bytes(), server).await.unwrap();
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });

    let flood_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let (mut from_flood, mut from_modest) = (0u32, 0u32);
    let collect = async {
        while from_modest < 10 {
            let Some(Inbound::Message(r)) = rx.recv().await else {
                panic!("unexpected inbound item");
            };
            if r.source.ip() == flood_ip {
                from_flood += 1;
            } else {
                from_modest += 1;
            }
        }
    };
    timeout(WAIT, collect)
        .await
        .expect("modest source lost messages");
    flooder.await.unwrap();
    modest.await.unwrap();
    // Drain what the flooder still got through.
    while let Ok(Some(_)) = timeout(Duration::from_millis(100), rx.recv()).await {
        from_flood += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = 20.0 + 50.0 * elapsed + 1.0;
    assert!(
        f64::from(from_flood) <= allowed,
        "flooder got {from_flood} through in {elapsed:.2}s"
    );
    let dropped = transports.stats().snapshot().dropped_rate_limited;
    assert!(dropped >= 300, "only {dropped} dropped");
    assert_eq!(from_modest, 10);
}

#[tokio::test]
async fn idle_connections_from_one_source_do_not_starve_another() {
    let mut cfg = config(&["tcp:127.0.0.1:0"]);
    cfg.max_half_open_per_ip = 4;
    let (transports, mut rx) = SipTransports::bind(cfg).await.unwrap();
    let server = transports.local_addr(TransportKind::Tcp).unwrap();

    let mut idle = Vec::new();
    let mut closed = 0;
    let mut open = 0;
    for _ in 0..12 {
        // Rejected connections are reset; the reset may beat the connect.
        match try_tcp_from("127.0.0.2", server).await {
            Ok(stream) => idle.push(stream),
            Err(_) => closed += 1,
        }
    }
    for stream in &mut idle {
        if closes_within(stream, Duration::from_millis(200)).await {
            closed += 1;
        } else {
            open += 1;
        }
    }
    assert_eq!((open, closed), (4, 8));
    assert_eq!(transports.stats().snapshot().rejected_connections, 8);

    let mut other = tcp_from("127.0.0.3", server).await;
    let via = "SIP/2.0/TCP 127.0.0.3;branch=z9hG4bKok";
    other
        .write_all(request("OPTIONS", via, "through").as_bytes())
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    assert_eq!(call_id(&r.message), "through");
    assert_eq!(r.source.ip(), "127.0.0.3".parse::<IpAddr>().unwrap());
    // The half-open slots of the first source are still full.
    if let Ok(mut one_more) = try_tcp_from("127.0.0.2", server).await {
        assert!(closes_within(&mut one_more, Duration::from_secs(2)).await);
    }
    assert_eq!(transports.stats().snapshot().rejected_connections, 9);
}

#[tokio::test]
async fn total_half_open_cap_applies_across_sources() {
    let mut cfg = config(&["tcp:127.0.0.1:0"]);
    cfg.max_half_open_per_ip = 10;
    cfg.max_half_open = 3;
    let (transports, _rx) = SipTransports::bind(cfg).await.unwrap();
    let server = transports.local_addr(TransportKind::Tcp).unwrap();
    let mut held = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        held.push(tcp_from(ip, server).await);
    }
    // Let the accept loop admit them before the next one arrives.
    timeout(WAIT, async {
        while transports.connection_count() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    if let Ok(mut fourth) = try_tcp_from("127.0.0.5", server).await {
        assert!(closes_within(&mut fourth, Duration::from_secs(2)).await);
    }
    timeout(WAIT, async {
        while transports.stats().snapshot().rejected_connections != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn half_open_slots_are_freed_by_a_message_or_the_timeout() {
    let mut cfg = config(&["tcp:127.0.0.1:0"]);
    cfg.max_half_open_per_ip = 1;
    cfg.handshake_timeout = Duration::from_millis(300);
    let (transports, mut rx) = SipTransports::bind(cfg).await.unwrap();
    let server = transports.local_addr(TransportKind::Tcp).unwrap();
    // A connection that delivers a message is no longer half-open.
    let mut talker = tcp_from("127.0.0.2", server).await;
    let via = "SIP/2.0/TCP 127.0.0.2;branch=z9hG4bKh";
    talker
        .write_all(request("OPTIONS", via, "h1").as_bytes())
        .await
        .unwrap();
    next_message(&mut rx).await;
    // So the same source may open another one, which stays silent ...
    let started = Instant::now();
    let mut silent = tcp_from("127.0.0.2", server).await;
    assert!(!closes_within(&mut silent, Duration::from_millis(100)).await);
    // ... and is closed when the first-message timeout expires.
    assert!(closes_within(&mut silent, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(250));
    timeout(WAIT, async {
        while transports.connection_count() != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    // Its slot is free again.
    let mut again = tcp_from("127.0.0.2", server).await;
    again
        .write_all(request("OPTIONS", via, "h2").as_bytes())
        .await
        .unwrap();
    assert_eq!(call_id(&next_message(&mut rx).await.message), "h2");
    assert_eq!(transports.stats().snapshot().rejected_connections, 0);
}
