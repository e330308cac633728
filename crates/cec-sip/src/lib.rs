//! The sans-IO SIP endpoint of OpenCEC: transactions (RFC 3261 §17 with RFC 6026), the user
//! agent core that answers OPTIONS, CANCEL, unknown methods and unsupported extensions, and
//! (growing) dialogs, 100rel, UPDATE, session timers and trunk supervision.
//!
//! Nothing here opens a socket or reads a clock: the driver (`cec-runtime`) feeds received
//! messages and `now`, then drains [`Transmit`]s, events and the next deadline. That makes
//! every rule testable in a simulated network with a virtual clock (`cec-sim`).
//!
//! # Why our own
//!
//! The Rust SIP stacks we evaluated (rsipstack, ezk-sip, rvoip) own their sockets and tasks,
//! read the wall clock inside their state machines, and so cannot be driven deterministically;
//! none implements the RFC 6026 Accepted states, RFC 3262 as UAS with retransmission, and
//! RFC 4028 together. The transaction layer is small enough to own and test exhaustively.

pub mod dialog;
pub mod endpoint;
mod peer;
pub mod random;
pub mod resolve;
pub mod supervision;
pub mod timer;
pub mod transaction;

pub use dialog::{Dialog, DialogId, DialogState};
pub use endpoint::{
    DialogError, Endpoint, EndpointConfig, EndpointStats, Event, OutgoingInvite, RegistrationId,
    RegistrationSpec, RegistrationState, TerminationReason,
};
pub use peer::{Peer, Transmit, TransportKind};
pub use supervision::{LinkStatus, ProbePolicy, StatusChange, TrunkMonitor};
pub use timer::{TimerTable, TimerValues};
pub use transaction::{TimerName, TransactionId, TransactionLayer, TxError, TxEvent};

#[cfg(test)]
pub(crate) mod test_support {
    /// The origin of a test's virtual timeline, from the simulator's clock (the one place
    /// in the workspace that reads the real clock for tests).
    pub(crate) fn base_instant() -> std::time::Instant {
        cec_sim::VirtualClock::start().now()
    }
}
