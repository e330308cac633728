//! Server transactions (RFC 3261 §17.2, RFC 6026 §7.1 "Accepted" state).

use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_msg::{CoreHeaders, Message, Method};

use super::{ServerKey, TimerName, TransactionId, TransactionLayer, TxError, TxEvent};
use crate::peer::Peer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Non-INVITE before any response.
    Trying,
    /// A provisional was sent (INVITE starts here).
    Proceeding,
    /// A final (non-2xx for INVITE) was sent.
    Completed,
    /// INVITE: the ACK arrived.
    Confirmed,
    /// INVITE: a 2xx was sent (RFC 6026).
    Accepted,
}

#[derive(Debug)]
pub(crate) struct ServerTx {
    invite: bool,
    state: ServerState,
    pub(crate) request: Message,
    reply_to: Peer,
    key: ServerKey,
    last_response: Option<Bytes>,
    final_interval: Duration,
}

impl TransactionLayer {
    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        request: Message,
        core: CoreHeaders,
        source: Peer,
    ) {
        let method = core.cseq.method.clone();
        let Some(key) = ServerKey::for_request(&core, &method) else {
            return;
        };
        if let Some(&tx) = self.server_index.get(&key) {
            self.server_retransmission(now, tx, &request, core, source);
            return;
        }
        if method == Method::Ack {
            self.events.push_back(TxEvent::Ack {
                request,
                core,
                source,
            });
            return;
        }
        if self.servers.len() >= self.max_server_transactions {
            self.events
                .push_back(TxEvent::Overloaded { request, source });
            return;
        }
        let tx = self.allocate_id();
        let invite = method == Method::Invite;
        let reply_to = source.response_destination(core.top_via());
        if invite {
            let delay = self.values.trying_delay;
            self.arm(tx, TimerName::Trying, now, delay);
        }
        self.servers.insert(
            tx,
            ServerTx {
                invite,
                state: if invite {
                    ServerState::Proceeding
                } else {
                    ServerState::Trying
                },
                request: request.clone(),
                reply_to,
                key: key.clone(),
                last_response: None,
                final_interval: self.values.t1,
            },
        );
        self.server_index.insert(key, tx);
        self.events.push_back(TxEvent::Request {
            tx,
            request,
            core,
            source,
        });
    }

    fn server_retransmission(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: &Message,
        core: CoreHeaders,
        source: Peer,
    ) {
        let Some(server) = self.servers.get_mut(&tx) else {
            return;
        };
        let is_ack = request.method() == Some(&Method::Ack);
        match (server.state, is_ack) {
            (ServerState::Completed, true) if server.invite => {
                server.state = ServerState::Confirmed;
                let reliable = server.reply_to.transport.is_reliable();
                self.disarm(tx, TimerName::G);
                self.disarm(tx, TimerName::H);
                let wait = if reliable {
                    Duration::ZERO
                } else {
                    self.values.t4
                };
                self.arm(tx, TimerName::I, now, wait);
            }
            (ServerState::Accepted, true) => {
                // RFC 6026 §7.1: an ACK in Accepted goes to the TU (it acknowledges the 2xx).
                self.events.push_back(TxEvent::Ack {
                    request: request.clone(),
                    core,
                    source,
                });
            }
            (_, true) => {}
            (ServerState::Proceeding | ServerState::Completed, false) => {
                if let Some(bytes) = server.last_response.clone() {
                    let to = server.reply_to;
                    self.transmit(to, bytes);
                }
            }
            // Trying: the TU has not answered yet; Confirmed/Accepted: absorb.
            (_, false) => {}
        }
    }

    /// Sends `response` on server transaction `tx`, moving it through its states. A 2xx to an
    /// INVITE may be sent again (the dialog layer retransmits it until the ACK arrives).
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
    ) -> Result<(), TxError> {
        let status = response
            .status()
            .ok_or(TxError::BadMessage("not a response"))?;
        let server = self.servers.get_mut(&tx).ok_or(TxError::Unknown(tx))?;
        let bytes = response.to_bytes();
        let reliable = server.reply_to.transport.is_reliable();
        let to = server.reply_to;
        match (server.invite, server.state, status) {
            (_, ServerState::Trying | ServerState::Proceeding, 100..=199) => {
                server.state = ServerState::Proceeding;
                server.last_response = Some(bytes.clone());
                self.disarm(tx, TimerName::Trying);
            }
            (true, ServerState::Proceeding, 200..=299) => {
                server.state = ServerState::Accepted;
                server.last_response = Some(bytes.clone());
                self.disarm(tx, TimerName::Trying);
                let wait = self.values.transaction_timeout();
                self.arm(tx, TimerName::L, now, wait);
            }
            (true, ServerState::Accepted, 200..=299) => {}
            (true, ServerState::Proceeding, 300..=699) => {
                server.state = ServerState::Completed;
                server.last_response = Some(bytes.clone());
                self.disarm(tx, TimerName::Trying);
                if !reliable {
                    let t1 = self.values.t1;
                    self.arm(tx, TimerName::G, now, t1);
                }
                let wait = self.values.transaction_timeout();
                self.arm(tx, TimerName::H, now, wait);
            }
            (false, ServerState::Trying | ServerState::Proceeding, 200..=699) => {
                server.state = ServerState::Completed;
                server.last_response = Some(bytes.clone());
                // OPTIONS may be handled without state (RFC 3261 §8.2.7): a retransmission
                // after the answer is simply answered again, so no 32 s of timer J per probe.
                let stateless =
                    self.stateless_options && server.request.method() == Some(&Method::Options);
                let wait = if reliable || stateless {
                    Duration::ZERO
                } else {
                    self.values.transaction_timeout()
                };
                self.arm(tx, TimerName::J, now, wait);
            }
            _ => return Err(TxError::InvalidState(tx)),
        }
        self.transmit(to, bytes);
        Ok(())
    }

    pub(super) fn server_timer(&mut self, now: Instant, tx: TransactionId, name: TimerName) {
        let Some(server) = self.servers.get_mut(&tx) else {
            return;
        };
        match name {
            TimerName::Trying
                if server.state == ServerState::Proceeding && server.last_response.is_none() =>
            {
                if let Ok(trying) = Message::response_to(&server.request, 100, "Trying", None) {
                    let bytes = trying.to_bytes();
                    server.last_response = Some(bytes.clone());
                    let to = server.reply_to;
                    self.transmit(to, bytes);
                }
            }
            TimerName::G if server.state == ServerState::Completed => {
                let interval = (server.final_interval * 2).min(self.values.t2);
                server.final_interval = interval;
                if let Some(bytes) = server.last_response.clone() {
                    let to = server.reply_to;
                    self.transmit(to, bytes);
                }
                self.arm(tx, TimerName::G, now, interval);
            }
            TimerName::H => {
                self.events.push_back(TxEvent::Timeout { tx });
                self.terminate_server(tx);
            }
            TimerName::I | TimerName::J | TimerName::L => self.terminate_server(tx),
            _ => {}
        }
    }

    pub(super) fn terminate_server(&mut self, tx: TransactionId) {
        if let Some(server) = self.servers.remove(&tx) {
            self.server_index.remove(&server.key);
            self.disarm_all(tx);
            self.events.push_back(TxEvent::Terminated { tx });
        }
    }

    /// The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2): same key, method
    /// INVITE. `None` when no such transaction exists (answer the CANCEL 481).
    pub fn find_cancelled_invite(&self, cancel: &CoreHeaders) -> Option<TransactionId> {
        let key = ServerKey::for_request(cancel, &Method::Invite)?;
        let tx = *self.server_index.get(&key)?;
        self.servers.get(&tx).filter(|s| s.invite).map(|_| tx)
    }

    /// Whether server transaction `tx` can still send a final response (no final sent yet).
    pub fn awaits_final(&self, tx: TransactionId) -> bool {
        self.servers
            .get(&tx)
            .is_some_and(|s| matches!(s.state, ServerState::Trying | ServerState::Proceeding))
    }

    /// The request that created server transaction `tx`.
    pub fn server_request(&self, tx: TransactionId) -> Option<&Message> {
        self.servers.get(&tx).map(|s| &s.request)
    }

    /// Where responses of server transaction `tx` go.
    pub fn server_reply_to(&self, tx: TransactionId) -> Option<Peer> {
        self.servers.get(&tx).map(|s| s.reply_to)
    }
}
