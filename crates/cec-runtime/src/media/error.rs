//! The media engine's one error enum.

use std::io;

use super::LegId;

/// Why a media engine call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// `media.rtp_ports` is not `FIRST-LAST` with at least one even/odd pair inside.
    #[error(
        "invalid RTP port range {0:?}: expected \"FIRST-LAST\" holding at least one even port \
         and the odd port after it"
    )]
    InvalidPortRange(String),
    /// Every even/odd pair of the range is in use or could not be bound.
    #[error("RTP port range {first}-{last} exhausted: no free even/odd port pair")]
    PortsExhausted {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// No leg with this id (never allocated, or already released).
    #[error("unknown media leg {0}")]
    UnknownLeg(LegId),
    /// The leg is already in a bridge.
    #[error("media leg {0} is already bridged")]
    AlreadyBridged(LegId),
    /// The leg is not in a bridge (to unbridge).
    #[error("media leg {0} is not bridged")]
    NotBridged(LegId),
    /// A leg cannot be bridged with itself.
    #[error("cannot bridge media leg {0} with itself")]
    SelfBridge(LegId),
    /// No longer returned: shards now run on their own threads, so `MediaEngine::start`
    /// works outside a tokio runtime too. Kept so matches on it still compile.
    #[error("the media engine must be started inside a tokio runtime")]
    NoRuntime,
    /// The engine's shard threads have stopped.
    #[error("the media engine has stopped")]
    Stopped,
    /// A socket operation failed.
    #[error("media socket: {0}")]
    Io(#[from] io::Error),
}
