//! Dialogs (RFC 3261 §12): identity, early/confirmed state, route set, remote target, CSeq
//! rules, and building in-dialog requests. The behaviour that needs transactions and timers
//! (2xx retransmission, PRACK, re-INVITE/UPDATE, session timers) lives on the endpoint in
//! the sibling modules.

mod offer_answer;

use bytes::Bytes;
use cec_sip_msg::{CSeq, Header, HeaderName, Message, Method, NameAddr, Uri, Via};

use crate::peer::Peer;

pub use offer_answer::{OfferAnswer, OfferAnswerError};

/// Handle of a dialog inside one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub u64);

impl std::fmt::Display for DialogId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dlg{}", self.0)
    }
}

/// The RFC 3261 dialog identifier: Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogKey {
    /// Call-ID.
    pub call_id: Bytes,
    /// Our tag.
    pub local_tag: Bytes,
    /// The peer's tag.
    pub remote_tag: Bytes,
}

/// Which side created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the INVITE.
    Uac,
    /// We received the INVITE.
    Uas,
}

/// Dialog state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, error, timeout).
    Terminated,
}

/// One dialog.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// Handle.
    pub id: DialogId,
    /// RFC 3261 identity.
    pub key: DialogKey,
    /// Who sent the INVITE.
    pub role: Role,
    /// State.
    pub state: DialogState,
    /// Our address (From in our requests), with our tag.
    pub local: NameAddr,
    /// The peer's address (To in our requests), with its tag.
    pub remote: NameAddr,
    /// The peer's Contact: Request-URI of our in-dialog requests.
    pub remote_target: Uri,
    /// Route set, in the order our requests carry it.
    pub route_set: Vec<NameAddr>,
    /// Last CSeq number we used.
    pub local_cseq: u32,
    /// Highest CSeq number the peer used.
    pub remote_cseq: Option<u32>,
    /// Where in-dialog requests go (the flow the dialog was established on).
    pub peer: Peer,
    /// Offer/answer state of the session.
    pub offer_answer: OfferAnswer,
}

/// Why an in-dialog request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CSeqCheck {
    /// In order: process it.
    Accept,
    /// Lower than one already seen: 500 (RFC 3261 §12.2.2).
    OutOfOrder,
}

impl Dialog {
    /// Checks and records the CSeq of an incoming in-dialog request (ACK and CANCEL reuse
    /// their INVITE's number and are not checked).
    pub(crate) fn check_remote_cseq(&mut self, cseq: &CSeq) -> CSeqCheck {
        if matches!(cseq.method, Method::Ack | Method::Cancel) {
            return CSeqCheck::Accept;
        }
        match self.remote_cseq {
            Some(last) if cseq.seq <= last => CSeqCheck::OutOfOrder,
            _ => {
                self.remote_cseq = Some(cseq.seq);
                CSeqCheck::Accept
            }
        }
    }

    /// Updates the remote target from a target refresh request or its 2xx (RFC 3261 §12.2).
    pub(crate) fn refresh_target(&mut self, message: &Message) {
        if let Some(uri) = first_contact_uri(message) {
            self.remote_target = uri;
        }
    }

    /// Builds a request inside the dialog (RFC 3261 §12.2.1.1): Request-URI and Route from
    /// the remote target and route set (loose or strict routing), From/To with tags,
    /// Call-ID, a new CSeq (ACK and CANCEL pass `cseq` explicitly), a Via with `branch`.
    pub fn build_request(&mut self, method: Method, via: &Via, cseq: Option<u32>) -> Message {
        let seq = match cseq {
            Some(seq) => seq,
            None => {
                self.local_cseq = self.local_cseq.wrapping_add(1);
                self.local_cseq
            }
        };
        let strict = self.route_set.first().is_some_and(|r| !is_loose(&r.uri));
        let (request_uri, routes): (Uri, Vec<NameAddr>) = if strict {
            let mut routes: Vec<NameAddr> = self.route_set[1..].to_vec();
            routes.push(NameAddr::new(self.remote_target.clone()));
            (self.route_set[0].uri.clone(), routes)
        } else {
            (self.remote_target.clone(), self.route_set.clone())
        };
        let mut request = Message::request(method.clone(), request_uri);
        request.push_typed(HeaderName::Via, via);
        request.push(HeaderName::MaxForwards, b"70");
        for route in &routes {
            request.push_typed(HeaderName::Route, route);
        }
        request.push_typed(HeaderName::From, &self.local);
        request.push_typed(HeaderName::To, &self.remote);
        request.push_header(Header::new(HeaderName::CallId, &self.key.call_id));
        request.push_typed(HeaderName::CSeq, &CSeq { seq, method });
        request
    }
}

/// The first Contact's URI of a message (a remote target), if any.
pub(crate) fn first_contact_uri(message: &Message) -> Option<Uri> {
    message
        .contacts()
        .ok()
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.address().map(|a| a.uri.clone()))
}

fn is_loose(uri: &Uri) -> bool {
    uri.as_sip().is_some_and(|sip| sip.lr())
}

/// The route set of a dialog from the Record-Route of the message that created it: in order
/// for the UAS (from the request), reversed for the UAC (from the response).
pub(crate) fn route_set(message: &Message, role: Role) -> Vec<NameAddr> {
    let mut routes = message.record_route().unwrap_or_default();
    if role == Role::Uac {
        routes.reverse();
    }
    routes
}
