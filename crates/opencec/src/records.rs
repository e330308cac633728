//! The batch writer: call records and events from the Switch go to the store in one
//! transaction per batch (up to [`MAX_BATCH`] items or [`MAX_WAIT`] after the first), off
//! the signalling path. Events get their sequence numbers here, continuing the stored
//! log after a restart; long polls are woken after each commit. A failed write is retried
//! with the same batch (never dropped) until it succeeds or the process stops.

use std::time::Duration;

use cec_core::{CallRecord, Output, SwitchEvent, Value};
use cec_store::{CdrRecord, CdrState, EventRecord, LegQuality, Store};
use tokio::sync::mpsc;
use tracing::warn;

/// Most records and events per transaction.
const MAX_BATCH: usize = 2000;
/// Longest a record waits for its batch to fill.
const MAX_WAIT: Duration = Duration::from_millis(20);

/// Runs until the channel closes, then writes what is left.
pub async fn run(
    store: Store,
    api: cec_api::ApiState,
    mut outputs: mpsc::UnboundedReceiver<Output>,
) {
    let mut seq = match store.last_event_seq().await {
        Ok(seq) => seq,
        Err(error) => {
            warn!(%error, "cannot read the last event sequence; starting from 0");
            0
        }
    };
    let mut open = true;
    while open {
        let Some(first) = outputs.recv().await else {
            break;
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, outputs.recv()).await {
                Ok(Some(output)) => batch.push(output),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        let mut cdrs = Vec::new();
        let mut events = Vec::new();
        for output in batch {
            match output {
                Output::Record(record) => cdrs.push(cdr(&record)),
                Output::Event(event) => {
                    seq += 1;
                    events.push(event_record(seq, event));
                }
            }
        }
        write(&store, &cdrs, &events).await;
        api.events_committed(seq);
    }
}

async fn write(store: &Store, cdrs: &[CdrRecord], events: &[EventRecord]) {
    let mut delay = Duration::from_millis(100);
    loop {
        match store.write_call_batch(cdrs, events).await {
            Ok(()) => return,
            Err(error) => {
                warn!(%error, cdrs = cdrs.len(), events = events.len(), "call records not written; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn cdr(record: &CallRecord) -> CdrRecord {
    let quality = |role: &str, q: &Option<cec_core::LegQuality>| {
        q.map(|q| LegQuality {
            role: role.to_owned(),
            intervals: q.intervals,
            loss_percent: q.loss_percent,
            jitter_ms: q.jitter_ms,
            mos: q.mos,
        })
    };
    CdrRecord {
        id: record.id.clone(),
        tenant: record.tenant.clone(),
        state: if record.ended_ms.is_some() {
            CdrState::Ended
        } else {
            CdrState::Active
        },
        trunk: record.trunk.clone(),
        access_code: record.access_code.clone(),
        caller: record.caller.clone(),
        called: record.called.clone(),
        queue: record.queue.clone(),
        agent: record.agent.clone(),
        arrived_ms: record.arrived_ms,
        queued_ms: record.queued_ms,
        ringing_ms: record.ringing_ms,
        answered_ms: record.answered_ms,
        ended_ms: record.ended_ms,
        released_by: record.released_by.map(|r| r.as_str().to_owned()),
        release_cause: record.release_cause.clone(),
        sip_status: record.sip_status,
        sip_reason: record.sip_reason.clone(),
        legs: [
            quality("caller", &record.caller_quality),
            quality("agent", &record.agent_quality),
        ]
        .into_iter()
        .flatten()
        .collect(),
    }
}

fn event_record(seq: i64, event: SwitchEvent) -> EventRecord {
    let data: serde_json::Map<String, serde_json::Value> = event
        .data
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                Value::Text(text) => serde_json::Value::from(text),
                Value::Int(n) => serde_json::Value::from(n),
            };
            (key.to_owned(), value)
        })
        .collect();
    EventRecord {
        seq,
        tenant: event.tenant,
        kind: event.kind.to_owned(),
        time_ms: event.time_ms,
        call_id: event.call_id,
        agent: event.agent,
        data: serde_json::Value::Object(data),
    }
}
