//! Sending: UDP datagrams from the listener socket, stream messages through
//! a connection's queue (reusing or opening the connection).

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::error::SendError;
use super::shared::Shared;
use super::stats::bump;
use super::tcp;
use super::types::{Target, TransportKind};

/// A cloneable handle for sending SIP bytes. It outlives nothing: after
/// [`crate::SipTransports::shutdown`] every send fails with
/// [`SendError::Shutdown`].
#[derive(Clone)]
pub struct TransportSender {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for TransportSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportSender").finish_non_exhaustive()
    }
}

impl TransportSender {
    /// Sends one message. UDP goes out at once; TCP and TLS use
    /// `target.connection` if still open, else an open connection to
    /// `target.addr`, else a new connection (TLS checks the certificate
    /// against `target.server_name`). For streams, success means queued on
    /// the connection.
    pub async fn send(&self, target: Target, bytes: Bytes) -> Result<(), SendError> {
        if self.shared.is_shut_down() {
            return Err(SendError::Shutdown);
        }
        tracing::debug!(kind = %target.kind, dest = %target.addr, size = bytes.len(), "SIP message send");
        if target.kind == TransportKind::Udp {
            let (socket, dest) = self
                .shared
                .udp_socket_for(target.addr)
                .ok_or(SendError::NoListener { kind: target.kind })?;
            socket.send_to(&bytes, dest).await?;
            bump(&self.shared.stats.sent);
            return Ok(());
        }
        let mut bytes = bytes;
        if let Some(queue) = self.existing(&target) {
            match queue.send(bytes).await {
                Ok(()) => return Ok(()),
                // Closed between lookup and send: connect afresh.
                Err(mpsc::error::SendError(returned)) => bytes = returned,
            }
        }
        let queue = tcp::connect(&self.shared, &target).await?;
        queue
            .send(bytes)
            .await
            .map_err(|_| SendError::ConnectionClosed)
    }

    /// Sends without waiting: UDP only if the socket is writable now,
    /// streams only over an already open connection with room in its queue.
    pub fn try_send(&self, target: &Target, bytes: Bytes) -> Result<(), SendError> {
        if self.shared.is_shut_down() {
            return Err(SendError::Shutdown);
        }
        if target.kind == TransportKind::Udp {
            let (socket, dest) = self
                .shared
                .udp_socket_for(target.addr)
                .ok_or(SendError::NoListener { kind: target.kind })?;
            return match socket.try_send_to(&bytes, dest) {
                Ok(_) => {
                    bump(&self.shared.stats.sent);
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(SendError::WouldBlock),
                Err(e) => Err(SendError::Io(e)),
            };
        }
        let queue = self.existing(target).ok_or(SendError::NotConnected)?;
        queue.try_send(bytes).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SendError::ConnectionClosed,
        })
    }

    fn existing(&self, target: &Target) -> Option<mpsc::Sender<Bytes>> {
        let table = self.shared.table();
        table
            .find(target.kind, target.addr, target.connection)
            .map(|entry| entry.tx.clone())
    }
}
