//! A trunk's INVITE: identify the trunk, admit it against limits, find the called route,
//! answer (100, 180 or reliable 183, 200) and queue the caller with hold music.

use std::time::Instant;

use bytes::Bytes;
use cec_sip::{Peer, TransactionId};
use cec_sip_auth::{AuthOutcome, Ha1};
use cec_sip_msg::{HeaderName, Message, Method};
use tracing::debug;

use super::caller_media::Negotiated;
use super::release::Ending;
use super::{CallTimer, Env, Role, Switch};
use crate::call::{Call, CallPhase, Customer, Side};
use crate::called::{called_number, caller_number};
use crate::config::{Rel100, Target, Trunk};
use crate::env::Playback;
use crate::limits::LimitHit;
use crate::output::{CallRecord, Value};

/// A refusal of a new INVITE: status, reason phrase, and the record's release cause.
pub(crate) struct Refusal {
    pub status: u16,
    pub reason: &'static str,
    pub cause: String,
    pub retry_after: Option<u32>,
    /// An announcement to play (as early media) before the refusal.
    pub prompt: Option<String>,
}

impl Refusal {
    pub(crate) fn new(status: u16, reason: &'static str, cause: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason,
            cause: cause.into(),
            retry_after: None,
            prompt: None,
        }
    }
}

/// Most queue-to-queue overflow hops, against configuration loops.
pub(crate) const MAX_HOPS: u8 = 4;

struct Credentials<'a>(&'a Trunk);

impl cec_sip_auth::CredentialStore for Credentials<'_> {
    fn ha1(&self, username: &str, _realm: &str, algorithm: cec_sip_auth::Algorithm) -> Option<Ha1> {
        let digest = self.0.digest.as_ref().filter(|d| d.username == username)?;
        match algorithm.base() {
            cec_sip_auth::Algorithm::Sha256 => digest.ha1_sha256.clone(),
            _ => digest.ha1_md5.clone(),
        }
    }
}

impl Switch {
    /// A new INVITE that is not for the echo test: from a trunk, or refused.
    pub fn on_invite(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        tx: TransactionId,
        request: &Message,
        source: Peer,
    ) {
        if self.overloaded {
            // Cheapest possible refusal: no routing, no record, no media.
            self.stats.calls_shed += 1;
            if let Some(mut response) = env.endpoint.response(tx, 503, "Service Unavailable") {
                response.push(HeaderName::RetryAfter, b"2");
                response.push(HeaderName::Warning, b"399 opencec \"overloaded\"");
                let _ = env.endpoint.respond(now, tx, &response);
            }
            return;
        }
        let config = self.config.clone();
        let Some(trunk) = config.trunks_from(source.addr.ip()).next() else {
            debug!(%tx, from = %source.addr, "INVITE from an unknown source refused");
            self.stats.calls_refused += 1;
            let _ = env.endpoint.respond_status(now, tx, 403, "Forbidden");
            return;
        };
        if trunk.digest.is_some() && !self.authenticate(now, env, tx, request, source, trunk) {
            return;
        }
        let caller = caller_number(request);
        let called = called_number(request, &trunk.called_number_from).unwrap_or_default();
        let mut record = CallRecord {
            id: self.new_call_id(),
            tenant: trunk.tenant.clone(),
            trunk: trunk.name.clone(),
            access_code: String::new(),
            caller,
            called,
            queue: None,
            agent: None,
            arrived_ms: self.settings.wall.ms(now),
            queued_ms: None,
            ringing_ms: None,
            answered_ms: None,
            ended_ms: None,
            released_by: None,
            release_cause: None,
            sip_status: None,
            sip_reason: None,
            caller_quality: None,
            agent_quality: None,
        };
        // By reference: a refusal after routing still records the access code matched.
        match self.admit(now, env, tx, request, source, trunk, &mut record) {
            Ok(()) => self.stats.calls_admitted += 1,
            Err(refusal) => {
                self.stats.calls_refused += 1;
                self.refuse(now, env, tx, refusal, record);
            }
        }
        // The call may have been queued: offer it to an idle agent now, not at the next
        // SIP event (the caller's ACK).
        self.after_change(now, env);
    }

    fn authenticate(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        tx: TransactionId,
        request: &Message,
        source: Peer,
        trunk: &Trunk,
    ) -> bool {
        let binding = source.addr.ip().to_string();
        let outcome =
            self.digest
                .verify(request, now, true, binding.as_bytes(), &Credentials(trunk));
        let response = match outcome {
            AuthOutcome::Authenticated { .. } => return true,
            AuthOutcome::NoCredentials => {
                self.digest
                    .challenge_response(request, now, false, true, binding.as_bytes())
            }
            AuthOutcome::Stale => {
                self.digest
                    .challenge_response(request, now, true, true, binding.as_bytes())
            }
            AuthOutcome::Rejected(error) => {
                debug!(%tx, trunk = %trunk.name, %error, "trunk INVITE credentials refused");
                self.digest.rejection_response(request, &error)
            }
        };
        let _ = env.endpoint.respond(now, tx, &response);
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn admit(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        tx: TransactionId,
        request: &Message,
        source: Peer,
        trunk: &Trunk,
        record: &mut CallRecord,
    ) -> Result<(), Refusal> {
        let trunk_key = format!("{}/{}", trunk.tenant, trunk.name);
        let limited = |hit: LimitHit, whose: &str| Refusal {
            retry_after: Some(if hit == LimitHit::Rate { 1 } else { 5 }),
            ..Refusal::new(
                503,
                "Service Unavailable",
                match hit {
                    LimitHit::Rate => format!("{whose} calls-per-second limit"),
                    LimitHit::Concurrent => format!("{whose} concurrent-call limit"),
                },
            )
        };
        self.trunk_limits
            .check(now, &trunk_key, trunk.max_calls, trunk.max_cps)
            .map_err(|hit| limited(hit, "trunk"))?;
        if let Some(limits) = self.config.tenants.get(&trunk.tenant) {
            self.tenant_limits
                .check(now, &trunk.tenant, limits.max_calls, limits.max_cps)
                .map_err(|hit| limited(hit, "tenant"))?;
        }
        let (access_code, _extension, target) = self
            .config
            .route(trunk, &record.called)
            .ok_or_else(|| Refusal::new(404, "Not Found", "no called route"))?;
        record.access_code = access_code;
        // A refusal with an announcement is played as early media before its status.
        let (queue, hops, announce) = match self.resolve_target(&trunk.tenant, target, 0) {
            Ok((queue, hops)) => (Some(queue), hops, None),
            Err(refusal) if refusal.prompt.is_some() => (None, 0, Some(refusal)),
            Err(refusal) => return Err(refusal),
        };
        record.queue.clone_from(&queue);
        let late_offer = request.body().is_empty();
        if late_offer && let Some(refusal) = announce {
            // An announcement needs our media answered first; without an offer, refuse.
            return Err(refusal);
        }
        let Negotiated {
            sdp,
            caps,
            allocated,
            remote,
            body: answer,
        } = if late_offer {
            self.offer_to_caller(env, source, trunk)?
        } else {
            self.answer_caller(env, request, source, trunk)?
        };
        // Our offer goes in the 200 of an offerless INVITE (the ACK answers it), not in a
        // reliable 183 (the PRACK would have to answer it).
        let reliable = !late_offer
            && match trunk.rel100 {
                Rel100::Off => false,
                Rel100::Required => true,
                Rel100::Supported => offers_100rel(request),
            };
        let provisional = if reliable || announce.is_some() {
            env.endpoint.provisional(
                now,
                tx,
                183,
                "Session Progress",
                Some(answer.clone()),
                reliable,
            )
        } else {
            env.endpoint
                .provisional(now, tx, 180, "Ringing", None, false)
        };
        let dialog = match provisional {
            Ok(dialog) => dialog,
            Err(error) => {
                // The INVITE is already gone (cancelled in the same batch).
                debug!(%tx, %error, "INVITE gone before ringing; leg released");
                env.media.release(allocated.leg);
                return Ok(());
            }
        };
        self.trunk_limits.admit(now, &trunk_key);
        self.tenant_limits.admit(now, &trunk.tenant);
        let no = self.next_call;
        self.next_call += 1;
        let allows_update = request
            .allow()
            .unwrap_or_default()
            .contains(&Method::Update);
        let call = Call {
            no,
            id: record.id.clone(),
            tenant: trunk.tenant.clone(),
            trunk: trunk_key,
            phase: if announce.is_some() {
                CallPhase::Announcing
            } else {
                CallPhase::Answering
            },
            queue,
            queued_at: None,
            hops,
            customer: Customer {
                invite: tx,
                peer: source,
                side: Side {
                    sdp,
                    caps,
                    leg: allocated.leg,
                    port: allocated.port,
                    remote,
                    dialog: Some(dialog),
                    quality: Default::default(),
                },
                answered: false,
                awaiting_answer: late_offer,
                allows_update,
                renegotiation_method: trunk.renegotiation,
                renegotiation: None,
                renegotiate_again: false,
            },
            agent: None,
            record: record.clone(),
            release_after_announcement: announce
                .as_ref()
                .map(|r| (r.status, r.reason, r.cause.clone())),
        };
        self.by_tx.insert(tx, (no, Role::Customer));
        self.by_dialog.insert(dialog, (no, Role::Customer));
        self.by_leg.insert(allocated.leg, (no, Role::Customer));
        self.emit_call(now, &call, "CallEvent_Arrived", vec![]);
        self.calls.insert(no, call);
        if let Some(refusal) = announce {
            if let Some(prompt) = refusal.prompt {
                self.announce(now, env, no, prompt);
            }
        } else if !reliable {
            self.answer_customer(now, env, no, Some(answer));
        }
        Ok(())
    }

    /// Follows overflow targets to a queue that can take the call now.
    pub(crate) fn resolve_target(
        &self,
        tenant: &str,
        target: Target,
        hops: u8,
    ) -> Result<(String, u8), Refusal> {
        match target {
            Target::Queue(name) => {
                let queue = self.config.queue(tenant, &name).ok_or_else(|| {
                    Refusal::new(480, "Temporarily Unavailable", "queue not configured")
                })?;
                if hops >= MAX_HOPS {
                    return Err(Refusal::new(
                        480,
                        "Temporarily Unavailable",
                        "queue overflow loop",
                    ));
                }
                let waiting = self.acd.queue_state().stats(tenant, &name).waiting;
                if !self.acd.has_staff(tenant, &name) {
                    return self
                        .resolve_target(tenant, queue.on_no_agents.clone(), hops + 1)
                        .map_err(|r| Refusal {
                            cause: format!("no agents signed in ({})", r.cause),
                            ..r
                        });
                }
                if waiting >= queue.max_waiting as usize {
                    return self
                        .resolve_target(tenant, queue.on_full.clone(), hops + 1)
                        .map_err(|r| Refusal {
                            cause: format!("queue full ({})", r.cause),
                            ..r
                        });
                }
                Ok((name, hops))
            }
            Target::Flow(_) => Err(Refusal::new(
                480,
                "Temporarily Unavailable",
                "IVR flows are not available yet",
            )),
            Target::External(_) => Err(Refusal::new(
                480,
                "Temporarily Unavailable",
                "external numbers are not available yet",
            )),
            Target::Release { status, prompt } => Err(Refusal {
                prompt,
                ..Refusal::new(status, reason_phrase(status), "released by queue rule")
            }),
        }
    }

    fn refuse(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        tx: TransactionId,
        refusal: Refusal,
        mut record: CallRecord,
    ) {
        debug!(%tx, status = refusal.status, cause = %refusal.cause, "INVITE refused");
        if let Some(mut response) = env.endpoint.response(tx, refusal.status, refusal.reason) {
            if let Some(seconds) = refusal.retry_after {
                response.push(HeaderName::RetryAfter, seconds.to_string().as_bytes());
            }
            response.push(
                HeaderName::Warning,
                format!("399 opencec \"{}\"", refusal.cause).as_bytes(),
            );
            let _ = env.endpoint.respond(now, tx, &response);
        }
        // Refusals caused by load are not recorded one by one (a flood would write a
        // record per rejected INVITE); routing refusals are.
        if refusal.status == 503 {
            return;
        }
        record.ended_ms = Some(record.arrived_ms);
        record.released_by = Some(crate::output::ReleasedBy::System);
        record.release_cause = Some(refusal.cause);
        record.sip_status = Some(refusal.status);
        record.sip_reason = Some(refusal.reason.to_owned());
        self.emit_record(&record);
    }

    /// The customer PRACKed our reliable 183: now the 200, without SDP — the 183 already
    /// carried our answer, and SDP in the 2xx would open a new offer in the endpoint's
    /// offer/answer state, which then refuses our UPDATE or re-INVITE to the caller.
    pub(crate) fn on_prack(&mut self, now: Instant, env: &mut Env<'_>, no: u64) {
        let Some(call) = self.calls.get(&no) else {
            return;
        };
        if call.customer.answered {
            return;
        }
        self.answer_customer(now, env, no, None);
    }

    /// Sends the 200 to the customer and queues the call.
    fn answer_customer(&mut self, now: Instant, env: &mut Env<'_>, no: u64, answer: Option<Bytes>) {
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        if let Err(error) = env.endpoint.answer(now, call.customer.invite, answer) {
            debug!(call = %call.id, %error, "could not answer the caller");
            self.release(now, env, no, Ending::system("answer failed"));
            return;
        }
        call.customer.answered = true;
        call.record.sip_status = Some(200);
        call.record.sip_reason = Some("OK".to_owned());
        let queue = call.queue.clone().unwrap_or_default();
        self.enqueue(now, env, no, &queue, false);
    }

    /// Puts the call into `queue` with hold music (at the head when an agent failed it).
    pub(crate) fn enqueue(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        no: u64,
        queue: &str,
        head: bool,
    ) {
        let Some(call) = self.calls.get_mut(&no) else {
            return;
        };
        let Some(config) = self.config.queue(&call.tenant, queue).cloned() else {
            self.release(now, env, no, Ending::system("queue not configured"));
            return;
        };
        let since = *call.queued_at.get_or_insert(now);
        if call.record.queued_ms.is_none() {
            call.record.queued_ms = Some(self.settings.wall.ms(now));
        }
        call.queue = Some(queue.to_owned());
        call.record.queue = Some(queue.to_owned());
        call.phase = CallPhase::Queued;
        let tenant = call.tenant.clone();
        env.media.play(
            call.customer.side.leg,
            Playback::Hold {
                tenant: tenant.clone(),
                music: config.hold_music.clone(),
                announcement: config.announcement.clone(),
            },
        );
        let position = if head {
            self.acd.queues().requeue_front(&tenant, queue, no, since);
            1
        } else {
            self.acd.queues().enqueue(&tenant, queue, no, since)
        };
        if !config.max_wait.is_zero() && self.timers.deadline((no, CallTimer::WaitLimit)).is_none()
        {
            self.timers
                .set((no, CallTimer::WaitLimit), since + config.max_wait);
        }
        if !head {
            let record = self.calls[&no].record.clone();
            self.emit_call_no(
                now,
                no,
                "CallEvent_Queued",
                vec![
                    ("queue", Value::Text(queue.to_owned())),
                    ("position", Value::Int(position as i64)),
                ],
            );
            self.emit_record(&record);
        }
    }
}

/// Whether the INVITE says the caller supports (or requires) 100rel.
fn offers_100rel(request: &Message) -> bool {
    let has = |tokens: Vec<Bytes>| tokens.iter().any(|t| t.eq_ignore_ascii_case(b"100rel"));
    has(request.supported().unwrap_or_default()) || has(request.require().unwrap_or_default())
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        403 => "Forbidden",
        404 => "Not Found",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Call Refused",
    }
}
