//! Transport configuration. The binary maps its TOML (`sip.listen`,
//! `[sip.tls]`) onto [`TransportConfig`]; everything else has defaults.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use cec_sip_msg::Limits;

use super::error::ListenSpecError;
use super::types::TransportKind;

/// One listener as written in `sip.listen`: `udp:0.0.0.0:5060`,
/// `tcp:[::]:5060`, `tls:0.0.0.0:5061`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    /// The transport.
    pub kind: TransportKind,
    /// The local address; port 0 picks a free port.
    pub addr: SocketAddr,
}

impl ListenSpec {
    /// A listener spec from its parts.
    pub fn new(kind: TransportKind, addr: SocketAddr) -> ListenSpec {
        ListenSpec { kind, addr }
    }
}

impl FromStr for ListenSpec {
    type Err = ListenSpecError;

    fn from_str(s: &str) -> Result<ListenSpec, ListenSpecError> {
        let (scheme, addr) = s
            .split_once(':')
            .ok_or_else(|| ListenSpecError::MissingTransport(s.to_owned()))?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "udp" => TransportKind::Udp,
            "tcp" => TransportKind::Tcp,
            "tls" => TransportKind::Tls,
            _ => return Err(ListenSpecError::UnknownTransport(scheme.to_owned())),
        };
        let addr = addr
            .parse()
            .map_err(|_| ListenSpecError::BadAddress(addr.to_owned()))?;
        Ok(ListenSpec { kind, addr })
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.kind.as_str().to_ascii_lowercase();
        write!(f, "{scheme}:{}", self.addr)
    }
}

/// The server certificate chain and key (`[sip.tls] cert`, `key`), PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A token bucket: `per_second` messages on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained messages per second per source IP.
    pub per_second: u32,
    /// Bucket size: messages accepted at once after a quiet period.
    pub burst: u32,
}

/// Everything [`crate::SipTransports::bind`] needs.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Listeners to bind.
    pub listen: Vec<ListenSpec>,
    /// Server certificate; required when a TLS listener is configured.
    pub tls: Option<TlsFiles>,
    /// PEM file of CA certificates trusted for outbound TLS. Without it,
    /// outbound TLS fails with [`crate::SendError::TlsClientNotConfigured`].
    pub tls_client_roots: Option<PathBuf>,
    /// Message size limits for parsing.
    pub limits: Limits,
    /// Per-source-IP limit on received messages; `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// A connection with no traffic either way for this long is closed.
    pub idle_timeout: Duration,
    /// An accepted connection must finish its TLS handshake and deliver its
    /// first complete SIP message within this time, or it is closed.
    pub handshake_timeout: Duration,
    /// Outbound TCP connect plus TLS handshake timeout.
    pub connect_timeout: Duration,
    /// A write to a connection that takes longer closes it.
    pub write_timeout: Duration,
    /// After a framing error, how long a connection stays open so that one
    /// answer (a 400) can be sent before it is closed.
    pub error_linger: Duration,
    /// Half-open connections (accepted, no complete message yet) per source IP.
    pub max_half_open_per_ip: usize,
    /// Half-open connections in total.
    pub max_half_open: usize,
    /// Open TCP and TLS connections in total, inbound and outbound.
    pub max_connections: usize,
    /// Capacity of the inbound channel to the endpoint.
    pub inbound_queue: usize,
    /// Capacity of each connection's outbound queue.
    pub connection_queue: usize,
    /// `SO_RCVBUF` for UDP sockets (the kernel may cap it); `None` keeps
    /// the system default.
    pub udp_receive_buffer: Option<usize>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            listen: Vec::new(),
            tls: None,
            tls_client_roots: None,
            limits: Limits::default(),
            rate_limit: Some(RateLimit {
                per_second: 200,
                burst: 400,
            }),
            idle_timeout: Duration::from_secs(120),
            handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            error_linger: Duration::from_secs(1),
            max_half_open_per_ip: 32,
            max_half_open: 1024,
            max_connections: 10_000,
            inbound_queue: 4096,
            connection_queue: 256,
            udp_receive_buffer: Some(4 * 1024 * 1024),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_specs_parse_and_print() {
        let udp: ListenSpec = "udp:0.0.0.0:5060".parse().unwrap();
        assert_eq!(udp.kind, TransportKind::Udp);
        assert_eq!(udp.addr, "0.0.0.0:5060".parse().unwrap());
        let tls: ListenSpec = "TLS:[::1]:5061".parse().unwrap();
        assert_eq!(tls.kind, TransportKind::Tls);
        assert_eq!(tls.to_string(), "tls:[::1]:5061");
        assert_eq!(
            "tcp:127.0.0.1:0".parse::<ListenSpec>().unwrap().kind,
            TransportKind::Tcp
        );
        assert!(matches!(
            "0.0.0.0".parse::<ListenSpec>(),
            Err(ListenSpecError::MissingTransport(_))
        ));
        assert!(matches!(
            "sctp:0.0.0.0:5060".parse::<ListenSpec>(),
            Err(ListenSpecError::UnknownTransport(_))
        ));
        assert!(matches!(
            "udp:0.0.0.0".parse::<ListenSpec>(),
            Err(ListenSpecError::BadAddress(_))
        ));
    }
}
