//! The automatic call distributor of OpenCEC, sans-IO: agents and their states, skill
//! queues of waiting calls, and the routing decision (longest idle agent with the skill
//! first). It knows nothing of SIP or media: the call core (`cec-core`) asks it who should
//! get the next call and tells it what happened (rang, answered, ended), and it reports
//! every agent state change as an [`AgentChange`] for events and reports.
//!
//! Time is an argument; wrap-up and timed breaks end through [`Acd::handle_timeout`].
//!
//! # Why our own
//!
//! ACD logic is the product itself: queue order, agent state rules and their events follow
//! the CEC model (`cec-reference.md`), and no crate implements a contact-center ACD.

mod agent;
mod queue;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

pub use agent::{Agent, AgentRef, BusyCause, CallRef, Phase, Skill, WorkState};
pub use queue::{QueueStats, Waiting};

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcdError {
    /// The agent is not signed in.
    #[error("agent {0} is not signed in")]
    NotSignedIn(AgentRef),
    /// The agent is already signed in.
    #[error("agent {0} is already signed in")]
    AlreadySignedIn(AgentRef),
    /// The change is not allowed in the agent's current state.
    #[error("agent {agent} cannot go from {from} to {to}")]
    InvalidTransition {
        /// Who.
        agent: AgentRef,
        /// Current state name.
        from: &'static str,
        /// Requested state name.
        to: &'static str,
    },
}

/// An agent state change, for events.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentChange {
    /// Who.
    pub agent: AgentRef,
    /// Previous state.
    pub from: Phase,
    /// New state.
    pub to: Phase,
    /// When.
    pub at: Instant,
}

/// Signing an agent in.
#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    /// Queues the agent serves.
    pub skills: Vec<Skill>,
    /// State after sign-in (Idle by default in the API).
    pub state: WorkState,
    /// SIP user whose phone rings.
    pub phone: String,
    /// Ask the phone to answer by itself.
    pub auto_answer: bool,
}

/// The distributor.
#[derive(Debug, Default)]
pub struct Acd {
    agents: HashMap<AgentRef, Agent>,
    queues: queue::Queues,
    changes: VecDeque<AgentChange>,
    /// Ends of wrap-ups and timed breaks, earliest first (kept with each transition, so
    /// the driver's every-turn question costs nothing).
    deadlines: BTreeSet<(Instant, AgentRef)>,
    /// Round robin: the work number last picked, per (tenant, queue).
    round_robin: HashMap<(String, String), String>,
}

/// How a queue picks among its idle agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The agent idle the longest (then the higher skill weight).
    #[default]
    LongestIdle,
    /// The highest skill weight for the queue, then the longest idle.
    SkillWeight,
    /// The fewest calls answered since signing in, then the longest idle.
    FewestCalls,
    /// Rotate through the agents by work number.
    RoundRobin,
}

impl Acd {
    /// An empty distributor.
    pub fn new() -> Acd {
        Acd::default()
    }

    /// The agent's record, if it ever signed in.
    pub fn agent(&self, agent: &AgentRef) -> Option<&Agent> {
        self.agents.get(agent)
    }

    /// Every known agent.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// Signs `agent` in.
    pub fn sign_in(
        &mut self,
        now: Instant,
        agent: &AgentRef,
        sign_in: SignIn,
    ) -> Result<(), AcdError> {
        if let Some(existing) = self.agents.get(agent)
            && existing.phase != Phase::SignedOut
        {
            return Err(AcdError::AlreadySignedIn(agent.clone()));
        }
        self.agents.insert(
            agent.clone(),
            Agent {
                agent: agent.clone(),
                phase: Phase::SignedOut,
                since: now,
                idle_since: now,
                skills: sign_in.skills,
                after_call: None,
                answered_calls: 0,
                phone: sign_in.phone,
                auto_answer: sign_in.auto_answer,
            },
        );
        self.transition(now, agent, Phase::from_work(sign_in.state));
        Ok(())
    }

    /// Signs `agent` out (not while a call rings or is talking).
    pub fn sign_out(&mut self, now: Instant, agent: &AgentRef) -> Result<(), AcdError> {
        let current = self.phase(agent)?;
        if current.call().is_some() {
            return Err(self.invalid(agent, current, "signed_out"));
        }
        self.transition(now, agent, Phase::SignedOut);
        Ok(())
    }

    /// Updates the skills of a signed-in agent (configuration changed).
    pub fn set_skills(&mut self, agent: &AgentRef, skills: Vec<Skill>) {
        if let Some(record) = self.agents.get_mut(agent) {
            record.skills = skills;
        }
    }

    /// The agent asks for `state`. During a call (ringing or talking) the request is kept
    /// and applied when the call ends, instead of wrap-up.
    pub fn set_state(
        &mut self,
        now: Instant,
        agent: &AgentRef,
        state: WorkState,
    ) -> Result<(), AcdError> {
        let current = self.phase(agent)?;
        if current.call().is_some() {
            if let Some(record) = self.agents.get_mut(agent) {
                record.after_call = Some(state);
            }
            return Ok(());
        }
        self.transition(now, agent, Phase::from_work(state));
        Ok(())
    }

    /// The call core offers `call` to `agent` (it must be Idle): Ringing.
    pub fn offer(&mut self, now: Instant, agent: &AgentRef, call: CallRef) -> Result<(), AcdError> {
        let current = self.phase(agent)?;
        if current != Phase::Idle {
            return Err(self.invalid(agent, current, "ringing"));
        }
        self.transition(now, agent, Phase::Ringing { call });
        Ok(())
    }

    /// The agent answered `call`: Talking.
    pub fn answered(&mut self, now: Instant, agent: &AgentRef, call: CallRef) {
        if self.phase(agent).ok() == Some(Phase::Ringing { call }) {
            if let Some(record) = self.agents.get_mut(agent) {
                record.answered_calls += 1;
            }
            self.transition(now, agent, Phase::Talking { call });
        }
    }

    /// Ringing `call` failed (no answer, rejected, unreachable): the agent becomes Busy so
    /// the next call does not ring an absent agent; a caller cancelling is not the agent's
    /// fault and returns it to Idle (`cause == None`).
    pub fn ring_failed(
        &mut self,
        now: Instant,
        agent: &AgentRef,
        call: CallRef,
        cause: Option<BusyCause>,
    ) {
        if self.phase(agent).ok() != Some(Phase::Ringing { call }) {
            return;
        }
        let next = match cause {
            Some(cause) => Phase::Busy {
                reason: None,
                cause,
            },
            None => self.after_call_or(agent, Phase::Idle),
        };
        self.transition(now, agent, next);
    }

    /// `call` ended for `agent`: wrap-up for `wrap_up` (then Idle), or the state the agent
    /// asked for during the call.
    pub fn call_ended(&mut self, now: Instant, agent: &AgentRef, call: CallRef, wrap_up: Duration) {
        match self.phase(agent) {
            Ok(Phase::Talking { call: c }) if c == call => {}
            Ok(Phase::Ringing { call: c }) if c == call => {
                return self.ring_failed(now, agent, call, None);
            }
            _ => return,
        }
        let default = if wrap_up.is_zero() {
            Phase::Idle
        } else {
            Phase::WrapUp {
                until: now + wrap_up,
            }
        };
        let next = self.after_call_or(agent, default);
        self.transition(now, agent, next);
    }

    fn after_call_or(&mut self, agent: &AgentRef, default: Phase) -> Phase {
        self.agents
            .get_mut(agent)
            .and_then(|a| a.after_call.take())
            .map_or(default, Phase::from_work)
    }

    /// The Idle agent of `queue_tenant` with the skill `queue` that `strategy` puts first,
    /// among those `reachable` says have a phone to ring. `reachable` is asked in that
    /// order and only until one answers yes (it may be a registrar lookup). Round robin
    /// remembers who was picked, per queue.
    pub fn pick(
        &mut self,
        queue_tenant: &str,
        queue: &str,
        strategy: Strategy,
        reachable: impl Fn(&Agent) -> bool,
    ) -> Option<AgentRef> {
        let key = (queue_tenant.to_owned(), queue.to_owned());
        let last = self.round_robin.get(&key);
        let longest_idle = |a: &Agent, b: &Agent| {
            a.idle_since
                .cmp(&b.idle_since)
                .then(a.agent.work_no.cmp(&b.agent.work_no))
        };
        let order = |(a, wa): &(&Agent, u32), (b, wb): &(&Agent, u32)| match strategy {
            Strategy::LongestIdle => a
                .idle_since
                .cmp(&b.idle_since)
                .then(wb.cmp(wa))
                .then(a.agent.work_no.cmp(&b.agent.work_no)),
            Strategy::SkillWeight => wb.cmp(wa).then(longest_idle(a, b)),
            Strategy::FewestCalls => a
                .answered_calls
                .cmp(&b.answered_calls)
                .then(longest_idle(a, b)),
            Strategy::RoundRobin => {
                // Work numbers after the last one picked come first, in order, then the
                // rest from the start.
                let after = |x: &Agent| last.is_none_or(|l| x.agent.work_no > *l);
                after(b)
                    .cmp(&after(a))
                    .then(a.agent.work_no.cmp(&b.agent.work_no))
            }
        };
        let mut candidates: Vec<(&Agent, u32)> = self
            .agents
            .values()
            .filter(|a| a.phase == Phase::Idle && a.agent.tenant == queue_tenant)
            .filter_map(|a| a.weight_for(queue).map(|w| (a, w)))
            .collect();
        // Usually the best candidate's phone is registered: find it without sorting.
        let best = candidates.iter().copied().min_by(order)?;
        let picked = if reachable(best.0) {
            Some(best.0.agent.clone())
        } else {
            candidates.sort_unstable_by(order);
            candidates
                .into_iter()
                .skip(1)
                .find(|(a, _)| reachable(a))
                .map(|(a, _)| a.agent.clone())
        };
        if let (Strategy::RoundRobin, Some(agent)) = (strategy, &picked) {
            self.round_robin.insert(key, agent.work_no.clone());
        }
        picked
    }

    /// Whether any signed-in agent of `tenant` serves `queue` (for "no agents" routing).
    pub fn has_staff(&self, tenant: &str, queue: &str) -> bool {
        self.agents.values().any(|a| {
            a.agent.tenant == tenant && a.phase != Phase::SignedOut && a.weight_for(queue).is_some()
        })
    }

    /// Queue operations.
    pub fn queues(&mut self) -> &mut queue::Queues {
        &mut self.queues
    }

    /// Queue state (read-only).
    pub fn queue_state(&self) -> &queue::Queues {
        &self.queues
    }

    /// The next change to report.
    pub fn poll_change(&mut self) -> Option<AgentChange> {
        self.changes.pop_front()
    }

    /// When the next wrap-up or timed break ends.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Ends due wrap-ups and breaks: the agents become Idle.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, agent)) = self.deadlines.first().cloned() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, agent.clone()));
            self.transition(now, &agent, Phase::Idle);
        }
    }

    fn phase(&self, agent: &AgentRef) -> Result<Phase, AcdError> {
        match self.agents.get(agent) {
            Some(a) if a.phase != Phase::SignedOut => Ok(a.phase),
            _ => Err(AcdError::NotSignedIn(agent.clone())),
        }
    }

    fn invalid(&self, agent: &AgentRef, from: Phase, to: &'static str) -> AcdError {
        AcdError::InvalidTransition {
            agent: agent.clone(),
            from: from.name(),
            to,
        }
    }

    fn transition(&mut self, now: Instant, agent: &AgentRef, to: Phase) {
        let Some(record) = self.agents.get_mut(agent) else {
            return;
        };
        let from = record.phase;
        if from == to {
            return;
        }
        if let Some(at) = deadline(&from) {
            self.deadlines.remove(&(at, agent.clone()));
        }
        if let Some(at) = deadline(&to) {
            self.deadlines.insert((at, agent.clone()));
        }
        record.phase = to;
        record.since = now;
        if to == Phase::Idle {
            record.idle_since = now;
        }
        if to == Phase::SignedOut {
            record.after_call = None;
        }
        self.changes.push_back(AgentChange {
            agent: agent.clone(),
            from,
            to,
            at: now,
        });
    }
}

/// When a phase ends by itself.
fn deadline(phase: &Phase) -> Option<Instant> {
    match phase {
        Phase::WrapUp { until } => Some(*until),
        Phase::Rest { until, .. } => *until,
        _ => None,
    }
}

#[cfg(test)]
mod tests;
