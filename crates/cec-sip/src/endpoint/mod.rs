//! The user agent core on top of the transaction layer: answers what needs no application
//! decision (CANCEL, ACK absorption, unknown methods, unsupported extensions, requests for
//! dialogs that do not exist, malformed requests) and hands everything else to the
//! application as an [`Event`].

mod in_dialog;
mod registration;
mod retry;
mod session;
mod stateless;
mod uac;
mod uas;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use cec_sip_msg::{CoreHeaders, Header, HeaderName, Message, Method, ParseError};

use crate::dialog::{Dialog, DialogId, DialogKey};
use crate::peer::{Peer, Transmit, TransportKind};
use crate::timer::{TimerTable, TimerValues};
use crate::transaction::{TransactionId, TransactionLayer, TxError, TxEvent};

use registration::Registration;
pub use registration::{RegistrationId, RegistrationSpec, RegistrationState, RegistrationTimer};
use session::Session;
pub use session::{DialogTimer, TerminationReason};
pub use stateless::error_response;
use uac::ClientInvite;
pub use uac::OutgoingInvite;
pub use uas::DialogError;

/// Methods this endpoint understands (Allow header, 501 decisions).
pub const ALLOWED_METHODS: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Options,
    Method::Register,
    Method::Prack,
    Method::Update,
    Method::Info,
    Method::Message,
    Method::Refer,
    Method::Notify,
    Method::Subscribe,
];

/// The Allow header value: [`ALLOWED_METHODS`] joined (a constant, so OPTIONS answers and
/// INVITEs do not rebuild it).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, PRACK, UPDATE, INFO, MESSAGE, REFER, NOTIFY, SUBSCRIBE";

/// Extensions we support (Supported header, 420 decisions).
pub const SUPPORTED_EXTENSIONS: &[&str] = &["100rel", "timer", "replaces", "norefersub"];

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// T1, T2, T4 and the 100 Trying delay.
    pub timers: TimerValues,
    /// The Server / User-Agent header value.
    pub product: String,
    /// Our Session-Expires for sessions that ask for timers (RFC 4028), seconds.
    pub session_expires: u32,
    /// The smallest Session-Expires we accept (Min-SE), seconds; at least 90.
    pub min_se: u32,
    /// Live server transactions above which new requests get 503 with Retry-After (each UDP
    /// non-INVITE transaction lives 32 s after its answer, so this bounds memory under load).
    pub max_server_transactions: usize,
    /// Answer OPTIONS without keeping transaction state after the answer (see
    /// [`TransactionLayer::set_stateless_options`]).
    pub stateless_options: bool,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timers: TimerValues::default(),
            product: concat!("OpenCEC/", env!("CARGO_PKG_VERSION")).to_string(),
            session_expires: 1800,
            min_se: 90,
            max_server_transactions: 200_000,
            stateless_options: true,
        }
    }
}

/// What the endpoint reports to the application.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A request the application must answer with [`Endpoint::respond`] (OPTIONS, REGISTER,
    /// INVITE, MESSAGE, SUBSCRIBE, ...). The endpoint has already rejected what it could.
    Request {
        /// The server transaction.
        tx: TransactionId,
        /// The request.
        request: Message,
        /// Its core headers.
        core: CoreHeaders,
        /// Where it came from.
        source: Peer,
    },
    /// A CANCEL matched a pending INVITE: the endpoint answered the CANCEL 200 and the INVITE
    /// 487; the application drops whatever it was doing for that INVITE.
    Cancelled {
        /// The INVITE server transaction.
        invite: TransactionId,
    },
    /// A request inside one of our dialogs that the application answers with
    /// [`Endpoint::respond`] / [`Endpoint::answer`]: re-INVITE, UPDATE (offer in the body, the
    /// endpoint already checked there is no other offer outstanding), INFO, MESSAGE, REFER,
    /// NOTIFY, SUBSCRIBE.
    DialogRequest {
        /// The dialog.
        dialog: DialogId,
        /// The server transaction.
        tx: TransactionId,
        /// The request.
        request: Message,
    },
    /// A response to one of our requests (for an INVITE, after the endpoint created or
    /// confirmed the dialog, sent the ACK of a 2xx and the PRACK of a reliable provisional).
    Response {
        /// The client transaction.
        tx: TransactionId,
        /// The dialog the response belongs to, if any.
        dialog: Option<DialogId>,
        /// The response.
        response: Message,
        /// Its core headers.
        core: CoreHeaders,
    },
    /// The ACK for our 2xx arrived (its body is the answer when the 2xx carried the offer).
    Acked {
        /// The dialog.
        dialog: DialogId,
        /// The ACK.
        request: Message,
    },
    /// The peer acknowledged one of our reliable provisional responses (RFC 3262).
    PrackReceived {
        /// The dialog.
        dialog: DialogId,
        /// The PRACK (its body may carry an offer or answer).
        request: Message,
    },
    /// A dialog ended; the endpoint already sent whatever the ending needed (BYE, 487...).
    DialogTerminated {
        /// The dialog.
        dialog: DialogId,
        /// Why.
        reason: TerminationReason,
    },
    /// Our INVITE `from` failed over to the next target (RFC 3263): the call continues as
    /// transaction `to`.
    Retargeted {
        /// The transaction that failed.
        from: TransactionId,
        /// The new transaction.
        to: TransactionId,
        /// Where it went.
        destination: Peer,
    },
    /// An outbound registration changed state.
    Registration {
        /// The registration.
        id: RegistrationId,
        /// Its new state.
        state: RegistrationState,
    },
    /// A transaction timed out (no response / no ACK) or its transport failed.
    Timeout {
        /// The transaction.
        tx: TransactionId,
    },
}

/// Counters for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Requests answered statelessly because they were malformed or invalid.
    pub rejected_malformed: u64,
    /// Malformed messages dropped silently (responses, no usable Via).
    pub dropped_malformed: u64,
    /// Requests answered 501.
    pub not_implemented: u64,
    /// Requests answered 420.
    pub bad_extension: u64,
    /// In-dialog requests answered 481.
    pub no_dialog: u64,
    /// New requests answered 503 because the transaction table was full.
    pub shed: u64,
}

/// The sans-IO SIP endpoint.
pub struct Endpoint {
    config: EndpointConfig,
    transactions: TransactionLayer,
    events: VecDeque<Event>,
    transmits: VecDeque<Transmit>,
    random: Box<dyn FnMut() -> u64 + Send>,
    stats: EndpointStats,
    local_addresses: Vec<(TransportKind, SocketAddr)>,
    sessions: HashMap<DialogId, Session>,
    dialog_index: HashMap<DialogKey, DialogId>,
    /// INVITE transactions (server or client, initial or re-INVITE) and their dialog(s).
    invite_dialogs: HashMap<TransactionId, Vec<DialogId>>,
    /// Non-INVITE client transactions sent inside a dialog.
    tx_dialog: HashMap<TransactionId, DialogId>,
    dialog_timers: TimerTable<(DialogId, DialogTimer)>,
    client_invites: HashMap<TransactionId, ClientInvite>,
    invite_auth: HashMap<TransactionId, cec_sip_auth::DigestClient>,
    next_dialog: u64,
    registrations: HashMap<RegistrationId, Registration>,
    registration_txs: HashMap<TransactionId, RegistrationId>,
    registration_timers: TimerTable<(RegistrationId, RegistrationTimer)>,
    next_registration: u64,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("transactions", &self.transactions.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint; `random` supplies tags and branches (inject a seeded generator in
    /// tests, an OS-seeded one in production).
    pub fn new(config: EndpointConfig, random: impl FnMut() -> u64 + Send + 'static) -> Self {
        let mut transactions = TransactionLayer::new(config.timers);
        transactions.set_max_server_transactions(config.max_server_transactions);
        transactions.set_stateless_options(config.stateless_options);
        Endpoint {
            transactions,
            config,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            random: Box::new(random),
            stats: EndpointStats::default(),
            local_addresses: Vec::new(),
            sessions: HashMap::new(),
            dialog_index: HashMap::new(),
            invite_dialogs: HashMap::new(),
            tx_dialog: HashMap::new(),
            dialog_timers: TimerTable::new(),
            client_invites: HashMap::new(),
            invite_auth: HashMap::new(),
            next_dialog: 0,
            registrations: HashMap::new(),
            registration_txs: HashMap::new(),
            registration_timers: TimerTable::new(),
            next_registration: 0,
        }
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// The transaction layer (read-only: timers, counts).
    pub fn transactions(&self) -> &TransactionLayer {
        &self.transactions
    }

    /// Declares the address we are reachable at over `transport` (listener address, or the
    /// public address behind NAT): used in Via and Contact of what we send.
    pub fn set_local_address(&mut self, transport: TransportKind, addr: SocketAddr) {
        self.local_addresses.retain(|(t, _)| *t != transport);
        self.local_addresses.push((transport, addr));
    }

    /// The dialog `id`, if it exists.
    pub fn dialog(&self, id: DialogId) -> Option<&Dialog> {
        self.sessions.get(&id).map(|s| &s.dialog)
    }

    /// Number of live dialogs.
    pub fn dialog_count(&self) -> usize {
        self.sessions.len()
    }

    /// Every armed dialog timer, earliest first (for tests and diagnostics).
    pub fn dialog_timers(&self) -> Vec<(Instant, DialogId, DialogTimer)> {
        self.dialog_timers
            .iter()
            .map(|(at, (d, t))| (at, d, t))
            .collect()
    }

    /// A fresh random token (16 hex digits) for tags.
    pub fn new_tag(&mut self) -> String {
        format!("{:016x}", (self.random)())
    }

    /// A fresh RFC 3261 branch.
    pub fn new_branch(&mut self) -> String {
        format!("z9hG4bK{:016x}", (self.random)())
    }

    /// Feeds a message the transport parsed.
    pub fn handle_message(&mut self, now: Instant, message: Message, source: Peer) {
        match message.validate() {
            Ok(core) => {
                self.transactions.handle_message(now, message, core, source);
                self.process_tx_events(now);
            }
            Err(error) => {
                let raw = message.to_bytes();
                self.reject_malformed(&raw, &error, source);
            }
        }
    }

    /// Feeds bytes the transport could not parse.
    pub fn handle_malformed(&mut self, raw: &[u8], error: &ParseError, source: Peer) {
        self.reject_malformed(raw, error, source);
    }

    fn reject_malformed(&mut self, raw: &[u8], error: &ParseError, source: Peer) {
        let tag = self.new_tag();
        match error_response(raw, error, tag.as_bytes(), &self.config.product) {
            Some(response) => {
                self.stats.rejected_malformed += 1;
                self.send_stateless(&response, source);
            }
            None => self.stats.dropped_malformed += 1,
        }
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.transactions.handle_timeout(now);
        self.process_tx_events(now);
        while let Some((dialog, timer)) = self.dialog_timers.pop_expired(now) {
            self.dialog_timer(now, dialog, timer);
            self.process_tx_events(now);
        }
        while let Some((registration, timer)) = self.registration_timers.pop_expired(now) {
            self.registration_timer(now, registration, timer);
            self.process_tx_events(now);
        }
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.transactions.poll_timeout(),
            self.dialog_timers.next_deadline(),
            self.registration_timers.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits
            .pop_front()
            .or_else(|| self.transactions.poll_transmit())
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Builds a response to the request of server transaction `tx` with the transaction's
    /// To tag (not for 100), and a Server header.
    pub fn response(&mut self, tx: TransactionId, code: u16, reason: &str) -> Option<Message> {
        let request = self.transactions.server_request(tx)?;
        let tag = (code > 100).then(|| to_tag_for(request, tx));
        let mut response =
            Message::response_to(request, code, reason.to_string(), tag.as_deref()).ok()?;
        response.push_header(Header::new(
            HeaderName::Server,
            self.config.product.as_bytes(),
        ));
        Some(response)
    }

    /// Sends `response` on server transaction `tx`. A final non-2xx to an INVITE ends the
    /// early dialogs it created (or rolls back a re-INVITE's offer).
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
    ) -> Result<(), TxError> {
        let result = self.transactions.respond(now, tx, response);
        if let (Ok(()), Some(status @ 300..=699)) = (&result, response.status()) {
            self.end_invite_dialogs(now, tx, TerminationReason::Rejected(status));
        }
        self.process_tx_events(now);
        result
    }

    /// Answers `tx` with a plain status (tagged, Server header).
    pub fn respond_status(
        &mut self,
        now: Instant,
        tx: TransactionId,
        code: u16,
        reason: &str,
    ) -> Result<(), TxError> {
        let response = self
            .response(tx, code, reason)
            .ok_or(TxError::Unknown(tx))?;
        self.respond(now, tx, &response)
    }

    /// The 200 answer to an OPTIONS request: Allow, Accept, Supported (RFC 3261 §11.2).
    pub fn options_response(&mut self, tx: TransactionId) -> Option<Message> {
        let mut response = self.response(tx, 200, "OK")?;
        add_capabilities(&mut response);
        Some(response)
    }

    /// Starts a client transaction.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Message,
        destination: Peer,
    ) -> Result<TransactionId, TxError> {
        let tx = self.transactions.send_request(now, request, destination);
        self.process_tx_events(now);
        tx
    }

    /// The transport failed to deliver for `tx`.
    pub fn handle_transport_error(&mut self, now: Instant, tx: TransactionId) {
        self.transactions.handle_transport_error(tx);
        self.process_tx_events(now);
    }

    fn process_tx_events(&mut self, now: Instant) {
        while let Some(event) = self.transactions.poll_event() {
            match event {
                TxEvent::Request {
                    tx,
                    request,
                    core,
                    source,
                } => {
                    self.on_request(now, tx, request, core, source);
                }
                TxEvent::Ack {
                    request,
                    core,
                    source,
                } => self.on_ack(now, request, &core, source),
                TxEvent::Response { tx, response, core } => {
                    if !self.on_registration_response(now, tx, &response) {
                        self.on_response(now, tx, response, core);
                    }
                }
                TxEvent::StrayResponse { core, .. } => self.on_stray_response(&core),
                TxEvent::Timeout { tx } => {
                    if !self.on_registration_timeout(now, tx) {
                        self.on_timeout(now, tx);
                    }
                }
                TxEvent::Overloaded { request, source } => self.shed(&request, source),
                TxEvent::Terminated { tx } => {
                    self.tx_dialog.remove(&tx);
                    self.invite_dialogs.remove(&tx);
                    self.client_invites.remove(&tx);
                    self.invite_auth.remove(&tx);
                }
            }
        }
    }

    /// Answers a request we have no room for: 503 with Retry-After, statelessly.
    fn shed(&mut self, request: &Message, source: Peer) {
        self.stats.shed += 1;
        let tag = self.new_tag();
        let Ok(mut response) =
            Message::response_to(request, 503, "Service Unavailable", Some(tag.as_bytes()))
        else {
            return;
        };
        response.push(HeaderName::RetryAfter, b"5");
        response.push_header(Header::new(
            HeaderName::Server,
            self.config.product.as_bytes(),
        ));
        self.send_stateless(&response, source);
    }

    /// Sends a response outside any transaction, to where its top Via says (RFC 3261 §18.2.2).
    fn send_stateless(&mut self, response: &Message, source: Peer) {
        let to = source.response_destination(response.top_via().ok().as_ref());
        self.transmits.push_back(Transmit {
            to,
            bytes: response.to_bytes(),
        });
    }

    fn on_request(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Message,
        core: CoreHeaders,
        source: Peer,
    ) {
        let method = core.cseq.method.clone();
        if !ALLOWED_METHODS.contains(&method) {
            self.stats.not_implemented += 1;
            if let Some(mut response) = self.response(tx, 501, "Not Implemented") {
                add_capabilities(&mut response);
                let _ = self.transactions.respond(now, tx, &response);
            }
            return;
        }
        if method == Method::Cancel {
            self.on_cancel(now, tx, &core);
            return;
        }
        let unsupported = unsupported_requirements(&request);
        if !unsupported.is_empty() {
            self.stats.bad_extension += 1;
            if let Some(mut response) = self.response(tx, 420, "Bad Extension") {
                response.push(HeaderName::Unsupported, unsupported.join(", ").as_bytes());
                let _ = self.transactions.respond(now, tx, &response);
            }
            return;
        }
        if core.to.tag().is_some() {
            self.on_in_dialog_request(now, tx, request, &core, source);
            return;
        }
        if matches!(method, Method::Invite | Method::Update)
            && self.reject_unusable_body(now, tx, &request)
        {
            return;
        }
        if method == Method::Invite && self.reject_too_small_session_interval(now, tx, &request) {
            return;
        }
        if matches!(
            method,
            Method::Bye | Method::Prack | Method::Update | Method::Info | Method::Notify
        ) {
            // These only exist inside a dialog.
            self.stats.no_dialog += 1;
            let _ = self.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        }
        self.events.push_back(Event::Request {
            tx,
            request,
            core,
            source,
        });
    }

    /// RFC 3261 §8.2.3 and §21.4.7: a session description we cannot read gets 415 with the
    /// types we accept; a request whose Accept rules out SDP gets 406 (we can only answer
    /// with SDP). Returns whether the request was rejected.
    fn reject_unusable_body(&mut self, now: Instant, tx: TransactionId, request: &Message) -> bool {
        let accepts_sdp = |types: &[cec_sip_msg::MediaType]| {
            types.is_empty()
                || types.iter().any(|t| {
                    t.is("application", "sdp") || t.is("application", "*") || t.is("*", "*")
                })
        };
        let body_unusable = !request.body().is_empty()
            && match request.content_type() {
                Ok(Some(content_type)) => {
                    !(content_type.is("application", "sdp")
                        || content_type.is("multipart", "mixed"))
                }
                Ok(None) | Err(_) => true,
            };
        let encoded = request.header(&HeaderName::ContentEncoding).is_some();
        if body_unusable || encoded {
            if let Some(mut response) = self.response(tx, 415, "Unsupported Media Type") {
                response.push(HeaderName::Accept, b"application/sdp");
                response.push(
                    HeaderName::Other(bytes::Bytes::from_static(b"Accept-Encoding")),
                    b"identity",
                );
                let _ = self.transactions.respond(now, tx, &response);
            }
            return true;
        }
        if !accepts_sdp(&request.accept().unwrap_or_default()) {
            if let Some(mut response) = self.response(tx, 406, "Not Acceptable") {
                response.push(
                    HeaderName::Warning,
                    b"399 opencec \"only application/sdp can be sent\"",
                );
                let _ = self.transactions.respond(now, tx, &response);
            }
            return true;
        }
        false
    }

    fn on_cancel(&mut self, now: Instant, tx: TransactionId, core: &CoreHeaders) {
        let Some(invite) = self.transactions.find_cancelled_invite(core) else {
            let _ = self.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        };
        let _ = self.respond_status(now, tx, 200, "OK");
        if self.transactions.awaits_final(invite) {
            let _ = self.respond_status(now, invite, 487, "Request Terminated");
            self.end_invite_dialogs(now, invite, TerminationReason::Cancelled);
            self.events.push_back(Event::Cancelled { invite });
        }
        self.process_tx_events(now);
    }
}

/// The To tag of a server transaction's responses: derived from the transaction id so that
/// every response of one transaction carries the same tag.
fn to_tag_for(request: &Message, tx: TransactionId) -> Vec<u8> {
    match request.to().ok().and_then(|to| to.tag().cloned()) {
        Some(existing) => existing.to_vec(),
        None => format!("oc{:x}", tx.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)).into_bytes(),
    }
}

fn add_capabilities(response: &mut Message) {
    response.push(HeaderName::Allow, ALLOW.as_bytes());
    response.push(HeaderName::Accept, b"application/sdp");
    response.push(HeaderName::Supported, SUPPORTED.as_bytes());
}

/// The Supported header value: [`SUPPORTED_EXTENSIONS`] joined.
const SUPPORTED: &str = "100rel, timer, replaces, norefersub";

fn unsupported_requirements(request: &Message) -> Vec<String> {
    request
        .require()
        .unwrap_or_default()
        .iter()
        .map(|token| String::from_utf8_lossy(token).into_owned())
        .filter(|token| {
            !SUPPORTED_EXTENSIONS
                .iter()
                .any(|supported| supported.eq_ignore_ascii_case(token))
        })
        .collect()
}

#[cfg(test)]
mod header_constants {
    #[test]
    fn allow_and_supported_list_exactly_the_methods_and_extensions() {
        let methods: Vec<String> = super::ALLOWED_METHODS
            .iter()
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
            .collect();
        assert_eq!(super::ALLOW, methods.join(", "));
        assert_eq!(super::SUPPORTED, super::SUPPORTED_EXTENSIONS.join(", "));
    }
}
