//! What the Switch reports: call records (running and final) and events, for the runtime
//! to persist in batches and publish.

use std::time::{Duration, Instant};

/// Maps the Switch's instants to wall-clock epoch milliseconds (records and events carry
/// wall time; the Switch itself never reads a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// An instant.
    pub origin: Instant,
    /// Epoch milliseconds at `origin`.
    pub origin_ms: i64,
}

impl WallClock {
    /// Epoch milliseconds at `at`.
    pub fn ms(&self, at: Instant) -> i64 {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if at >= self.origin {
            self.origin_ms.saturating_add(ms(at - self.origin))
        } else {
            self.origin_ms.saturating_sub(ms(self.origin - at))
        }
    }
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleasedBy {
    /// The customer (BYE, CANCEL).
    Caller,
    /// The agent's phone (BYE).
    Agent,
    /// The platform (limits, timeouts, failures, API release).
    System,
}

impl ReleasedBy {
    /// Name in records.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleasedBy::Caller => "caller",
            ReleasedBy::Agent => "agent",
            ReleasedBy::System => "system",
        }
    }
}

/// Quality of one leg over the call, from the RTCP intervals the media engine reported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegQuality {
    /// Intervals seen.
    pub intervals: u32,
    /// Mean loss, percent.
    pub loss_percent: f64,
    /// Highest interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Lowest MOS estimate.
    pub mos: Option<f64>,
}

impl LegQuality {
    /// Adds one interval.
    pub fn add(&mut self, loss_percent: f64, jitter_ms: f64, mos: f64) {
        let n = f64::from(self.intervals);
        self.loss_percent = (self.loss_percent * n + loss_percent) / (n + 1.0);
        self.jitter_ms = self.jitter_ms.max(jitter_ms);
        self.mos = Some(self.mos.map_or(mos, |m| m.min(mos)));
        self.intervals += 1;
    }
}

/// The record of one call (a CDR). `ended_ms == None` marks a running record.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Call id (as in events and the API).
    pub id: String,
    /// Tenant name.
    pub tenant: String,
    /// Trunk name.
    pub trunk: String,
    /// Access code matched.
    pub access_code: String,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub called: String,
    /// Skill queue, if the call reached one.
    pub queue: Option<String>,
    /// Agent work number, if one answered.
    pub agent: Option<String>,
    /// INVITE arrival, epoch ms.
    pub arrived_ms: i64,
    /// Queue entry.
    pub queued_ms: Option<i64>,
    /// First agent ring.
    pub ringing_ms: Option<i64>,
    /// Agent answer.
    pub answered_ms: Option<i64>,
    /// End.
    pub ended_ms: Option<i64>,
    /// Who released.
    pub released_by: Option<ReleasedBy>,
    /// Why (`caller hung up`, `no route`, `queue full`...).
    pub release_cause: Option<String>,
    /// SIP status the customer's INVITE got (200 when answered).
    pub sip_status: Option<u16>,
    /// Its reason phrase.
    pub sip_reason: Option<String>,
    /// Customer leg quality.
    pub caller_quality: Option<LegQuality>,
    /// Agent leg quality.
    pub agent_quality: Option<LegQuality>,
}

/// A value in an event's data.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
}

/// A state change, in the CEC vocabulary where one exists (`AgentState_Ready`,
/// `AgentEvent_Ringing`...) and `CallEvent_*` for the call's own steps.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchEvent {
    /// Tenant name.
    pub tenant: String,
    /// Event type.
    pub kind: &'static str,
    /// Epoch ms.
    pub time_ms: i64,
    /// The call, if any.
    pub call_id: Option<String>,
    /// The agent's work number, if any.
    pub agent: Option<String>,
    /// Further fields.
    pub data: Vec<(&'static str, Value)>,
}

/// The Switch's outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A call record to write (running or final).
    Record(Box<CallRecord>),
    /// An event to log and publish.
    Event(SwitchEvent),
}
