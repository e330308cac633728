//! TCP and TLS connections: the accept loop with its caps, and outbound
//! connects.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, sleep, timeout_at};

use super::error::SendError;
use super::shared::{Origin, Shared};
use super::stats::bump;
use super::stream::{Connection, TableGuard};
use super::tls;
use super::types::{ConnectionId, Inbound, Target, TransportKind, canonical};

const BACKLOG: i32 = 1024;

/// How often rejected connections are logged.
const REJECT_LOG_INTERVAL: Duration = Duration::from_secs(1);

pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Restart without waiting for TIME_WAIT connections of the old process.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

fn connection(
    shared: &Arc<Shared>,
    id: ConnectionId,
    origin: Origin,
    half_open: bool,
    inbound: mpsc::Sender<Inbound>,
    outgoing: mpsc::Receiver<Bytes>,
) -> Connection {
    Connection {
        shared: Arc::clone(shared),
        origin: Origin {
            connection: Some(id),
            ..origin
        },
        id,
        half_open,
        first_message_by: Instant::now() + shared.config.handshake_timeout,
        inbound,
        outgoing,
        guard: TableGuard::new(Arc::clone(shared), id),
    }
}

pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    kind: TransportKind,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut last_reject_log: Option<Instant> = None;
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically out of file descriptors: back off, keep serving.
                tracing::warn!(%kind, error = %e, "accept failed");
                sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(local) = tcp.local_addr() else {
            continue;
        };
        let (tx, rx) = mpsc::channel(shared.config.connection_queue.max(1));
        let admitted = shared.table().admit_inbound(kind, remote, tx);
        let id = match admitted {
            Ok(id) => id,
            Err(why) => {
                bump(&shared.stats.rejected_connections);
                let now = Instant::now();
                if last_reject_log.is_none_or(|at| now - at >= REJECT_LOG_INTERVAL) {
                    last_reject_log = Some(now);
                    tracing::warn!(%kind, %remote, limit = why.as_str(), "connection rejected");
                }
                // Reset at once instead of lingering in FIN_WAIT.
                let _ = tcp.set_zero_linger();
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        tracing::debug!(conn = %id, %kind, %remote, "connection accepted");
        let origin = Origin {
            source: canonical(remote),
            local,
            kind,
            connection: None,
        };
        let conn = connection(&shared, id, origin, true, inbound.clone(), rx);
        tokio::spawn(serve_inbound(conn, tcp));
    }
}

async fn serve_inbound(conn: Connection, tcp: TcpStream) {
    if conn.origin.kind != TransportKind::Tls {
        conn.run(tcp).await;
        return;
    }
    let Some(acceptor) = conn.shared.tls_acceptor.clone() else {
        return;
    };
    match timeout_at(conn.first_message_by, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => conn.run(tls).await,
        Ok(Err(e)) => {
            tracing::debug!(conn = %conn.id, peer = %conn.origin.source, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            tracing::debug!(conn = %conn.id, peer = %conn.origin.source, "TLS handshake timed out");
        }
    }
}

/// Opens a connection for `target`, registers it and starts its task;
/// returns its queue.
pub(crate) async fn connect(
    shared: &Arc<Shared>,
    target: &Target,
) -> Result<mpsc::Sender<Bytes>, SendError> {
    if !shared.table().has_room() {
        return Err(SendError::TooManyConnections);
    }
    let inbound = shared.inbound().ok_or(SendError::Shutdown)?;
    let tls = match target.kind {
        TransportKind::Tls => {
            let connector = shared
                .tls_connector
                .clone()
                .ok_or(SendError::TlsClientNotConfigured)?;
            let name = tls::server_name(target.server_name.as_deref(), target.addr.ip())?;
            Some((connector, name))
        }
        TransportKind::Tcp | TransportKind::Udp => None,
    };
    let deadline = Instant::now() + shared.config.connect_timeout;
    let tcp = timeout_at(deadline, TcpStream::connect(target.addr))
        .await
        .map_err(|_| SendError::ConnectTimeout)??;
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr()?;
    let origin = Origin {
        source: canonical(target.addr),
        local,
        kind: target.kind,
        connection: None,
    };
    let (tx, rx) = mpsc::channel(shared.config.connection_queue.max(1));
    let register = |tx: mpsc::Sender<Bytes>| {
        let added = shared.table().add_outbound(target.kind, target.addr, tx);
        added.map_err(|_| SendError::TooManyConnections)
    };
    match tls {
        None => {
            let id = register(tx.clone())?;
            let conn = connection(shared, id, origin, false, inbound, rx);
            tracing::debug!(conn = %id, kind = %target.kind, remote = %target.addr, "connected");
            tokio::spawn(conn.run(tcp));
        }
        Some((connector, name)) => {
            let stream = timeout_at(deadline, connector.connect(name, tcp))
                .await
                .map_err(|_| SendError::ConnectTimeout)??;
            let id = register(tx.clone())?;
            let conn = connection(shared, id, origin, false, inbound, rx);
            tracing::debug!(conn = %id, kind = %target.kind, remote = %target.addr, "connected");
            tokio::spawn(conn.run(stream));
        }
    }
    Ok(tx)
}
