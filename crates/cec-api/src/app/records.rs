//! What the call path leaves behind: call records (`…/cdrs`) and the event log as a long
//! poll (`…/events?after=&wait=&limit=`).
//!
//! Who sees events: supervisors and admins every event of their tenant; an agent's own
//! session only the events that name that agent (`agent` = its work number).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use cec_store::{CdrQuery, CdrRecord, EventRecord, Listing, MAX_RECORD_LIMIT};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::auth::tenant_for;
use super::event_feed::{EventReader, wait_beyond};
use super::openapi::{Body, RouteDoc, listing, schema_ref};
use super::{ApiState, Routes};
use crate::{ApiQuery, Authenticated, Claims, FieldError, PrincipalKind, Problem, Role};

/// Longest long poll, seconds.
pub const MAX_WAIT_S: u32 = 30;

async fn list_cdrs(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<CdrQuery>,
) -> Result<Json<Listing<CdrRecord>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Supervisor).await?;
    Ok(Json(state.store.list_cdrs(&tenant.id, &query).await?))
}

async fn read_cdr(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<CdrRecord>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Supervisor).await?;
    Ok(Json(state.store.get_cdr(&tenant.id, &id).await?))
}

/// Query of the event long poll.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Events after this seq (the `cursor` of the previous answer); default 0.
    #[serde(default)]
    pub(crate) after: Option<i64>,
    /// Seconds to wait when nothing is there yet, 0..=30; default 0.
    #[serde(default)]
    pub(crate) wait: Option<u32>,
    /// At most this many events, 1..=1000; default 100.
    #[serde(default)]
    pub(crate) limit: Option<u32>,
}

/// One answer of the event long poll.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events, ascending by `seq`.
    pub events: Vec<EventRecord>,
    /// Pass as `after` next time: the last `seq` returned, or the `after` given.
    pub cursor: i64,
}

/// Who reads: the tenant's supervisors and admins everything, an agent's session its own.
pub(crate) fn reader_for(claims: &Claims, tenant_id: &str) -> EventReader {
    let own = !claims.role.at_least(Role::Supervisor) && claims.principal == PrincipalKind::Agent;
    EventReader {
        tenant_id: tenant_id.to_owned(),
        agent: own.then(|| claims.subject.clone()),
    }
}

/// Checks `after` (a seq, not negative); shared with the WebSocket.
pub(crate) fn check_after(after: Option<i64>, errors: &mut Vec<FieldError>) -> i64 {
    match after {
        Some(n) if n < 0 => {
            errors.push(FieldError::new("after", "must be 0 or a seq"));
            0
        }
        other => other.unwrap_or(0),
    }
}

/// The checked query: (after, wait, limit); every bad parameter is named.
fn check(query: &EventsQuery) -> Result<(i64, Duration, u32), Problem> {
    let mut errors = Vec::new();
    let after = check_after(query.after, &mut errors);
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_S {
        errors.push(FieldError::new(
            "wait",
            format!("must be between 0 and {MAX_WAIT_S} seconds (is {wait})"),
        ));
    }
    let limit = query.limit.unwrap_or(cec_store::DEFAULT_RECORD_LIMIT);
    if !(1..=MAX_RECORD_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_RECORD_LIMIT} (is {limit})"),
        ));
    }
    if errors.is_empty() {
        Ok((after, Duration::from_secs(u64::from(wait)), limit))
    } else {
        Err(Problem::invalid_fields(errors))
    }
}

async fn poll_events(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventPage>, Problem> {
    let (after, wait, limit) = check(&query)?;
    let tenant = tenant_for(&state, &claims, &tenant, Role::Agent).await?;
    let reader = reader_for(&claims, &tenant.id);
    let deadline = Instant::now() + wait;
    // Subscribed before the first read: a commit after the read still wakes us.
    let mut commits = state.events.subscribe();
    let mut seen = *commits.borrow_and_update();
    loop {
        let events = reader.read(&state, after, limit).await?;
        if !events.is_empty() {
            let cursor = events.last().map_or(after, |e| e.seq);
            return Ok(Json(EventPage { events, cursor }));
        }
        // A commit may hold only other tenants' (or other agents') events: wait again.
        match wait_beyond(&mut commits, seen, deadline).await {
            Some(last) => seen = last,
            None => {
                return Ok(Json(EventPage {
                    events,
                    cursor: after,
                }));
            }
        }
    }
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(
        "/api/v1/tenants/{tenant}/cdrs",
        get(list_cdrs),
        RouteDoc::new("get", "cdrs", "Call records, newest arrival first")
            .query("from", "integer", "arrived at or after (epoch ms)")
            .query("to", "integer", "arrived before (epoch ms)")
            .query("caller", "string", "caller number (exact)")
            .query("called", "string", "called number (exact)")
            .query("agent", "string", "agent work number")
            .query("queue", "string", "skill queue name")
            .query("state", "string", "`active` or `ended`")
            .query("limit", "integer", "1..=1000, default 100")
            .query("cursor", "string", "next_cursor of the previous page")
            .response(Body::Inline(listing(&schema_ref("CdrRecord")))),
    )
    .add(
        "/api/v1/tenants/{tenant}/cdrs/{id}",
        get(read_cdr),
        RouteDoc::new("get", "cdrs", "One call record (by call id)")
            .response(Body::Schema("CdrRecord".into())),
    )
    .add(
        "/api/v1/tenants/{tenant}/events",
        get(poll_events),
        RouteDoc::new(
            "get",
            "events",
            "Events after a cursor; waits up to `wait` seconds for one (long poll)",
        )
        .query(
            "after",
            "integer",
            "events after this seq (the previous cursor); default 0",
        )
        .query(
            "wait",
            "integer",
            "0..=30 seconds to wait when there is none yet; default 0",
        )
        .query("limit", "integer", "1..=1000, default 100")
        .response(Body::Schema("EventPage".into())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_parameter_is_named() {
        let bad = EventsQuery {
            after: Some(-1),
            wait: Some(31),
            limit: Some(0),
        };
        let problem = check(&bad).unwrap_err();
        let fields: Vec<&str> = problem.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["after", "wait", "limit"]);
        let (after, wait, limit) = check(&EventsQuery::default()).unwrap();
        assert_eq!((after, wait, limit), (0, Duration::ZERO, 100));
    }
}
