//! Agent accounts: work number, SIP phone credentials (stored as HA1), web password (argon2),
//! role and skills.

use serde::{Deserialize, Serialize};

use super::name;
use crate::credentials::{hash_password, password_problem, sip_ha1_pair};
use crate::error::Problems;
use crate::resource::{Kind, RefField, Resource};

/// What an agent account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    /// Handles calls (default).
    #[default]
    Agent,
    /// Also monitors others (listen, whisper, barge) and inspects quality.
    Supervisor,
    /// Also configures the tenant.
    Admin,
}

/// One skill of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSkill {
    /// The skill queue (id or name).
    pub queue: String,
    /// Weight 1..=100 (higher is preferred by the skill-weight strategy); default 1.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// An agent account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// Work number, 1..=20 digits; unique per tenant; used to sign in.
    pub work_no: String,
    /// Display name, at most 50 characters.
    pub name: String,
    /// SIP phone user (the number its phone registers as), 1..=25 digits; default `work_no`.
    #[serde(default)]
    pub sip_user: String,
    /// Role.
    #[serde(default)]
    pub role: AgentRole,
    /// Skills (at most 100).
    #[serde(default)]
    pub skills: Vec<AgentSkill>,
    /// Answer offered calls without a click.
    #[serde(default)]
    pub auto_answer: bool,
    /// Go idle again after wrap-up without a click (default true).
    #[serde(default = "yes")]
    pub auto_idle: bool,
    /// SIP phone password (write-only; stored as MD5 and SHA-256 HA1).
    #[serde(default, skip_serializing)]
    pub sip_password: Option<String>,
    /// Web sign-in password (write-only; stored as argon2id).
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
}

fn yes() -> bool {
    true
}

fn digits(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

impl AgentSpec {
    fn effective_sip_user(&self) -> &str {
        if self.sip_user.is_empty() {
            &self.work_no
        } else {
            &self.sip_user
        }
    }
}

impl Resource for AgentSpec {
    const KIND: Kind = Kind::Agent;

    fn validate(&self, p: &mut Problems) {
        p.check(
            digits(&self.work_no, 20),
            "work_no",
            "must be 1 to 20 digits",
        );
        name(p, "name", &self.name, 50);
        if !self.sip_user.is_empty() {
            p.check(
                digits(&self.sip_user, 25),
                "sip_user",
                "must be 1 to 25 digits",
            );
        }
        if self.skills.len() > 100 {
            p.add("skills", "must list at most 100 skills");
        }
        for (i, skill) in self.skills.iter().enumerate() {
            p.length(&format!("skills[{i}].queue"), &skill.queue, 1, 100);
            p.range(&format!("skills[{i}].weight"), skill.weight, 1, 100);
        }
        if let Some(reason) = self.sip_password.as_deref().and_then(password_problem) {
            p.add("sip_password", reason);
        }
        if let Some(reason) = self.password.as_deref().and_then(password_problem) {
            p.add("password", reason);
        }
    }

    fn natural_key(&self) -> String {
        self.work_no.clone()
    }

    fn alt_key(&self) -> Option<String> {
        Some(self.effective_sip_user().to_owned())
    }

    fn visit_refs(&mut self, visit: &mut dyn FnMut(RefField<'_>)) {
        for (i, skill) in self.skills.iter_mut().enumerate() {
            visit(RefField {
                field: format!("skills[{i}].queue"),
                kind: Kind::SkillQueue,
                value: &mut skill.queue,
            });
        }
    }

    fn check_update(&self, previous: &Self, p: &mut Problems) {
        // HA1 covers the user name: a new SIP user needs the password again.
        if self.effective_sip_user() != previous.effective_sip_user() && self.sip_password.is_none()
        {
            p.add("sip_password", "is required when sip_user changes");
        }
    }

    fn take_secrets(&mut self, realm: &str) -> Option<serde_json::Value> {
        if self.sip_user.is_empty() {
            self.sip_user.clone_from(&self.work_no);
        }
        let mut secrets = serde_json::Map::new();
        if let Some(pw) = self.sip_password.take() {
            let (md5, sha256) = sip_ha1_pair(&self.sip_user, realm, &pw);
            secrets.insert("sip_ha1_md5".into(), md5.into());
            secrets.insert("sip_ha1_sha256".into(), sha256.into());
        }
        if let Some(pw) = self.password.take() {
            // Validation accepted it, so hashing can only fail on a broken RNG; then the
            // account simply has no web password.
            if let Ok(phc) = hash_password(&pw) {
                secrets.insert("password_argon2".into(), phc.into());
            }
        }
        (!secrets.is_empty()).then_some(serde_json::Value::Object(secrets))
    }
}
