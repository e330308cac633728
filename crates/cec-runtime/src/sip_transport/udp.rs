//! UDP: one socket per listener, one receive task per socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cec_sip_msg::parse_datagram_with;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::shared::{Origin, Shared};
use super::types::{Inbound, TransportKind, canonical};

/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

pub(crate) fn bind(addr: SocketAddr, receive_buffer: Option<usize>) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Some(size) = receive_buffer {
        // Best effort: the kernel caps it at net.core.rmem_max.
        if let Err(e) = socket.set_recv_buffer_size(size) {
            tracing::debug!(%addr, error = %e, "cannot set UDP receive buffer");
        }
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// An empty datagram or CR/LF only: an RFC 5626 style keep-alive.
fn is_keep_alive(data: &[u8]) -> bool {
    data.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// A STUN message (RFC 5389 §6: two zero bits, then the magic cookie at
/// byte 4), as RFC 5626 UDP keep-alives use. Never SIP text.
fn is_stun(data: &[u8]) -> bool {
    data.len() >= 20
        && data.first().is_some_and(|b| b & 0xC0 == 0)
        && data.get(4..8) == Some(&[0x21, 0x12, 0xA4, 0x42][..])
}

pub(crate) async fn receive_loop(
    shared: Arc<Shared>,
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // E.g. ICMP errors reported on the socket; never fatal.
                tracing::warn!(%local, error = %e, "UDP receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let data = buf.get(..len).unwrap_or_default();
        if is_keep_alive(data) || is_stun(data) {
            continue;
        }
        if !shared.admit(source) {
            continue;
        }
        let origin = Origin {
            source: canonical(source),
            local,
            kind: TransportKind::Udp,
            connection: None,
        };
        let bytes = Bytes::copy_from_slice(data);
        let delivered = match parse_datagram_with(bytes.clone(), &shared.config.limits) {
            Ok(message) => shared.deliver(&inbound, message, len, origin).await,
            Err(error) => {
                shared
                    .deliver_malformed(&inbound, bytes, error, origin)
                    .await
            }
        };
        if !delivered {
            tracing::debug!(%local, "endpoint gone; UDP receiver stops");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alives_and_stun_are_recognised() {
        assert!(is_keep_alive(b""));
        assert!(is_keep_alive(b"\r\n\r\n"));
        assert!(!is_keep_alive(b"\r\nOPTIONS"));
        let mut stun = [0u8; 20];
        stun[1] = 1;
        stun[4..8].copy_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        assert!(is_stun(&stun));
        assert!(!is_stun(&stun[..19]));
        assert!(!is_stun(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"));
    }
}
