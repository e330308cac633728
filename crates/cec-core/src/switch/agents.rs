//! From a queued call to a bridged one: pick the agent, ring every registered contact of
//! the agent's phone (first answer wins, the rest are cancelled), bridge on answer and
//! renegotiate the caller's side; a phone that does not answer makes the agent Busy and
//! puts the call back at the head of its queue.

use std::time::Instant;

use bytes::Bytes;
use cec_acd::{AgentRef, BusyCause};
use cec_media::{LegConfig, StreamIds};
use cec_sdp::{Codec, Direction, LocalCapabilities, LocalSdpSession, NegotiatedStream};
use cec_sip::{DialogId, OutgoingInvite, TransactionId};
use cec_sip_msg::{Header, HeaderName, Message, Method, NameAddr, Uri};
use tracing::debug;

use super::caller_media::{apply_stream, parse_sdp, preferring};
use super::release::Ending;
use super::{CallTimer, Env, Role, Switch};
use crate::call::{AgentLeg, CallNo, CallPhase, Side};
use crate::config::RenegotiationMethod;
use crate::output::Value;

impl Switch {
    /// Hands the longest-waiting call that has an available agent to that agent.
    /// Returns whether it did something.
    pub(crate) fn dispatch_one(&mut self, now: Instant, env: &mut Env<'_>) -> bool {
        if self.acd.queue_state().total() == 0 {
            return false;
        }
        for (tenant, queue, waiting) in self.acd.queue_state().heads() {
            let locations = env.locations;
            let strategy = self
                .config
                .queue(&tenant, &queue)
                .map(|q| q.strategy)
                .unwrap_or_default();
            // The registrar lookup that found the picked agent reachable also gives the
            // contacts to ring: kept, not looked up again.
            let found = std::cell::RefCell::new(Vec::new());
            let picked = self.acd.pick(&tenant, &queue, strategy, |agent| {
                let contacts = locations.contacts(now, &agent.phone);
                let reachable = !contacts.is_empty();
                if reachable {
                    *found.borrow_mut() = contacts;
                }
                reachable
            });
            if let Some(agent) = picked {
                self.acd.queues().remove(&tenant, &queue, waiting.call);
                if self.ring(now, env, waiting.call, &agent, found.into_inner()) {
                    return true;
                }
                // Could not ring (no media ports): back to the head; try again on the
                // next change rather than spin now.
                self.acd
                    .queues()
                    .requeue_front(&tenant, &queue, waiting.call, waiting.since);
                return false;
            }
        }
        false
    }

    fn ring(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        agent: &AgentRef,
        contacts: Vec<crate::env::Contact>,
    ) -> bool {
        let Some(call) = self.calls.get(&no) else {
            return false;
        };
        let Some(record) = self.acd.agent(agent).cloned() else {
            return false;
        };
        let ring_timeout = call
            .queue
            .as_deref()
            .and_then(|q| self.config.queue(&call.tenant, q))
            .map(|q| q.ring_timeout)
            .unwrap_or(std::time::Duration::from_secs(20));
        let address = match contacts.first() {
            Some(contact) => env.media.sdp_address(contact.peer.addr),
            None => return false,
        };
        let ids = StreamIds::random(&mut self.random);
        let Ok(mut leg_config) =
            LegConfig::from_negotiated(&unanswered_stream(), ids, self.settings.ntp)
        else {
            return false;
        };
        leg_config.rtp_timeout = self.settings.rtp_timeout;
        let Some(allocated) = env.media.allocate(leg_config) else {
            // No ports: leave the call queued; the next change retries.
            debug!(call = %call.id, "no media ports to ring an agent");
            return false;
        };
        let mut sdp = LocalSdpSession::new((self.random)() >> 1, 1, address);
        let offer = Bytes::from(
            sdp.offer(
                &LocalCapabilities::default(),
                allocated.port,
                Direction::SendRecv,
            )
            .to_string(),
        );
        let caller = call.record.caller.clone();
        let host = self.settings.sip_host.clone();
        let mut invites = Vec::new();
        for contact in contacts {
            let (Some(from), Some(to)) = (
                name_addr(&format!("sip:{caller}@{host}"), Some(&caller)),
                name_addr(&format!("sip:{}@{host}", record.phone), None),
            ) else {
                continue;
            };
            let mut extra_headers = Vec::new();
            if record.auto_answer {
                // Understood by most SIP phones (Polycom, Yealink, baresip, Linphone).
                extra_headers.push(Header::new(
                    HeaderName::Other(Bytes::from_static(b"Call-Info")),
                    b"<sip:opencec>;answer-after=0",
                ));
            }
            let outgoing = OutgoingInvite {
                request_uri: contact.uri.clone(),
                from,
                to,
                destination: contact.peer,
                sdp: Some(offer.clone()),
                supports_100rel: false,
                session_expires: None,
                extra_headers,
                fallback_destinations: Vec::new(),
                credentials: None,
            };
            match env.endpoint.invite(now, outgoing) {
                Ok(tx) => invites.push(tx),
                Err(error) => debug!(%error, agent = %agent, "INVITE to a contact failed"),
            }
        }
        let Some(call) = self.calls.get_mut(&no) else {
            return false;
        };
        if invites.is_empty() {
            env.media.release(allocated.leg);
            return false;
        }
        for tx in &invites {
            self.by_tx.insert(*tx, (no, Role::Agent));
        }
        self.by_leg.insert(allocated.leg, (no, Role::Agent));
        call.agent = Some(AgentLeg {
            agent: agent.clone(),
            invites,
            side: Side {
                sdp,
                caps: LocalCapabilities::default(),
                leg: allocated.leg,
                port: allocated.port,
                remote: (None, None),
                dialog: None,
                quality: Default::default(),
            },
            answered: false,
        });
        call.phase = CallPhase::Ringing;
        if call.record.ringing_ms.is_none() {
            call.record.ringing_ms = Some(self.settings.wall.ms(now));
        }
        let _ = self.acd.offer(now, agent, no);
        self.timers
            .set((no, CallTimer::RingTimeout), now + ring_timeout);
        self.emit_call_no(
            now,
            no,
            "CallEvent_Ringing",
            vec![("agent", Value::Text(agent.work_no.clone()))],
        );
        true
    }

    /// A response to one of the call's client transactions.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        role: Role,
        tx: TransactionId,
        dialog: Option<DialogId>,
        response: &Message,
    ) {
        let status = response.status().unwrap_or(500);
        match role {
            Role::Agent => match status {
                100..=199 => {}
                200..=299 => self.agent_answered(now, env, no, tx, dialog, response),
                _ => self.agent_fork_failed(now, env, no, tx, status),
            },
            Role::Renegotiation => self.renegotiation_answered(now, env, no, tx, status, response),
            Role::Customer => {}
        }
    }

    /// A 2xx for an INVITE we gave up on: hang that phone up.
    pub(crate) fn on_abandoned_response(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        tx: TransactionId,
        dialog: Option<DialogId>,
        response: &Message,
    ) {
        let status = response.status().unwrap_or(500);
        if (200..300).contains(&status)
            && let Some(dialog) = dialog
        {
            let _ = env.endpoint.bye(now, dialog);
        }
        if status >= 200 {
            self.abandoned.remove(&tx);
        }
    }

    fn agent_answered(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        tx: TransactionId,
        dialog: Option<DialogId>,
        response: &Message,
    ) {
        let Some(dialog) = dialog else {
            return;
        };
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        let Some(agent) = call.agent.as_mut() else {
            return;
        };
        if agent.answered {
            // A second fork answered too: only one phone gets the call.
            let _ = env.endpoint.bye(now, dialog);
            return;
        }
        let negotiated =
            parse_sdp(response.body()).and_then(|sdp| agent.side.sdp.process_answer(&sdp).ok());
        let Some(stream) = negotiated.as_ref().and_then(|m| m.audio()).cloned() else {
            debug!(call = %call.id, "agent's answer has no usable SDP; hanging up that phone");
            let _ = env.endpoint.bye(now, dialog);
            self.agent_fork_failed(now, env, no, tx, 488);
            return;
        };
        agent.answered = true;
        agent.side.dialog = Some(dialog);
        apply_stream(&mut agent.side, &stream, env.media);
        for other in agent
            .invites
            .drain(..)
            .filter(|t| *t != tx)
            .collect::<Vec<_>>()
        {
            let _ = env.endpoint.cancel(now, other);
            self.by_tx.remove(&other);
            self.abandoned.insert(other);
        }
        self.by_tx.remove(&tx);
        self.by_dialog.insert(dialog, (no, Role::Agent));
        env.media.bridge(call.customer.side.leg, agent.side.leg);
        call.phase = CallPhase::Talking;
        call.record.answered_ms = Some(self.settings.wall.ms(now));
        call.record.agent = Some(agent.agent.work_no.clone());
        let agent_ref = agent.agent.clone();
        self.timers.cancel((no, CallTimer::RingTimeout));
        self.timers.cancel((no, CallTimer::WaitLimit));
        self.acd.answered(now, &agent_ref, no);
        self.stats.calls_bridged += 1;
        self.renegotiate_customer(now, env, no, &stream.codec);
        let record = self.calls[&no].record.clone();
        self.emit_call_no(
            now,
            no,
            "CallEvent_Answered",
            vec![("agent", Value::Text(agent_ref.work_no.clone()))],
        );
        self.emit_record(&record);
    }

    /// Offers the caller's side again, the agent's codec first (so neither side needs
    /// transcoding when the caller accepts it), by UPDATE or re-INVITE as the trunk says.
    pub(crate) fn renegotiate_customer(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        codec: &Codec,
    ) {
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        let Some(dialog) = call.customer.side.dialog else {
            return;
        };
        if call.customer.renegotiation.is_some() {
            call.customer.renegotiate_again = true;
            return;
        }
        let method = call.customer.renegotiation_method;
        let caps = preferring(codec);
        let side = &mut call.customer.side;
        let offer = Bytes::from(
            side.sdp
                .offer(&caps, side.port, Direction::SendRecv)
                .to_string(),
        );
        let sent = if method == RenegotiationMethod::Update && call.customer.allows_update {
            env.endpoint.request_in_dialog(
                now,
                dialog,
                Method::Update,
                Some(("application/sdp", offer)),
            )
        } else {
            env.endpoint.reinvite(now, dialog, offer)
        };
        match sent {
            Ok(tx) => {
                call.customer.renegotiation = Some(tx);
                self.by_tx.insert(tx, (no, Role::Renegotiation));
            }
            Err(error) => debug!(call = %call.id, %error, "caller renegotiation not sent"),
        }
    }

    fn renegotiation_answered(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        tx: TransactionId,
        status: u16,
        response: &Message,
    ) {
        if status < 200 {
            return;
        }
        self.by_tx.remove(&tx);
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        call.customer.renegotiation = None;
        if (200..300).contains(&status) {
            let side = &mut call.customer.side;
            let stream = parse_sdp(response.body())
                .and_then(|sdp| side.sdp.process_answer(&sdp).ok())
                .and_then(|m| m.audio().cloned());
            if let Some(stream) = stream {
                apply_stream(side, &stream, env.media);
            }
        } else if matches!(status, 408 | 481) {
            self.release(now, env, no, Ending::system("caller's dialog is gone"));
            return;
        }
        // Other failures (the trunk refuses the UPDATE): the bridge transcodes.
        let again = std::mem::take(&mut call.customer.renegotiate_again);
        if again
            && let Some(codec) = call
                .agent
                .as_ref()
                .and_then(|a| a.side.sdp.negotiated())
                .and_then(|m| m.audio())
                .map(|s| s.codec.clone())
        {
            self.renegotiate_customer(now, env, no, &codec);
        }
    }

    /// One forked INVITE failed; when none is left the agent did not take the call.
    pub(crate) fn agent_fork_failed(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        tx: TransactionId,
        status: u16,
    ) {
        self.by_tx.remove(&tx);
        let Some(agent) = self.calls.get_mut(&no).and_then(|c| c.agent.as_mut()) else {
            return;
        };
        agent.invites.retain(|t| *t != tx);
        if agent.answered || !agent.invites.is_empty() {
            return;
        }
        let cause = if status == 408 {
            BusyCause::NoAnswer
        } else {
            BusyCause::Rejected
        };
        self.ring_failed(now, env, no, cause, status);
    }

    /// The ring timeout: cancel every fork, the agent is Busy "no answer".
    pub(crate) fn on_ring_timeout(&mut self, now: Instant, env: &mut Env<'_>, no: CallNo) {
        let Some(agent) = self.calls.get_mut(&no).and_then(|c| c.agent.as_mut()) else {
            return;
        };
        if agent.answered {
            return;
        }
        for tx in agent.invites.drain(..).collect::<Vec<_>>() {
            let _ = env.endpoint.cancel(now, tx);
            self.by_tx.remove(&tx);
            self.abandoned.insert(tx);
        }
        self.ring_failed(now, env, no, BusyCause::NoAnswer, 408);
    }

    /// The agent side is gone before answering: free it, make the agent Busy, and put the
    /// call back at the head of its queue.
    fn ring_failed(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        cause: BusyCause,
        status: u16,
    ) {
        self.timers.cancel((no, CallTimer::RingTimeout));
        let event = if cause == BusyCause::NoAnswer {
            "AgentEvent_No_Answer"
        } else {
            "AgentEvent_Connect_Fail"
        };
        let Some(work_no) = self
            .calls
            .get(&no)
            .and_then(|c| c.agent.as_ref())
            .map(|a| a.agent.work_no.clone())
        else {
            return;
        };
        // Before the agent side is taken off the call, so the event names its agent.
        self.emit_call_no(
            now,
            no,
            event,
            vec![
                ("agent", Value::Text(work_no)),
                ("status", Value::Int(i64::from(status))),
            ],
        );
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        let Some(agent) = call.agent.take() else {
            return;
        };
        for tx in &agent.invites {
            self.by_tx.remove(tx);
        }
        self.by_leg.remove(&agent.side.leg);
        env.media.release(agent.side.leg);
        self.acd.ring_failed(now, &agent.agent, no, Some(cause));
        let queue = self.calls[&no].queue.clone().unwrap_or_default();
        self.enqueue(now, env, no, &queue, true);
    }
}

/// The terms a leg starts with before the agent's answer: PCMA, telephone-event 101, no
/// remote address yet (the answer and latching set it).
pub(crate) fn unanswered_stream() -> NegotiatedStream {
    NegotiatedStream {
        index: 0,
        local_port: 0,
        remote_address: "0.0.0.0".to_owned(),
        remote_ip: None,
        remote_rtp_port: 0,
        remote_rtcp_port: None,
        remote_rtcp_address: None,
        codec: Codec::pcma(),
        telephone_event: Some(101),
        ptime: 20,
        direction: Direction::SendRecv,
    }
}

fn name_addr(uri: &str, display: Option<&str>) -> Option<NameAddr> {
    let uri = Uri::parse(&Bytes::from(uri.to_owned())).ok()?;
    let mut name_addr = NameAddr::new(uri);
    if let Some(display) = display {
        name_addr.display_name = Some(Bytes::from(display.to_owned()));
    }
    Some(name_addr)
}
