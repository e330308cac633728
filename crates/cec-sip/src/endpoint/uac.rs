//! Sending INVITEs and requests inside dialogs (RFC 3261 §13.2, §12.2.1; RFC 3262 as UAC:
//! PRACK; CANCEL §9.1), and what their responses do to dialogs.

use std::time::Instant;

use bytes::Bytes;
use cec_sip_msg::{CSeq, CoreHeaders, Header, HeaderName, Message, Method, NameAddr, RAck, Uri};

use super::session::{Session, SessionTimer, TerminationReason, first_contact_uri};
use super::uas::DialogError;
use super::{Endpoint, Event};
use crate::dialog::{Dialog, DialogId, DialogKey, DialogState, OfferAnswer, Role, route_set};
use crate::peer::Peer;
use crate::transaction::TransactionId;

/// An INVITE to send outside any dialog.
#[derive(Debug, Clone)]
pub struct OutgoingInvite {
    /// Request-URI.
    pub request_uri: Uri,
    /// From (a tag is added).
    pub from: NameAddr,
    /// To.
    pub to: NameAddr,
    /// Where to send it (a resolved target).
    pub destination: Peer,
    /// SDP offer; `None` for an offerless INVITE.
    pub sdp: Option<Bytes>,
    /// Ask for reliable provisionals (`Supported: 100rel`).
    pub supports_100rel: bool,
    /// Ask for a session timer of this many seconds (`Session-Expires`), refreshed by us.
    pub session_expires: Option<u32>,
    /// Further headers (P-Asserted-Identity, Diversion...).
    pub extra_headers: Vec<Header>,
    /// Next targets to try, in order, when `destination` times out, fails at the transport
    /// or answers 503 before any provisional (RFC 3263 §4.3: the driver resolved them from
    /// NAPTR/SRV/A records).
    pub fallback_destinations: Vec<Peer>,
    /// Credentials for a 401/407 challenge (a carrier that authenticates our calls); the
    /// INVITE is re-sent once per challenge with Authorization.
    pub credentials: Option<cec_sip_auth::Credentials>,
}

/// What we remember about an INVITE we sent.
#[derive(Debug, Clone)]
pub(crate) struct ClientInvite {
    /// The request (for ACK/CANCEL building).
    pub request: Message,
    /// The dialog for a re-INVITE.
    pub dialog: Option<DialogId>,
    /// CANCEL asked for before a provisional arrived (RFC 3261 §9.1: wait for one).
    pub cancel_requested: bool,
    /// Failover targets not tried yet.
    pub remaining: Vec<Peer>,
    /// The ACK sent for each 2xx (by To tag, with where it went): a 2xx retransmitted after
    /// its dialog ended (our BYE crossed the peer's retransmissions) gets the same ACK
    /// again, instead of making a new dialog nobody would end.
    pub acked: Vec<(Bytes, Peer, Bytes)>,
    /// Whether any response arrived (no failover after that).
    pub got_response: bool,
}

impl Endpoint {
    /// Sends an INVITE outside any dialog; dialogs appear as responses arrive.
    pub fn invite(
        &mut self,
        now: Instant,
        invite: OutgoingInvite,
    ) -> Result<TransactionId, DialogError> {
        let transport = invite.destination.transport;
        let via = self.new_via(transport);
        let mut from = invite.from;
        from.set_tag(Bytes::from(self.new_tag()));
        let call_id = format!("{}@opencec", self.new_tag());
        let mut request = Message::request(Method::Invite, invite.request_uri);
        request.push_typed(HeaderName::Via, &via);
        request.push(HeaderName::MaxForwards, b"70");
        request.push_typed(HeaderName::From, &from);
        request.push_typed(HeaderName::To, &invite.to);
        request.push(HeaderName::CallId, call_id.as_bytes());
        request.push_typed(
            HeaderName::CSeq,
            &CSeq {
                seq: 1,
                method: Method::Invite,
            },
        );
        request.push_typed(HeaderName::Contact, &self.contact(transport));
        let mut supported = vec!["timer", "replaces"];
        if invite.supports_100rel {
            supported.insert(0, "100rel");
        }
        request.push(HeaderName::Supported, supported.join(", ").as_bytes());
        request.push(HeaderName::Allow, super::ALLOW.as_bytes());
        if let Some(se) = invite.session_expires {
            request.push(
                HeaderName::SessionExpires,
                format!("{se};refresher=uac").as_bytes(),
            );
            request.push(HeaderName::MinSe, self.config.min_se.to_string().as_bytes());
        }
        request.push_header(self.product_header());
        for header in invite.extra_headers {
            request.push_header(header);
        }
        if let Some(sdp) = invite.sdp {
            request.push(HeaderName::ContentType, b"application/sdp");
            request.set_body(sdp);
        }
        let tx = self
            .transactions
            .send_request(now, request.clone(), invite.destination)?;
        if let Some(credentials) = invite.credentials {
            let client = cec_sip_auth::DigestClient::new(
                credentials,
                crate::random::splitmix64((self.random)()),
            );
            self.invite_auth.insert(tx, client);
        }
        self.client_invites.insert(
            tx,
            ClientInvite {
                request,
                dialog: None,
                cancel_requested: false,
                remaining: invite.fallback_destinations,
                got_response: false,
                acked: Vec::new(),
            },
        );
        Ok(tx)
    }

    /// Sends an out-of-dialog request without body (OPTIONS for link probes, and the like) to
    /// `uri` at `destination`.
    pub fn request_out_of_dialog(
        &mut self,
        now: Instant,
        method: Method,
        uri: Uri,
        destination: Peer,
    ) -> Result<TransactionId, DialogError> {
        let transport = destination.transport;
        let via = self.new_via(transport);
        let mut from = self.contact(transport);
        from.set_tag(Bytes::from(self.new_tag()));
        let call_id = format!("{}@opencec", self.new_tag());
        let mut request = Message::request(method.clone(), uri.clone());
        request.push_typed(HeaderName::Via, &via);
        request.push(HeaderName::MaxForwards, b"70");
        request.push_typed(HeaderName::From, &from);
        request.push_typed(HeaderName::To, &NameAddr::new(uri));
        request.push(HeaderName::CallId, call_id.as_bytes());
        request.push_typed(HeaderName::CSeq, &CSeq { seq: 1, method });
        request.push_header(self.product_header());
        Ok(self.transactions.send_request(now, request, destination)?)
    }

    /// Cancels our pending INVITE `tx` (sent once a provisional has arrived, RFC 3261 §9.1).
    pub fn cancel(&mut self, now: Instant, tx: TransactionId) -> Result<(), DialogError> {
        let invite = self
            .client_invites
            .get_mut(&tx)
            .ok_or(DialogError::NotInvite(tx))?;
        if !self.transactions.client_is_proceeding(tx) {
            invite.cancel_requested = true;
            return Ok(());
        }
        let request = invite.request.clone();
        self.send_cancel(now, &request, tx);
        Ok(())
    }

    fn send_cancel(&mut self, now: Instant, invite: &Message, tx: TransactionId) {
        let (Some(uri), Ok(via), Ok(cseq)) =
            (invite.request_uri(), invite.top_via(), invite.cseq())
        else {
            return;
        };
        let Some(destination) = self.transactions.client_destination(tx) else {
            return;
        };
        let mut cancel = Message::request(Method::Cancel, uri.clone());
        cancel.push_typed(HeaderName::Via, &via);
        for name in [
            HeaderName::Route,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
        ] {
            for h in invite.headers_named(&name) {
                cancel.push_header(h.clone());
            }
        }
        cancel.push(HeaderName::MaxForwards, b"70");
        cancel.push_typed(
            HeaderName::CSeq,
            &CSeq {
                seq: cseq.seq,
                method: Method::Cancel,
            },
        );
        let _ = self.transactions.send_request(now, cancel, destination);
    }

    /// Sends BYE in dialog `dialog` and ends it.
    pub fn bye(&mut self, now: Instant, dialog: DialogId) -> Result<(), DialogError> {
        let session = self
            .sessions
            .get(&dialog)
            .ok_or(DialogError::UnknownDialog(dialog))?;
        if session.dialog.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed(dialog));
        }
        if session.pending_2xx.is_some() {
            // RFC 3261 §15.1.1: not before the ACK of our 2xx (it would overtake the 2xx
            // under loss); the ACK, or its timeout, sends it.
            if let Some(session) = self.sessions.get_mut(&dialog) {
                session.bye_after_ack = true;
            }
            return Ok(());
        }
        self.send_bye_internal(now, dialog);
        self.end_dialog(dialog, TerminationReason::LocalBye);
        Ok(())
    }

    /// Sends a re-INVITE with `sdp` as the new offer (refused while another INVITE or offer is
    /// outstanding in the dialog).
    pub fn reinvite(
        &mut self,
        now: Instant,
        dialog: DialogId,
        sdp: Bytes,
    ) -> Result<TransactionId, DialogError> {
        let session = self
            .sessions
            .get_mut(&dialog)
            .ok_or(DialogError::UnknownDialog(dialog))?;
        if session.dialog.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed(dialog));
        }
        if session.client_invite.is_some() || session.server_invite.is_some() {
            return Err(DialogError::InviteInProgress);
        }
        session.dialog.offer_answer.local_offer()?;
        let request = self.in_dialog_request(dialog, Method::Invite, Some(sdp))?;
        let peer = self.sessions[&dialog].dialog.peer;
        let tx = self.transactions.send_request(now, request.clone(), peer)?;
        if let Some(session) = self.sessions.get_mut(&dialog) {
            session.client_invite = Some(tx);
        }
        self.client_invites.insert(
            tx,
            ClientInvite {
                request,
                dialog: Some(dialog),
                cancel_requested: false,
                remaining: Vec::new(),
                got_response: true,
                acked: Vec::new(),
            },
        );
        Ok(tx)
    }

    /// Sends a non-INVITE request in `dialog` (UPDATE with an offer, INFO, MESSAGE, REFER,
    /// NOTIFY); `body` is sent with `content_type`.
    pub fn request_in_dialog(
        &mut self,
        now: Instant,
        dialog: DialogId,
        method: Method,
        body: Option<(&str, Bytes)>,
    ) -> Result<TransactionId, DialogError> {
        let session = self
            .sessions
            .get_mut(&dialog)
            .ok_or(DialogError::UnknownDialog(dialog))?;
        let is_offer = method == Method::Update && body.is_some();
        if is_offer {
            session.dialog.offer_answer.local_offer()?;
        }
        let (content_type, body) = match body {
            Some((ct, b)) => (Some(ct.to_string()), Some(b)),
            None => (None, None),
        };
        let mut request = self.in_dialog_request(dialog, method, None)?;
        if let (Some(ct), Some(body)) = (content_type, body) {
            request.push(HeaderName::ContentType, ct.as_bytes());
            request.set_body(body);
        }
        let peer = self.sessions[&dialog].dialog.peer;
        let tx = self.transactions.send_request(now, request, peer)?;
        self.tx_dialog.insert(tx, dialog);
        Ok(tx)
    }

    fn in_dialog_request(
        &mut self,
        dialog: DialogId,
        method: Method,
        sdp: Option<Bytes>,
    ) -> Result<Message, DialogError> {
        let peer = self
            .sessions
            .get(&dialog)
            .ok_or(DialogError::UnknownDialog(dialog))?
            .dialog
            .peer;
        let via = self.new_via(peer.transport);
        let contact = self.contact(peer.transport);
        let product = self.product_header();
        let session = self
            .sessions
            .get_mut(&dialog)
            .ok_or(DialogError::UnknownDialog(dialog))?;
        let mut request = session.dialog.build_request(method, &via, None);
        request.push_typed(HeaderName::Contact, &contact);
        request.push_header(product);
        if let Some(sdp) = sdp {
            request.push(HeaderName::ContentType, b"application/sdp");
            request.set_body(sdp);
        }
        Ok(request)
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: Message,
        core: CoreHeaders,
    ) {
        if let Some(&dialog) = self.tx_dialog.get(&tx) {
            self.on_in_dialog_response(now, dialog, &response, &core);
            self.events.push_back(Event::Response {
                tx,
                dialog: Some(dialog),
                response,
                core,
            });
            return;
        }
        if self.client_invites.contains_key(&tx) {
            let dialog = self.on_invite_response(now, tx, &response, &core);
            // A 503 that made us fail over, or a challenge we answered, is not the outcome.
            let failed_over = !self.client_invites.contains_key(&tx);
            if !failed_over {
                self.events.push_back(Event::Response {
                    tx,
                    dialog,
                    response,
                    core,
                });
            }
            return;
        }
        self.events.push_back(Event::Response {
            tx,
            dialog: None,
            response,
            core,
        });
    }

    fn on_in_dialog_response(
        &mut self,
        now: Instant,
        dialog: DialogId,
        response: &Message,
        core: &CoreHeaders,
    ) {
        let status = response.status().unwrap_or(0);
        if matches!(status, 481 | 408) {
            self.end_dialog(dialog, TerminationReason::TransactionFailed(status));
            return;
        }
        let Some(session) = self.sessions.get_mut(&dialog) else {
            return;
        };
        if core.cseq.method == Method::Update && status >= 200 {
            if (200..300).contains(&status) {
                if session.dialog.offer_answer == OfferAnswer::LocalOffer
                    && !response.body().is_empty()
                {
                    let _ = session.dialog.offer_answer.remote_answer();
                }
                session.dialog.refresh_target(response);
                if let Some(timer) = session_timer_from_response(response, Role::Uac) {
                    session.session_timer = Some(timer);
                }
                self.arm_session_timer(now, dialog);
            } else if session.dialog.offer_answer == OfferAnswer::LocalOffer {
                session.dialog.offer_answer.rollback();
            }
        }
    }

    /// Returns the dialog the response created or belongs to.
    fn on_invite_response(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: &Message,
        core: &CoreHeaders,
    ) -> Option<DialogId> {
        let status = response.status()?;
        if status == 503 && self.fail_over(now, tx).is_some() {
            return None;
        }
        if matches!(status, 401 | 407) && self.retry_with_credentials(now, tx, response).is_some() {
            return None;
        }
        let invite = self.client_invites.get_mut(&tx)?;
        invite.got_response = true;
        let invite = invite.clone();
        if (101..200).contains(&status) && invite.cancel_requested {
            if let Some(entry) = self.client_invites.get_mut(&tx) {
                entry.cancel_requested = false;
            }
            self.send_cancel(now, &invite.request, tx);
        }
        if (200..300).contains(&status)
            && invite.dialog.is_none()
            && self.dialog_of_response(core).is_none()
            && let Some((_, to, ack)) = invite
                .acked
                .iter()
                .find(|(tag, _, _)| core.to.tag() == Some(tag))
        {
            let (to, bytes) = (*to, ack.clone());
            self.transmits
                .push_back(crate::peer::Transmit { to, bytes });
            return None;
        }
        let dialog = match invite.dialog {
            Some(existing) => Some(existing),
            None if status > 100 && status < 300 && core.to.tag().is_some() => {
                Some(self.uac_dialog(tx, &invite.request, response, core))
            }
            None => None,
        };
        match status {
            101..=199 => {
                if let Some(id) = dialog {
                    self.prack_if_reliable(now, id, response, core);
                }
            }
            200..=299 => {
                let id = dialog?;
                self.confirm_uac_dialog(now, id, response, core);
                let sent = self.sessions.get(&id).and_then(|session| {
                    let (_, ack) = session.last_ack.as_ref()?;
                    Some((
                        session.dialog.key.remote_tag.clone(),
                        session.dialog.peer,
                        ack.clone(),
                    ))
                });
                if invite.dialog.is_none()
                    && let (Some(sent), Some(entry)) = (sent, self.client_invites.get_mut(&tx))
                {
                    entry.acked.push(sent);
                }
            }
            _ => {
                if invite.dialog.is_some() {
                    if let Some(session) = dialog.and_then(|id| self.sessions.get_mut(&id)) {
                        session.client_invite = None;
                        session.dialog.offer_answer.rollback();
                    }
                } else {
                    self.end_invite_dialogs(now, tx, TerminationReason::Rejected(status));
                }
            }
        }
        dialog
    }

    fn uac_dialog(
        &mut self,
        tx: TransactionId,
        request: &Message,
        response: &Message,
        core: &CoreHeaders,
    ) -> DialogId {
        if let Some(id) = self.dialog_of_response(core) {
            return id;
        }
        let remote_tag = core.to.tag().cloned().unwrap_or_default();
        let local_tag = core.from.tag().cloned().unwrap_or_default();
        let remote_target = first_contact_uri(response).unwrap_or_else(|| core.to.uri.clone());
        let mut offer_answer = OfferAnswer::default();
        if !request.body().is_empty() {
            let _ = offer_answer.local_offer();
        }
        let peer = self
            .transactions
            .client_destination(tx)
            .unwrap_or(Peer::new(
                crate::peer::TransportKind::Udp,
                std::net::SocketAddr::from(([127, 0, 0, 1], 5060)),
            ));
        let id = self.allocate_dialog_id();
        let dialog = Dialog {
            id,
            key: DialogKey {
                call_id: core.call_id.clone(),
                local_tag,
                remote_tag,
            },
            role: Role::Uac,
            state: DialogState::Early,
            local: core.from.clone(),
            remote: core.to.clone(),
            remote_target,
            route_set: route_set(response, Role::Uac),
            local_cseq: core.cseq.seq,
            remote_cseq: None,
            peer,
            offer_answer,
        };
        self.insert_session(Session::new(dialog, None, Some(tx), false));
        self.invite_dialogs.entry(tx).or_default().push(id);
        id
    }

    fn prack_if_reliable(
        &mut self,
        now: Instant,
        id: DialogId,
        response: &Message,
        core: &CoreHeaders,
    ) {
        let reliable = response
            .require()
            .unwrap_or_default()
            .iter()
            .any(|t| t.eq_ignore_ascii_case(b"100rel"));
        let Some(rseq) = response.rseq().ok().flatten().filter(|_| reliable) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        // RFC 3262 §4: only the next RSeq in order is acknowledged; retransmissions of one
        // already PRACKed are ignored.
        if session.last_rseq_received.is_some_and(|last| rseq <= last) {
            return;
        }
        session.last_rseq_received = Some(rseq);
        if !response.body().is_empty() && session.dialog.offer_answer == OfferAnswer::LocalOffer {
            let _ = session.dialog.offer_answer.remote_answer();
        }
        let Ok(mut prack) = self.in_dialog_request(id, Method::Prack, None) else {
            return;
        };
        prack.push_typed(
            HeaderName::RAck,
            &RAck {
                rseq,
                cseq: core.cseq.seq,
                method: Method::Invite,
            },
        );
        let peer = self.sessions[&id].dialog.peer;
        if let Ok(tx) = self.transactions.send_request(now, prack, peer) {
            self.tx_dialog.insert(tx, id);
        }
    }

    fn confirm_uac_dialog(
        &mut self,
        now: Instant,
        id: DialogId,
        response: &Message,
        core: &CoreHeaders,
    ) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        session.dialog.state = DialogState::Confirmed;
        session.dialog.refresh_target(response);
        session.client_invite = None;
        // An offer in the 2xx of an offerless INVITE would be answered in the ACK; the call
        // path always offers in the INVITE, so the ACK carries no body.
        if !response.body().is_empty() && session.dialog.offer_answer == OfferAnswer::LocalOffer {
            let _ = session.dialog.offer_answer.remote_answer();
        }
        if let Some(timer) = session_timer_from_response(response, Role::Uac) {
            session.session_timer = Some(timer);
        }
        self.send_ack(id, core.cseq.seq);
        self.arm_session_timer(now, id);
    }

    /// ACK for a 2xx (RFC 3261 §13.2.2.4): a new transaction-less request in the dialog with
    /// the INVITE's CSeq number.
    fn send_ack(&mut self, id: DialogId, cseq: u32) {
        let Some(peer) = self.sessions.get(&id).map(|s| s.dialog.peer) else {
            return;
        };
        let via = self.new_via(peer.transport);
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let ack = session.dialog.build_request(Method::Ack, &via, Some(cseq));
        let bytes = ack.to_bytes();
        session.last_ack = Some((cseq, bytes.clone()));
        self.transmits
            .push_back(crate::peer::Transmit { to: peer, bytes });
    }

    /// A 2xx that matched no transaction: if it is a retransmission for one of our dialogs,
    /// send the same ACK again.
    pub(super) fn on_stray_response(&mut self, core: &CoreHeaders) {
        if core.cseq.method != Method::Invite {
            return;
        }
        let Some(id) = self.dialog_of_response(core) else {
            return;
        };
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        if let Some((_, bytes)) = session
            .last_ack
            .as_ref()
            .filter(|(c, _)| *c == core.cseq.seq)
        {
            let to = session.dialog.peer;
            self.transmits.push_back(crate::peer::Transmit {
                to,
                bytes: bytes.clone(),
            });
        }
    }

    pub(super) fn on_timeout(&mut self, now: Instant, tx: TransactionId) {
        if let Some(dialog) = self.tx_dialog.remove(&tx) {
            self.end_dialog(dialog, TerminationReason::TransactionFailed(408));
        } else if self.fail_over(now, tx).is_some() {
            return;
        } else if let Some(invite) = self.client_invites.remove(&tx) {
            match invite.dialog {
                Some(id) => {
                    if let Some(session) = self.sessions.get_mut(&id) {
                        session.client_invite = None;
                        session.dialog.offer_answer.rollback();
                    }
                }
                None => self.end_invite_dialogs(now, tx, TerminationReason::TransactionFailed(408)),
            }
        }
        self.events.push_back(Event::Timeout { tx });
    }
}

/// The session timer a 2xx to our INVITE/UPDATE established (RFC 4028 §7.4).
fn session_timer_from_response(response: &Message, role: Role) -> Option<SessionTimer> {
    let se = response.session_expires().ok().flatten()?;
    let refresher = se.refresher();
    let we_refresh = match (role, refresher) {
        (Role::Uac, Some(cec_sip_msg::Refresher::Uac))
        | (Role::Uas, Some(cec_sip_msg::Refresher::Uas)) => true,
        (_, None) => role == Role::Uac,
        _ => false,
    };
    Some(SessionTimer {
        interval: se.delta,
        we_refresh,
    })
}
