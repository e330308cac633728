//! Cases for the records the call path writes: call records (upsert rules, filters, paging)
//! and the event log (sequence, cursor reads), on a fresh database each.

use std::collections::HashSet;

use cec_store::{
    Actor, CdrQuery, CdrRecord, CdrState, EventRecord, LegQuality, Store, StoreError, Stored,
};
use serde_json::json;

use crate::Fixture;

async fn tenant(store: &Store, name: &str) -> Stored<cec_store::model::TenantSpec> {
    store
        .create_tenant(
            &Actor::key("AKTEST"),
            serde_json::from_value(json!({"name": name})).unwrap(),
        )
        .await
        .unwrap()
}

fn cdr(tenant: &str, id: &str, state: CdrState, arrived_ms: i64) -> CdrRecord {
    CdrRecord {
        id: id.into(),
        tenant: tenant.into(),
        state,
        trunk: "carrier".into(),
        access_code: "4001".into(),
        caller: "5551000".into(),
        called: "4001".into(),
        queue: Some("support".into()),
        agent: None,
        arrived_ms,
        queued_ms: Some(arrived_ms + 10),
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

fn ended(mut record: CdrRecord, cause: &str) -> CdrRecord {
    record.state = CdrState::Ended;
    record.agent = Some("1001".into());
    record.answered_ms = Some(record.arrived_ms + 500);
    record.ended_ms = Some(record.arrived_ms + 60_000);
    record.released_by = Some("caller".into());
    record.release_cause = Some(cause.into());
    record.sip_status = Some(200);
    record.sip_reason = Some("OK".into());
    record.legs = vec![
        LegQuality {
            role: "caller".into(),
            intervals: 12,
            loss_percent: 0.25,
            jitter_ms: 1.25,
            mos: Some(4.3),
        },
        LegQuality {
            role: "agent".into(),
            intervals: 12,
            loss_percent: 0.0,
            jitter_ms: 0.5,
            mos: None,
        },
    ];
    record
}

fn event(tenant: &str, seq: i64, kind: &str, agent: Option<&str>) -> EventRecord {
    EventRecord {
        seq,
        tenant: tenant.into(),
        kind: kind.into(),
        time_ms: 1_700_000_000_000 + seq,
        call_id: Some(format!("call-{seq}")),
        agent: agent.map(str::to_owned),
        data: json!({"n": seq, "queue": "support"}),
    }
}

fn query() -> CdrQuery {
    CdrQuery::default()
}

pub async fn call_batch_round_trip(f: &Fixture) {
    let store = f.open().await;
    let acme = tenant(&store, "acme").await;
    assert_eq!(store.last_event_seq().await.unwrap(), 0, "empty log");
    let running = cdr("acme", "c1", CdrState::Active, 1_000);
    // A record may name its tenant by id; reads answer the name.
    let done = ended(cdr(&acme.id, "c2", CdrState::Active, 2_000), "normal");
    let events: Vec<EventRecord> = (1..=5)
        .map(|seq| event("acme", seq, "AgentEvent_Ringing", Some("1001")))
        .collect();
    store
        .write_call_batch(&[running.clone(), done.clone()], &events)
        .await
        .unwrap();

    assert_eq!(store.get_cdr("acme", "c1").await.unwrap(), running);
    let read = store.get_cdr(&acme.id, "c2").await.unwrap();
    assert_eq!(read.tenant, "acme");
    assert_eq!(
        read,
        CdrRecord {
            tenant: "acme".into(),
            ..done
        }
    );
    let listed = store.list_cdrs("acme", &query()).await.unwrap();
    let ids: Vec<&str> = listed.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1"], "newest arrival first");
    assert!(listed.next_cursor.is_none());

    assert_eq!(store.events_after("acme", 0, 100).await.unwrap(), events);
    assert_eq!(store.last_event_seq().await.unwrap(), 5);
    assert!(matches!(
        store.get_cdr("acme", "nope").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.list_cdrs("nobody", &query()).await,
        Err(StoreError::NotFound { kind: "tenant", .. })
    ));
    // Nothing to write is not an error.
    store.write_call_batch(&[], &[]).await.unwrap();
}

pub async fn call_record_ended_is_final(f: &Fixture) {
    let store = f.open().await;
    tenant(&store, "acme").await;
    let active = cdr("acme", "c1", CdrState::Active, 1_000);
    store
        .write_call_batch(std::slice::from_ref(&active), &[])
        .await
        .unwrap();
    let mut answered = active.clone();
    answered.answered_ms = Some(1_500);
    store
        .write_call_batch(std::slice::from_ref(&answered), &[])
        .await
        .unwrap();
    assert_eq!(
        store.get_cdr("acme", "c1").await.unwrap().answered_ms,
        Some(1_500),
        "a running record replaces the previous running one"
    );

    let final_record = ended(active.clone(), "normal");
    store
        .write_call_batch(std::slice::from_ref(&final_record), &[])
        .await
        .unwrap();
    // A stale running record (a late batch) must not undo the end.
    store
        .write_call_batch(std::slice::from_ref(&answered), &[])
        .await
        .unwrap();
    let read = store.get_cdr("acme", "c1").await.unwrap();
    assert_eq!(read, final_record);
    let ended_only = CdrQuery {
        state: Some(CdrState::Ended),
        ..query()
    };
    assert_eq!(
        store
            .list_cdrs("acme", &ended_only)
            .await
            .unwrap()
            .items
            .len(),
        1,
        "the state column follows the body"
    );
    // A corrected final record does replace the final one.
    let corrected = ended(active.clone(), "corrected");
    store
        .write_call_batch(std::slice::from_ref(&corrected), &[])
        .await
        .unwrap();
    assert_eq!(
        store.get_cdr("acme", "c1").await.unwrap().release_cause,
        Some("corrected".into())
    );

    // Within one batch too: ended then active leaves ended; active then ended leaves ended.
    let c2_end = ended(cdr("acme", "c2", CdrState::Active, 2_000), "normal");
    let c3_end = ended(cdr("acme", "c3", CdrState::Active, 3_000), "normal");
    store
        .write_call_batch(
            &[
                c2_end.clone(),
                cdr("acme", "c2", CdrState::Active, 2_000),
                cdr("acme", "c3", CdrState::Active, 3_000),
                c3_end.clone(),
            ],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.get_cdr("acme", "c2").await.unwrap(), c2_end);
    assert_eq!(store.get_cdr("acme", "c3").await.unwrap(), c3_end);
}

/// Walks every page of `query` (page size `limit`) and returns the ids in order.
async fn all_pages(store: &Store, mut query: CdrQuery, limit: u32) -> Vec<String> {
    query.limit = Some(limit);
    let mut ids = Vec::new();
    loop {
        let page = store.list_cdrs("acme", &query).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        ids.extend(page.items.iter().map(|c| c.id.clone()));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    ids
}

pub async fn call_record_filters_and_paging(f: &Fixture) {
    let store = f.open().await;
    tenant(&store, "acme").await;
    // 30 calls; arrivals repeat (three per millisecond) so ordering falls back to the id.
    let records: Vec<CdrRecord> = (0..30)
        .map(|i| {
            let mut r = cdr(
                "acme",
                &format!("call-{i:02}"),
                CdrState::Active,
                1_000 + i / 3,
            );
            r.caller = format!("555{}", i % 4);
            r.called = if i % 2 == 0 { "4001" } else { "4002" }.into();
            r.queue = Some(if i % 5 == 0 { "sales" } else { "support" }.into());
            if i % 3 == 0 {
                r = ended(r, "normal");
                r.agent = Some(if i % 2 == 0 { "1001" } else { "1002" }.into());
            }
            r
        })
        .collect();
    store.write_call_batch(&records, &[]).await.unwrap();
    let mut expected = records.clone();
    expected.sort_by(|a, b| (b.arrived_ms, &b.id).cmp(&(a.arrived_ms, &a.id)));
    let expected_ids: Vec<String> = expected.iter().map(|r| r.id.clone()).collect();

    for limit in [1, 7, 30, 1000] {
        let ids = all_pages(&store, query(), limit).await;
        assert_eq!(ids, expected_ids, "page size {limit}: no gap, no duplicate");
    }
    let first = store.list_cdrs("acme", &query()).await.unwrap();
    assert_eq!(first.items.len(), 30, "default page holds 100");

    let check = async |q: CdrQuery, keep: &dyn Fn(&CdrRecord) -> bool| {
        let want: Vec<String> = expected
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.id.clone())
            .collect();
        assert!(!want.is_empty());
        assert_eq!(all_pages(&store, q.clone(), 4).await, want, "{q:?}");
    };
    check(
        CdrQuery {
            caller: Some("5552".into()),
            ..query()
        },
        &|r| r.caller == "5552",
    )
    .await;
    check(
        CdrQuery {
            called: Some("4002".into()),
            ..query()
        },
        &|r| r.called == "4002",
    )
    .await;
    check(
        CdrQuery {
            agent: Some("1001".into()),
            ..query()
        },
        &|r| r.agent.as_deref() == Some("1001"),
    )
    .await;
    check(
        CdrQuery {
            queue: Some("sales".into()),
            state: Some(CdrState::Ended),
            ..query()
        },
        &|r| r.queue.as_deref() == Some("sales") && r.state == CdrState::Ended,
    )
    .await;
    check(
        CdrQuery {
            state: Some(CdrState::Active),
            ..query()
        },
        &|r| r.state == CdrState::Active,
    )
    .await;
    check(
        CdrQuery {
            from_ms: Some(1_003),
            to_ms: Some(1_007),
            ..query()
        },
        &|r| (1_003..1_007).contains(&r.arrived_ms),
    )
    .await;
    check(
        CdrQuery {
            caller: Some(String::new()),
            ..query()
        },
        &|_| true,
    )
    .await;

    let invalid = async |q: CdrQuery, field: &str| match store.list_cdrs("acme", &q).await {
        Err(StoreError::Invalid(errors)) => assert_eq!(errors[0].field, field, "{q:?}"),
        other => panic!("{q:?}: expected an invalid {field}, got {other:?}"),
    };
    invalid(
        CdrQuery {
            cursor: Some("not-a-cursor".into()),
            ..query()
        },
        "cursor",
    )
    .await;
    invalid(
        CdrQuery {
            limit: Some(0),
            ..query()
        },
        "limit",
    )
    .await;
    invalid(
        CdrQuery {
            limit: Some(1001),
            ..query()
        },
        "limit",
    )
    .await;
    invalid(
        CdrQuery {
            from_ms: Some(5),
            to_ms: Some(5),
            ..query()
        },
        "to",
    )
    .await;
}

pub async fn event_log_cursor_reads(f: &Fixture) {
    let store = f.open().await;
    tenant(&store, "acme").await;
    let events: Vec<EventRecord> = (1..=10)
        .map(|seq| {
            let agent = if seq % 2 == 0 { "1001" } else { "1002" };
            event("acme", seq, "AgentState_Ready", Some(agent))
        })
        .collect();
    store.write_call_batch(&[], &events[..6]).await.unwrap();
    store.write_call_batch(&[], &events[6..]).await.unwrap();
    let seqs = |list: Vec<EventRecord>| list.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.events_after("acme", 3, 4).await.unwrap()),
        [4, 5, 6, 7]
    );
    assert_eq!(
        seqs(store.events_after("acme", 7, 1000).await.unwrap()),
        [8, 9, 10]
    );
    assert!(store.events_after("acme", 10, 10).await.unwrap().is_empty());
    assert_eq!(
        seqs(
            store
                .agent_events_after("acme", "1001", 2, 3)
                .await
                .unwrap()
        ),
        [4, 6, 8]
    );
    assert_eq!(store.last_event_seq().await.unwrap(), 10);
    for bad in [0, 1001] {
        assert!(matches!(
            store.events_after("acme", 0, bad).await,
            Err(StoreError::Invalid(_))
        ));
    }

    // A batch written again (its commit answer was lost) changes nothing.
    let mut again = events[..6].to_vec();
    again[0].kind = "Different".into();
    store.write_call_batch(&[], &again).await.unwrap();
    assert_eq!(store.events_after("acme", 0, 100).await.unwrap(), events);

    // A restarted process continues the sequence.
    drop(store);
    let reopened = f.open().await;
    assert_eq!(reopened.last_event_seq().await.unwrap(), 10);
}

pub async fn call_records_tenant_isolation(f: &Fixture) {
    let store = f.open().await;
    tenant(&store, "acme").await;
    let globex = tenant(&store, "globex").await;
    // The same call id in two tenants is two records.
    let a = ended(cdr("acme", "same", CdrState::Active, 1_000), "normal");
    let mut g = cdr("globex", "same", CdrState::Active, 2_000);
    g.caller = "5559999".into();
    store
        .write_call_batch(
            &[
                a.clone(),
                g.clone(),
                cdr("ghost", "lost", CdrState::Ended, 3_000),
            ],
            &[
                event("acme", 1, "A", None),
                event("globex", 2, "G", None),
                event("ghost", 3, "X", None),
                event("acme", 4, "A", None),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.get_cdr("acme", "same").await.unwrap(), a);
    assert_eq!(store.get_cdr("globex", "same").await.unwrap(), g);
    assert!(matches!(
        store.get_cdr("globex", "lost").await,
        Err(StoreError::NotFound { .. })
    ));
    let acme_ids: HashSet<String> = store
        .list_cdrs("acme", &query())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.caller)
        .collect();
    assert_eq!(acme_ids, HashSet::from(["5551000".to_owned()]));
    let kinds = |list: Vec<EventRecord>| list.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        kinds(store.events_after("acme", 0, 100).await.unwrap()),
        [1, 4]
    );
    assert_eq!(
        kinds(store.events_after("globex", 0, 100).await.unwrap()),
        [2]
    );
    assert_eq!(
        store.last_event_seq().await.unwrap(),
        4,
        "an unknown tenant's event is not stored"
    );

    // Deleting a tenant deletes its records and events; a new tenant of that name starts empty.
    store
        .delete_tenant(&Actor::key("AKTEST"), &globex.id, None)
        .await
        .unwrap();
    assert!(matches!(
        store.list_cdrs("globex", &query()).await,
        Err(StoreError::NotFound { kind: "tenant", .. })
    ));
    tenant(&store, "globex").await;
    assert!(
        store
            .list_cdrs("globex", &query())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        store
            .events_after("globex", 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_cdr("acme", "same").await.unwrap(), a);
}

pub async fn call_batch_at_full_size(f: &Fixture) {
    let store = f.open().await;
    tenant(&store, "acme").await;
    // 500 records and 3,000 events: several multi-row statements each, one transaction.
    let cdrs: Vec<CdrRecord> = (0..500)
        .map(|i| {
            ended(
                cdr("acme", &format!("c{i:04}"), CdrState::Active, i),
                "normal",
            )
        })
        .collect();
    let events: Vec<EventRecord> = (1..=3000)
        .map(|seq| event("acme", seq, "AgentEvent_Talking", Some("1001")))
        .collect();
    store.write_call_batch(&cdrs, &events).await.unwrap();
    let page = store
        .list_cdrs(
            "acme",
            &CdrQuery {
                limit: Some(1000),
                ..query()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 500);
    assert_eq!(page.items[0], cdrs[499]);
    assert_eq!(page.items[499], cdrs[0]);
    let mut after = 0;
    let mut read = Vec::new();
    loop {
        let chunk = store.events_after("acme", after, 1000).await.unwrap();
        let Some(last) = chunk.last() else { break };
        after = last.seq;
        read.extend(chunk);
    }
    assert_eq!(read, events);
    assert_eq!(store.last_event_seq().await.unwrap(), 3000);
}

/// The configuration fingerprint moves with every create, update and delete (tenants and
/// their objects), and not with call records or events.
pub async fn config_fingerprint_moves_with_changes(f: &Fixture) {
    let store = f.open().await;
    let actor = Actor::key("AKTEST");
    let empty = store.config_fingerprint().await.unwrap();
    let acme = tenant(&store, "acme").await;
    let with_tenant = store.config_fingerprint().await.unwrap();
    assert_ne!(empty, with_tenant);
    let queue: cec_store::model::SkillQueueSpec =
        serde_json::from_value(json!({"name": "support"})).unwrap();
    let created = store.create(&actor, &acme.id, queue.clone()).await.unwrap();
    let with_queue = store.config_fingerprint().await.unwrap();
    assert_ne!(with_tenant, with_queue);
    store
        .write_call_batch(
            &[cdr("acme", "c1", CdrState::Active, 1_000)],
            &[event("acme", 1, "CallEvent_Arrived", None)],
        )
        .await
        .unwrap();
    assert_eq!(
        store.config_fingerprint().await.unwrap(),
        with_queue,
        "records are not configuration"
    );
    store
        .update(&actor, &acme.id, &created.id, None, queue)
        .await
        .unwrap();
    let updated = store.config_fingerprint().await.unwrap();
    assert_ne!(with_queue, updated);
    store
        .delete::<cec_store::model::SkillQueueSpec>(&actor, &acme.id, &created.id, None)
        .await
        .unwrap();
    assert_ne!(updated, store.config_fingerprint().await.unwrap());
}
