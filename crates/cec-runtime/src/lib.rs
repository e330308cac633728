//! The tokio driver of OpenCEC: the one crate that owns sockets and spawns
//! tasks. Today it holds the SIP transports ([`sip_transport`]); media I/O
//! modules will sit beside it.
//!
//! # Why our own transports
//!
//! The SIP endpoint (`cec-sip`) is sans-IO and the message crate
//! (`cec-sip-msg`) is our own parser, so a SIP stack crate's transport layer
//! would bring a second message model. What remains is small and policy
//! heavy — RFC 3581 stamping, connection reuse by address, CRLF keep-alives,
//! per-source rate limits and half-open connection caps — and no crate we
//! looked at offers those flood protections. tokio and rustls (ring) do the
//! heavy lifting underneath.

pub mod dns;
pub mod media;
pub mod sip_driver;
pub mod sip_transport;

pub use sip_transport::{
    ConnectionId, Inbound, ListenSpec, ListenSpecError, RateLimit, Received, SendError,
    SipTransports, StatsSnapshot, Target, TlsFiles, TransportConfig, TransportKind,
    TransportSender, TransportStats, response_target, stamp_via,
};
