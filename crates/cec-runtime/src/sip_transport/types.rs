//! The values that cross the transport boundary: transport kinds, connection
//! ids, what was received and where to send.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use cec_sip_msg::{Message, ParseError};

/// The transport kinds, shared with the endpoint (`cec_sip::TransportKind`).
pub use cec_sip::TransportKind;

/// The address with an IPv4-mapped IPv6 address (as a dual-stack socket
/// reports IPv4 peers) turned back into IPv4, so one peer has one key.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Identifies one TCP or TLS connection for as long as it is open. Ids are
/// never reused within one [`crate::SipTransports`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

impl ConnectionId {
    pub(crate) fn new(raw: u64) -> ConnectionId {
        ConnectionId(raw)
    }

    /// The raw number (for logs and metrics).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// A message that arrived and parsed. Requests already carry the RFC 3581
/// `received`/`rport` stamp on their top Via.
#[derive(Debug, Clone)]
pub struct Received {
    /// The message (requests stamped, see [`crate::stamp_via`]).
    pub message: Message,
    /// The peer address the bytes came from (an IPv4-mapped IPv6 address
    /// from a dual-stack socket is reported as IPv4).
    pub source: SocketAddr,
    /// Our address they arrived on.
    pub local: SocketAddr,
    /// The transport they arrived over.
    pub kind: TransportKind,
    /// The connection, for TCP and TLS.
    pub connection: Option<ConnectionId>,
}

/// What the transports hand to the endpoint.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // Messages are the common case; boxing costs.
pub enum Inbound {
    /// A parsed message.
    Message(Received),
    /// Bytes that did not parse. On a stream the connection is closed after
    /// a short linger that lets one answer (a 400) go out on it.
    Malformed {
        /// The offending bytes (the datagram, or on a stream everything
        /// from the start of the bad message that had been read).
        bytes: Bytes,
        /// Why they did not parse; [`ParseError::response_status`] says how
        /// to answer.
        error: ParseError,
        /// The peer address.
        source: SocketAddr,
        /// Our address.
        local: SocketAddr,
        /// The transport.
        kind: TransportKind,
        /// The connection, for TCP and TLS.
        connection: Option<ConnectionId>,
    },
}

/// Where to send bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport to use.
    pub kind: TransportKind,
    /// The peer address: the datagram destination, or the address to reuse
    /// a connection to or to connect to.
    pub addr: SocketAddr,
    /// A connection to use if it is still open (tried before `addr`).
    pub connection: Option<ConnectionId>,
    /// TLS only: the name for SNI and for checking the server certificate;
    /// without it the certificate must be issued for the IP address.
    pub server_name: Option<String>,
}

impl Target {
    /// A target by transport and address only.
    pub fn new(kind: TransportKind, addr: SocketAddr) -> Target {
        Target {
            kind,
            addr,
            connection: None,
            server_name: None,
        }
    }

    /// A UDP destination.
    pub fn udp(addr: SocketAddr) -> Target {
        Target::new(TransportKind::Udp, addr)
    }

    /// A TCP destination (an open connection to `addr` is reused).
    pub fn tcp(addr: SocketAddr) -> Target {
        Target::new(TransportKind::Tcp, addr)
    }

    /// A TLS destination whose certificate must match `server_name`.
    pub fn tls(addr: SocketAddr, server_name: impl Into<String>) -> Target {
        Target {
            server_name: Some(server_name.into()),
            ..Target::new(TransportKind::Tls, addr)
        }
    }
}
