//! The user agent core on top of the transaction layer: answers what needs no application
//! decision (CANCEL, ACK absorption, unknown methods, unsupported extensions, requests for
//! dialogs that do not exist, malformed requests) and hands everything else to the
//! application as an [`Event`].

mod stateless;

use std::collections::VecDeque;
use std::time::Instant;

use cec_sip_msg::{CoreHeaders, Header, HeaderName, Message, Method, ParseError};

use crate::peer::{Peer, Transmit};
use crate::timer::TimerValues;
use crate::transaction::{TransactionId, TransactionLayer, TxError, TxEvent};

pub use stateless::error_response;

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

/// Extensions we support (Supported header, 420 decisions).
pub const SUPPORTED_EXTENSIONS: &[&str] = &["100rel", "timer", "replaces", "norefersub"];

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// T1, T2, T4 and the 100 Trying delay.
    pub timers: TimerValues,
    /// The Server / User-Agent header value.
    pub product: String,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timers: TimerValues::default(),
            product: concat!("OpenCEC/", env!("CARGO_PKG_VERSION")).to_string(),
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
    /// A response to one of our requests.
    Response {
        /// The client transaction.
        tx: TransactionId,
        /// The response.
        response: Message,
        /// Its core headers.
        core: CoreHeaders,
    },
    /// An ACK for a 2xx (outside any transaction).
    Ack {
        /// The ACK.
        request: Message,
        /// Its core headers.
        core: CoreHeaders,
        /// Where it came from.
        source: Peer,
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
}

/// The sans-IO SIP endpoint.
pub struct Endpoint {
    config: EndpointConfig,
    transactions: TransactionLayer,
    events: VecDeque<Event>,
    transmits: VecDeque<Transmit>,
    random: Box<dyn FnMut() -> u64 + Send>,
    stats: EndpointStats,
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
        Endpoint {
            transactions: TransactionLayer::new(config.timers),
            config,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            random: Box::new(random),
            stats: EndpointStats::default(),
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
                let to = source.response_destination(response.top_via().ok().as_ref());
                self.transmits.push_back(Transmit {
                    to,
                    bytes: response.to_bytes(),
                });
            }
            None => self.stats.dropped_malformed += 1,
        }
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.transactions.handle_timeout(now);
        self.process_tx_events(now);
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transactions.poll_timeout()
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

    /// Sends `response` on server transaction `tx`.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
    ) -> Result<(), TxError> {
        let result = self.transactions.respond(now, tx, response);
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
                } => {
                    self.events.push_back(Event::Ack {
                        request,
                        core,
                        source,
                    });
                }
                TxEvent::Response { tx, response, core } => {
                    self.events
                        .push_back(Event::Response { tx, response, core });
                }
                TxEvent::Timeout { tx } => self.events.push_back(Event::Timeout { tx }),
                TxEvent::StrayResponse { .. } | TxEvent::Terminated { .. } => {}
            }
        }
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
            // No dialog layer state matches yet: every in-dialog request is for a dialog we
            // do not know (RFC 3261 §12.2.2).
            self.stats.no_dialog += 1;
            let _ = self.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
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

    fn on_cancel(&mut self, now: Instant, tx: TransactionId, core: &CoreHeaders) {
        let Some(invite) = self.transactions.find_cancelled_invite(core) else {
            let _ = self.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        };
        let _ = self.respond_status(now, tx, 200, "OK");
        if self.transactions.awaits_final(invite) {
            let _ = self.respond_status(now, invite, 487, "Request Terminated");
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
    let allow: Vec<String> = ALLOWED_METHODS
        .iter()
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        .collect();
    response.push(HeaderName::Allow, allow.join(", ").as_bytes());
    response.push(HeaderName::Accept, b"application/sdp");
    response.push(
        HeaderName::Supported,
        SUPPORTED_EXTENSIONS.join(", ").as_bytes(),
    );
}

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
