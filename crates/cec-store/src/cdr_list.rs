//! Reading call records: one by id, or a tenant's newest first with filters and a keyset
//! cursor (arrival time, id), so pages neither repeat nor skip records while new calls land.

use std::fmt::Write as _;

use serde::Deserialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::calls::{CdrRecord, CdrState, TenantRef, find_tenant, record_limit};
use crate::{Listing, Store, StoreError};

/// Filters and paging of a call-record list. In a query string `from_ms` and `to_ms` are
/// spelled `from` and `to`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdrQuery {
    /// Only calls that arrived at or after this time (epoch ms).
    #[serde(default, rename = "from")]
    pub from_ms: Option<i64>,
    /// Only calls that arrived before this time (epoch ms, exclusive).
    #[serde(default, rename = "to")]
    pub to_ms: Option<i64>,
    /// Only calls from this number (exact).
    #[serde(default)]
    pub caller: Option<String>,
    /// Only calls to this number (exact).
    #[serde(default)]
    pub called: Option<String>,
    /// Only calls of this agent (work number).
    #[serde(default)]
    pub agent: Option<String>,
    /// Only calls through this queue (name).
    #[serde(default)]
    pub queue: Option<String>,
    /// Only running or only ended calls.
    #[serde(default)]
    pub state: Option<CdrState>,
    /// Page size 1..=1000, default 100.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

fn decode_cdr(row: &AnyRow, tenant: &TenantRef) -> Result<CdrRecord, StoreError> {
    let body: String = row.try_get("body")?;
    let mut record: CdrRecord = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
        kind: "call record",
        id: row.try_get("id").unwrap_or_default(),
        reason: e.to_string(),
    })?;
    record.tenant.clone_from(&tenant.name);
    Ok(record)
}

/// A page cursor: the arrival time and id of the last record of the previous page.
fn parse_cursor(cursor: &str) -> Result<(i64, &str), StoreError> {
    cursor
        .split_once(':')
        .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id)))
        .ok_or_else(|| StoreError::invalid("cursor", "must be the next_cursor of a previous page"))
}

/// A parameter of a list query built at run time.
enum Arg<'a> {
    Int(i64),
    Text(&'a str),
}

/// A `SELECT` whose filters depend on the query: only the given filters become SQL, so each
/// can use an index and none needs a "parameter is empty" escape.
struct Select<'a> {
    sql: String,
    args: Vec<Arg<'a>>,
}

impl<'a> Select<'a> {
    /// Adds a parameter; its `$n` number.
    fn push(&mut self, arg: Arg<'a>) -> usize {
        self.args.push(arg);
        self.args.len()
    }

    /// Adds `AND <left> $n`.
    fn and(&mut self, left: &str, arg: Arg<'a>) {
        let n = self.push(arg);
        let _ = write!(self.sql, " AND {left} ${n}");
    }
}

/// A text filter; an empty value (`?caller=`) filters nothing.
fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl Store {
    /// A tenant's call records, newest arrival first (then by id, descending), filtered and a
    /// page at a time. `tenant` is the tenant's id or name.
    pub async fn list_cdrs(
        &self,
        tenant: &str,
        query: &CdrQuery,
    ) -> Result<Listing<CdrRecord>, StoreError> {
        let limit = record_limit(query.limit)?;
        let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(parse_cursor(c)?),
            None => None,
        };
        if let (Some(from), Some(to)) = (query.from_ms, query.to_ms)
            && to <= from
        {
            return Err(StoreError::invalid("to", "must be later than from"));
        }
        let tenant = self.tenant_ref(tenant).await?;
        let mut select = Select {
            sql: String::from("SELECT id, body FROM cdrs WHERE tenant_id = $1"),
            args: vec![Arg::Text(&tenant.id)],
        };
        if let Some(from) = query.from_ms {
            select.and("arrived_ms >=", Arg::Int(from));
        }
        if let Some(to) = query.to_ms {
            select.and("arrived_ms <", Arg::Int(to));
        }
        for (column, value) in [
            ("caller =", non_empty(&query.caller)),
            ("called =", non_empty(&query.called)),
            ("agent =", non_empty(&query.agent)),
            ("queue =", non_empty(&query.queue)),
            ("state =", query.state.map(CdrState::as_str)),
        ] {
            if let Some(value) = value {
                select.and(column, Arg::Text(value));
            }
        }
        if let Some((ms, id)) = cursor {
            let n = select.push(Arg::Int(ms));
            let m = select.push(Arg::Text(id));
            let _ = write!(select.sql, " AND (arrived_ms, id) < (${n}, ${m})");
        }
        let n = select.push(Arg::Int(i64::from(limit) + 1));
        let _ = write!(select.sql, " ORDER BY arrived_ms DESC, id DESC LIMIT ${n}");
        let mut q = sqlx::query(&select.sql);
        for arg in select.args {
            q = match arg {
                Arg::Int(n) => q.bind(n),
                Arg::Text(s) => q.bind(s),
            };
        }
        let rows = q.fetch_all(&self.pools.read).await?;
        let mut items = rows
            .iter()
            .map(|row| decode_cdr(row, &tenant))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| format!("{}:{}", r.arrived_ms, r.id))
        } else {
            None
        };
        Ok(Listing { items, next_cursor })
    }

    /// One call record of a tenant (id or name).
    pub async fn get_cdr(&self, tenant: &str, id: &str) -> Result<CdrRecord, StoreError> {
        let tenant = self.tenant_ref(tenant).await?;
        let row = sqlx::query("SELECT id, body FROM cdrs WHERE tenant_id = $1 AND id = $2")
            .bind(&tenant.id)
            .bind(id)
            .fetch_optional(&self.pools.read)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "call record",
                key: id.to_owned(),
            })?;
        decode_cdr(&row, &tenant)
    }

    /// The tenant named by id or name, or not found.
    pub(crate) async fn tenant_ref(&self, key: &str) -> Result<TenantRef, StoreError> {
        find_tenant(&self.pools.read, key)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "tenant",
                key: key.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_checked() {
        assert_eq!(parse_cursor("12:a:b").unwrap(), (12, "a:b"));
        assert!(parse_cursor("x:a").is_err());
        assert!(parse_cursor("12").is_err());
    }
}
