//! Requests inside existing dialogs (RFC 3261 §12.2.2, §14.2, §15; RFC 3262 PRACK;
//! RFC 3311 UPDATE; RFC 4028 refresh), the ACK of our 2xx, and session-timer scheduling.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_msg::{CoreHeaders, HeaderName, Message, Method, RetryAfter, SessionExpires};

use super::session::TerminationReason;
use super::{DialogTimer, Endpoint, Event};
use crate::dialog::{CSeqCheck, DialogId, DialogState, OfferAnswer};
use crate::peer::Peer;
use crate::transaction::TransactionId;

impl Endpoint {
    pub(super) fn on_in_dialog_request(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Message,
        core: &CoreHeaders,
        _source: Peer,
    ) {
        let Some(id) = self.dialog_of_request(core) else {
            self.stats.no_dialog += 1;
            let _ = self.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        };
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        if session.dialog.check_remote_cseq(&core.cseq) == CSeqCheck::OutOfOrder {
            let _ = self.respond_status(now, tx, 500, "CSeq Out of Order");
            return;
        }
        let has_body = !request.body().is_empty();
        match core.cseq.method {
            Method::Bye => {
                let pending_invite = session.server_invite.take();
                let _ = self.respond_status(now, tx, 200, "OK");
                if let Some(invite) = pending_invite.filter(|&i| self.transactions.awaits_final(i))
                {
                    let _ = self.respond_status(now, invite, 487, "Request Terminated");
                }
                self.end_dialog(id, TerminationReason::RemoteBye);
            }
            Method::Invite => {
                if session.client_invite.is_some() {
                    // Glare (RFC 3261 §14.2): both sides sent a re-INVITE.
                    let _ = self.respond_status(now, tx, 491, "Request Pending");
                    return;
                }
                if session.server_invite.is_some() {
                    self.reject_retry_later(now, tx);
                    return;
                }
                if has_body && session.dialog.offer_answer.remote_offer().is_err() {
                    let _ = self.respond_status(now, tx, 491, "Request Pending");
                    return;
                }
                session.server_invite = Some(tx);
                session.dialog.refresh_target(&request);
                self.invite_dialogs.entry(tx).or_default().push(id);
                self.events.push_back(Event::DialogRequest {
                    dialog: id,
                    tx,
                    request,
                });
            }
            Method::Update => {
                if has_body && session.dialog.offer_answer.remote_offer().is_err() {
                    // RFC 3311 §5.2: an offer while another is outstanding.
                    let _ = self.respond_status(now, tx, 491, "Request Pending");
                    return;
                }
                session.dialog.refresh_target(&request);
                self.tx_dialog.insert(tx, id);
                if has_body {
                    self.events.push_back(Event::DialogRequest {
                        dialog: id,
                        tx,
                        request,
                    });
                } else {
                    // A refresh or target update without an offer: answered here.
                    let _ = self.answer(now, tx, None);
                }
            }
            Method::Prack => self.on_prack(now, tx, id, request),
            _ => {
                self.tx_dialog.insert(tx, id);
                self.events.push_back(Event::DialogRequest {
                    dialog: id,
                    tx,
                    request,
                });
            }
        }
    }

    fn reject_retry_later(&mut self, now: Instant, tx: TransactionId) {
        // RFC 3261 §14.2: an INVITE while our answer to the previous one is pending gets 500
        // with a Retry-After of 0–10 s.
        let delay = u32::try_from((self.random)() % 10).unwrap_or(5);
        if let Some(mut response) = self.response(tx, 500, "Server Internal Error") {
            response.push_typed(
                HeaderName::RetryAfter,
                &RetryAfter {
                    delta: delay,
                    comment: None,
                    params: Vec::new(),
                },
            );
            let _ = self.transactions.respond(now, tx, &response);
        }
    }

    fn on_prack(&mut self, now: Instant, tx: TransactionId, id: DialogId, request: Message) {
        let rack = request.rack().ok().flatten();
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let matches = match (&rack, &session.pending_provisional) {
            (Some(rack), Some(pending)) => {
                rack.rseq == pending.rseq
                    && rack.cseq == pending.cseq
                    && rack.method == Method::Invite
            }
            _ => false,
        };
        if !matches {
            let _ = self.respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        }
        session.pending_provisional = None;
        self.dialog_timers
            .cancel((id, DialogTimer::RetransmitProvisional));
        self.dialog_timers.cancel((id, DialogTimer::PrackTimeout));
        let _ = self.respond_status(now, tx, 200, "OK");
        self.events.push_back(Event::PrackReceived {
            dialog: id,
            request,
        });
    }

    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        request: Message,
        core: &CoreHeaders,
        _source: Peer,
    ) {
        let Some(id) = self.dialog_of_request(core) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let acknowledges = session
            .pending_2xx
            .as_ref()
            .is_some_and(|p| p.cseq == core.cseq.seq);
        if !acknowledges {
            return; // a retransmitted ACK, or one for an older 2xx
        }
        session.pending_2xx = None;
        if !request.body().is_empty() && session.dialog.offer_answer == OfferAnswer::LocalOffer {
            let _ = session.dialog.offer_answer.remote_answer();
        }
        let bye_now = session.bye_after_ack;
        self.dialog_timers.cancel((id, DialogTimer::Retransmit2xx));
        self.dialog_timers.cancel((id, DialogTimer::AckTimeout));
        self.events.push_back(Event::Acked {
            dialog: id,
            request,
        });
        if bye_now {
            self.send_bye_internal(now, id);
            self.end_dialog(id, TerminationReason::LocalBye);
        }
    }

    /// (Re)arms the RFC 4028 timers after a successful refresh: the refresher refreshes at
    /// half the interval; the other side sends BYE at interval − min(32 s, interval/3).
    pub(crate) fn arm_session_timer(&mut self, now: Instant, id: DialogId) {
        self.dialog_timers.cancel((id, DialogTimer::SessionRefresh));
        self.dialog_timers.cancel((id, DialogTimer::SessionExpiry));
        let Some(timer) = self.sessions.get(&id).and_then(|s| s.session_timer) else {
            return;
        };
        let interval = Duration::from_secs(u64::from(timer.interval));
        if timer.we_refresh {
            self.dialog_timers
                .set((id, DialogTimer::SessionRefresh), now + interval / 2);
        } else {
            let margin = Duration::from_secs(32).min(interval / 3);
            self.dialog_timers
                .set((id, DialogTimer::SessionExpiry), now + interval - margin);
        }
    }

    /// Sends a session refresh: an UPDATE without body (RFC 4028 §10 prefers it).
    pub(crate) fn refresh_session(&mut self, now: Instant, id: DialogId) {
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        if session.dialog.state != DialogState::Confirmed {
            return;
        }
        let Some(timer) = session.session_timer else {
            return;
        };
        let peer = session.dialog.peer;
        let via = self.new_via(peer.transport);
        let contact = self.contact(peer.transport);
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let mut update = session.dialog.build_request(Method::Update, &via, None);
        update.push_typed(HeaderName::Contact, &contact);
        update.push_typed(
            HeaderName::SessionExpires,
            &SessionExpires {
                delta: timer.interval,
                params: vec![cec_sip_msg::Param {
                    name: Bytes::from_static(b"refresher"),
                    value: Some(Bytes::from_static(match session.dialog.role {
                        crate::dialog::Role::Uac => b"uac",
                        crate::dialog::Role::Uas => b"uas",
                    })),
                }],
            },
        );
        update.push(HeaderName::Supported, b"timer");
        if let Ok(tx) = self.transactions.send_request(now, update, peer) {
            self.tx_dialog.insert(tx, id);
        }
        // If the refresh fails the dialog ends via the transaction outcome; meanwhile keep a
        // safety expiry so a silent peer cannot hold the session forever.
        let interval = Duration::from_secs(u64::from(timer.interval));
        self.dialog_timers
            .set((id, DialogTimer::SessionExpiry), now + interval / 2);
    }
}
