//! Answering INVITEs (RFC 3261 §13.3, RFC 3262 as UAS, RFC 4028 as UAS): provisional
//! responses that create early dialogs (reliable ones retransmitted until PRACK), the 2xx
//! retransmitted until ACK, and session-timer negotiation.

use std::time::Instant;

use bytes::Bytes;
use cec_sip_msg::{Header, HeaderName, Message, Method, MinSe, SessionExpires};

use super::session::{Retransmission, Session, SessionTimer, first_contact_uri};
use super::{DialogTimer, Endpoint};
use crate::dialog::{
    Dialog, DialogId, DialogKey, DialogState, OfferAnswer, OfferAnswerError, Role, route_set,
};
use crate::transaction::{TransactionId, TxError};

/// Why the endpoint refused an application call on a dialog or INVITE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// The transaction does not exist or already has a final response.
    #[error(transparent)]
    Transaction(#[from] TxError),
    /// No such dialog.
    #[error("no dialog {0}")]
    UnknownDialog(DialogId),
    /// The request is not an INVITE (or UPDATE) that can be answered this way.
    #[error("transaction {0} is not an INVITE or UPDATE")]
    NotInvite(TransactionId),
    /// The status code does not fit the call.
    #[error("status {0} not allowed here")]
    BadStatus(u16),
    /// A reliable provisional is still waiting for its PRACK (RFC 3262 §3).
    #[error("a reliable provisional response is not yet acknowledged")]
    ProvisionalPending,
    /// Offer/answer rules.
    #[error(transparent)]
    OfferAnswer(#[from] OfferAnswerError),
    /// A request of this kind is already in progress in the dialog.
    #[error("another INVITE is in progress in the dialog")]
    InviteInProgress,
    /// The dialog is not in a state that allows this.
    #[error("dialog {0} is not confirmed")]
    NotConfirmed(DialogId),
}

fn supports(request: &Message, extension: &str) -> bool {
    let has = |list: Vec<Bytes>| {
        list.iter()
            .any(|t| t.eq_ignore_ascii_case(extension.as_bytes()))
    };
    has(request.supported().unwrap_or_default()) || has(request.require().unwrap_or_default())
}

fn requires(request: &Message, extension: &str) -> bool {
    request
        .require()
        .unwrap_or_default()
        .iter()
        .any(|t| t.eq_ignore_ascii_case(extension.as_bytes()))
}

impl Endpoint {
    /// RFC 4028 §8 check of a new INVITE, done before the application sees it: a
    /// Session-Expires below our Min-SE is answered 422 with our Min-SE. Returns whether the
    /// INVITE was rejected.
    pub(crate) fn reject_too_small_session_interval(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: &Message,
    ) -> bool {
        let Ok(Some(se)) = request.session_expires() else {
            return false;
        };
        if se.delta >= self.config.min_se {
            return false;
        }
        if let Some(mut response) = self.response(tx, 422, "Session Interval Too Small") {
            response.push_typed(
                HeaderName::MinSe,
                &MinSe {
                    delta: self.config.min_se,
                    params: Vec::new(),
                },
            );
            let _ = self.transactions.respond(now, tx, &response);
        }
        true
    }

    /// The dialog of INVITE server transaction `tx`, created early if needed.
    fn uas_dialog(
        &mut self,
        tx: TransactionId,
        state: DialogState,
    ) -> Result<DialogId, DialogError> {
        if let Some(id) = self
            .invite_dialogs
            .get(&tx)
            .and_then(|ids| ids.first())
            .copied()
        {
            return Ok(id);
        }
        let request = self
            .transactions
            .server_request(tx)
            .cloned()
            .ok_or(TxError::Unknown(tx))?;
        if request.method() != Some(&Method::Invite) {
            return Err(DialogError::NotInvite(tx));
        }
        let reply_to = self
            .transactions
            .server_reply_to(tx)
            .ok_or(TxError::Unknown(tx))?;
        let core = request.validate().map_err(|_| DialogError::NotInvite(tx))?;
        let local_tag = Bytes::from(self.new_tag());
        let mut local = core.to.clone();
        local.set_tag(local_tag.clone());
        let remote_target = first_contact_uri(&request).unwrap_or_else(|| core.from.uri.clone());
        let mut offer_answer = OfferAnswer::default();
        if !request.body().is_empty() {
            offer_answer.remote_offer()?;
        }
        let id = self.allocate_dialog_id();
        let dialog = Dialog {
            id,
            key: DialogKey {
                call_id: core.call_id.clone(),
                local_tag,
                remote_tag: core.from.tag().cloned().unwrap_or_default(),
            },
            role: Role::Uas,
            state,
            local,
            remote: core.from.clone(),
            remote_target,
            route_set: route_set(&request, Role::Uas),
            local_cseq: 0,
            remote_cseq: Some(core.cseq.seq),
            peer: reply_to,
            offer_answer,
        };
        self.insert_session(Session::new(
            dialog,
            Some(tx),
            None,
            supports(&request, "100rel"),
        ));
        self.invite_dialogs.entry(tx).or_default().push(id);
        Ok(id)
    }

    /// Sends a provisional response (101–199) to INVITE `tx`, creating the early dialog.
    /// `reliable` asks for RFC 3262 reliability; it is used when the peer supports 100rel and
    /// forced when the peer requires it. Returns the dialog.
    pub fn provisional(
        &mut self,
        now: Instant,
        tx: TransactionId,
        code: u16,
        reason: &str,
        sdp: Option<Bytes>,
        reliable: bool,
    ) -> Result<DialogId, DialogError> {
        if !(101..=199).contains(&code) {
            return Err(DialogError::BadStatus(code));
        }
        if !self.transactions.awaits_final(tx) {
            return Err(TxError::InvalidState(tx).into());
        }
        let id = self.uas_dialog(tx, DialogState::Early)?;
        let request = self
            .transactions
            .server_request(tx)
            .cloned()
            .ok_or(TxError::Unknown(tx))?;
        let session = self
            .sessions
            .get(&id)
            .ok_or(DialogError::UnknownDialog(id))?;
        let reliable = (reliable && session.peer_supports_100rel) || requires(&request, "100rel");
        if reliable && session.pending_provisional.is_some() {
            return Err(DialogError::ProvisionalPending);
        }
        let transport = session.dialog.peer.transport;
        let local_tag = session.dialog.key.local_tag.clone();
        let mut response =
            Message::response_to(&request, code, reason.to_string(), Some(&local_tag))
                .map_err(|_| DialogError::NotInvite(tx))?;
        self.add_dialog_headers(&mut response, transport);
        response.push_header(Header::new(
            HeaderName::Server,
            self.config.product.as_bytes(),
        ));
        let session = self
            .sessions
            .get_mut(&id)
            .ok_or(DialogError::UnknownDialog(id))?;
        let rseq = session.next_rseq;
        if reliable {
            response.push(HeaderName::Require, b"100rel");
            response.push(HeaderName::RSeq, rseq.to_string().as_bytes());
        }
        if let Some(sdp) = sdp {
            if session.dialog.offer_answer == OfferAnswer::RemoteOffer {
                session.dialog.offer_answer.local_answer()?;
            } else {
                session.dialog.offer_answer.local_offer()?;
            }
            response.push(HeaderName::ContentType, b"application/sdp");
            response.set_body(sdp);
        }
        self.transactions.respond(now, tx, &response)?;
        if reliable {
            let t1 = self.transactions.timer_values().t1;
            let timeout = self.transactions.timer_values().transaction_timeout();
            let session = self
                .sessions
                .get_mut(&id)
                .ok_or(DialogError::UnknownDialog(id))?;
            session.next_rseq += 1;
            session.pending_provisional = Some(Retransmission {
                bytes: response.to_bytes(),
                to: session.dialog.peer,
                interval: t1,
                cseq: request.cseq().map(|c| c.seq).unwrap_or(0),
                rseq,
                tx,
                has_sdp: !response.body().is_empty(),
            });
            self.dialog_timers
                .set((id, DialogTimer::RetransmitProvisional), now + t1);
            self.dialog_timers
                .set((id, DialogTimer::PrackTimeout), now + timeout);
        }
        Ok(id)
    }

    /// Answers INVITE (initial or re-INVITE) or UPDATE `tx` with 200 OK carrying `sdp`
    /// (the answer to the peer's offer, or our offer when the INVITE had none). For INVITE the
    /// 2xx is retransmitted until the ACK arrives; without ACK in 64·T1 the endpoint sends BYE.
    pub fn answer(
        &mut self,
        now: Instant,
        tx: TransactionId,
        sdp: Option<Bytes>,
    ) -> Result<DialogId, DialogError> {
        let request = self
            .transactions
            .server_request(tx)
            .cloned()
            .ok_or(TxError::Unknown(tx))?;
        let method = request.method().cloned();
        let is_update = method == Some(Method::Update);
        let id = if is_update {
            *self.tx_dialog.get(&tx).ok_or(DialogError::NotInvite(tx))?
        } else {
            self.uas_dialog(tx, DialogState::Confirmed)?
        };
        let session = self
            .sessions
            .get_mut(&id)
            .ok_or(DialogError::UnknownDialog(id))?;
        // RFC 3262 §3: a 2xx may overtake an unacknowledged reliable provisional unless that
        // provisional carried a session description; the provisional then stops.
        if !is_update {
            match &session.pending_provisional {
                Some(pending) if pending.has_sdp => return Err(DialogError::ProvisionalPending),
                Some(_) => {
                    session.pending_provisional = None;
                    self.dialog_timers
                        .cancel((id, DialogTimer::RetransmitProvisional));
                    self.dialog_timers.cancel((id, DialogTimer::PrackTimeout));
                }
                None => {}
            }
        }
        let local_tag = session.dialog.key.local_tag.clone();
        let transport = session.dialog.peer.transport;
        let mut response = Message::response_to(&request, 200, "OK", Some(&local_tag))
            .map_err(|_| DialogError::NotInvite(tx))?;
        if let Some(sdp) = sdp {
            match session.dialog.offer_answer {
                OfferAnswer::RemoteOffer => session.dialog.offer_answer.local_answer()?,
                _ => session.dialog.offer_answer.local_offer()?,
            }
            response.push(HeaderName::ContentType, b"application/sdp");
            response.set_body(sdp);
        }
        let timer = self.negotiate_session_timer(&request, &mut response);
        self.add_dialog_headers(&mut response, transport);
        response.push_header(Header::new(
            HeaderName::Server,
            self.config.product.as_bytes(),
        ));
        self.transactions.respond(now, tx, &response)?;
        let values = *self.transactions.timer_values();
        let session = self
            .sessions
            .get_mut(&id)
            .ok_or(DialogError::UnknownDialog(id))?;
        session.dialog.state = DialogState::Confirmed;
        session.dialog.refresh_target(&request);
        session.session_timer = timer;
        if !is_update {
            session.server_invite = None;
            session.pending_2xx = Some(Retransmission {
                bytes: response.to_bytes(),
                to: session.dialog.peer,
                interval: values.t1,
                cseq: request.cseq().map(|c| c.seq).unwrap_or(0),
                rseq: 0,
                tx,
                has_sdp: false,
            });
            self.dialog_timers
                .set((id, DialogTimer::Retransmit2xx), now + values.t1);
            self.dialog_timers.set(
                (id, DialogTimer::AckTimeout),
                now + values.transaction_timeout(),
            );
        }
        self.arm_session_timer(now, id);
        Ok(id)
    }

    /// RFC 4028 §9: when the request asked for a session timer, put the negotiated
    /// Session-Expires in the 2xx and decide who refreshes.
    fn negotiate_session_timer(
        &self,
        request: &Message,
        response: &mut Message,
    ) -> Option<SessionTimer> {
        let se = request.session_expires().ok().flatten()?;
        let interval = se.delta.max(self.config.min_se);
        let peer_supports = supports(request, "timer");
        // A peer that supports timers refreshes when it asked to or left it to us; one that does
        // not support them (a proxy added the header) cannot, so we do.
        let refresher_uac = peer_supports && se.refresher() != Some(cec_sip_msg::Refresher::Uas);
        let param = if refresher_uac { "uac" } else { "uas" };
        response.push_typed(
            HeaderName::SessionExpires,
            &SessionExpires {
                delta: interval,
                params: vec![cec_sip_msg::Param {
                    name: Bytes::from_static(b"refresher"),
                    value: Some(Bytes::from_static(param.as_bytes())),
                }],
            },
        );
        if peer_supports {
            response.push(HeaderName::Require, b"timer");
        }
        Some(SessionTimer {
            interval,
            we_refresh: !refresher_uac,
        })
    }
}
