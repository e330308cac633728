//! State shared by every transport task and sender, and the one path by
//! which received messages reach the endpoint.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use cec_sip_msg::{Message, ParseError, StartLine};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::config::TransportConfig;
use super::conn_table::{Caps, ConnTable};
use super::rate_limit::{RateLimiter, Verdict};
use super::stats::{TransportStats, bump};
use super::types::{ConnectionId, Inbound, Received, TransportKind};
use super::via_stamp::stamp_via;

/// Where a message came from and arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub source: SocketAddr,
    pub local: SocketAddr,
    pub kind: TransportKind,
    pub connection: Option<ConnectionId>,
}

pub(crate) struct Shared {
    pub config: TransportConfig,
    pub stats: Arc<TransportStats>,
    pub udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    pub tls_acceptor: Option<TlsAcceptor>,
    pub tls_connector: Option<TlsConnector>,
    table: Mutex<ConnTable>,
    rate: Option<Mutex<RateLimiter>>,
    /// Taken at shutdown so the endpoint's receiver ends once tasks finish.
    inbound: Mutex<Option<mpsc::Sender<Inbound>>>,
    shutdown: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent-enough counters;
    // never propagate it into network handling.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the endpoint should hear about a message, for the debug log.
fn describe(message: &Message) -> String {
    match message.start_line() {
        StartLine::Request(r) => r.method.to_string(),
        StartLine::Response(s) => s.code.to_string(),
    }
}

impl Shared {
    pub(crate) fn new(
        config: TransportConfig,
        udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
        tls_acceptor: Option<TlsAcceptor>,
        tls_connector: Option<TlsConnector>,
        inbound: mpsc::Sender<Inbound>,
    ) -> Shared {
        let caps = Caps {
            half_open_per_ip: config.max_half_open_per_ip,
            half_open: config.max_half_open,
            connections: config.max_connections,
        };
        Shared {
            rate: config.rate_limit.map(|l| Mutex::new(RateLimiter::new(l))),
            config,
            stats: Arc::new(TransportStats::default()),
            udp,
            tls_acceptor,
            tls_connector,
            table: Mutex::new(ConnTable::new(caps)),
            inbound: Mutex::new(Some(inbound)),
            shutdown: watch::channel(false).0,
        }
    }

    pub(crate) fn table(&self) -> MutexGuard<'_, ConnTable> {
        lock(&self.table)
    }

    pub(crate) fn inbound(&self) -> Option<mpsc::Sender<Inbound>> {
        lock(&self.inbound).clone()
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub(crate) fn shut_down(&self) {
        self.shutdown.send_replace(true);
        lock(&self.inbound).take();
    }

    /// Charges one message to its source IP; false means drop it.
    pub(crate) fn admit(&self, source: SocketAddr) -> bool {
        let Some(rate) = &self.rate else {
            return true;
        };
        let ip = source.ip().to_canonical();
        match lock(rate).check(ip, Instant::now()) {
            Verdict::Allow => true,
            Verdict::Drop { log } => {
                bump(&self.stats.dropped_rate_limited);
                if let Some(dropped) = log {
                    tracing::warn!(%ip, dropped, "rate limit: dropping messages from source");
                }
                false
            }
        }
    }

    /// Stamps a request's Via and hands the message to the endpoint. False
    /// when the endpoint is gone.
    pub(crate) async fn deliver(
        &self,
        inbound: &mpsc::Sender<Inbound>,
        mut message: Message,
        size: usize,
        origin: Origin,
    ) -> bool {
        stamp_via(&mut message, origin.source);
        tracing::debug!(
            what = %describe(&message),
            source = %origin.source,
            kind = %origin.kind,
            size,
            "SIP message received"
        );
        bump(&self.stats.received);
        let received = Received {
            message,
            source: origin.source,
            local: origin.local,
            kind: origin.kind,
            connection: origin.connection,
        };
        inbound.send(Inbound::Message(received)).await.is_ok()
    }

    /// Reports bytes that did not parse. False when the endpoint is gone.
    pub(crate) async fn deliver_malformed(
        &self,
        inbound: &mpsc::Sender<Inbound>,
        bytes: Bytes,
        error: ParseError,
        origin: Origin,
    ) -> bool {
        tracing::warn!(
            source = %origin.source,
            kind = %origin.kind,
            size = bytes.len(),
            %error,
            "malformed SIP message"
        );
        bump(&self.stats.parse_errors);
        let malformed = Inbound::Malformed {
            bytes,
            error,
            source: origin.source,
            local: origin.local,
            kind: origin.kind,
            connection: origin.connection,
        };
        inbound.send(malformed).await.is_ok()
    }

    /// The UDP socket to send to `dest` from, and the destination in that
    /// socket's family (IPv4 goes out of a dual-stack IPv6 socket mapped).
    pub(crate) fn udp_socket_for(&self, dest: SocketAddr) -> Option<(&UdpSocket, SocketAddr)> {
        let dest_ip = dest.ip().to_canonical();
        let dest = SocketAddr::new(dest_ip, dest.port());
        let same_family = |local: &SocketAddr| local.is_ipv4() == dest.is_ipv4();
        // A socket bound to loopback cannot reach other hosts.
        let reachable = |local: &SocketAddr| dest_ip.is_loopback() || !local.ip().is_loopback();
        let pick = self
            .udp
            .iter()
            .find(|(l, _)| same_family(l) && reachable(l))
            .or_else(|| self.udp.iter().find(|(l, _)| same_family(l)));
        if let Some((_, socket)) = pick {
            return Some((socket.as_ref(), dest));
        }
        let IpAddr::V4(v4) = dest_ip else {
            return None;
        };
        self.udp
            .iter()
            .find(|(l, _)| l.is_ipv6() && l.ip().is_unspecified())
            .map(|(_, s)| {
                let mapped = SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), dest.port());
                (s.as_ref(), mapped)
            })
    }
}
