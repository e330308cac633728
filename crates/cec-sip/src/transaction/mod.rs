//! The transaction layer (RFC 3261 §17 with the RFC 6026 corrections): INVITE and non-INVITE,
//! client and server. Sans-IO: messages and `now` go in; transmissions, events and the next
//! deadline come out.
//!
//! Retransmissions happen only over unreliable transports; over TCP/TLS timers E, A and G are
//! never armed and the wait timers D, I, J, K are zero. Every deadline is a named entry in a
//! [`TimerTable`], so a test can ask which timer fires next.

mod client;
mod key;
mod server;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_msg::{CoreHeaders, Message};

use crate::peer::{Peer, Transmit};
use crate::timer::{TimerTable, TimerValues};

pub use key::{ClientKey, ServerKey};

use client::ClientTx;
use server::ServerTx;

/// Identifies one transaction for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// The RFC 3261 timer names, plus the 100 Trying delay of INVITE server transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerName {
    /// INVITE client: request retransmission (unreliable only).
    A,
    /// INVITE client: transaction timeout.
    B,
    /// INVITE client: wait for response retransmissions after a non-2xx final.
    D,
    /// Non-INVITE client: request retransmission (unreliable only).
    E,
    /// Non-INVITE client: transaction timeout.
    F,
    /// INVITE server: final response retransmission (unreliable only).
    G,
    /// INVITE server: wait for ACK.
    H,
    /// INVITE server: absorb ACK retransmissions.
    I,
    /// Non-INVITE server: absorb request retransmissions.
    J,
    /// Non-INVITE client: absorb response retransmissions.
    K,
    /// INVITE server after a 2xx (RFC 6026): absorb INVITE retransmissions.
    L,
    /// INVITE client after a 2xx (RFC 6026): accept 2xx retransmissions and forks.
    M,
    /// INVITE server: send 100 Trying if the application has not answered.
    Trying,
}

impl TimerName {
    /// Every timer name (to disarm a finished transaction's timers by key, not by a scan).
    pub const ALL: [TimerName; 13] = [
        TimerName::A,
        TimerName::B,
        TimerName::D,
        TimerName::E,
        TimerName::F,
        TimerName::G,
        TimerName::H,
        TimerName::I,
        TimerName::J,
        TimerName::K,
        TimerName::L,
        TimerName::M,
        TimerName::Trying,
    ];
}

/// What the transaction layer reports to the layer above.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TxEvent {
    /// A new request created a server transaction: answer it with
    /// [`TransactionLayer::respond`].
    Request {
        /// The new server transaction.
        tx: TransactionId,
        /// The request.
        request: Message,
        /// Its parsed core headers.
        core: CoreHeaders,
        /// Where it came from.
        source: Peer,
    },
    /// An ACK that belongs to no server transaction (the ACK of a 2xx, RFC 3261 §17.1.1.3):
    /// for the dialog layer.
    Ack {
        /// The ACK.
        request: Message,
        /// Its parsed core headers.
        core: CoreHeaders,
        /// Where it came from.
        source: Peer,
    },
    /// A response for one of our client transactions (provisional, final, or a 2xx
    /// retransmission in the RFC 6026 Accepted state).
    Response {
        /// The client transaction.
        tx: TransactionId,
        /// The response.
        response: Message,
        /// Its parsed core headers.
        core: CoreHeaders,
    },
    /// A response that matched no client transaction (for example a 2xx retransmitted after
    /// timer M): a dialog may still want it to re-send its ACK.
    StrayResponse {
        /// The response.
        response: Message,
        /// Its parsed core headers.
        core: CoreHeaders,
    },
    /// Timer B or F (no final response) or H (no ACK) fired, or the transport failed.
    Timeout {
        /// The transaction that gave up.
        tx: TransactionId,
    },
    /// A new request arrived while the layer holds its maximum of server transactions: no
    /// transaction was created; answer it statelessly (503 with Retry-After).
    Overloaded {
        /// The request.
        request: Message,
        /// Where it came from.
        source: Peer,
    },
    /// The transaction ended and was removed.
    Terminated {
        /// The transaction.
        tx: TransactionId,
    },
}

/// Misuse of the layer by the code above it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// No such transaction (it may have terminated).
    #[error("no transaction {0}")]
    Unknown(TransactionId),
    /// The transaction already sent a final response, or the status is not allowed now.
    #[error("transaction {0} cannot send this response in its current state")]
    InvalidState(TransactionId),
    /// The message lacks what a transaction needs (a top Via with a branch, a CSeq).
    #[error("unusable message: {0}")]
    BadMessage(&'static str),
}

/// All transactions of one endpoint.
#[derive(Debug, Default)]
pub struct TransactionLayer {
    values: TimerValues,
    timers: TimerTable<(TransactionId, TimerName)>,
    servers: HashMap<TransactionId, ServerTx>,
    clients: HashMap<TransactionId, ClientTx>,
    server_index: HashMap<ServerKey, TransactionId>,
    client_index: HashMap<ClientKey, TransactionId>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
    next_id: u64,
    max_server_transactions: usize,
    stateless_options: bool,
}

impl TransactionLayer {
    /// A layer with the given timer values.
    pub fn new(values: TimerValues) -> Self {
        TransactionLayer {
            values,
            max_server_transactions: usize::MAX,
            ..Default::default()
        }
    }

    /// Caps the number of live server transactions; new requests beyond it are reported as
    /// [`TxEvent::Overloaded`] instead of creating state (retransmissions still match).
    pub fn set_max_server_transactions(&mut self, max: usize) {
        self.max_server_transactions = max;
    }

    /// Ends OPTIONS server transactions as soon as they are answered instead of keeping them
    /// for timer J (RFC 3261 §8.2.7 lets a UAS answer statelessly; OPTIONS has no side effect,
    /// so a late retransmission is just answered again). Keep-alive probes from every trunk
    /// and phone then cost no state.
    pub fn set_stateless_options(&mut self, on: bool) {
        self.stateless_options = on;
    }

    /// The timer values in force.
    pub fn timer_values(&self) -> &TimerValues {
        &self.values
    }

    fn allocate_id(&mut self) -> TransactionId {
        self.next_id += 1;
        TransactionId(self.next_id)
    }

    /// Feeds a received, validated message.
    pub fn handle_message(
        &mut self,
        now: Instant,
        message: Message,
        core: CoreHeaders,
        source: Peer,
    ) {
        if message.is_request() {
            self.handle_request(now, message, core, source);
        } else {
            self.handle_response(now, message, core);
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((tx, name)) = self.timers.pop_expired(now) {
            if self.servers.contains_key(&tx) {
                self.server_timer(now, tx, name);
            } else if self.clients.contains_key(&tx) {
                self.client_timer(now, tx, name);
            }
        }
    }

    /// The next deadline, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// The next timer to fire and its deadline (for tests and diagnostics).
    pub fn next_timer(&self) -> Option<(Instant, TransactionId, TimerName)> {
        self.timers.next().map(|(at, (tx, name))| (at, tx, name))
    }

    /// Every armed timer of `tx`, earliest first.
    pub fn timers_of(&self, tx: TransactionId) -> Vec<(Instant, TimerName)> {
        self.timers
            .iter()
            .filter(|(_, (id, _))| *id == tx)
            .map(|(at, (_, name))| (at, name))
            .collect()
    }

    /// The next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the layer above.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// Number of live transactions (server + client).
    pub fn len(&self) -> usize {
        self.servers.len() + self.clients.len()
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The transport could not deliver a message of `tx` (connection refused or closed, ICMP
    /// unreachable): the transaction fails as if its timeout fired (RFC 3261 §17.1.4).
    pub fn handle_transport_error(&mut self, tx: TransactionId) {
        if self.clients.contains_key(&tx) {
            self.events.push_back(TxEvent::Timeout { tx });
            self.terminate_client(tx);
        } else if self.servers.contains_key(&tx) {
            self.terminate_server(tx);
        }
    }

    fn arm(&mut self, tx: TransactionId, name: TimerName, now: Instant, after: Duration) {
        self.timers.set((tx, name), now + after);
    }

    fn disarm(&mut self, tx: TransactionId, name: TimerName) {
        self.timers.cancel((tx, name));
    }

    /// Disarms every timer of `tx`: thirteen keyed removals, independent of how many other
    /// transactions are alive (a scan of the table made termination quadratic under load).
    fn disarm_all(&mut self, tx: TransactionId) {
        for name in TimerName::ALL {
            self.timers.cancel((tx, name));
        }
    }

    fn transmit(&mut self, to: Peer, bytes: Bytes) {
        self.transmits.push_back(Transmit { to, bytes });
    }
}
