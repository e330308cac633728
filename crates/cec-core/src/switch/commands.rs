//! Commands from the API: agent sign-in, sign-out and state, live calls, release.

use std::time::{Duration, Instant};

use cec_acd::{AcdError, AgentRef, Phase, SignIn, WorkState};

use super::release::Ending;
use super::{Env, Switch};

/// A state an agent asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedState {
    /// Ready.
    Idle,
    /// Not ready.
    Busy {
        /// Reason code.
        reason: Option<u32>,
    },
    /// Break.
    Rest {
        /// Reason code.
        reason: Option<u32>,
        /// Length of the break.
        duration: Option<Duration>,
    },
    /// Back-office work.
    Work,
}

/// An API command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Sign an agent in.
    SignIn {
        /// Tenant.
        tenant: String,
        /// Work number.
        work_no: String,
        /// SIP user whose phone rings (default the agent's own).
        phone: Option<String>,
        /// State after sign-in (default Idle).
        state: Option<RequestedState>,
        /// Auto-answer (default the account's setting).
        auto_answer: Option<bool>,
    },
    /// Sign an agent out.
    SignOut {
        /// Tenant.
        tenant: String,
        /// Work number.
        work_no: String,
    },
    /// Change an agent's state.
    SetState {
        /// Tenant.
        tenant: String,
        /// Work number.
        work_no: String,
        /// Requested state.
        state: RequestedState,
    },
    /// Read an agent's state.
    AgentStatus {
        /// Tenant.
        tenant: String,
        /// Work number.
        work_no: String,
    },
    /// The tenant's calls in progress.
    LiveCalls {
        /// Tenant.
        tenant: String,
    },
    /// Release a call.
    Release {
        /// Tenant.
        tenant: String,
        /// Call id.
        call_id: String,
    },
}

/// An agent's state for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatus {
    /// Work number.
    pub work_no: String,
    /// The agent's state (its name for the API: [`Phase::name`]).
    pub phase: Phase,
    /// Reason code of Busy or Rest.
    pub reason: Option<u32>,
    /// Since when, epoch ms.
    pub since_ms: i64,
    /// SIP user whose phone rings.
    pub phone: Option<String>,
    /// The call the agent is in.
    pub call_id: Option<String>,
    /// Queues served.
    pub queues: Vec<String>,
}

/// A call in progress for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCall {
    /// Call id.
    pub call_id: String,
    /// Phase name.
    pub state: &'static str,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub called: String,
    /// Queue.
    pub queue: Option<String>,
    /// Agent work number.
    pub agent: Option<String>,
    /// Arrival, epoch ms.
    pub arrived_ms: i64,
    /// Agent answer, epoch ms.
    pub answered_ms: Option<i64>,
}

/// What a command returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandReply {
    /// An agent's state.
    Agent(AgentStatus),
    /// Live calls.
    Calls(Vec<LiveCall>),
    /// Done.
    Done,
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No such agent or call.
    #[error("{0}")]
    NotFound(String),
    /// Not allowed in the current state.
    #[error("{0}")]
    InvalidTransition(String),
}

impl From<AcdError> for CommandError {
    fn from(error: AcdError) -> Self {
        CommandError::InvalidTransition(error.to_string())
    }
}

fn work_state(now: Instant, state: RequestedState) -> WorkState {
    match state {
        RequestedState::Idle => WorkState::Idle,
        RequestedState::Busy { reason } => WorkState::Busy { reason },
        RequestedState::Rest { reason, duration } => WorkState::Rest {
            reason,
            until: duration.map(|d| now + d),
        },
        RequestedState::Work => WorkState::Work,
    }
}

impl Switch {
    /// Runs an API command.
    pub fn handle_command(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        command: Command,
    ) -> Result<CommandReply, CommandError> {
        let reply = self.run_command(now, env, command);
        self.after_change(now, env);
        reply
    }

    fn run_command(
        &mut self,
        now: Instant,
        env: &mut Env<'_>,
        command: Command,
    ) -> Result<CommandReply, CommandError> {
        match command {
            Command::SignIn {
                tenant,
                work_no,
                phone,
                state,
                auto_answer,
            } => {
                let account = self
                    .config
                    .agent(&tenant, &work_no)
                    .ok_or_else(|| CommandError::NotFound(format!("agent {work_no} not found")))?
                    .clone();
                let agent = AgentRef::new(&tenant, &work_no);
                self.acd.sign_in(
                    now,
                    &agent,
                    SignIn {
                        skills: account.skills.clone(),
                        state: work_state(now, state.unwrap_or(RequestedState::Idle)),
                        phone: phone.unwrap_or(account.sip_user.clone()),
                        auto_answer: auto_answer.unwrap_or(account.auto_answer),
                    },
                )?;
                Ok(CommandReply::Agent(self.agent_status(&agent)))
            }
            Command::SignOut { tenant, work_no } => {
                let agent = self.known_agent(&tenant, &work_no)?;
                self.acd.sign_out(now, &agent)?;
                Ok(CommandReply::Agent(self.agent_status(&agent)))
            }
            Command::SetState {
                tenant,
                work_no,
                state,
            } => {
                let agent = self.known_agent(&tenant, &work_no)?;
                self.acd.set_state(now, &agent, work_state(now, state))?;
                Ok(CommandReply::Agent(self.agent_status(&agent)))
            }
            Command::AgentStatus { tenant, work_no } => {
                let agent = self.known_agent(&tenant, &work_no)?;
                Ok(CommandReply::Agent(self.agent_status(&agent)))
            }
            Command::LiveCalls { tenant } => {
                let mut calls: Vec<LiveCall> = self
                    .calls
                    .values()
                    .filter(|c| c.tenant == tenant)
                    .map(|c| LiveCall {
                        call_id: c.id.clone(),
                        state: c.phase.name(),
                        caller: c.record.caller.clone(),
                        called: c.record.called.clone(),
                        queue: c.queue.clone(),
                        agent: c.agent.as_ref().map(|a| a.agent.work_no.clone()),
                        arrived_ms: c.record.arrived_ms,
                        answered_ms: c.record.answered_ms,
                    })
                    .collect();
                calls.sort_by(|a, b| {
                    a.arrived_ms
                        .cmp(&b.arrived_ms)
                        .then(a.call_id.cmp(&b.call_id))
                });
                Ok(CommandReply::Calls(calls))
            }
            Command::Release { tenant, call_id } => {
                let no = self
                    .calls
                    .values()
                    .find(|c| c.tenant == tenant && c.id == call_id)
                    .map(|c| c.no)
                    .ok_or_else(|| CommandError::NotFound(format!("call {call_id} not found")))?;
                self.release(now, env, no, Ending::system("released through the API"));
                Ok(CommandReply::Done)
            }
        }
    }

    fn known_agent(&self, tenant: &str, work_no: &str) -> Result<AgentRef, CommandError> {
        if self.config.agent(tenant, work_no).is_none() {
            return Err(CommandError::NotFound(format!("agent {work_no} not found")));
        }
        Ok(AgentRef::new(tenant, work_no))
    }

    fn agent_status(&self, agent: &AgentRef) -> AgentStatus {
        let queues = self
            .config
            .agent(&agent.tenant, &agent.work_no)
            .map(|a| a.skills.iter().map(|s| s.queue.clone()).collect())
            .unwrap_or_default();
        match self.acd.agent(agent) {
            Some(record) => AgentStatus {
                work_no: agent.work_no.clone(),
                phase: record.phase,
                reason: match record.phase {
                    Phase::Busy { reason, .. } | Phase::Rest { reason, .. } => reason,
                    _ => None,
                },
                since_ms: self.settings.wall.ms(record.since),
                phone: (record.phase != Phase::SignedOut).then(|| record.phone.clone()),
                call_id: record
                    .phase
                    .call()
                    .and_then(|no| self.calls.get(&no))
                    .map(|c| c.id.clone()),
                queues,
            },
            None => AgentStatus {
                work_no: agent.work_no.clone(),
                phase: Phase::SignedOut,
                reason: None,
                since_ms: 0,
                phone: None,
                call_id: None,
                queues,
            },
        }
    }
}
