//! Access codes (the numbers callers dial) and called routes (access code + extension ->
//! IVR flow or skill queue).

use serde::{Deserialize, Serialize};

use super::dial_string;
use crate::error::Problems;
use crate::resource::{Kind, RefField, Resource};

/// Media type of an access code, route or queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    /// Voice calls (default).
    #[default]
    Voice,
    /// Video calls.
    Video,
    /// Multimedia (chat); cannot route to an IVR flow.
    Multimedia,
}

/// A number callers dial, delivered by a trunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessCodeSpec {
    /// The number, 1..=32 digits (optionally +, * and #); unique per tenant.
    pub number: String,
    /// The trunk that delivers it (id or name).
    pub trunk: String,
    /// Media type.
    #[serde(default)]
    pub media_type: MediaType,
    /// Free text, at most 100 characters.
    #[serde(default)]
    pub description: String,
}

impl Resource for AccessCodeSpec {
    const KIND: Kind = Kind::AccessCode;

    fn validate(&self, p: &mut Problems) {
        dial_string(p, "number", &self.number, 32);
        p.length("trunk", &self.trunk, 1, 64);
        p.length("description", &self.description, 0, 100);
    }

    fn natural_key(&self) -> String {
        self.number.clone()
    }

    fn visit_refs(&mut self, visit: &mut dyn FnMut(RefField<'_>)) {
        visit(RefField {
            field: "trunk".into(),
            kind: Kind::Trunk,
            value: &mut self.trunk,
        });
    }
}

/// Where a called route sends the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RouteTarget {
    /// A skill queue (id or name).
    SkillQueue {
        /// The queue.
        id: String,
    },
    /// An IVR flow (id or name).
    IvrFlow {
        /// The flow.
        id: String,
    },
}

/// Access code + extension -> target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalledRouteSpec {
    /// The access code (id or number).
    pub access_code: String,
    /// Digits dialled after the access code, 0..=12; empty = the access code alone.
    #[serde(default)]
    pub extension: String,
    /// Media type (multimedia cannot go to an IVR flow).
    #[serde(default)]
    pub media_type: MediaType,
    /// Where calls go.
    pub target: RouteTarget,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

impl Resource for CalledRouteSpec {
    const KIND: Kind = Kind::CalledRoute;

    fn validate(&self, p: &mut Problems) {
        p.length("access_code", &self.access_code, 1, 64);
        if !self.extension.is_empty() {
            p.check(
                self.extension.len() <= 12 && self.extension.bytes().all(|b| b.is_ascii_digit()),
                "extension",
                "must be 0 to 12 digits",
            );
        }
        let target_id = match &self.target {
            RouteTarget::SkillQueue { id } | RouteTarget::IvrFlow { id } => id,
        };
        p.length("target.id", target_id, 1, 100);
        if self.media_type == MediaType::Multimedia
            && matches!(self.target, RouteTarget::IvrFlow { .. })
        {
            p.add("target.type", "multimedia routes cannot go to an IVR flow");
        }
        p.length("description", &self.description, 0, 100);
    }

    /// Unique per (access code, extension): the access code is an id once stored.
    fn natural_key(&self) -> String {
        format!("{}/{}", self.access_code, self.extension)
    }

    fn visit_refs(&mut self, visit: &mut dyn FnMut(RefField<'_>)) {
        visit(RefField {
            field: "access_code".into(),
            kind: Kind::AccessCode,
            value: &mut self.access_code,
        });
        match &mut self.target {
            RouteTarget::SkillQueue { id } => {
                visit(RefField {
                    field: "target.id".into(),
                    kind: Kind::SkillQueue,
                    value: id,
                });
            }
            RouteTarget::IvrFlow { id } => {
                visit(RefField {
                    field: "target.id".into(),
                    kind: Kind::Flow,
                    value: id,
                });
            }
        }
    }
}
