//! A whole tenant's configuration as one document (`GET/PUT …/tenants/{tenant}/config`):
//! references are written as natural keys (names, numbers) so the document is portable and
//! can live in git; applying it makes the tenant match it (create, update, delete), and
//! applying the same document again changes nothing.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::audit::{Action, write_audit};
use crate::db::{new_id, now_ms};
use crate::error::{FieldError, Problems};
use crate::model::{
    AccessCodeSpec, AgentSpec, CalendarSpec, CalledRouteSpec, FlowSpec, PromptSpec, ReasonCodeSpec,
    SkillQueueSpec, TenantLimits, TrunkSpec,
};
use crate::repo::{RowWrite, insert_row, merge_secrets, update_row, write_refs};
use crate::resource::{Kind, Page, RefField, Resource};
use crate::{Actor, Store, StoreError};

/// Tenant-wide settings in a configuration document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Limits.
    #[serde(default)]
    pub limits: TenantLimits,
}

/// The whole configuration of one tenant. Secrets are never exported; on import, objects
/// without passwords keep the ones they have.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Tenant settings (absent: left as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<TenantSettings>,
    /// Prompts (metadata; audio is uploaded separately).
    #[serde(default)]
    pub prompts: Vec<PromptSpec>,
    /// Work calendars.
    #[serde(default)]
    pub calendars: Vec<CalendarSpec>,
    /// Reason codes.
    #[serde(default)]
    pub reason_codes: Vec<ReasonCodeSpec>,
    /// IVR flows (drafts).
    #[serde(default)]
    pub flows: Vec<FlowSpec>,
    /// SIP trunks.
    #[serde(default)]
    pub trunks: Vec<TrunkSpec>,
    /// Access codes.
    #[serde(default)]
    pub access_codes: Vec<AccessCodeSpec>,
    /// Skill queues.
    #[serde(default)]
    pub skill_queues: Vec<SkillQueueSpec>,
    /// Called routes.
    #[serde(default)]
    pub called_routes: Vec<CalledRouteSpec>,
    /// Agents.
    #[serde(default)]
    pub agents: Vec<AgentSpec>,
}

/// What applying a document did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplySummary {
    /// Objects created.
    pub created: u32,
    /// Objects changed.
    pub updated: u32,
    /// Objects deleted (not in the document).
    pub deleted: u32,
    /// Objects already as in the document.
    pub unchanged: u32,
}

/// The collection name of a kind in the document (for error paths).
fn section(kind: Kind) -> &'static str {
    match kind {
        Kind::Trunk => "trunks",
        Kind::AccessCode => "access_codes",
        Kind::CalledRoute => "called_routes",
        Kind::SkillQueue => "skill_queues",
        Kind::Agent => "agents",
        Kind::Flow => "flows",
        Kind::Prompt => "prompts",
        Kind::Calendar => "calendars",
        Kind::ReasonCode => "reason_codes",
    }
}

struct Existing {
    id: String,
    body: String,
    secrets: Option<String>,
}

/// One object of the document, ready to write.
struct Planned {
    kind: Kind,
    id: String,
    key: String,
    alt_key: Option<String>,
    body: String,
    secrets: Option<serde_json::Value>,
    refs: Vec<(String, String)>,
}

/// Natural keys -> ids of the tenant's objects, existing and planned.
#[derive(Default)]
struct KeyMap {
    ids: HashMap<(Kind, String), String>,
    keys: HashMap<String, String>,
}

impl KeyMap {
    fn insert(&mut self, kind: Kind, key: String, id: String) {
        self.keys.insert(id.clone(), key.clone());
        self.ids.insert((kind, key), id);
    }
}

/// Plans the objects of one kind: assigns ids (existing or new), translates references from
/// natural keys to ids, and collects field errors under `section[i]`.
fn plan<R: Resource>(
    items: Vec<R>,
    realm: &str,
    map: &mut KeyMap,
    existing: &HashMap<(Kind, String), Existing>,
    problems: &mut Problems,
) -> Vec<Planned> {
    let kind = R::KIND;
    let mut planned = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    // Keys of this kind first, so objects of one kind may refer to each other (queue overflow).
    if kind != Kind::CalledRoute {
        for item in &items {
            let key = item.natural_key();
            let id = existing
                .get(&(kind, key.clone()))
                .map_or_else(new_id, |e| e.id.clone());
            map.insert(kind, key, id);
        }
    }
    for (i, mut item) in items.into_iter().enumerate() {
        let path = format!("{}[{i}]", section(kind));
        let mut inner = Problems::default();
        item.validate(&mut inner);
        let mut refs = Vec::new();
        item.visit_refs(&mut |r: RefField<'_>| {
            let found = map.ids.get(&(r.kind, r.value.clone())).cloned();
            match found {
                Some(id) => {
                    *r.value = id.clone();
                    refs.push((r.field, id));
                }
                None => inner.add(
                    r.field,
                    format!("no {} {:?} in this document", r.kind.label(), r.value),
                ),
            }
        });
        let key = item.natural_key();
        if !seen.insert(key.clone()) {
            inner.add("", format!("{} {key:?} appears twice", kind.label()));
        }
        let id = match existing.get(&(kind, key.clone())) {
            Some(e) => e.id.clone(),
            None if kind == Kind::CalledRoute => new_id(),
            None => map
                .ids
                .get(&(kind, key.clone()))
                .cloned()
                .unwrap_or_else(new_id),
        };
        if kind == Kind::CalledRoute {
            map.insert(kind, key.clone(), id.clone());
        }
        let secrets = item.take_secrets(realm);
        if let Some(previous) = existing.get(&(kind, key.clone())) {
            if let Ok(prev) = serde_json::from_str::<R>(&previous.body) {
                item.check_update(&prev, &mut inner);
                item.carry_over(&prev);
            }
        } else {
            item.reset_managed();
        }
        let body = serde_json::to_string(&item).unwrap_or_default();
        if inner.is_empty() {
            planned.push(Planned {
                kind,
                id,
                key,
                alt_key: item.alt_key(),
                body,
                secrets,
                refs,
            });
        }
        problems.nested(&path, inner);
    }
    planned
}

/// Turns stored references (ids) back into natural keys for export.
fn export_kind<R: Resource>(
    items: Vec<crate::Stored<R>>,
    keys: &HashMap<String, String>,
) -> Vec<R> {
    items
        .into_iter()
        .map(|stored| {
            let mut spec = stored.spec;
            spec.visit_refs(&mut |r: RefField<'_>| {
                if let Some(key) = keys.get(r.value.as_str()) {
                    // A called route's key embeds the access code's id; exports use the number.
                    r.value.clone_from(key);
                }
            });
            spec.reset_managed();
            spec
        })
        .collect()
}

impl Store {
    async fn all_of<R: Resource>(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<crate::Stored<R>>, StoreError> {
        let mut page = Page {
            limit: Some(100),
            cursor: None,
        };
        let mut all = Vec::new();
        loop {
            let listing = self.list::<R>(tenant_id, &page).await?;
            all.extend(listing.items);
            match listing.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// Exports a tenant's configuration.
    pub async fn export_config(&self, tenant_id: &str) -> Result<TenantConfig, StoreError> {
        let tenant = self.get_tenant(tenant_id).await?;
        let rows = sqlx::query("SELECT id, natural_key FROM resources WHERE tenant_id = $1")
            .bind(&tenant.id)
            .fetch_all(&self.pools.read)
            .await?;
        let mut keys = HashMap::new();
        for row in &rows {
            keys.insert(
                row.try_get::<String, _>("id")?,
                row.try_get::<String, _>("natural_key")?,
            );
        }
        let t = &tenant.id;
        Ok(TenantConfig {
            settings: Some(TenantSettings {
                display_name: tenant.spec.display_name.clone(),
                time_zone: tenant.spec.time_zone.clone(),
                limits: tenant.spec.limits.clone(),
            }),
            prompts: export_kind(self.all_of(t).await?, &keys),
            calendars: export_kind(self.all_of(t).await?, &keys),
            reason_codes: export_kind(self.all_of(t).await?, &keys),
            flows: export_kind(self.all_of(t).await?, &keys),
            trunks: export_kind(self.all_of(t).await?, &keys),
            access_codes: export_kind(self.all_of(t).await?, &keys),
            skill_queues: export_kind(self.all_of(t).await?, &keys),
            called_routes: export_kind::<CalledRouteSpec>(self.all_of(t).await?, &keys),
            agents: export_kind(self.all_of(t).await?, &keys),
        })
    }

    /// Makes a tenant's configuration match `doc`: creates what is missing, updates what
    /// differs, deletes what the document does not list; all in one transaction, audited.
    pub async fn apply_config(
        &self,
        actor: &Actor,
        tenant_key: &str,
        doc: TenantConfig,
    ) -> Result<ApplySummary, StoreError> {
        let tenant = self.get_tenant(tenant_key).await?;
        let mut tx = self.pools.write.begin().await?;
        let rows = sqlx::query(
            "SELECT id, kind, natural_key, body, secrets FROM resources WHERE tenant_id = $1",
        )
        .bind(&tenant.id)
        .fetch_all(&mut *tx)
        .await?;
        let mut existing = HashMap::new();
        let mut map = KeyMap::default();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let Some(kind) = Kind::from_name(&kind) else {
                continue;
            };
            let key: String = row.try_get("natural_key")?;
            let id: String = row.try_get("id")?;
            existing.insert(
                (kind, key),
                Existing {
                    id,
                    body: row.try_get("body")?,
                    secrets: row.try_get("secrets")?,
                },
            );
        }
        let mut problems = Problems::default();
        if let Some(settings) = &doc.settings {
            let mut spec = tenant.spec.clone();
            spec.display_name.clone_from(&settings.display_name);
            spec.time_zone.clone_from(&settings.time_zone);
            spec.limits = settings.limits.clone();
            let mut inner = Problems::default();
            spec.validate(&mut inner);
            problems.nested("settings", inner);
        }
        let realm = self.realm.clone();
        let mut planned = Vec::new();
        planned.extend(plan(
            doc.prompts,
            &realm,
            &mut map,
            &existing,
            &mut problems,
        ));
        planned.extend(plan(
            doc.calendars,
            &realm,
            &mut map,
            &existing,
            &mut problems,
        ));
        planned.extend(plan(
            doc.reason_codes,
            &realm,
            &mut map,
            &existing,
            &mut problems,
        ));
        planned.extend(plan(doc.flows, &realm, &mut map, &existing, &mut problems));
        planned.extend(plan(doc.trunks, &realm, &mut map, &existing, &mut problems));
        planned.extend(plan(
            doc.access_codes,
            &realm,
            &mut map,
            &existing,
            &mut problems,
        ));
        planned.extend(plan(
            doc.skill_queues,
            &realm,
            &mut map,
            &existing,
            &mut problems,
        ));
        planned.extend(plan(
            doc.called_routes,
            &realm,
            &mut map,
            &existing,
            &mut problems,
        ));
        planned.extend(plan(doc.agents, &realm, &mut map, &existing, &mut problems));
        problems.finish()?;

        let mut summary = ApplySummary::default();
        let now = now_ms();
        let keep: HashSet<String> = planned.iter().map(|p| p.id.clone()).collect();
        // Objects that are going away lose their outgoing references first, so nothing that
        // stays can be blocked by them and they can be deleted in any order.
        let doomed: Vec<(&(Kind, String), &Existing)> = existing
            .iter()
            .filter(|(_, e)| !keep.contains(&e.id))
            .collect();
        for (_, e) in &doomed {
            write_refs(&mut tx, &e.id, &[]).await?;
        }
        for p in &planned {
            let previous = existing.get(&(p.kind, p.key.clone()));
            let secrets_changed = p.secrets.is_some();
            match previous {
                Some(e) if e.body == p.body && !secrets_changed => summary.unchanged += 1,
                Some(e) => {
                    let row = RowWrite {
                        id: &e.id,
                        key: &p.key,
                        alt_key: p.alt_key.as_deref(),
                        time_ms: now,
                        body: &p.body,
                        secrets: merge_secrets(e.secrets.as_deref(), p.secrets.clone()),
                    };
                    update_row(&mut tx, row, None)
                        .await
                        .map_err(|err| conflict(err, p))?;
                    write_audit(
                        &mut tx,
                        Some(&tenant.id),
                        actor,
                        Action::Update,
                        p.kind.as_str(),
                        &p.id,
                        &p.key,
                        Some(&e.body),
                        Some(&p.body),
                    )
                    .await?;
                    summary.updated += 1;
                }
                None => {
                    let row = RowWrite {
                        id: &p.id,
                        key: &p.key,
                        alt_key: p.alt_key.as_deref(),
                        time_ms: now,
                        body: &p.body,
                        secrets: p.secrets.as_ref().map(ToString::to_string),
                    };
                    insert_row(&mut tx, &tenant.id, p.kind, row)
                        .await
                        .map_err(|err| conflict(err, p))?;
                    write_audit(
                        &mut tx,
                        Some(&tenant.id),
                        actor,
                        Action::Create,
                        p.kind.as_str(),
                        &p.id,
                        &p.key,
                        None,
                        Some(&p.body),
                    )
                    .await?;
                    summary.created += 1;
                }
            }
        }
        for p in &planned {
            write_refs(&mut tx, &p.id, &p.refs).await?;
        }
        for ((kind, key), e) in doomed {
            sqlx::query("DELETE FROM resources WHERE id = $1")
                .bind(&e.id)
                .execute(&mut *tx)
                .await?;
            write_audit(
                &mut tx,
                Some(&tenant.id),
                actor,
                Action::Delete,
                kind.as_str(),
                &e.id,
                key,
                Some(&e.body),
                None,
            )
            .await?;
            summary.deleted += 1;
        }
        if let Some(settings) = doc.settings {
            let mut spec = tenant.spec.clone();
            spec.display_name = settings.display_name;
            spec.time_zone = settings.time_zone;
            spec.limits = settings.limits;
            if spec != tenant.spec {
                let before = serde_json::to_string(&tenant.spec).unwrap_or_default();
                let body = serde_json::to_string(&spec).unwrap_or_default();
                sqlx::query("UPDATE tenants SET version = version + 1, updated_ms = $1, body = $2 WHERE id = $3")
                    .bind(now)
                    .bind(&body)
                    .bind(&tenant.id)
                    .execute(&mut *tx)
                    .await?;
                write_audit(
                    &mut tx,
                    Some(&tenant.id),
                    actor,
                    Action::Update,
                    "tenant",
                    &tenant.id,
                    &spec.name,
                    Some(&before),
                    Some(&body),
                )
                .await?;
                summary.updated += 1;
            }
        }
        tx.commit().await?;
        Ok(summary)
    }
}

fn conflict(err: sqlx::Error, p: &Planned) -> StoreError {
    if crate::db::is_unique_violation(&err) {
        StoreError::Invalid(vec![FieldError::new(
            section(p.kind),
            format!(
                "{} {:?} collides with another object's unique key",
                p.kind.label(),
                p.key
            ),
        )])
    } else {
        StoreError::Database(err)
    }
}
