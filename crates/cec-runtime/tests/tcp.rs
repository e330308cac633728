//! TCP transport over real loopback sockets: responses on the request's
//! connection, framing of pipelined and fragmented messages, CRLF keep-alive
//! answers, connection reuse by address (RFC 3261 §18.1, §18.2.2), outbound
//! connects, a framing error reported as `Malformed` before the connection
//! closes, and the idle timeout.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cec_runtime::{
    Inbound, SipTransports, Target, TransportConfig, TransportKind, response_target,
};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{Message, StreamDecoder};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

async fn tcp_server(
    config: TransportConfig,
) -> (SipTransports, mpsc::Receiver<Inbound>, SocketAddr) {
    let (transports, rx) = SipTransports::bind(config).await.unwrap();
    let addr = transports.local_addr(TransportKind::Tcp).unwrap();
    assert_ne!(addr.port(), 0);
    (transports, rx, addr)
}

fn tcp_request(call_id: &str) -> String {
    request(
        "OPTIONS",
        "SIP/2.0/TCP 127.0.0.2:5060;branch=z9hG4bKt",
        call_id,
    )
}

#[tokio::test]
async fn request_in_and_response_out_on_the_same_connection() {
    let (transports, mut rx, server) = tcp_server(config(&["tcp:127.0.0.1:0"])).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    client
        .write_all(tcp_request("one").as_bytes())
        .await
        .unwrap();
    let r = next_message(&mut rx).await;
    assert_eq!(r.kind, TransportKind::Tcp);
    assert_eq!(r.source, client.local_addr().unwrap());
    assert_eq!(r.local, server);
    assert!(r.connection.is_some());
    // Sent-by port 5060 is closed; only the open connection can carry it.
    let target = response_target(&r);
    assert_eq!(target.connection, r.connection);
    assert_eq!(target.addr.port(), 5060);
    transports
        .sender()
        .send(target, ok_response(&r.message))
        .await
        .unwrap();
    let mut decoder = StreamDecoder::new();
    let resp = read_message(&mut client, &mut decoder).await;
    assert_eq!(resp.status(), Some(200));
    assert_eq!(call_id(&resp), "one");
    assert_eq!(transports.connection_count(), 1);
}

#[tokio::test]
async fn pipelined_and_fragmented_messages_are_framed() {
    let (_transports, mut rx, server) = tcp_server(config(&["tcp:127.0.0.1:0"])).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    let two = format!("{}{}", tcp_request("p1"), tcp_request("p2"));
    client.write_all(two.as_bytes()).await.unwrap();
    assert_eq!(call_id(&next_message(&mut rx).await.message), "p1");
    assert_eq!(call_id(&next_message(&mut rx).await.message), "p2");
    let with_body = "MESSAGE sip:svc@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bKb\r\n\
        Max-Forwards: 70\r\nTo: <sip:svc@127.0.0.1>\r\nFrom: <sip:a@127.0.0.2>;tag=1\r\n\
        Call-ID: frag\r\nCSeq: 2 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";
    for piece in with_body.as_bytes().chunks(7) {
        client.write_all(piece).await.unwrap();
        client.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let r = next_message(&mut rx).await;
    assert_eq!(call_id(&r.message), "frag");
    assert_eq!(r.message.body().as_ref(), b"hello world");
    assert_quiet(&mut rx, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn double_crlf_ping_gets_a_single_crlf_pong() {
    let (_transports, mut rx, server) = tcp_server(config(&["tcp:127.0.0.1:0"])).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    client
        .write_all(tcp_request("before").as_bytes())
        .await
        .unwrap();
    next_message(&mut rx).await;
    client.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    timeout(WAIT, client.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    // Nothing else follows, and the ping is not a message.
    let mut extra = [0u8; 1];
    assert!(
        timeout(Duration::from_millis(150), client.read(&mut extra))
            .await
            .is_err()
    );
    assert_quiet(&mut rx, Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_request_to_a_connected_address_reuses_the_connection() {
    let (transports, mut rx, server) = tcp_server(config(&["tcp:127.0.0.1:0"])).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    let client_addr = client.local_addr().unwrap();
    client
        .write_all(tcp_request("register").as_bytes())
        .await
        .unwrap();
    next_message(&mut rx).await;
    // A new request (e.g. an INVITE to a registered phone) addressed by the
    // connection's remote address only.
    let invite = request(
        "INVITE",
        "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKsrv",
        "invite",
    );
    transports
        .sender()
        .send(Target::tcp(client_addr), Bytes::from(invite))
        .await
        .unwrap();
    let mut decoder = StreamDecoder::new();
    let got = read_message(&mut client, &mut decoder).await;
    assert_eq!(
        got.method().map(ToString::to_string).as_deref(),
        Some("INVITE")
    );
    assert_eq!(transports.connection_count(), 1);
}

#[tokio::test]
async fn outbound_connect_then_reuse_and_responses_come_back() {
    let (transports, mut rx, _server) = tcp_server(config(&["tcp:127.0.0.1:0"])).await;
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let sender = transports.sender();
    let first = request("OPTIONS", "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKo1", "out1");
    sender
        .send(Target::tcp(peer_addr), Bytes::from(first))
        .await
        .unwrap();
    let (mut conn, _) = timeout(WAIT, peer.accept()).await.unwrap().unwrap();
    let mut decoder = StreamDecoder::new();
    let got = read_message(&mut conn, &mut decoder).await;
    assert_eq!(call_id(&got), "out1");
    // A second message to the same address uses the same connection.
    let second = request("OPTIONS", "SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKo2", "out2");
    sender
        .send(Target::tcp(peer_addr), Bytes::from(second))
        .await
        .unwrap();
    assert_eq!(
        call_id(&read_message(&mut conn, &mut decoder).await),
        "out2"
    );
    assert!(
        timeout(Duration::from_millis(100), peer.accept())
            .await
            .is_err()
    );
    // The peer answers on the connection; the response is delivered.
    conn.write_all(&ok_response(&got)).await.unwrap();
    let r = next_message(&mut rx).await;
    assert_eq!(r.message.status(), Some(200));
    assert_eq!(r.source, peer_addr);
    assert!(r.connection.is_some());
    assert_eq!(transports.connection_count(), 1);
    assert_eq!(transports.stats().snapshot().sent, 2);
}

#[tokio::test]
async fn outbound_connect_failure_is_an_error() {
    let (transports, _rx, _server) = tcp_server(config(&["tcp:127.0.0.1:0"])).await;
    // A port that was just free: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let err = transports
        .sender()
        .send(Target::tcp(closed), Bytes::from_static(b"x"))
        .await;
    assert!(matches!(err, Err(cec_runtime::SendError::Io(_))), "{err:?}");
    assert_eq!(transports.connection_count(), 0);
}

#[tokio::test]
async fn bad_content_length_gives_malformed_then_the_connection_closes() {
    let mut cfg = config(&["tcp:127.0.0.1:0"]);
    cfg.error_linger = Duration::from_millis(500);
    let (transports, mut rx, server) = tcp_server(cfg).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    let bad = tcp_request("bad").replace("Content-Length: 0", "Content-Length: abc");
    client.write_all(bad.as_bytes()).await.unwrap();
    let Inbound::Malformed {
        bytes,
        kind,
        connection,
        source,
        ..
    } = next_inbound(&mut rx).await
    else {
        panic!("expected Malformed");
    };
    assert_eq!(kind, TransportKind::Tcp);
    assert_eq!(source, client.local_addr().unwrap());
    assert!(bytes.starts_with(b"OPTIONS sip:svc@127.0.0.1 SIP/2.0\r\n"));
    // The endpoint answers 400 on that connection during the linger ...
    let parsed_enough = Message::response(400, "Bad Content-Length").to_bytes();
    let target = Target {
        connection,
        ..Target::tcp(source)
    };
    transports
        .sender()
        .send(target, parsed_enough)
        .await
        .unwrap();
    let mut decoder = StreamDecoder::new();
    assert_eq!(
        read_message(&mut client, &mut decoder).await.status(),
        Some(400)
    );
    // ... and then it is closed.
    assert_closed(&mut client, WAIT).await;
    assert_eq!(transports.stats().snapshot().parse_errors, 1);
    wait_for_no_connections(&transports).await;
}

#[tokio::test]
async fn framing_error_without_an_answer_closes_after_the_linger() {
    let mut cfg = config(&["tcp:127.0.0.1:0"]);
    cfg.error_linger = Duration::from_millis(200);
    let (_transports, mut rx, server) = tcp_server(cfg).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    client
        .write_all(b"garbage without a header end\r\n\r\n")
        .await
        .unwrap();
    assert!(matches!(
        next_inbound(&mut rx).await,
        Inbound::Malformed { .. }
    ));
    assert_closed(&mut client, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let mut cfg = config(&["tcp:127.0.0.1:0"]);
    cfg.idle_timeout = Duration::from_millis(300);
    let (transports, mut rx, server) = tcp_server(cfg).await;
    let mut client = tcp_from("127.0.0.2", server).await;
    client
        .write_all(tcp_request("idle").as_bytes())
        .await
        .unwrap();
    next_message(&mut rx).await;
    let started = tokio::time::Instant::now();
    assert_closed(&mut client, Duration::from_secs(3)).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    wait_for_no_connections(&transports).await;
}
