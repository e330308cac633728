//! One TCP or TLS connection: framing with `StreamDecoder`, keep-alive
//! answers, the outbound queue, and the idle and first-message deadlines.

use std::io;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use cec_sip_msg::{StreamDecoder, StreamItem};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Duration, Instant, sleep_until, timeout};

use super::shared::{Origin, Shared};
use super::stats::bump;
use super::types::{ConnectionId, Inbound};

const READ_CHUNK: usize = 16 * 1024;

/// Bound on closing a stream politely (TLS close_notify, FIN).
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);

/// Removes the connection from the table however its task ends, panics
/// included.
pub(crate) struct TableGuard {
    shared: Arc<Shared>,
    id: ConnectionId,
}

impl TableGuard {
    pub(crate) fn new(shared: Arc<Shared>, id: ConnectionId) -> TableGuard {
        TableGuard { shared, id }
    }
}

impl Drop for TableGuard {
    fn drop(&mut self) {
        self.shared.table().remove(self.id);
    }
}

/// A registered connection, ready to run over a byte stream.
pub(crate) struct Connection {
    pub shared: Arc<Shared>,
    pub origin: Origin,
    pub id: ConnectionId,
    /// Accepted and no complete SIP message yet.
    pub half_open: bool,
    /// Until when a half-open connection may stay half-open.
    pub first_message_by: Instant,
    pub inbound: mpsc::Sender<Inbound>,
    pub outgoing: mpsc::Receiver<Bytes>,
    pub guard: TableGuard,
}

enum Flow {
    Continue,
    Close(&'static str),
    /// Framing lost: wait briefly for one answer, then close.
    Linger,
}

/// Read-side framing state.
struct Framing {
    decoder: StreamDecoder,
    /// Bytes fed to the decoder since the last item boundary: on a framing
    /// error they are what the endpoint gets as `Malformed::bytes`.
    unconsumed: BytesMut,
}

impl Connection {
    fn deadline(&self) -> Instant {
        if self.half_open {
            self.first_message_by
        } else {
            Instant::now() + self.shared.config.idle_timeout
        }
    }

    /// Serves the connection until it closes, times out or the transports
    /// shut down.
    pub(crate) async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, mut stream: S) {
        let mut shutdown = self.shared.shutdown_signal();
        let mut framing = Framing {
            decoder: StreamDecoder::with_limits(self.shared.config.limits),
            unconsumed: BytesMut::new(),
        };
        let mut scratch = vec![0u8; READ_CHUNK];
        let mut deadline = self.deadline();
        let reason = loop {
            tokio::select! {
                _ = shutdown.changed() => break "shutdown",
                read = stream.read(&mut scratch) => {
                    let n = match read {
                        Ok(0) => break "closed by peer",
                        Ok(n) => n,
                        Err(e) => {
                            tracing::debug!(conn = %self.id, error = %e, "read error");
                            break "read error";
                        }
                    };
                    let chunk = scratch.get(..n).unwrap_or_default();
                    match self.on_bytes(chunk, &mut framing, &mut stream).await {
                        Flow::Continue => {}
                        Flow::Close(why) => break why,
                        Flow::Linger => {
                            self.linger(&mut stream).await;
                            break "framing error";
                        }
                    }
                    deadline = self.deadline();
                }
                out = self.outgoing.recv() => {
                    let Some(bytes) = out else { break "queue closed" };
                    if let Err(e) = self.write_message(&mut stream, &bytes).await {
                        tracing::warn!(conn = %self.id, peer = %self.origin.source, error = %e, "write failed");
                        break "write error";
                    }
                    deadline = self.deadline();
                }
                () = sleep_until(deadline) => {
                    break if self.half_open { "no SIP message in time" } else { "idle timeout" };
                }
            }
        };
        tracing::debug!(
            conn = %self.id,
            peer = %self.origin.source,
            kind = %self.origin.kind,
            reason,
            "connection closed"
        );
        self.shared.table().retire(self.id);
        let _ = timeout(CLOSE_TIMEOUT, stream.shutdown()).await;
        drop(self.guard);
    }

    async fn on_bytes<S: AsyncWrite + Unpin>(
        &mut self,
        chunk: &[u8],
        framing: &mut Framing,
        stream: &mut S,
    ) -> Flow {
        framing.decoder.feed(chunk);
        framing.unconsumed.extend_from_slice(chunk);
        loop {
            let item = match framing.decoder.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => return Flow::Continue,
                Err(error) => {
                    let bytes = framing.unconsumed.split().freeze();
                    self.shared.table().retire(self.id);
                    let origin = self.origin;
                    self.shared
                        .deliver_malformed(&self.inbound, bytes, error, origin)
                        .await;
                    return Flow::Linger;
                }
            };
            let size = framing
                .unconsumed
                .len()
                .saturating_sub(framing.decoder.buffered());
            framing.unconsumed.advance(size);
            match item {
                StreamItem::Pong => {}
                StreamItem::Ping => {
                    if !self.shared.admit(self.origin.source) {
                        continue;
                    }
                    // RFC 5626 §4.4.1: a double-CRLF ping gets a single-CRLF pong.
                    if let Err(e) = self.write(stream, b"\r\n").await {
                        tracing::debug!(conn = %self.id, error = %e, "pong write failed");
                        return Flow::Close("write error");
                    }
                }
                StreamItem::Message(message) => {
                    if !self.shared.admit(self.origin.source) {
                        continue;
                    }
                    if self.half_open {
                        self.half_open = false;
                        self.shared.table().mark_established(self.id);
                    }
                    let origin = self.origin;
                    if !self
                        .shared
                        .deliver(&self.inbound, message, size, origin)
                        .await
                    {
                        return Flow::Close("endpoint gone");
                    }
                }
            }
        }
    }

    /// After a framing error: give the endpoint `error_linger` to queue one
    /// answer, send it, and return (the caller closes).
    async fn linger<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) {
        let until = Instant::now() + self.shared.config.error_linger;
        tokio::select! {
            out = self.outgoing.recv() => {
                if let Some(bytes) = out
                    && let Err(e) = self.write_message(stream, &bytes).await
                {
                    tracing::debug!(conn = %self.id, error = %e, "write failed while closing");
                }
            }
            () = sleep_until(until) => {}
        }
    }

    async fn write_message<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        bytes: &[u8],
    ) -> io::Result<()> {
        self.write(stream, bytes).await?;
        bump(&self.shared.stats.sent);
        Ok(())
    }

    async fn write<S: AsyncWrite + Unpin>(&self, stream: &mut S, bytes: &[u8]) -> io::Result<()> {
        let write = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match timeout(self.shared.config.write_timeout, write).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
        }
    }
}
