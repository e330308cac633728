//! Skill queues: limits, strategy, and where calls go when no agent can take them.

use serde::{Deserialize, Serialize};

use super::{MediaType, dial_string, name};
use crate::error::Problems;
use crate::resource::{Kind, RefField, Resource};

/// How the next agent is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    /// The agent idle the longest (default).
    #[default]
    LongestIdle,
    /// The agent with the highest weight for this skill, then longest idle.
    SkillWeight,
    /// The agent who answered the fewest calls today.
    FewestCalls,
    /// Rotate through the agents.
    RoundRobin,
}

/// Where a call goes when the queue cannot serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueTarget {
    /// Another skill queue (id or name).
    SkillQueue {
        /// The queue.
        id: String,
    },
    /// An IVR flow (id or name).
    IvrFlow {
        /// The flow.
        id: String,
    },
    /// An external number through a trunk.
    ExternalNumber {
        /// The number.
        number: String,
    },
    /// Release the call, optionally after a prompt.
    Release {
        /// Prompt played before releasing (id or name).
        #[serde(default)]
        prompt: Option<String>,
        /// SIP status for a call not yet answered (default 480).
        #[serde(default)]
        sip_status: Option<u16>,
    },
}

impl Default for QueueTarget {
    fn default() -> Self {
        QueueTarget::Release {
            prompt: None,
            sip_status: None,
        }
    }
}

impl QueueTarget {
    fn validate(&self, p: &mut Problems, field: &str) {
        match self {
            QueueTarget::SkillQueue { id } | QueueTarget::IvrFlow { id } => {
                p.length(&format!("{field}.id"), id, 1, 100);
            }
            QueueTarget::ExternalNumber { number } => {
                dial_string(p, &format!("{field}.number"), number, 32);
            }
            QueueTarget::Release { prompt, sip_status } => {
                super::optional_ref(p, &format!("{field}.prompt"), prompt.as_ref());
                if let Some(status) = sip_status {
                    p.range(&format!("{field}.sip_status"), *status, 400, 699);
                }
            }
        }
    }

    fn visit(&mut self, field: &str, visit: &mut dyn FnMut(RefField<'_>)) {
        match self {
            QueueTarget::SkillQueue { id } => visit(RefField {
                field: format!("{field}.id"),
                kind: Kind::SkillQueue,
                value: id,
            }),
            QueueTarget::IvrFlow { id } => visit(RefField {
                field: format!("{field}.id"),
                kind: Kind::Flow,
                value: id,
            }),
            QueueTarget::Release {
                prompt: Some(prompt),
                ..
            } => {
                visit(RefField {
                    field: format!("{field}.prompt"),
                    kind: Kind::Prompt,
                    value: prompt,
                });
            }
            QueueTarget::ExternalNumber { .. } | QueueTarget::Release { prompt: None, .. } => {}
        }
    }
}

/// A periodic announcement while waiting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// The prompt (id or name).
    pub prompt: String,
    /// Every so many seconds, 10..=3600.
    pub interval_s: u32,
}

/// A skill queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillQueueSpec {
    /// Unique name, at most 100 characters.
    pub name: String,
    /// Free text, at most 50 characters.
    #[serde(default)]
    pub description: String,
    /// Media type.
    #[serde(default)]
    pub media_type: MediaType,
    /// Calls that may wait, 0..=10000; default 100.
    #[serde(default = "default_max_waiting")]
    pub max_waiting_calls: u32,
    /// Longest wait, 1..=60000 s; default 600.
    #[serde(default = "default_max_wait")]
    pub max_wait_time_s: u32,
    /// Wrap-up after each call, 0..=3600 s; default 5.
    #[serde(default = "default_wrap_up")]
    pub wrap_up_time_s: u32,
    /// How agents are picked.
    #[serde(default)]
    pub strategy: RoutingStrategy,
    /// How long one agent is rung, 5..=300 s; default 20.
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_s: u32,
    /// When no agent is signed in.
    #[serde(default)]
    pub on_no_agents: QueueTarget,
    /// When the queue is full.
    #[serde(default)]
    pub on_queue_full: QueueTarget,
    /// When the wait time runs out.
    #[serde(default)]
    pub on_wait_timeout: QueueTarget,
    /// Hold music prompt (id or name); default a built-in tone pattern.
    #[serde(default)]
    pub hold_music: Option<String>,
    /// Periodic announcement.
    #[serde(default)]
    pub announcement: Option<Announcement>,
}

fn default_max_waiting() -> u32 {
    100
}
fn default_max_wait() -> u32 {
    600
}
fn default_wrap_up() -> u32 {
    5
}
fn default_ring_timeout() -> u32 {
    20
}

impl Resource for SkillQueueSpec {
    const KIND: Kind = Kind::SkillQueue;

    fn validate(&self, p: &mut Problems) {
        name(p, "name", &self.name, 100);
        p.length("description", &self.description, 0, 50);
        p.range("max_waiting_calls", self.max_waiting_calls, 0, 10_000);
        p.range("max_wait_time_s", self.max_wait_time_s, 1, 60_000);
        p.range("wrap_up_time_s", self.wrap_up_time_s, 0, 3600);
        p.range("ring_timeout_s", self.ring_timeout_s, 5, 300);
        self.on_no_agents.validate(p, "on_no_agents");
        self.on_queue_full.validate(p, "on_queue_full");
        self.on_wait_timeout.validate(p, "on_wait_timeout");
        super::optional_ref(p, "hold_music", self.hold_music.as_ref());
        if let Some(a) = &self.announcement {
            p.length("announcement.prompt", &a.prompt, 1, 100);
            p.range("announcement.interval_s", a.interval_s, 10, 3600);
        }
        if self.media_type == MediaType::Multimedia {
            for (field, target) in [
                ("on_no_agents", &self.on_no_agents),
                ("on_queue_full", &self.on_queue_full),
                ("on_wait_timeout", &self.on_wait_timeout),
            ] {
                if matches!(target, QueueTarget::IvrFlow { .. }) {
                    p.add(
                        format!("{field}.type"),
                        "multimedia queues cannot overflow to an IVR flow",
                    );
                }
            }
        }
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }

    fn visit_refs(&mut self, visit: &mut dyn FnMut(RefField<'_>)) {
        self.on_no_agents.visit("on_no_agents", visit);
        self.on_queue_full.visit("on_queue_full", visit);
        self.on_wait_timeout.visit("on_wait_timeout", visit);
        if let Some(prompt) = &mut self.hold_music {
            visit(RefField {
                field: "hold_music".into(),
                kind: Kind::Prompt,
                value: prompt,
            });
        }
        if let Some(a) = &mut self.announcement {
            visit(RefField {
                field: "announcement.prompt".into(),
                kind: Kind::Prompt,
                value: &mut a.prompt,
            });
        }
    }
}
