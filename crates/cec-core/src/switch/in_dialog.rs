//! Requests inside a call's dialogs: re-INVITE and UPDATE (codec changes, and hold and
//! resume from the agent's phone: the caller hears hold music meanwhile), INFO.

use std::time::Instant;

use bytes::Bytes;
use cec_sdp::Direction;
use cec_sip::TransactionId;
use cec_sip_msg::{Message, Method};

use super::caller_media::{apply_stream, parse_sdp};
use super::{Env, Role, Switch};
use crate::call::{CallNo, CallPhase, Side};
use crate::env::Playback;
use crate::output::Value;

impl Switch {
    pub(crate) fn on_dialog_request(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        role: Role,
        tx: TransactionId,
        request: &Message,
    ) {
        match request.method() {
            Some(Method::Invite | Method::Update) => {
                self.on_reoffer(now, env, no, role, tx, request);
            }
            Some(Method::Info) => {
                let _ = env.endpoint.respond_status(now, tx, 200, "OK");
            }
            _ => {
                let _ = env.endpoint.respond_status(now, tx, 501, "Not Implemented");
            }
        }
    }

    fn on_reoffer(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        role: Role,
        tx: TransactionId,
        request: &Message,
    ) {
        let Some(call) = self.calls.get_mut(&no) else {
            let _ = env
                .endpoint
                .respond_status(now, tx, 481, "Call/Transaction Does Not Exist");
            return;
        };
        let side = match role {
            Role::Agent => match call.agent.as_mut() {
                Some(agent) => &mut agent.side,
                None => {
                    let _ = env.endpoint.respond_status(
                        now,
                        tx,
                        481,
                        "Call/Transaction Does Not Exist",
                    );
                    return;
                }
            },
            _ => &mut call.customer.side,
        };
        if request.body().is_empty() {
            // No offer (session refresh or offerless re-INVITE): our last SDP again.
            let body = side.sdp.last_sent().map(|sdp| Bytes::from(sdp.to_string()));
            let _ = env.endpoint.answer(now, tx, body);
            return;
        }
        let Some((body, direction)) = reanswer(side, env, request.body()) else {
            let _ = env
                .endpoint
                .respond_status(now, tx, 488, "Not Acceptable Here");
            return;
        };
        let _ = env.endpoint.answer(now, tx, Some(body));
        if role != Role::Agent {
            return;
        }
        // The agent's phone holds when it stops sending to us (our answer is recvonly or
        // inactive), and resumes when it sends again.
        let held = matches!(direction, Direction::RecvOnly | Direction::Inactive);
        let (customer_leg, agent_leg) = match call.agent.as_ref() {
            Some(agent) => (call.customer.side.leg, agent.side.leg),
            None => return,
        };
        match (call.phase, held) {
            (CallPhase::Talking, true) => {
                call.phase = CallPhase::Held;
                let music = call
                    .queue
                    .as_deref()
                    .and_then(|q| self.config.queue(&call.tenant, q))
                    .and_then(|q| q.hold_music.clone());
                env.media.play(
                    customer_leg,
                    Playback::Hold {
                        tenant: call.tenant.clone(),
                        music,
                        announcement: None,
                    },
                );
                let call = &self.calls[&no];
                let (tenant, id) = (call.tenant.clone(), call.id.clone());
                let agent = call.record.agent.clone().unwrap_or_default();
                self.emit_agent(now, &tenant, &agent, "AgentEvent_Hold", Some(&id), vec![]);
            }
            (CallPhase::Held, false) => {
                call.phase = CallPhase::Talking;
                env.media.bridge(customer_leg, agent_leg);
                let call = &self.calls[&no];
                let (tenant, id) = (call.tenant.clone(), call.id.clone());
                let agent = call.record.agent.clone().unwrap_or_default();
                self.emit_agent(
                    now,
                    &tenant,
                    &agent,
                    "AgentEvent_Talking",
                    Some(&id),
                    vec![("resumed", Value::Int(1))],
                );
            }
            _ => {}
        }
    }
}

/// Answers a re-offer on the side's port, the current codec first; applies the new terms
/// to its media leg. Returns the answer and our negotiated direction.
fn reanswer(side: &mut Side, env: &mut Env<'_>, body: &Bytes) -> Option<(Bytes, Direction)> {
    let offer = parse_sdp(body)?;
    let answer = side
        .sdp
        .answer(&offer, &side.caps, vec![side.port], Direction::SendRecv)
        .ok()?;
    let stream = answer.media.audio()?;
    if !apply_stream(side, stream, env.media) {
        return None;
    }
    Some((Bytes::from(answer.sdp.to_string()), stream.direction))
}
