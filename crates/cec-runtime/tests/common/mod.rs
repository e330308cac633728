//! Helpers shared by the transport integration tests: configurations on
//! loopback with port 0, request text, bounded waits and stream readers.

#![allow(dead_code)] // Each test file uses a different subset.

use std::net::SocketAddr;
use std::time::Duration;

use cec_runtime::{Inbound, ListenSpec, Received, TransportConfig};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{Message, StreamDecoder, StreamItem};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Upper bound on any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn config(listen: &[&str]) -> TransportConfig {
    TransportConfig {
        listen: listen
            .iter()
            .map(|l| l.parse::<ListenSpec>().unwrap())
            .collect(),
        ..TransportConfig::default()
    }
}

pub fn request(method: &str, via: &str, call_id: &str) -> String {
    format!(
        "{method} sip:svc@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
         To: <sip:svc@127.0.0.1>\r\nFrom: <sip:caller@127.0.0.2>;tag=t1\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

pub fn ok_response(req: &Message) -> Bytes {
    Message::response_to(req, 200, "OK", Some(b"srv"))
        .unwrap()
        .to_bytes()
}

pub fn call_id(m: &Message) -> String {
    String::from_utf8(m.call_id().unwrap().to_vec()).unwrap()
}

pub async fn next_inbound(rx: &mut mpsc::Receiver<Inbound>) -> Inbound {
    timeout(WAIT, rx.recv())
        .await
        .expect("no inbound item in time")
        .expect("inbound channel closed")
}

pub async fn next_message(rx: &mut mpsc::Receiver<Inbound>) -> Received {
    match next_inbound(rx).await {
        Inbound::Message(r) => r,
        Inbound::Malformed { error, .. } => panic!("unexpected malformed input: {error}"),
    }
}

/// Asserts that nothing arrives for `quiet`.
pub async fn assert_quiet(rx: &mut mpsc::Receiver<Inbound>, quiet: Duration) {
    if let Ok(item) = timeout(quiet, rx.recv()).await {
        panic!("unexpected inbound item: {item:?}");
    }
}

pub async fn udp_from(ip: &str) -> UdpSocket {
    UdpSocket::bind(format!("{ip}:0")).await.unwrap()
}

pub async fn udp_recv_message(socket: &UdpSocket) -> (Message, SocketAddr) {
    let mut buf = vec![0u8; 65_535];
    let (n, from) = timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("no datagram in time")
        .unwrap();
    let message = cec_sip_msg::parse_datagram(Bytes::copy_from_slice(&buf[..n])).unwrap();
    (message, from)
}

/// A TCP connection from a chosen loopback address (a distinct "source").
pub async fn tcp_from(ip: &str, to: SocketAddr) -> TcpStream {
    try_tcp_from(ip, to).await.unwrap()
}

/// Like [`tcp_from`], but a connection the server resets at once may fail.
pub async fn try_tcp_from(ip: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    timeout(WAIT, socket.connect(to))
        .await
        .expect("connect timed out")
}

/// Reads the next message from a stream (keep-alives skipped).
pub async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    decoder: &mut StreamDecoder,
) -> Message {
    let mut buf = [0u8; 4096];
    loop {
        match decoder.next_item().unwrap() {
            Some(StreamItem::Message(m)) => return m,
            Some(_) => continue,
            None => {}
        }
        let n = timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("no data in time")
            .unwrap();
        assert!(n > 0, "stream closed before a message arrived");
        decoder.feed(&buf[..n]);
    }
}

/// Waits until the peer closes the stream (EOF or reset), within `within`.
pub async fn assert_closed<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) {
    let mut buf = [0u8; 4096];
    let result = timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(result.is_ok(), "connection still open after {within:?}");
}

/// Whether the peer closes the stream within `within` (data is discarded).
pub async fn closes_within<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        timeout(within, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Waits until every connection task has ended and left the table.
pub async fn wait_for_no_connections(transports: &cec_runtime::SipTransports) {
    timeout(WAIT, async {
        while transports.connection_count() != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("connections still open");
}
