//! Every way a call ends goes through [`Switch::release`]: both legs' dialogs and media
//! legs, pending INVITEs, the queue place, timers, limits and the agent's state are cleaned
//! up in one place, and the final record is written.

use std::time::Instant;

use cec_sip::{TerminationReason, TransactionId};

use super::{CallTimer, Env, Role, Switch};
use crate::call::{CallNo, CallPhase};
use crate::config::Target;
use crate::output::{ReleasedBy, Value};

/// The longest a release announcement may play.
const ANNOUNCEMENT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// How a call ends.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    pub by: ReleasedBy,
    pub cause: String,
    /// Status for a caller not answered yet.
    pub status: (u16, &'static str),
}

impl Ending {
    pub fn cancelled() -> Ending {
        Ending {
            by: ReleasedBy::Caller,
            cause: "caller cancelled".to_owned(),
            status: (487, "Request Terminated"),
        }
    }

    pub fn caller(cause: &str) -> Ending {
        Ending {
            by: ReleasedBy::Caller,
            cause: cause.to_owned(),
            status: (487, "Request Terminated"),
        }
    }

    pub fn agent(cause: &str) -> Ending {
        Ending {
            by: ReleasedBy::Agent,
            cause: cause.to_owned(),
            status: (480, "Temporarily Unavailable"),
        }
    }

    pub fn system(cause: &str) -> Ending {
        Ending {
            by: ReleasedBy::System,
            cause: cause.to_owned(),
            status: (480, "Temporarily Unavailable"),
        }
    }
}

fn termination_cause(reason: TerminationReason) -> String {
    match reason {
        TerminationReason::RemoteBye => "hung up".to_owned(),
        TerminationReason::LocalBye => "released by us".to_owned(),
        TerminationReason::Cancelled => "cancelled".to_owned(),
        TerminationReason::Rejected(status) => format!("rejected with {status}"),
        TerminationReason::AckTimeout => "no ACK".to_owned(),
        TerminationReason::PrackTimeout => "no PRACK".to_owned(),
        TerminationReason::SessionExpired => "session timer expired".to_owned(),
        TerminationReason::TransactionFailed(status) => {
            format!("in-dialog request failed with {status}")
        }
        _ => "dialog ended".to_owned(),
    }
}

impl Switch {
    /// A dialog of the call ended.
    pub(crate) fn on_dialog_terminated(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        role: Role,
        reason: TerminationReason,
    ) {
        let ending = match (role, reason) {
            (Role::Customer, TerminationReason::RemoteBye) => Ending::caller("caller hung up"),
            (Role::Customer, TerminationReason::Cancelled | TerminationReason::Rejected(487)) => {
                Ending::cancelled()
            }
            (Role::Agent, TerminationReason::RemoteBye) => Ending::agent("agent hung up"),
            (Role::Agent, reason) => Ending::system(&format!(
                "agent's dialog ended: {}",
                termination_cause(reason)
            )),
            (_, reason) => Ending::system(&format!(
                "caller's dialog ended: {}",
                termination_cause(reason)
            )),
        };
        self.release(now, env, no, ending);
    }

    /// A transaction of the call timed out or its transport failed.
    pub(crate) fn on_tx_timeout(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: CallNo,
        role: Role,
        tx: TransactionId,
    ) {
        match role {
            Role::Customer => self.release(
                now,
                env,
                no,
                Ending::system("caller's INVITE transaction failed"),
            ),
            Role::Agent => self.agent_fork_failed(now, env, no, tx, 408),
            Role::Renegotiation => {
                self.by_tx.remove(&tx);
                self.release(
                    now,
                    env,
                    no,
                    Ending::system("caller did not answer the renegotiation"),
                );
            }
        }
    }

    /// The queue's longest wait passed.
    pub(crate) fn on_wait_limit(&mut self, now: Instant, env: &mut Env<'_>, no: CallNo) {
        let Some(call) = self.calls.get(&no) else {
            return;
        };
        if call.phase != CallPhase::Queued {
            return;
        }
        let tenant = call.tenant.clone();
        let Some(queue) = call.queue.clone() else {
            return;
        };
        let target = self.config.queue(&tenant, &queue).map_or(
            Target::Release {
                prompt: None,
                status: 480,
            },
            |q| q.on_wait_timeout.clone(),
        );
        if let Target::Queue(next) = &target
            && call.hops < super::inbound::MAX_HOPS
            && *next != queue
            && self.config.queue(&tenant, next).is_some()
        {
            let next = next.clone();
            self.acd.queues().remove(&tenant, &queue, no);
            if let Some(call) = self.calls.get_mut(&no) {
                call.hops += 1;
                call.queued_at = Some(now);
            }
            self.enqueue(now, env, no, &next, false);
            return;
        }
        if let Target::Release {
            prompt: Some(prompt),
            ..
        } = target
        {
            self.acd.queues().remove(&tenant, &queue, no);
            if let Some(call) = self.calls.get_mut(&no) {
                call.release_after_announcement = Some((
                    480,
                    "Temporarily Unavailable",
                    "waited too long in the queue".into(),
                ));
            }
            self.announce(now, env, no, prompt);
            return;
        }
        self.release(now, env, no, Ending::system("waited too long in the queue"));
    }

    /// Plays `prompt` to the caller; [`Switch::announcement_over`] then releases the call as
    /// its `release_after_announcement` says (or after [`ANNOUNCEMENT_LIMIT`], should the
    /// end of the playback never be reported).
    pub(crate) fn announce(&mut self, now: Instant, env: &mut Env<'_>, no: CallNo, prompt: String) {
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        call.phase = CallPhase::Announcing;
        let (leg, tenant) = (call.customer.side.leg, call.tenant.clone());
        env.media
            .play(leg, crate::env::Playback::Prompt { tenant, prompt });
        self.timers
            .set((no, CallTimer::AnnouncementLimit), now + ANNOUNCEMENT_LIMIT);
    }

    /// The release announcement ended (or took too long).
    pub(crate) fn announcement_over(&mut self, now: Instant, env: &mut Env<'_>, no: CallNo) {
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        let Some((status, reason, cause)) = call.release_after_announcement.take() else {
            return;
        };
        let ending = Ending {
            by: ReleasedBy::System,
            cause,
            status: (status, reason),
        };
        self.release(now, env, no, ending);
    }

    /// Ends call `no` (see the module docs).
    pub(crate) fn release(&mut self, now: Instant, env: &mut Env<'_>, no: CallNo, ending: Ending) {
        let Some(mut call) = self.calls.remove(&no) else {
            return;
        };
        let customer = &call.customer;
        self.by_tx.remove(&customer.invite);
        if let Some(tx) = customer.renegotiation {
            self.by_tx.remove(&tx);
        }
        if let Some(dialog) = customer.side.dialog {
            self.by_dialog.remove(&dialog);
        }
        self.by_leg.remove(&customer.side.leg);
        env.media.release(customer.side.leg);
        if customer.answered {
            if ending.by != ReleasedBy::Caller
                && let Some(dialog) = customer.side.dialog
            {
                let _ = env.endpoint.bye(now, dialog);
            }
        } else {
            // Already answered 487 by the endpoint when the caller cancelled.
            let (status, reason) = ending.status;
            let _ = env
                .endpoint
                .respond_status(now, customer.invite, status, reason);
            call.record.sip_status = Some(status);
            call.record.sip_reason = Some(reason.to_owned());
        }
        let mut agent_ref = None;
        if let Some(agent) = call.agent.take() {
            for tx in &agent.invites {
                self.by_tx.remove(tx);
                let _ = env.endpoint.cancel(now, *tx);
                self.abandoned.insert(*tx);
            }
            if let Some(dialog) = agent.side.dialog {
                self.by_dialog.remove(&dialog);
                if ending.by != ReleasedBy::Agent {
                    let _ = env.endpoint.bye(now, dialog);
                }
            }
            self.by_leg.remove(&agent.side.leg);
            env.media.release(agent.side.leg);
            if agent.answered {
                let wrap_up = call
                    .queue
                    .as_deref()
                    .and_then(|q| self.config.queue(&call.tenant, q))
                    .map(|q| q.wrap_up)
                    .unwrap_or_default();
                self.acd.call_ended(now, &agent.agent, no, wrap_up);
                call.record.agent_quality = Some(agent.side.quality);
            } else {
                self.acd.ring_failed(now, &agent.agent, no, None);
            }
            agent_ref = Some(agent.agent);
        }
        if let Some(queue) = &call.queue {
            self.acd.queues().remove(&call.tenant, queue, no);
        }
        self.timers.cancel((no, CallTimer::WaitLimit));
        self.timers.cancel((no, CallTimer::RingTimeout));
        self.timers.cancel((no, CallTimer::AnnouncementLimit));
        self.trunk_limits.release(&call.trunk);
        self.tenant_limits.release(&call.tenant);
        call.record.ended_ms = Some(self.settings.wall.ms(now));
        call.record.released_by = Some(ending.by);
        call.record.release_cause = Some(ending.cause.clone());
        call.record.caller_quality = Some(call.customer.side.quality);
        self.stats.calls_ended += 1;
        if let Some(agent) = &agent_ref {
            self.emit_agent(
                now,
                &call.tenant,
                &agent.work_no,
                "AgentEvent_Call_Release",
                Some(&call.id),
                vec![],
            );
            if ending.by == ReleasedBy::Caller {
                self.emit_agent(
                    now,
                    &call.tenant,
                    &agent.work_no,
                    "AgentEvent_Customer_Release",
                    Some(&call.id),
                    vec![("number", Value::Text(call.record.caller.clone()))],
                );
            }
        }
        self.emit_call(
            now,
            &call,
            "CallEvent_Released",
            vec![
                ("released_by", Value::Text(ending.by.as_str().to_owned())),
                ("cause", Value::Text(ending.cause)),
            ],
        );
        self.emit_record(&call.record);
    }
}
