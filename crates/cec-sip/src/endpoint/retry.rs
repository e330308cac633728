//! Re-sending an INVITE that did not get through: to the next resolved target after a
//! timeout or 503 (RFC 3263 §4.3), or with credentials after a 401/407 (RFC 3261 §22.2). The
//! call keeps its Call-ID and tags; the application learns the new transaction from
//! [`Event::Retargeted`].

use std::time::Instant;

use cec_sip_msg::{CSeq, Header, HeaderName, Message, Method};

use super::{Endpoint, Event};
use crate::transaction::TransactionId;

impl Endpoint {
    /// Answers a 401/407 to our INVITE `tx` with credentials (new branch, next CSeq, same
    /// Call-ID and tags); returns the new transaction, or `None` without credentials or when
    /// they were refused.
    pub(super) fn retry_with_credentials(
        &mut self,
        now: Instant,
        tx: TransactionId,
        challenge: &Message,
    ) -> Option<TransactionId> {
        let entry = self.client_invites.get(&tx)?;
        if entry.dialog.is_some() {
            return None;
        }
        let mut client = self.invite_auth.remove(&tx)?;
        let (name, value) = client.authorize(&entry.request, challenge).ok()?;
        let destination = self.transactions.client_destination(tx)?;
        let mut entry = self.client_invites.remove(&tx)?;
        let via = self.new_via(destination.transport);
        let mut request = entry.request.clone();
        let cseq = request.cseq().ok()?;
        request.remove_first(&HeaderName::Via);
        request.insert_top(Header::typed(HeaderName::Via, &via));
        request.remove_header(&HeaderName::Authorization);
        request.remove_header(&HeaderName::ProxyAuthorization);
        request.push_header(Header::new(name, value.as_bytes()));
        request.set_typed(
            HeaderName::CSeq,
            &CSeq {
                seq: cseq.seq.wrapping_add(1),
                method: Method::Invite,
            },
        );
        let new_tx = self
            .transactions
            .send_request(now, request.clone(), destination)
            .ok()?;
        entry.request = request;
        self.client_invites.insert(new_tx, entry);
        self.invite_auth.insert(new_tx, client);
        self.events.push_back(Event::Retargeted {
            from: tx,
            to: new_tx,
            destination,
        });
        Some(new_tx)
    }

    /// Re-sends INVITE `tx` to its next failover target with a new branch; returns the new
    /// transaction, or `None` when no target is left.
    pub(super) fn fail_over(&mut self, now: Instant, tx: TransactionId) -> Option<TransactionId> {
        let entry = self.client_invites.get(&tx)?;
        if entry.got_response || entry.remaining.is_empty() || entry.dialog.is_some() {
            return None;
        }
        let mut entry = self.client_invites.remove(&tx)?;
        let destination = entry.remaining.remove(0);
        let via = self.new_via(destination.transport);
        let mut request = entry.request.clone();
        request.remove_first(&HeaderName::Via);
        request.insert_top(Header::typed(HeaderName::Via, &via));
        let new_tx = self
            .transactions
            .send_request(now, request.clone(), destination)
            .ok()?;
        entry.request = request;
        self.client_invites.insert(new_tx, entry);
        // The next target may challenge too.
        if let Some(client) = self.invite_auth.remove(&tx) {
            self.invite_auth.insert(new_tx, client);
        }
        self.events.push_back(Event::Retargeted {
            from: tx,
            to: new_tx,
            destination,
        });
        Some(new_tx)
    }
}
