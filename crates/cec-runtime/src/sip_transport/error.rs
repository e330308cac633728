//! Error types of the transport layer.

use std::io;

use super::types::TransportKind;

/// A `sip.listen` entry that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenSpecError {
    /// No `transport:` prefix.
    #[error("listener {0:?} has no transport prefix (udp:, tcp: or tls:)")]
    MissingTransport(String),
    /// A transport other than udp, tcp or tls.
    #[error("unknown listener transport {0:?} (expected udp, tcp or tls)")]
    UnknownTransport(String),
    /// The address part is not `ip:port` (IPv6 in brackets).
    #[error("listener address {0:?} is not ip:port")]
    BadAddress(String),
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The transports were shut down.
    #[error("transports are shut down")]
    Shutdown,
    /// No UDP listener can reach the destination's address family.
    #[error("no {kind} listener for this address family")]
    NoListener {
        /// The transport asked for.
        kind: TransportKind,
    },
    /// Outbound TLS needs `tls_client_roots` in the configuration.
    #[error("outbound TLS is not configured (no trusted roots)")]
    TlsClientNotConfigured,
    /// The server name is not a valid DNS name or IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// The connection limit is reached.
    #[error("too many connections")]
    TooManyConnections,
    /// Connecting (and the TLS handshake) took longer than `connect_timeout`.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The connection closed before the bytes could be queued.
    #[error("connection closed")]
    ConnectionClosed,
    /// `try_send` only: the connection's queue is full.
    #[error("connection queue full")]
    QueueFull,
    /// `try_send` only: no open connection to the target and connecting
    /// would block.
    #[error("no open connection")]
    NotConnected,
    /// `try_send` only: the UDP socket is not writable now.
    #[error("socket would block")]
    WouldBlock,
    /// An I/O error (connect refused, TLS handshake or certificate failure,
    /// UDP send error).
    #[error("{0}")]
    Io(#[from] io::Error),
}
