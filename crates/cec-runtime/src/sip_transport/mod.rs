//! SIP transports (RFC 3261 §18): UDP, TCP and TLS listeners, outbound
//! connections with reuse, stream framing and keep-alives, the RFC 3581
//! `received`/`rport` stamp, and flood protection (per-source rate limit,
//! half-open and total connection caps).
//!
//! [`SipTransports::bind`] starts everything and returns the receiver of
//! [`Inbound`] items; [`TransportSender`] sends bytes to a [`Target`];
//! [`response_target`] says where a response to a [`Received`] request goes.

mod config;
mod conn_table;
mod error;
mod rate_limit;
mod response;
mod sender;
mod shared;
mod stats;
mod stream;
mod tcp;
mod tls;
mod types;
mod udp;
mod via_stamp;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

pub use config::{ListenSpec, RateLimit, TlsFiles, TransportConfig};
pub use error::{ListenSpecError, SendError};
pub use response::response_target;
pub use sender::TransportSender;
pub use stats::{StatsSnapshot, TransportStats};
pub use types::{ConnectionId, Inbound, Received, Target, TransportKind};
pub use via_stamp::stamp_via;

use shared::Shared;

/// The running transports. Dropping it shuts them down.
pub struct SipTransports {
    shared: Arc<Shared>,
    local_addrs: Vec<(TransportKind, SocketAddr)>,
    listeners: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SipTransports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTransports")
            .field("local_addrs", &self.local_addrs)
            .finish_non_exhaustive()
    }
}

fn invalid_config(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_owned())
}

impl SipTransports {
    /// Binds every listener in `config.listen` (port 0 picks a free port;
    /// see [`SipTransports::local_addrs`]), loads the TLS material and starts
    /// the receive tasks. Must be called inside a tokio runtime.
    pub async fn bind(
        config: TransportConfig,
    ) -> io::Result<(SipTransports, mpsc::Receiver<Inbound>)> {
        let wants_tls = config.listen.iter().any(|l| l.kind == TransportKind::Tls);
        let acceptor = match (&config.tls, wants_tls) {
            (Some(files), true) => Some(TlsAcceptor::from(tls::server_config(files)?)),
            (None, true) => {
                return Err(invalid_config(
                    "a TLS listener needs [sip.tls] cert and key",
                ));
            }
            (_, false) => None,
        };
        let connector = match &config.tls_client_roots {
            Some(roots) => Some(TlsConnector::from(tls::client_config(roots)?)),
            None => None,
        };
        let mut udp = Vec::new();
        let mut streams = Vec::new();
        let mut local_addrs = Vec::new();
        for spec in &config.listen {
            let local = if spec.kind == TransportKind::Udp {
                let socket = udp::bind(spec.addr, config.udp_receive_buffer)?;
                let local = socket.local_addr()?;
                udp.push((local, Arc::new(socket)));
                local
            } else {
                let listener = tcp::bind(spec.addr)?;
                let local = listener.local_addr()?;
                streams.push((spec.kind, listener));
                local
            };
            tracing::info!(kind = %spec.kind, %local, "SIP listener bound");
            local_addrs.push((spec.kind, local));
        }
        let (inbound_tx, inbound_rx) = mpsc::channel(config.inbound_queue.max(1));
        let shared = Arc::new(Shared::new(
            config,
            udp,
            acceptor,
            connector,
            inbound_tx.clone(),
        ));
        let mut listeners = Vec::new();
        for (local, socket) in &shared.udp {
            let task = udp::receive_loop(
                Arc::clone(&shared),
                Arc::clone(socket),
                *local,
                inbound_tx.clone(),
            );
            listeners.push(tokio::spawn(task));
        }
        for (kind, listener) in streams {
            let task = tcp::accept_loop(Arc::clone(&shared), listener, kind, inbound_tx.clone());
            listeners.push(tokio::spawn(task));
        }
        let transports = SipTransports {
            shared,
            local_addrs,
            listeners,
        };
        Ok((transports, inbound_rx))
    }

    /// The bound listeners with their real addresses, in configuration order.
    pub fn local_addrs(&self) -> &[(TransportKind, SocketAddr)] {
        &self.local_addrs
    }

    /// The first listener address of a transport.
    pub fn local_addr(&self, kind: TransportKind) -> Option<SocketAddr> {
        self.local_addrs
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, a)| *a)
    }

    /// A handle for sending.
    pub fn sender(&self) -> TransportSender {
        TransportSender {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<TransportStats> {
        &self.shared.stats
    }

    /// Open TCP and TLS connections, inbound and outbound.
    pub fn connection_count(&self) -> usize {
        self.shared.table().len()
    }

    /// Stops listening, closes every connection and fails later sends. The
    /// inbound receiver ends once the last task has stopped. Idempotent.
    pub fn shutdown(&self) {
        if !self.shared.is_shut_down() {
            tracing::info!("SIP transports shutting down");
        }
        self.shared.shut_down();
        for task in &self.listeners {
            task.abort();
        }
    }
}

impl Drop for SipTransports {
    fn drop(&mut self) {
        self.shutdown();
    }
}
