//! The configuration model: each kind's fields, defaults and validation rules.
//! Field limits follow the commercial CEC's configuration API where it documents them
//! (`cec-reference.md` §5) and are otherwise what an operator would expect.

mod agent;
mod misc;
mod queue;
mod routing;
mod trunk;

pub use agent::{AgentRole, AgentSkill, AgentSpec};
pub use misc::{
    CalendarSpec, DayHours, FlowSpec, Holiday, PromptAudio, PromptSpec, PublishedFlow,
    ReasonCodeSpec, ReasonKind, SpecialDay, Weekday,
};
pub use queue::{Announcement, QueueTarget, RoutingStrategy, SkillQueueSpec};
pub use routing::{AccessCodeSpec, CalledRouteSpec, MediaType, RouteTarget};
pub use trunk::{
    CalledNumberSource, Rel100, Renegotiation, TrunkAddress, TrunkSpec, TrunkTransport,
};

use serde::{Deserialize, Serialize};

use crate::error::Problems;

/// A tenant space (VDN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Short name used in paths: lower-case letters, digits and `-`, 1..=63.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// IANA time zone (`Europe/Berlin`, `UTC`).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Limits the call path enforces.
    #[serde(default)]
    pub limits: TenantLimits,
}

/// Per-tenant limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimits {
    /// Agent accounts, 1..=100000.
    pub max_agents: u32,
    /// Concurrent calls, 1..=100000.
    pub max_concurrent_calls: u32,
    /// New calls per second, 1..=10000.
    pub max_cps: u32,
}

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits {
            max_agents: 100,
            max_concurrent_calls: 100,
            max_cps: 10,
        }
    }
}

fn utc() -> String {
    "UTC".to_owned()
}

impl TenantSpec {
    /// Field checks.
    pub fn validate(&self, p: &mut Problems) {
        slug(p, "name", &self.name);
        p.length("display_name", &self.display_name, 0, 100);
        time_zone(p, "time_zone", &self.time_zone);
        p.range("limits.max_agents", self.limits.max_agents, 1, 100_000);
        p.range(
            "limits.max_concurrent_calls",
            self.limits.max_concurrent_calls,
            1,
            100_000,
        );
        p.range("limits.max_cps", self.limits.max_cps, 1, 10_000);
    }
}

/// Lower-case letters, digits and `-`, 1..=63, not starting with `-`.
pub(crate) fn slug(p: &mut Problems, field: &str, value: &str) {
    let ok = (1..=63).contains(&value.len())
        && !value.starts_with('-')
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    p.check(
        ok,
        field,
        "must be 1 to 63 lower-case letters, digits or '-', not starting with '-'",
    );
}

/// A display name: 1..=max characters, no control characters.
pub(crate) fn name(p: &mut Problems, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        p.add(field, "must not be empty");
    } else if value.chars().count() > max {
        p.add(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        p.add(field, "must not contain control characters");
    }
}

/// A dialable number: digits with an optional leading `+`, and `*`/`#`, 1..=max.
pub(crate) fn dial_string(p: &mut Problems, field: &str, value: &str, max: usize) {
    let body = value.strip_prefix('+').unwrap_or(value);
    let ok = !body.is_empty()
        && value.len() <= max
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    p.check(
        ok,
        field,
        format!("must be 1 to {max} digits (optionally +, * and #)"),
    );
}

/// An IANA zone name shape (`UTC`, `Area/City`, `Area/Sub/City`, `Etc/GMT+3`).
pub(crate) fn time_zone(p: &mut Problems, field: &str, value: &str) {
    let ok = value == "UTC"
        || (value.contains('/')
            && value.len() <= 64
            && value.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
            }));
    p.check(
        ok,
        field,
        "must be an IANA time zone such as UTC or Europe/Berlin",
    );
}

/// A prompt/flow/queue reference is either absent or non-empty.
pub(crate) fn optional_ref(p: &mut Problems, field: &str, value: Option<&String>) {
    if value.is_some_and(|v| v.trim().is_empty()) {
        p.add(field, "must not be empty when given");
    }
}
