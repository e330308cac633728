//! One agent's state and the transitions the ACD allows.

use std::time::Instant;

/// Identifies an agent across tenants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentRef {
    /// Tenant name.
    pub tenant: String,
    /// Work number within the tenant.
    pub work_no: String,
}

impl AgentRef {
    /// An agent reference.
    pub fn new(tenant: &str, work_no: &str) -> AgentRef {
        AgentRef {
            tenant: tenant.to_owned(),
            work_no: work_no.to_owned(),
        }
    }
}

impl std::fmt::Display for AgentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.tenant, self.work_no)
    }
}

/// A call as the ACD sees it (the call core's number).
pub type CallRef = u64;

/// What an agent can ask for through the workbench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkState {
    /// Ready for calls.
    Idle,
    /// Not ready, with an optional reason code (200–250).
    Busy {
        /// Reason code.
        reason: Option<u32>,
    },
    /// On a break, with an optional reason code (1–255) and an end.
    Rest {
        /// Reason code.
        reason: Option<u32>,
        /// When the break ends (the agent becomes Idle).
        until: Option<Instant>,
    },
    /// Doing after-call or back-office work.
    Work,
}

/// Why an agent became Busy without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyCause {
    /// The agent asked.
    Requested,
    /// A call rang out unanswered.
    NoAnswer,
    /// The phone rejected a call (486/603) or could not be reached.
    Rejected,
}

/// An agent's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not signed in: gets no calls.
    SignedOut,
    /// Waiting for a call since `since`.
    Idle,
    /// Not ready.
    Busy {
        /// Reason code.
        reason: Option<u32>,
        /// Why.
        cause: BusyCause,
    },
    /// On a break.
    Rest {
        /// Reason code.
        reason: Option<u32>,
        /// When the break ends.
        until: Option<Instant>,
    },
    /// Back-office work.
    Work,
    /// A call is ringing the agent's phone.
    Ringing {
        /// The call.
        call: CallRef,
    },
    /// In a call.
    Talking {
        /// The call.
        call: CallRef,
    },
    /// After-call work until `until`.
    WrapUp {
        /// When it ends.
        until: Instant,
    },
}

impl Phase {
    /// The call the agent is busy with, if any.
    pub fn call(&self) -> Option<CallRef> {
        match self {
            Phase::Ringing { call } | Phase::Talking { call } => Some(*call),
            _ => None,
        }
    }

    /// The state's name in events and the API (`idle`, `wrap_up`...).
    pub fn name(&self) -> &'static str {
        match self {
            Phase::SignedOut => "signed_out",
            Phase::Idle => "idle",
            Phase::Busy { .. } => "busy",
            Phase::Rest { .. } => "rest",
            Phase::Work => "work",
            Phase::Ringing { .. } => "ringing",
            Phase::Talking { .. } => "talking",
            Phase::WrapUp { .. } => "wrap_up",
        }
    }

    pub(crate) fn from_work(state: WorkState) -> Phase {
        match state {
            WorkState::Idle => Phase::Idle,
            WorkState::Busy { reason } => Phase::Busy {
                reason,
                cause: BusyCause::Requested,
            },
            WorkState::Rest { reason, until } => Phase::Rest { reason, until },
            WorkState::Work => Phase::Work,
        }
    }
}

/// A skill: a queue the agent serves and how strongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// Queue name.
    pub queue: String,
    /// Weight, higher first among equally idle agents.
    pub weight: u32,
}

/// The ACD's record of one signed-in (or signed-out) agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// Who.
    pub agent: AgentRef,
    /// Current state.
    pub phase: Phase,
    /// Since when.
    pub since: Instant,
    /// When the agent last became Idle (longest-idle ordering).
    pub idle_since: Instant,
    /// Queues served.
    pub skills: Vec<Skill>,
    /// State to take after the current call instead of wrap-up → Idle.
    pub after_call: Option<WorkState>,
    /// Calls answered since signing in (the fewest-calls strategy).
    pub answered_calls: u32,
    /// The SIP user whose phone rings.
    pub phone: String,
    /// Whether the phone is asked to answer by itself.
    pub auto_answer: bool,
}

impl Agent {
    /// The agent's weight for `queue`, if it serves it.
    pub fn weight_for(&self, queue: &str) -> Option<u32> {
        self.skills
            .iter()
            .find(|s| s.queue == queue)
            .map(|s| s.weight)
    }
}
