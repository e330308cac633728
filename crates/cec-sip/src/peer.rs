//! Where a message came from and where one goes: the transport-neutral address the driver
//! maps to its sockets and connections.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use cec_sip_msg::Via;

/// The transport protocols the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// UDP: unreliable, so transactions retransmit.
    Udp,
    /// TCP: reliable.
    Tcp,
    /// TLS over TCP: reliable.
    Tls,
}

impl TransportKind {
    /// Whether the transport delivers reliably (no retransmissions, timers K/I/J/D are zero).
    pub fn is_reliable(self) -> bool {
        !matches!(self, TransportKind::Udp)
    }

    /// The Via transport token.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
        }
    }

    /// The transport a Via names, if we speak it.
    pub fn from_via(transport: &cec_sip_msg::Transport) -> Option<TransportKind> {
        match transport {
            cec_sip_msg::Transport::Udp => Some(TransportKind::Udp),
            cec_sip_msg::Transport::Tcp => Some(TransportKind::Tcp),
            cec_sip_msg::Transport::Tls => Some(TransportKind::Tls),
            _ => None,
        }
    }

    /// The Via transport for this kind.
    pub fn to_via(self) -> cec_sip_msg::Transport {
        match self {
            TransportKind::Udp => cec_sip_msg::Transport::Udp,
            TransportKind::Tcp => cec_sip_msg::Transport::Tcp,
            TransportKind::Tls => cec_sip_msg::Transport::Tls,
        }
    }

    /// The default port for the transport (RFC 3261 §19.1.2).
    pub fn default_port(self) -> u16 {
        match self {
            TransportKind::Tls => 5061,
            _ => 5060,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A remote party as the driver sees it: transport, address and, for connection-oriented
/// transports, the connection a message arrived on (opaque to this crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    /// Transport.
    pub transport: TransportKind,
    /// Remote socket address.
    pub addr: SocketAddr,
    /// Connection id assigned by the driver, when the message came over a connection.
    pub connection: Option<u64>,
}

impl Peer {
    /// A peer with no connection.
    pub fn new(transport: TransportKind, addr: SocketAddr) -> Peer {
        Peer {
            transport,
            addr,
            connection: None,
        }
    }

    /// Where responses to a request received from `self` with top Via `via` go
    /// (RFC 3261 §18.2.2, RFC 3581): over the same connection for reliable transports; for UDP,
    /// to the source address when the Via carries `rport` (the driver filled it in), else to the
    /// source IP and the Via's sent-by port.
    pub fn response_destination(&self, via: Option<&Via>) -> Peer {
        if self.transport.is_reliable() {
            return *self;
        }
        let Some(via) = via else {
            return *self;
        };
        if via.rport().is_some() {
            return *self;
        }
        let port = via.port.unwrap_or(5060);
        Peer {
            addr: SocketAddr::new(self.addr.ip(), port),
            ..*self
        }
    }
}

/// A message to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: Peer,
    /// The serialized message (shared with retransmissions).
    pub bytes: Bytes,
}
