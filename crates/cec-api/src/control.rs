//! The API's door into the call core: agent commands, live calls and call release, as a
//! trait the binary implements over the running Switch. The API crate cannot depend on the
//! call core (it sits above the runtime), and a trait keeps the handlers testable with a
//! fake.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

/// What an agent asks for (or a supervisor asks on its behalf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentCommand {
    /// Sign in: the agent becomes available in its skill queues.
    SignIn(SignInRequest),
    /// Sign out: no more calls.
    SignOut,
    /// Change the work state (idle, busy, rest, work).
    SetState(StateRequest),
    /// Only read the current status.
    Get,
}

/// Body of `POST …/agents/{work_no}/sign-in`; every field optional, an empty body is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// SIP phone number to ring; default the agent's own.
    #[serde(default)]
    pub phone: Option<String>,
    /// State right after sign-in: `idle` (default), `busy` or `work`.
    #[serde(default)]
    pub state: Option<WorkState>,
    /// Answer offered calls without a click; default the agent account's setting.
    #[serde(default)]
    pub auto_answer: Option<bool>,
}

/// A state an agent can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkState {
    /// Ready for calls.
    Idle,
    /// Signed in but not taking calls (with a busy reason code).
    Busy,
    /// On a break (with a rest reason code and a duration).
    Rest,
    /// After-call work: not taking calls.
    Work,
}

impl WorkState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkState::Idle => "idle",
            WorkState::Busy => "busy",
            WorkState::Rest => "rest",
            WorkState::Work => "work",
        }
    }
}

/// Body of `PUT …/agents/{work_no}/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    /// The state wanted.
    pub state: WorkState,
    /// Reason code (busy 200..=250, rest 1..=255), only with `busy` or `rest`; must be one of
    /// the tenant's reason codes of that kind.
    #[serde(default)]
    pub reason: Option<u32>,
    /// How long the rest or busy period is meant to last, seconds (1..=86400).
    #[serde(default)]
    pub duration_s: Option<u32>,
}

/// Where an agent is, as the call core sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentPhase {
    /// Not signed in.
    SignedOut,
    /// Ready for calls.
    Idle,
    /// Signed in, not taking calls.
    Busy,
    /// On a break.
    Rest,
    /// After-call work asked for.
    Work,
    /// A call is ringing its phone.
    Ringing,
    /// On a call.
    Talking,
    /// After a call, for the queue's wrap-up time.
    WrapUp,
}

/// An agent's current status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentStatus {
    /// The agent's work number.
    pub work_no: String,
    /// Where the agent is.
    pub phase: AgentPhase,
    /// The busy or rest reason code, when there is one.
    #[serde(default)]
    pub reason: Option<u32>,
    /// Since when, epoch milliseconds.
    pub since_ms: i64,
    /// The SIP phone number rung for this agent.
    #[serde(default)]
    pub phone: Option<String>,
    /// The call the agent is on or being offered.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The skill queues the agent serves (names).
    #[serde(default)]
    pub queues: Vec<String>,
}

/// A call in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveCall {
    /// The call id (the CDR's id).
    pub call_id: String,
    /// Where the call is (`queued`, `ringing`, `talking`, …).
    pub state: String,
    /// The caller's number.
    pub caller: String,
    /// The called number.
    pub called: String,
    /// The skill queue (name).
    #[serde(default)]
    pub queue: Option<String>,
    /// The agent (work number) rung or talking.
    #[serde(default)]
    pub agent: Option<String>,
    /// When the call arrived, epoch milliseconds.
    pub arrived_ms: i64,
    /// When an agent answered.
    #[serde(default)]
    pub answered_ms: Option<i64>,
}

/// Why a control command failed; each variant has one HTTP status (404, 422, 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The agent or call is not known to the call core (HTTP 404). The text names it
    /// (`call 0193…`, `agent 1001`).
    #[error("{0} not found")]
    NotFound(String),
    /// The command is not allowed in the current state (HTTP 422), e.g. a state change of a
    /// signed-out agent.
    #[error("not allowed now: {0}")]
    InvalidTransition(String),
    /// The call core cannot take commands right now (HTTP 503).
    #[error("call control unavailable: {0}")]
    Unavailable(String),
}

/// The future a [`CallControl`] method returns: boxed so the trait stays object-safe, and
/// owning its data (`'static`) so the handler can await it after the request's borrows end.
pub type ControlFuture<T> = Pin<Box<dyn Future<Output = Result<T, ControlError>> + Send>>;

/// Agent and call control, implemented by the binary over the call core. `tenant` is the
/// tenant's name; `work_no` an agent's work number, already checked to exist in the store.
pub trait CallControl: Send + Sync + 'static {
    /// Runs an agent command and answers the agent's status afterwards.
    fn agent(
        &self,
        tenant: &str,
        work_no: &str,
        command: AgentCommand,
    ) -> ControlFuture<AgentStatus>;

    /// The tenant's calls in progress.
    fn live_calls(&self, tenant: &str) -> ControlFuture<Vec<LiveCall>>;

    /// Releases a call (both legs).
    fn release_call(&self, tenant: &str, call_id: &str) -> ControlFuture<()>;
}
