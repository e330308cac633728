//! The Switch: inbound trunk calls through called routes into skill queues, agents rung on
//! their registered phones, media bridged, every ending cleaned up and recorded.
//!
//! It runs on the SIP driver's task next to the endpoint: the driver hands it the
//! endpoint's events, media events, API commands and the passing of time, with an [`Env`]
//! giving it the endpoint, the media engine and the registrar. It answers at once and
//! queues its outputs (records, events) for [`Switch::poll_output`].

mod agents;
mod caller_media;
mod commands;
mod in_dialog;
mod inbound;
mod notify;
mod release;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cec_acd::Acd;
use cec_media::LegEvent;
use cec_media::quality::NtpClock;
use cec_sip::{DialogId, Endpoint, Event, TimerTable, TransactionId};

use crate::call::{Call, CallNo};
use crate::config::SwitchConfig;
use crate::env::{LegNo, Locations, MediaControl};
use crate::limits::Limits;
use crate::output::{Output, WallClock};

pub use commands::{AgentStatus, Command, CommandError, CommandReply, LiveCall, RequestedState};

/// What the Switch works with on each call: the SIP endpoint, the media engine and the
/// registrar's contacts.
pub struct Env<'a> {
    /// The SIP endpoint.
    pub endpoint: &'a mut Endpoint,
    /// The media engine.
    pub media: &'a mut dyn MediaControl,
    /// Registered phones.
    pub locations: &'a dyn Locations,
}

/// Fixed settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Host for the From/To of INVITEs to agents' phones (our public SIP address).
    pub sip_host: String,
    /// SIP digest realm (trunks that authenticate).
    pub realm: String,
    /// Keys digest nonces.
    pub digest_secret: [u8; 32],
    /// Wall clock for records and events.
    pub wall: WallClock,
    /// NTP mapping for RTCP.
    pub ntp: NtpClock,
    /// A customer or agent leg silent this long (while it should receive) ends the call.
    pub rtp_timeout: Duration,
}

/// Named timers of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallTimer {
    /// The queue's longest wait.
    WaitLimit,
    /// The agent's phone rang long enough.
    RingTimeout,
    /// A release announcement is taking too long (its end was never reported).
    AnnouncementLimit,
}

/// Which side of a call a dialog, transaction or leg belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The trunk's INVITE / the customer's dialog and leg.
    Customer,
    /// One of our INVITEs to the agent / the agent's dialog and leg.
    Agent,
    /// Our UPDATE / re-INVITE to the customer.
    Renegotiation,
}

/// Counters for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// INVITEs from trunks admitted.
    pub calls_admitted: u64,
    /// INVITEs refused (no trunk, limits, no route...).
    pub calls_refused: u64,
    /// New INVITEs refused because the platform was overloaded.
    pub calls_shed: u64,
    /// Calls bridged to an agent.
    pub calls_bridged: u64,
    /// Calls ended.
    pub calls_ended: u64,
}

/// The call core.
pub struct Switch {
    settings: Settings,
    config: Arc<SwitchConfig>,
    acd: Acd,
    calls: HashMap<CallNo, Call>,
    by_tx: HashMap<TransactionId, (CallNo, Role)>,
    by_dialog: HashMap<DialogId, (CallNo, Role)>,
    by_leg: HashMap<LegNo, (CallNo, Role)>,
    /// Agent INVITEs we gave up on (other forks, ring timeout): a late 2xx gets a BYE.
    abandoned: HashSet<TransactionId>,
    timers: TimerTable<(CallNo, CallTimer)>,
    trunk_limits: Limits,
    tenant_limits: Limits,
    digest: cec_sip_auth::DigestServer,
    random: Box<dyn FnMut() -> u64 + Send>,
    next_call: CallNo,
    outputs: VecDeque<Output>,
    stats: SwitchStats,
    overloaded: bool,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("calls", &self.calls.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Switch {
    /// A Switch over `config`; `random` draws call ids, SSRCs and SDP session ids.
    pub fn new(
        settings: Settings,
        config: Arc<SwitchConfig>,
        now: Instant,
        random: impl FnMut() -> u64 + Send + 'static,
    ) -> Switch {
        let digest = cec_sip_auth::DigestServer::new(
            cec_sip_auth::DigestConfig::new(settings.realm.clone()),
            settings.digest_secret,
            now,
        );
        Switch {
            settings,
            config,
            acd: Acd::new(),
            calls: HashMap::new(),
            by_tx: HashMap::new(),
            by_dialog: HashMap::new(),
            by_leg: HashMap::new(),
            abandoned: HashSet::new(),
            timers: TimerTable::new(),
            trunk_limits: Limits::default(),
            tenant_limits: Limits::default(),
            digest,
            random: Box::new(random),
            next_call: 0,
            outputs: VecDeque::new(),
            stats: SwitchStats::default(),
            overloaded: false,
        }
    }

    /// Replaces the configuration (calls in progress keep their settings; signed-in
    /// agents get their new skills; agents whose account is gone are signed out).
    pub fn set_config(&mut self, now: Instant, env: &mut Env<'_>, config: Arc<SwitchConfig>) {
        self.config = config;
        let agents: Vec<cec_acd::AgentRef> = self.acd.agents().map(|a| a.agent.clone()).collect();
        for agent in agents {
            match self.config.agent(&agent.tenant, &agent.work_no) {
                Some(account) => self.acd.set_skills(&agent, account.skills.clone()),
                None => {
                    let _ = self.acd.sign_out(now, &agent);
                }
            }
        }
        self.after_change(now, env);
    }

    /// While set, new INVITEs are refused at once with 503 and Retry-After (the runtime
    /// sets it when it cannot keep up with what arrives); calls in progress go on.
    pub fn set_overloaded(&mut self, overloaded: bool) {
        self.overloaded = overloaded;
    }

    /// The configuration in use.
    pub fn config(&self) -> &Arc<SwitchConfig> {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> SwitchStats {
        self.stats
    }

    /// Calls in progress.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// The ACD (read-only, for tests and status).
    pub fn acd(&self) -> &Acd {
        &self.acd
    }

    /// Media legs the Switch holds (for leak checks).
    pub fn leg_count(&self) -> usize {
        self.by_leg.len()
    }

    /// Armed call timers (for leak checks).
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// An endpoint event. Returns it back when it is not the Switch's (OPTIONS probe
    /// responses, registrations, the echo test's dialogs).
    pub fn handle_sip_event(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        event: Event,
    ) -> Option<Event> {
        if !self.owns(&event) {
            return Some(event);
        }
        match event {
            Event::Response {
                tx,
                dialog,
                response,
                ..
            } => match self.by_tx.get(&tx) {
                Some(&(call, role)) => {
                    self.on_response(now, env, call, role, tx, dialog, &response);
                }
                None => self.on_abandoned_response(now, env, tx, dialog, &response),
            },
            Event::Cancelled { invite } => {
                if let Some(&(call, _)) = self.by_tx.get(&invite) {
                    self.release(now, env, call, release::Ending::cancelled());
                }
            }
            Event::Acked { dialog, request } => {
                if let Some(&(call, Role::Customer)) = self.by_dialog.get(&dialog) {
                    self.on_caller_ack(now, env, call, &request);
                }
            }
            Event::PrackReceived { dialog, .. } => {
                if let Some(&(call, Role::Customer)) = self.by_dialog.get(&dialog) {
                    self.on_prack(now, env, call);
                }
            }
            Event::DialogRequest {
                dialog,
                tx,
                request,
            } => {
                if let Some(&(call, role)) = self.by_dialog.get(&dialog) {
                    self.on_dialog_request(now, env, call, role, tx, &request);
                }
            }
            Event::DialogTerminated { dialog, reason } => {
                if let Some(&(call, role)) = self.by_dialog.get(&dialog) {
                    self.on_dialog_terminated(now, env, call, role, reason);
                }
            }
            Event::Timeout { tx } => match self.by_tx.get(&tx) {
                Some(&(call, role)) => self.on_tx_timeout(now, env, call, role, tx),
                None => {
                    self.abandoned.remove(&tx);
                }
            },
            _ => {}
        }
        self.after_change(now, env);
        None
    }

    /// Whether `event` concerns one of the Switch's calls.
    fn owns(&self, event: &Event) -> bool {
        match event {
            Event::Response { tx, .. } | Event::Timeout { tx } => {
                self.by_tx.contains_key(tx) || self.abandoned.contains(tx)
            }
            Event::Cancelled { invite } => {
                matches!(self.by_tx.get(invite), Some((_, Role::Customer)))
            }
            Event::PrackReceived { dialog, .. }
            | Event::Acked { dialog, .. }
            | Event::DialogRequest { dialog, .. }
            | Event::DialogTerminated { dialog, .. } => self.by_dialog.contains_key(dialog),
            _ => false,
        }
    }

    /// A media leg's event.
    pub fn handle_media_event(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        leg: LegNo,
        event: &LegEvent,
    ) {
        let Some(&(call_no, role)) = self.by_leg.get(&leg) else {
            return;
        };
        match event {
            LegEvent::Quality(quality) => {
                if let Some(call) = self.calls.get_mut(&call_no) {
                    let side = match role {
                        Role::Agent => call.agent.as_mut().map(|a| &mut a.side),
                        _ => Some(&mut call.customer.side),
                    };
                    if let Some(side) = side {
                        side.quality.add(
                            quality.loss_percent,
                            quality.jitter.as_secs_f64() * 1000.0,
                            quality.mos,
                        );
                    }
                }
            }
            LegEvent::PlaybackFinished if role == Role::Customer => {
                self.announcement_over(now, env, call_no);
            }
            LegEvent::RtpTimeout { .. } => {
                let ending = match role {
                    Role::Agent => release::Ending::system("no RTP from the agent's phone"),
                    _ => release::Ending::system("no RTP from the caller"),
                };
                self.release(now, env, call_no, ending);
            }
            _ => {}
        }
        self.after_change(now, env);
    }

    /// The next call timer or ACD deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.timers.next_deadline(), self.acd.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The registrar's bindings changed (a phone registered): calls waiting for an idle
    /// agent whose phone had no contact can be offered now, not at the next unrelated
    /// event.
    pub fn handle_registration_change(&mut self, now: Instant, env: &mut Env<'_>) {
        self.after_change(now, env);
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant, env: &mut Env<'_>) {
        while let Some((call, timer)) = self.timers.pop_expired(now) {
            match timer {
                CallTimer::WaitLimit => self.on_wait_limit(now, env, call),
                CallTimer::RingTimeout => self.on_ring_timeout(now, env, call),
                CallTimer::AnnouncementLimit => self.announcement_over(now, env, call),
            }
        }
        self.acd.handle_timeout(now);
        self.after_change(now, env);
    }

    /// The next record or event.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// After anything that may have freed an agent or queued a call: report agent
    /// changes and hand waiting calls to idle agents.
    fn after_change(&mut self, now: Instant, env: &mut Env<'_>) {
        loop {
            self.report_agent_changes();
            if !self.dispatch_one(now, env) {
                break;
            }
        }
        self.report_agent_changes();
    }

    fn new_call_id(&mut self) -> String {
        format!("{:016x}", (self.random)())
    }
}
