//! Per-dialog state kept by the endpoint beside the [`Dialog`] itself: 2xx and reliable
//! provisional retransmission, pending INVITEs (for 491), the ACK we last sent, session timers;
//! and the dialog timers that drive them.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cec_sip_msg::{Header, HeaderName, Host, Message, Method, NameAddr, SipUri, Uri, Via};

use super::{Endpoint, Event};
pub(crate) use crate::dialog::first_contact_uri;
use crate::dialog::{Dialog, DialogId, DialogKey, DialogState};
use crate::peer::{Peer, TransportKind};
use crate::transaction::TransactionId;

/// Timers the endpoint keeps per dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DialogTimer {
    /// Retransmit our 2xx to an INVITE until the ACK comes (RFC 3261 §13.3.1.4: T1 doubling
    /// to T2).
    Retransmit2xx,
    /// No ACK for our 2xx within 64·T1: the dialog is ended with a BYE.
    AckTimeout,
    /// Retransmit our reliable provisional until the PRACK comes (RFC 3262 §3).
    RetransmitProvisional,
    /// No PRACK within 64·T1: the INVITE is rejected with 500 (RFC 3262 §3).
    PrackTimeout,
    /// We are the session refresher: send a refresh (RFC 4028 §10, at half the interval).
    SessionRefresh,
    /// No refresh arrived in time: send BYE (RFC 4028 §10).
    SessionExpiry,
}

impl DialogTimer {
    /// Every dialog timer (to disarm an ended dialog's timers by key).
    pub const ALL: [DialogTimer; 6] = [
        DialogTimer::Retransmit2xx,
        DialogTimer::AckTimeout,
        DialogTimer::RetransmitProvisional,
        DialogTimer::PrackTimeout,
        DialogTimer::SessionRefresh,
        DialogTimer::SessionExpiry,
    ];
}

/// Why a dialog ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TerminationReason {
    /// The peer sent BYE.
    RemoteBye,
    /// We sent BYE.
    LocalBye,
    /// The INVITE was cancelled.
    Cancelled,
    /// The INVITE got (or we sent) this final non-2xx status.
    Rejected(u16),
    /// Our 2xx was never acknowledged.
    AckTimeout,
    /// A reliable provisional was never PRACKed.
    PrackTimeout,
    /// The session timer expired without a refresh.
    SessionExpired,
    /// An in-dialog request got 481/408 or timed out (RFC 3261 §12.2.1.2).
    TransactionFailed(u16),
}

/// A 2xx or reliable provisional being retransmitted.
#[derive(Debug, Clone)]
pub(crate) struct Retransmission {
    pub bytes: Bytes,
    pub to: Peer,
    pub interval: Duration,
    /// CSeq number of the INVITE it answers.
    pub cseq: u32,
    /// RSeq, for reliable provisionals.
    pub rseq: u32,
    /// The server transaction (for rejecting on PRACK timeout).
    pub tx: TransactionId,
    /// Whether it carried a session description (then no 2xx before its PRACK).
    pub has_sdp: bool,
}

/// RFC 4028 state of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionTimer {
    /// Negotiated interval, seconds.
    pub interval: u32,
    /// Whether we refresh (else the peer does and we watch for expiry).
    pub we_refresh: bool,
}

/// What the endpoint keeps per dialog.
#[derive(Debug)]
pub(crate) struct Session {
    pub dialog: Dialog,
    /// Our 2xx awaiting ACK.
    pub pending_2xx: Option<Retransmission>,
    /// Our reliable provisional awaiting PRACK.
    pub pending_provisional: Option<Retransmission>,
    /// Next RSeq we send.
    pub next_rseq: u32,
    /// Highest RSeq we received and PRACKed (UAC).
    pub last_rseq_received: Option<u32>,
    /// The INVITE server transaction of this dialog still waiting for a final response.
    pub server_invite: Option<TransactionId>,
    /// Our INVITE (initial or re-INVITE) client transaction still waiting for a final.
    pub client_invite: Option<TransactionId>,
    /// The ACK we sent for the latest 2xx (CSeq, bytes), re-sent on 2xx retransmissions.
    pub last_ack: Option<(u32, Bytes)>,
    /// RFC 4028 state, once negotiated.
    pub session_timer: Option<SessionTimer>,
    /// Whether the peer supports 100rel (from Supported/Require of its INVITE).
    pub peer_supports_100rel: bool,
    /// The application hung up before the ACK of our 2xx: BYE once it arrives.
    pub bye_after_ack: bool,
}

impl Session {
    /// A session around a new dialog: nothing pending yet.
    pub(crate) fn new(
        dialog: Dialog,
        server_invite: Option<TransactionId>,
        client_invite: Option<TransactionId>,
        peer_supports_100rel: bool,
    ) -> Session {
        Session {
            dialog,
            pending_2xx: None,
            pending_provisional: None,
            next_rseq: 1,
            last_rseq_received: None,
            bye_after_ack: false,
            server_invite,
            client_invite,
            last_ack: None,
            session_timer: None,
            peer_supports_100rel,
        }
    }
}

impl Endpoint {
    pub(crate) fn local_address(&self, transport: TransportKind) -> Option<std::net::SocketAddr> {
        self.local_addresses
            .iter()
            .find(|(t, _)| *t == transport)
            .or_else(|| self.local_addresses.first())
            .map(|(_, a)| *a)
    }

    /// A Via for a request we send over `transport`, with a fresh branch and `rport`.
    pub(crate) fn new_via(&mut self, transport: TransportKind) -> Via {
        let addr = self
            .local_address(transport)
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 5060)));
        let branch = self.new_branch();
        let mut via = Via::new(
            transport.to_via(),
            Host::from(addr.ip()),
            Some(addr.port()),
            branch.as_bytes(),
        );
        via.set_param("rport", None);
        via
    }

    /// Our Contact for messages over `transport`.
    pub(crate) fn contact(&self, transport: TransportKind) -> NameAddr {
        let addr = self
            .local_address(transport)
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 5060)));
        let mut uri = SipUri::new(Host::from(addr.ip()));
        uri.user = Some(Bytes::from_static(b"opencec"));
        uri.port = Some(addr.port());
        if transport != TransportKind::Udp {
            uri.params.push(cec_sip_msg::Param {
                name: Bytes::from_static(b"transport"),
                value: Some(Bytes::from(transport.as_str().to_ascii_lowercase())),
            });
        }
        NameAddr::new(Uri::Sip(uri))
    }

    pub(crate) fn insert_session(&mut self, session: Session) -> DialogId {
        let id = session.dialog.id;
        self.dialog_index.insert(session.dialog.key.clone(), id);
        self.sessions.insert(id, session);
        id
    }

    pub(crate) fn allocate_dialog_id(&mut self) -> DialogId {
        self.next_dialog += 1;
        DialogId(self.next_dialog)
    }

    pub(crate) fn find_dialog(
        &self,
        call_id: &Bytes,
        local_tag: &Bytes,
        remote_tag: &Bytes,
    ) -> Option<DialogId> {
        self.dialog_index
            .get(&DialogKey {
                call_id: call_id.clone(),
                local_tag: local_tag.clone(),
                remote_tag: remote_tag.clone(),
            })
            .copied()
    }

    /// The dialog an incoming request belongs to (To tag = ours, From tag = the peer's).
    pub(crate) fn dialog_of_request(&self, core: &cec_sip_msg::CoreHeaders) -> Option<DialogId> {
        let local = core.to.tag().cloned().unwrap_or_default();
        let remote = core.from.tag().cloned().unwrap_or_default();
        self.find_dialog(&core.call_id, &local, &remote)
    }

    /// The dialog a response to our request belongs to (From tag = ours, To tag = the peer's).
    pub(crate) fn dialog_of_response(&self, core: &cec_sip_msg::CoreHeaders) -> Option<DialogId> {
        let local = core.from.tag().cloned().unwrap_or_default();
        let remote = core.to.tag().cloned().unwrap_or_default();
        self.find_dialog(&core.call_id, &local, &remote)
    }

    /// Removes a dialog and reports why.
    pub(crate) fn end_dialog(&mut self, id: DialogId, reason: TerminationReason) {
        if let Some(mut session) = self.sessions.remove(&id) {
            session.dialog.state = DialogState::Terminated;
            self.dialog_index.remove(&session.dialog.key);
            for timer in DialogTimer::ALL {
                self.dialog_timers.cancel((id, timer));
            }
            self.events
                .push_back(Event::DialogTerminated { dialog: id, reason });
        }
    }

    /// Ends every dialog created by INVITE transaction `tx`.
    pub(crate) fn end_invite_dialogs(
        &mut self,
        _now: Instant,
        tx: TransactionId,
        reason: TerminationReason,
    ) {
        for id in self.invite_dialogs.remove(&tx).unwrap_or_default() {
            let early = self
                .sessions
                .get(&id)
                .is_some_and(|s| s.dialog.state == DialogState::Early);
            if early {
                self.end_dialog(id, reason);
            } else if let Some(session) = self.sessions.get_mut(&id) {
                // A re-INVITE failed: the dialog lives on.
                session.server_invite = None;
                session.client_invite = None;
                session.dialog.offer_answer.rollback();
            }
        }
    }

    pub(crate) fn dialog_timer(&mut self, now: Instant, id: DialogId, timer: DialogTimer) {
        let t2 = self.transactions.timer_values().t2;
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        match timer {
            DialogTimer::Retransmit2xx => {
                if let Some(pending) = session.pending_2xx.as_mut() {
                    pending.interval = (pending.interval * 2).min(t2);
                    let (to, bytes, interval) =
                        (pending.to, pending.bytes.clone(), pending.interval);
                    self.transmits
                        .push_back(crate::peer::Transmit { to, bytes });
                    self.dialog_timers
                        .set((id, DialogTimer::Retransmit2xx), now + interval);
                }
            }
            DialogTimer::AckTimeout => {
                if session.pending_2xx.take().is_some() {
                    self.dialog_timers.cancel((id, DialogTimer::Retransmit2xx));
                    self.send_bye_internal(now, id);
                    self.end_dialog(id, TerminationReason::AckTimeout);
                }
            }
            DialogTimer::RetransmitProvisional => {
                if let Some(pending) = session.pending_provisional.as_mut() {
                    pending.interval *= 2;
                    let (to, bytes, interval) =
                        (pending.to, pending.bytes.clone(), pending.interval);
                    self.transmits
                        .push_back(crate::peer::Transmit { to, bytes });
                    self.dialog_timers
                        .set((id, DialogTimer::RetransmitProvisional), now + interval);
                }
            }
            DialogTimer::PrackTimeout => {
                if let Some(pending) = session.pending_provisional.take() {
                    self.dialog_timers
                        .cancel((id, DialogTimer::RetransmitProvisional));
                    // End the dialog first so it reports why, then fail the INVITE.
                    self.end_dialog(id, TerminationReason::PrackTimeout);
                    let _ = self.respond_status(
                        now,
                        pending.tx,
                        500,
                        "Reliable Provisional Not Acknowledged",
                    );
                }
            }
            DialogTimer::SessionRefresh => self.refresh_session(now, id),
            DialogTimer::SessionExpiry => {
                self.send_bye_internal(now, id);
                self.end_dialog(id, TerminationReason::SessionExpired);
            }
        }
    }

    /// Sends BYE in dialog `id` (the dialog is ended by the caller).
    pub(crate) fn send_bye_internal(&mut self, now: Instant, id: DialogId) {
        let Some(session) = self.sessions.get(&id) else {
            return;
        };
        let peer = session.dialog.peer;
        let via = self.new_via(peer.transport);
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let bye = session.dialog.build_request(Method::Bye, &via, None);
        if let Ok(tx) = self.transactions.send_request(now, bye, peer) {
            self.tx_dialog.insert(tx, id);
        }
    }

    pub(crate) fn product_header(&self) -> Header {
        Header::new(HeaderName::UserAgent, self.config.product.as_bytes())
    }

    /// Adds the capability headers every dialog-creating message carries.
    pub(crate) fn add_dialog_headers(&self, message: &mut Message, transport: TransportKind) {
        message.push_typed(HeaderName::Contact, &self.contact(transport));
        super::add_capabilities(message);
    }
}
