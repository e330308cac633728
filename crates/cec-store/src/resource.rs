//! What every tenant-scoped configuration object has in common, and how the store sees it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Problems;

/// The kinds of tenant-scoped objects. The string form is the `kind` column and the audit
/// log's vocabulary; the path segment is the REST collection name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// SIP peer.
    Trunk,
    /// Number callers dial.
    AccessCode,
    /// Access code + extension -> target.
    CalledRoute,
    /// Skill queue.
    SkillQueue,
    /// Agent account.
    Agent,
    /// IVR flow document.
    Flow,
    /// Voice prompt.
    Prompt,
    /// Work calendar.
    Calendar,
    /// Busy/rest reason code.
    ReasonCode,
}

impl Kind {
    /// Every kind, in the order an import creates them (referenced kinds first).
    pub const ALL: [Kind; 9] = [
        Kind::Prompt,
        Kind::Calendar,
        Kind::ReasonCode,
        Kind::Flow,
        Kind::Trunk,
        Kind::AccessCode,
        Kind::SkillQueue,
        Kind::CalledRoute,
        Kind::Agent,
    ];

    /// The stored name (`kind` column, audit log).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Trunk => "trunk",
            Kind::AccessCode => "access_code",
            Kind::CalledRoute => "called_route",
            Kind::SkillQueue => "skill_queue",
            Kind::Agent => "agent",
            Kind::Flow => "flow",
            Kind::Prompt => "prompt",
            Kind::Calendar => "calendar",
            Kind::ReasonCode => "reason_code",
        }
    }

    /// Parses the stored name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A human name for messages ("skill queue").
    pub fn label(self) -> &'static str {
        match self {
            Kind::Trunk => "trunk",
            Kind::AccessCode => "access code",
            Kind::CalledRoute => "called route",
            Kind::SkillQueue => "skill queue",
            Kind::Agent => "agent",
            Kind::Flow => "flow",
            Kind::Prompt => "prompt",
            Kind::Calendar => "calendar",
            Kind::ReasonCode => "reason code",
        }
    }
}

/// A reference field inside a resource: visited by [`Resource::visit_refs`] so the store can
/// check, record and translate references without knowing each type's layout.
pub struct RefField<'a> {
    /// Path of the field (`skills[1].queue`), for error messages.
    pub field: String,
    /// The kind of object it must point at.
    pub kind: Kind,
    /// The id (or, in an exported document, the natural key) it holds.
    pub value: &'a mut String,
}

/// A tenant-scoped configuration object.
pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Which kind this is.
    const KIND: Kind;

    /// Checks the fields that need no database (lengths, ranges, formats).
    fn validate(&self, problems: &mut Problems);

    /// The key that is unique per tenant and kind (name, number, …); ids or keys both find it.
    fn natural_key(&self) -> String;

    /// A second unique key, if the kind has one (an agent's SIP user).
    fn alt_key(&self) -> Option<String> {
        None
    }

    /// Calls `visit` for every reference to another object.
    fn visit_refs(&mut self, _visit: &mut dyn FnMut(RefField<'_>)) {}

    /// Checks that need the previous version of the object (on update).
    fn check_update(&self, _previous: &Self, _problems: &mut Problems) {}

    /// Moves write-only secrets (passwords) out of the object, hashed as the kind needs them,
    /// as a JSON object merged into the stored secrets. `realm` is the SIP digest realm.
    fn take_secrets(&mut self, _realm: &str) -> Option<serde_json::Value> {
        None
    }

    /// Clears server-managed fields a client sent on create (they are set by other calls).
    fn reset_managed(&mut self) {}

    /// Keeps server-managed fields (a flow's published version, a prompt's audio) across an
    /// update that replaces the object.
    fn carry_over(&mut self, _previous: &Self) {}
}

/// An object as stored: its spec plus the fields the store manages.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stored<T> {
    /// UUIDv7, assigned on create.
    pub id: String,
    /// Optimistic-concurrency version: 1 on create, +1 per update.
    pub version: i64,
    /// Creation time, epoch milliseconds.
    pub created_ms: i64,
    /// Last update time, epoch milliseconds.
    pub updated_ms: i64,
    /// The object's fields.
    #[serde(flatten)]
    pub spec: T,
}

/// Paging of a list: at most `limit` items after `cursor` (an id from a previous page).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct Page {
    /// 1..=100, default 50.
    pub limit: Option<u32>,
    /// Resume after this id (the previous page's `next_cursor`).
    pub cursor: Option<String>,
}

impl Page {
    /// The effective limit (default 50, at most 100).
    pub fn effective_limit(&self) -> Result<u32, crate::StoreError> {
        // Cursors are ids (UUIDs); anything else is a client bug worth a clear answer.
        if let Some(cursor) = self.cursor.as_deref().filter(|c| !c.is_empty()) {
            let uuid_shaped = cursor.len() == 36
                && cursor.bytes().enumerate().all(|(i, b)| {
                    if matches!(i, 8 | 13 | 18 | 23) {
                        b == b'-'
                    } else {
                        b.is_ascii_hexdigit()
                    }
                });
            if !uuid_shaped {
                return Err(crate::StoreError::invalid(
                    "cursor",
                    "must be the next_cursor of a previous page",
                ));
            }
        }
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=100) => Ok(n),
            Some(n) => Err(crate::StoreError::invalid(
                "limit",
                format!("must be between 1 and 100 (is {n})"),
            )),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Listing<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
