//! The event log: one row per call or agent state change, numbered by the writer with a
//! sequence that increases across tenants, read per tenant after a cursor.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::calls::{TenantRef, record_limit, rows_per_insert, values_clause};
use crate::{Store, StoreError};

/// One event. On the wire: `{"seq", "tenant", "type", "time", "call_id", "agent", "data"}`;
/// everything specific to the event type is inside `data` (kept apart rather than flattened,
/// so no event field can collide with the common ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// Position in the log: assigned by the writer, increasing across tenants.
    pub seq: i64,
    /// The tenant's name. On write, a tenant id is accepted too; reads answer the current name.
    pub tenant: String,
    /// The event type (`AgentState_Ready`, `AgentEvent_Ringing`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened, epoch milliseconds.
    #[serde(rename = "time")]
    pub time_ms: i64,
    /// The call it is about.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The agent (work number) it is about.
    #[serde(default)]
    pub agent: Option<String>,
    /// The rest of the event (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Inserts the events of a batch whose tenant exists; an already used `seq` keeps its event.
pub(crate) async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    events: &[EventRecord],
    tenants: &HashMap<&str, TenantRef>,
) -> Result<(), StoreError> {
    let rows: Vec<(&str, &EventRecord, String)> = events
        .iter()
        .filter_map(|e| {
            let tenant = tenants.get(e.tenant.as_str())?;
            Some((tenant.id.as_str(), e, e.data.to_string()))
        })
        .collect();
    let mut duplicates = 0;
    for chunk in rows.chunks(rows_per_insert(7)) {
        let sql = format!(
            "INSERT INTO events (seq, tenant_id, kind, time_ms, call_id, agent, data) \
             VALUES {} ON CONFLICT (seq) DO NOTHING",
            values_clause(chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for (tenant_id, e, data) in chunk {
            query = query
                .bind(e.seq)
                .bind(*tenant_id)
                .bind(e.kind.as_str())
                .bind(e.time_ms)
                .bind(e.call_id.as_deref())
                .bind(e.agent.as_deref())
                .bind(data.as_str());
        }
        let inserted = query.execute(&mut **tx).await?.rows_affected();
        duplicates += chunk.len() as u64 - inserted.min(chunk.len() as u64);
    }
    if duplicates > 0 {
        // Expected only when a batch is written again; otherwise the writer reuses numbers.
        tracing::warn!(
            duplicates,
            "events with an already stored seq were not written again"
        );
    }
    Ok(())
}

fn decode_event(row: &AnyRow, tenant: &TenantRef) -> Result<EventRecord, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let data: String = row.try_get("data")?;
    Ok(EventRecord {
        seq,
        tenant: tenant.name.clone(),
        kind: row.try_get("kind")?,
        time_ms: row.try_get("time_ms")?,
        call_id: row.try_get("call_id")?,
        agent: row.try_get("agent")?,
        data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
            kind: "event",
            id: seq.to_string(),
            reason: e.to_string(),
        })?,
    })
}

impl Store {
    /// The highest stored event `seq` (0 when the log is empty), so a restarted writer
    /// continues the sequence.
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM events")
            .fetch_one(&self.pools.read)
            .await?;
        Ok(row.try_get("seq")?)
    }

    /// A tenant's (id or name) events with `seq > after`, ascending, at most `limit`
    /// (1..=1000).
    pub async fn events_after(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        self.read_events(tenant, None, after, limit).await
    }

    /// Like [`Store::events_after`], only the events naming `agent` (work number): what an
    /// agent's own session may see.
    pub async fn agent_events_after(
        &self,
        tenant: &str,
        agent: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        self.read_events(tenant, Some(agent), after, limit).await
    }

    async fn read_events(
        &self,
        tenant: &str,
        agent: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let limit = i64::from(record_limit(Some(limit))?);
        let tenant = self.tenant_ref(tenant).await?;
        let rows = match agent {
            None => {
                sqlx::query(
                    "SELECT seq, kind, time_ms, call_id, agent, data FROM events \
                     WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(&tenant.id)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pools.read)
                .await?
            }
            Some(agent) => {
                sqlx::query(
                    "SELECT seq, kind, time_ms, call_id, agent, data FROM events \
                     WHERE tenant_id = $1 AND seq > $2 AND agent = $3 ORDER BY seq LIMIT $4",
                )
                .bind(&tenant.id)
                .bind(after)
                .bind(agent)
                .bind(limit)
                .fetch_all(&self.pools.read)
                .await?
            }
        };
        rows.iter().map(|row| decode_event(row, &tenant)).collect()
    }
}
