//! UDP transport over real loopback sockets: RFC 3581 / RFC 3261 §18.2.1
//! stamping of `received` and `rport` on arrival, responses routed back by
//! `response_target` (rport vs sent-by port), keep-alives ignored, and
//! unparseable datagrams reported as `Malformed`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cec_runtime::{Inbound, SipTransports, Target, TransportKind, response_target};
use cec_sip_msg::bytes::Bytes;
use common::*;

async fn udp_server() -> (
    SipTransports,
    tokio::sync::mpsc::Receiver<Inbound>,
    SocketAddr,
) {
    let (transports, rx) = SipTransports::bind(config(&["udp:127.0.0.1:0"]))
        .await
        .unwrap();
    let addr = transports.local_addr(TransportKind::Udp).unwrap();
    assert_ne!(addr.port(), 0);
    (transports, rx, addr)
}

#[tokio::test]
async fn sent_by_equal_to_source_without_rport_is_not_stamped() {
    let (transports, mut rx, server) = udp_server().await;
    let client = udp_from("127.0.0.2").await;
    let me = client.local_addr().unwrap();
    let via = format!("SIP/2.0/UDP {me};branch=z9hG4bKeq");
    client
        .send_to(request("OPTIONS", &via, "eq").as_bytes(), server)
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    assert_eq!(r.source, me);
    assert_eq!(r.local, server);
    assert_eq!(r.kind, TransportKind::Udp);
    assert_eq!(r.connection, None);
    let top = r.message.top_via().unwrap();
    assert_eq!(top.received(), None);
    assert_eq!(top.rport(), None);
    // The response goes to the sent-by address, which is the client.
    assert_eq!(response_target(&r), Target::udp(me));
    let sender = transports.sender();
    sender
        .send(response_target(&r), ok_response(&r.message))
        .await
        .unwrap();
    let (resp, from) = udp_recv_message(&client).await;
    assert_eq!(resp.status(), Some(200));
    assert_eq!(from, server);
    assert_eq!(transports.stats().snapshot().sent, 1);
    assert_eq!(transports.stats().snapshot().received, 1);
}

#[tokio::test]
async fn empty_rport_is_filled_and_the_response_uses_it() {
    let (transports, mut rx, server) = udp_server().await;
    let client = udp_from("127.0.0.2").await;
    let me = client.local_addr().unwrap();
    // A NATed client: it believes it is 192.0.2.1:5060.
    let via = "SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKnat";
    client
        .send_to(request("OPTIONS", via, "nat").as_bytes(), server)
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    let top = r.message.top_via().unwrap();
    assert_eq!(top.received(), Some(me.ip()));
    assert_eq!(top.rport(), Some(Some(me.port())));
    assert_eq!(
        top.branch().map(|b| b.to_vec()),
        Some(b"z9hG4bKnat".to_vec())
    );
    let target = response_target(&r);
    assert_eq!(target, Target::udp(me));
    transports
        .sender()
        .send(target, ok_response(&r.message))
        .await
        .unwrap();
    let (resp, _) = udp_recv_message(&client).await;
    assert_eq!(resp.status(), Some(200));
    // The response carries the stamped Via back.
    assert_eq!(resp.top_via().unwrap().rport(), Some(Some(me.port())));
}

#[tokio::test]
async fn different_sent_by_without_rport_gets_received_and_the_sent_by_port() {
    let (transports, mut rx, server) = udp_server().await;
    let client = udp_from("127.0.0.2").await;
    // Responses must go to the sent-by port, not to the port the request came from.
    let listener = udp_from("127.0.0.2").await;
    let sent_by_port = listener.local_addr().unwrap().port();
    let via = format!("SIP/2.0/UDP phone.example.com:{sent_by_port};branch=z9hG4bKdn");
    client
        .send_to(request("OPTIONS", &via, "dn").as_bytes(), server)
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    let top = r.message.top_via().unwrap();
    assert_eq!(top.received(), Some("127.0.0.2".parse().unwrap()));
    assert_eq!(top.rport(), None);
    let target = response_target(&r);
    assert_eq!(
        target.addr,
        SocketAddr::new("127.0.0.2".parse().unwrap(), sent_by_port)
    );
    transports
        .sender()
        .send(target, ok_response(&r.message))
        .await
        .unwrap();
    let (resp, _) = udp_recv_message(&listener).await;
    assert_eq!(resp.status(), Some(200));
}

#[tokio::test]
async fn keep_alives_are_ignored_and_garbage_is_reported() {
    let (transports, mut rx, server) = udp_server().await;
    let client = udp_from("127.0.0.2").await;
    client.send_to(b"\r\n\r\n", server).await.unwrap();
    client.send_to(b"", server).await.unwrap();
    client
        .send_to(b"NOT SIP AT ALL\r\n\r\n", server)
        .await
        .unwrap();
    match next_inbound(&mut rx).await {
        Inbound::Malformed {
            bytes,
            source,
            kind,
            connection,
            ..
        } => {
            assert_eq!(bytes, Bytes::from_static(b"NOT SIP AT ALL\r\n\r\n"));
            assert_eq!(source, client.local_addr().unwrap());
            assert_eq!(kind, TransportKind::Udp);
            assert_eq!(connection, None);
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    let via = "SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKka";
    client
        .send_to(request("OPTIONS", via, "after").as_bytes(), server)
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    assert_eq!(call_id(&r.message), "after");
    assert_eq!(transports.stats().snapshot().parse_errors, 1);
    assert_quiet(&mut rx, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn shutdown_ends_the_inbound_stream_and_fails_sends() {
    let (transports, mut rx, server) = udp_server().await;
    let sender = transports.sender();
    transports.shutdown();
    let end = tokio::time::timeout(WAIT, rx.recv()).await.unwrap();
    assert!(end.is_none());
    let err = sender
        .send(Target::udp(server), Bytes::from_static(b"x"))
        .await;
    assert!(matches!(err, Err(cec_runtime::SendError::Shutdown)));
}
