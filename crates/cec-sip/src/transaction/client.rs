//! Client transactions (RFC 3261 §17.1, RFC 6026 §7.2 "Accepted" state).

use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_msg::{CSeq, CoreHeaders, Header, HeaderName, Message, Method};

use super::{ClientKey, TimerName, TransactionId, TransactionLayer, TxError, TxEvent};
use crate::peer::Peer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// INVITE sent, nothing received (INVITE "Calling", non-INVITE "Trying").
    Calling,
    /// A provisional arrived.
    Proceeding,
    /// A final (non-2xx for INVITE) arrived.
    Completed,
    /// INVITE: a 2xx arrived (RFC 6026).
    Accepted,
}

#[derive(Debug)]
pub(crate) struct ClientTx {
    invite: bool,
    state: ClientState,
    pub(crate) request: Message,
    bytes: Bytes,
    destination: Peer,
    key: ClientKey,
    interval: Duration,
    ack: Option<Bytes>,
}

/// Builds the ACK for a non-2xx final response (RFC 3261 §17.1.1.3): Request-URI, Call-ID,
/// From, top Via and Route of the INVITE, To of the response, CSeq number with method ACK.
pub(crate) fn ack_for_non_2xx(invite: &Message, response: &Message) -> Option<Message> {
    let uri = invite.request_uri()?.clone();
    let cseq = invite.cseq().ok()?;
    let mut ack = Message::request(Method::Ack, uri);
    // Only the top Via value: one header line may hold several comma-separated values.
    let top = invite.top_via().ok()?;
    ack.push_typed(HeaderName::Via, &top);
    for h in invite.headers_named(&HeaderName::Route) {
        ack.push_header(h.clone());
    }
    ack.push_header(Header::new(HeaderName::MaxForwards, b"70"));
    for name in [HeaderName::From, HeaderName::CallId] {
        if let Some(h) = invite.header(&name) {
            ack.push_header(h.clone());
        }
    }
    if let Some(to) = response.header(&HeaderName::To) {
        ack.push_header(to.clone());
    }
    ack.push_typed(
        HeaderName::CSeq,
        &CSeq {
            seq: cseq.seq,
            method: Method::Ack,
        },
    );
    Some(ack)
}

impl TransactionLayer {
    /// Starts a client transaction: sends `request` (which must carry a top Via with a unique
    /// RFC 3261 branch, and a CSeq) to `destination` and retransmits it as the RFC says.
    /// An ACK has no client transaction (the endpoint sends it directly).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Message,
        destination: Peer,
    ) -> Result<TransactionId, TxError> {
        let method = request
            .method()
            .cloned()
            .ok_or(TxError::BadMessage("not a request"))?;
        if method == Method::Ack {
            return Err(TxError::BadMessage("ACK has no client transaction"));
        }
        let via = request
            .top_via()
            .map_err(|_| TxError::BadMessage("no top Via"))?;
        let branch = via
            .branch()
            .cloned()
            .ok_or(TxError::BadMessage("no Via branch"))?;
        let cseq = request.cseq().map_err(|_| TxError::BadMessage("no CSeq"))?;
        let key = ClientKey {
            branch,
            method: cseq.method,
        };
        if self.client_index.contains_key(&key) {
            return Err(TxError::BadMessage("branch already in use"));
        }
        let tx = self.allocate_id();
        let invite = method == Method::Invite;
        let bytes = request.to_bytes();
        let reliable = destination.transport.is_reliable();
        let t1 = self.values.t1;
        let timeout = self.values.transaction_timeout();
        if invite {
            if !reliable {
                self.arm(tx, TimerName::A, now, t1);
            }
            self.arm(tx, TimerName::B, now, timeout);
        } else {
            if !reliable {
                self.arm(tx, TimerName::E, now, t1);
            }
            self.arm(tx, TimerName::F, now, timeout);
        }
        self.transmit(destination, bytes.clone());
        self.client_index.insert(key.clone(), tx);
        self.clients.insert(
            tx,
            ClientTx {
                invite,
                state: ClientState::Calling,
                request,
                bytes,
                destination,
                key,
                interval: t1,
                ack: None,
            },
        );
        Ok(tx)
    }

    pub(super) fn handle_response(&mut self, now: Instant, response: Message, core: CoreHeaders) {
        let Some(status) = response.status() else {
            return;
        };
        let tx = ClientKey::for_message(&core).and_then(|key| self.client_index.get(&key).copied());
        let Some(tx) = tx else {
            self.events
                .push_back(TxEvent::StrayResponse { response, core });
            return;
        };
        let Some(client) = self.clients.get_mut(&tx) else {
            return;
        };
        let reliable = client.destination.transport.is_reliable();
        let deliver = match (client.invite, client.state, status) {
            (_, ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                client.state = ClientState::Proceeding;
                if client.invite {
                    // Timer B only runs in Calling (RFC 3261 Figure 5): once the callee is
                    // ringing, how long to wait is the application's decision (CANCEL).
                    self.disarm(tx, TimerName::A);
                    self.disarm(tx, TimerName::B);
                }
                true
            }
            (true, ClientState::Calling | ClientState::Proceeding, 200..=299) => {
                client.state = ClientState::Accepted;
                self.disarm(tx, TimerName::A);
                self.disarm(tx, TimerName::B);
                let wait = self.values.transaction_timeout();
                self.arm(tx, TimerName::M, now, wait);
                true
            }
            (true, ClientState::Accepted, 200..=299) => true,
            (true, ClientState::Calling | ClientState::Proceeding, 300..=699) => {
                client.state = ClientState::Completed;
                let ack = ack_for_non_2xx(&client.request, &response).map(|m| m.to_bytes());
                client.ack.clone_from(&ack);
                let to = client.destination;
                self.disarm(tx, TimerName::A);
                self.disarm(tx, TimerName::B);
                if let Some(ack) = ack {
                    self.transmit(to, ack);
                }
                let wait = if reliable {
                    Duration::ZERO
                } else {
                    Duration::from_secs(32)
                };
                self.arm(tx, TimerName::D, now, wait);
                true
            }
            (true, ClientState::Completed, 300..=699) => {
                if let Some(ack) = client.ack.clone() {
                    let to = client.destination;
                    self.transmit(to, ack);
                }
                false
            }
            (false, ClientState::Calling | ClientState::Proceeding, 200..=699) => {
                client.state = ClientState::Completed;
                self.disarm(tx, TimerName::E);
                self.disarm(tx, TimerName::F);
                let wait = if reliable {
                    Duration::ZERO
                } else {
                    self.values.t4
                };
                self.arm(tx, TimerName::K, now, wait);
                true
            }
            _ => false,
        };
        if deliver {
            self.events
                .push_back(TxEvent::Response { tx, response, core });
        }
    }

    pub(super) fn client_timer(&mut self, now: Instant, tx: TransactionId, name: TimerName) {
        let Some(client) = self.clients.get_mut(&tx) else {
            return;
        };
        match name {
            TimerName::A if client.state == ClientState::Calling => {
                client.interval *= 2;
                let (to, bytes, interval) =
                    (client.destination, client.bytes.clone(), client.interval);
                self.transmit(to, bytes);
                self.arm(tx, TimerName::A, now, interval);
            }
            TimerName::E
                if matches!(client.state, ClientState::Calling | ClientState::Proceeding) =>
            {
                client.interval = if client.state == ClientState::Proceeding {
                    self.values.t2
                } else {
                    (client.interval * 2).min(self.values.t2)
                };
                let (to, bytes, interval) =
                    (client.destination, client.bytes.clone(), client.interval);
                self.transmit(to, bytes);
                self.arm(tx, TimerName::E, now, interval);
            }
            TimerName::B | TimerName::F => {
                self.events.push_back(TxEvent::Timeout { tx });
                self.terminate_client(tx);
            }
            TimerName::D | TimerName::K | TimerName::M => self.terminate_client(tx),
            _ => {}
        }
    }

    pub(super) fn terminate_client(&mut self, tx: TransactionId) {
        if let Some(client) = self.clients.remove(&tx) {
            self.client_index.remove(&client.key);
            self.disarm_all(tx);
            self.events.push_back(TxEvent::Terminated { tx });
        }
    }

    /// Where client transaction `tx` sends.
    pub fn client_destination(&self, tx: TransactionId) -> Option<Peer> {
        self.clients.get(&tx).map(|c| c.destination)
    }

    /// Whether client transaction `tx` has received a provisional response (a CANCEL may only
    /// be sent then, RFC 3261 §9.1).
    pub fn client_is_proceeding(&self, tx: TransactionId) -> bool {
        self.clients
            .get(&tx)
            .is_some_and(|c| c.state == ClientState::Proceeding)
    }
}
