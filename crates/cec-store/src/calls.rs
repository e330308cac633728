//! Call records (CDRs): what they hold, and how the call path writes them in batches together
//! with its events, one transaction per batch (reading them is in `cdr_list`).
//!
//! A record is upserted by call id: the running record written at arrival or answer is
//! replaced by later ones, and the final (`ended`) record is never replaced by a stale
//! `active` one. The SQL enforces that, so a late or repeated batch cannot undo an end.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::events::{EventRecord, insert_events};
use crate::{Store, StoreError};

/// Whether a call still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CdrState {
    /// Running: the record may still change.
    Active,
    /// Over: this is the final record.
    Ended,
}

impl CdrState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CdrState::Active => "active",
            CdrState::Ended => "ended",
        }
    }
}

/// Media quality of one leg of a call over its life, from the RTCP intervals the media
/// engine reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegQuality {
    /// `caller` or `agent`.
    pub role: String,
    /// Reporting intervals the figures cover.
    pub intervals: u32,
    /// Mean packet loss, percent.
    pub loss_percent: f64,
    /// Highest interarrival jitter, milliseconds (RFC 3550).
    pub jitter_ms: f64,
    /// Lowest estimated mean opinion score (1.0..=5.0), when there was audio to tell.
    #[serde(default)]
    pub mos: Option<f64>,
}

/// The record of one call: who called whom through what, where it waited, who took it, when
/// each step happened (epoch milliseconds), how it ended and how the media sounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CdrRecord {
    /// The call id (unique per tenant).
    pub id: String,
    /// The tenant's name. On write, a tenant id is accepted too; reads answer the current name.
    pub tenant: String,
    /// Running or over.
    pub state: CdrState,
    /// The trunk the call came in on (name).
    pub trunk: String,
    /// The access code dialled.
    pub access_code: String,
    /// The caller's number.
    pub caller: String,
    /// The called number.
    pub called: String,
    /// The skill queue the call entered (name).
    #[serde(default)]
    pub queue: Option<String>,
    /// The agent (work number) who took or was last offered the call.
    #[serde(default)]
    pub agent: Option<String>,
    /// When the INVITE arrived.
    pub arrived_ms: i64,
    /// When the call entered the queue.
    #[serde(default)]
    pub queued_ms: Option<i64>,
    /// When an agent's phone started ringing.
    #[serde(default)]
    pub ringing_ms: Option<i64>,
    /// When the agent answered.
    #[serde(default)]
    pub answered_ms: Option<i64>,
    /// When the call ended.
    #[serde(default)]
    pub ended_ms: Option<i64>,
    /// Who released: `caller`, `agent` or `system`.
    #[serde(default)]
    pub released_by: Option<String>,
    /// Why (e.g. `normal`, `abandoned`, `no_answer`, `queue_full`, `media_timeout`).
    #[serde(default)]
    pub release_cause: Option<String>,
    /// The final SIP status sent to or received from the caller's side.
    #[serde(default)]
    pub sip_status: Option<u16>,
    /// Its reason phrase.
    #[serde(default)]
    pub sip_reason: Option<String>,
    /// Media quality per leg.
    #[serde(default)]
    pub legs: Vec<LegQuality>,
}

/// Default page size of call records and events.
pub const DEFAULT_RECORD_LIMIT: u32 = 100;
/// Largest page of call records and events.
pub const MAX_RECORD_LIMIT: u32 = 1000;

/// Checks a record page size (1..=1000, default 100).
pub(crate) fn record_limit(limit: Option<u32>) -> Result<u32, StoreError> {
    match limit {
        None => Ok(DEFAULT_RECORD_LIMIT),
        Some(n @ 1..=MAX_RECORD_LIMIT) => Ok(n),
        Some(n) => Err(StoreError::invalid(
            "limit",
            format!("must be between 1 and {MAX_RECORD_LIMIT} (is {n})"),
        )),
    }
}

/// A tenant as the call tables know it: the id they are keyed by, the name records show.
#[derive(Debug, Clone)]
pub(crate) struct TenantRef {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// Finds a tenant by id or name.
pub(crate) async fn find_tenant<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    key: &str,
) -> Result<Option<TenantRef>, StoreError> {
    let row = sqlx::query("SELECT id, name FROM tenants WHERE id = $1 OR name = $1 LIMIT 1")
        .bind(key)
        .fetch_optional(executor)
        .await?;
    row.map(|row| {
        Ok(TenantRef {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
        })
    })
    .transpose()
}

/// Resolves every tenant a batch names (id or name); unknown ones are left out.
async fn resolve_tenants<'a>(
    tx: &mut Transaction<'static, Any>,
    keys: impl Iterator<Item = &'a str>,
) -> Result<HashMap<&'a str, TenantRef>, StoreError> {
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for key in keys {
        if found.contains_key(key) || missing.contains(&key) {
            continue;
        }
        match find_tenant(&mut **tx, key).await? {
            Some(tenant) => {
                found.insert(key, tenant);
            }
            None => missing.push(key),
        }
    }
    if !missing.is_empty() {
        // A tenant deleted while its calls ran: its records have nowhere to go. Failing the
        // batch would lose every other tenant's records with them.
        tracing::warn!(tenants = ?missing, "call records and events of unknown tenants dropped");
    }
    Ok(found)
}

/// Bound parameters per multi-row INSERT. Measured on SQLite through sqlx: the cost per row
/// grows with the statement's parameter count (3,000 events take ~10 ms at 25 rows per
/// statement, ~50 ms at 250 and ~250 ms at 1,000), so statements stay small.
const PARAMS_PER_INSERT: usize = 180;

/// Rows per multi-row INSERT of a table with `columns` parameters per row.
pub(crate) const fn rows_per_insert(columns: usize) -> usize {
    PARAMS_PER_INSERT / columns
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` parameters.
pub(crate) fn values_clause(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            let sep = if column == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}${}", row * columns + column + 1);
        }
        sql.push(')');
    }
    sql
}

/// A record ready for its row: the tenant id, the body with non-finite numbers cleared.
struct CdrRow<'a> {
    tenant_id: &'a str,
    record: &'a CdrRecord,
    body: String,
}

/// Picks, per call, the record the batch leaves behind (an `ended` one wins over `active`
/// ones, otherwise the last), because one INSERT must not touch a row twice.
fn cdr_rows<'a>(
    cdrs: &'a [CdrRecord],
    tenants: &'a HashMap<&str, TenantRef>,
) -> Result<Vec<CdrRow<'a>>, StoreError> {
    let mut chosen: HashMap<(&str, &str), usize> = HashMap::new();
    for (index, cdr) in cdrs.iter().enumerate() {
        let Some(tenant) = tenants.get(cdr.tenant.as_str()) else {
            continue;
        };
        match chosen.entry((tenant.id.as_str(), cdr.id.as_str())) {
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
            Entry::Occupied(mut slot) => {
                let kept = &cdrs[*slot.get()];
                if !(kept.state == CdrState::Ended && cdr.state == CdrState::Active) {
                    slot.insert(index);
                }
            }
        }
    }
    let mut picked: Vec<((&str, &str), usize)> = chosen.into_iter().collect();
    picked.sort_unstable_by_key(|(_, index)| *index);
    picked
        .into_iter()
        .map(|((tenant_id, _), index)| {
            let record = &cdrs[index];
            Ok(CdrRow {
                tenant_id,
                record,
                body: cdr_body(record)?,
            })
        })
        .collect()
}

/// The stored JSON of a record. JSON has no NaN or infinity: such quality figures (a
/// division by zero somewhere upstream) are stored as 0 loss or jitter and no MOS rather
/// than failing the batch.
fn cdr_body(record: &CdrRecord) -> Result<String, StoreError> {
    let finite = record.legs.iter().all(|l| {
        l.loss_percent.is_finite() && l.jitter_ms.is_finite() && l.mos.is_none_or(f64::is_finite)
    });
    let result = if finite {
        serde_json::to_string(record)
    } else {
        let mut clean = record.clone();
        for leg in &mut clean.legs {
            for figure in [&mut leg.loss_percent, &mut leg.jitter_ms] {
                if !figure.is_finite() {
                    *figure = 0.0;
                }
            }
            leg.mos = leg.mos.filter(|m| m.is_finite());
        }
        serde_json::to_string(&clean)
    };
    result.map_err(|e| StoreError::Corrupt {
        kind: "call record",
        id: record.id.clone(),
        reason: e.to_string(),
    })
}

/// Upserts call records; an `ended` row is only replaced by another `ended` record.
async fn upsert_cdrs(
    tx: &mut Transaction<'static, Any>,
    rows: &[CdrRow<'_>],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(rows_per_insert(9)) {
        let sql = format!(
            "INSERT INTO cdrs (tenant_id, id, state, arrived_ms, caller, called, queue, agent, \
             body) VALUES {} ON CONFLICT (tenant_id, id) DO UPDATE SET state = excluded.state, \
             arrived_ms = excluded.arrived_ms, caller = excluded.caller, \
             called = excluded.called, queue = excluded.queue, agent = excluded.agent, \
             body = excluded.body WHERE cdrs.state <> 'ended' OR excluded.state = 'ended'",
            values_clause(chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            let r = row.record;
            query = query
                .bind(row.tenant_id)
                .bind(r.id.as_str())
                .bind(r.state.as_str())
                .bind(r.arrived_ms)
                .bind(r.caller.as_str())
                .bind(r.called.as_str())
                .bind(r.queue.as_deref())
                .bind(r.agent.as_deref())
                .bind(row.body.as_str());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Writes call records and events in ONE transaction: the records are upserted by call id
    /// (an `ended` record is never replaced by an `active` one), the events inserted under
    /// the `seq` the writer gave them. Commit order is seq order when one writer calls this
    /// sequentially, which is what lets readers follow the log with a cursor.
    ///
    /// Records and events of a tenant that no longer exists are dropped (with a warning).
    /// An event whose `seq` is already stored is kept as stored, so a batch whose commit
    /// result was lost may be written again.
    pub async fn write_call_batch(
        &self,
        cdrs: &[CdrRecord],
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        if cdrs.is_empty() && events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pools.write.begin().await?;
        let keys = cdrs
            .iter()
            .map(|c| c.tenant.as_str())
            .chain(events.iter().map(|e| e.tenant.as_str()));
        let tenants = resolve_tenants(&mut tx, keys).await?;
        let rows = cdr_rows(cdrs, &tenants)?;
        upsert_cdrs(&mut tx, &rows).await?;
        insert_events(&mut tx, events, &tenants).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, state: CdrState, arrived_ms: i64) -> CdrRecord {
        CdrRecord {
            id: id.into(),
            tenant: "t".into(),
            state,
            trunk: "carrier".into(),
            access_code: "4001".into(),
            caller: "100".into(),
            called: "4001".into(),
            queue: None,
            agent: None,
            arrived_ms,
            queued_ms: None,
            ringing_ms: None,
            answered_ms: None,
            ended_ms: None,
            released_by: None,
            release_cause: None,
            sip_status: None,
            sip_reason: None,
            legs: Vec::new(),
        }
    }

    #[test]
    fn values_clause_numbers_every_parameter() {
        assert_eq!(values_clause(1, 2), "($1, $2)");
        assert_eq!(values_clause(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn one_row_per_call_and_ended_wins() {
        let tenants = HashMap::from([(
            "t",
            TenantRef {
                id: "tid".into(),
                name: "t".into(),
            },
        )]);
        let cdrs = [
            record("a", CdrState::Active, 1),
            record("a", CdrState::Ended, 2),
            record("a", CdrState::Active, 3),
            record("b", CdrState::Active, 4),
            record("b", CdrState::Active, 5),
            CdrRecord {
                tenant: "gone".into(),
                ..record("c", CdrState::Ended, 6)
            },
        ];
        let rows = cdr_rows(&cdrs, &tenants).unwrap();
        let kept: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| (r.record.id.as_str(), r.record.arrived_ms))
            .collect();
        assert_eq!(kept, [("a", 2), ("b", 5)]);
        assert!(rows.iter().all(|r| r.tenant_id == "tid"));
    }

    #[test]
    fn non_finite_quality_is_stored_as_unknown() {
        let mut cdr = record("a", CdrState::Ended, 1);
        cdr.legs.push(LegQuality {
            role: "caller".into(),
            intervals: 3,
            loss_percent: f64::NEG_INFINITY,
            jitter_ms: f64::NAN,
            mos: Some(f64::INFINITY),
        });
        let back: CdrRecord = serde_json::from_str(&cdr_body(&cdr).unwrap()).unwrap();
        assert_eq!(back.legs[0].loss_percent, 0.0);
        assert_eq!(back.legs[0].jitter_ms, 0.0);
        assert_eq!(back.legs[0].mos, None);
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(record_limit(None).unwrap(), 100);
        assert_eq!(record_limit(Some(1000)).unwrap(), 1000);
        assert!(record_limit(Some(0)).is_err());
        assert!(record_limit(Some(1001)).is_err());
    }
}
