//! The cases of the store suite; each takes a fresh database.

use cec_store::model::*;
use cec_store::{Actor, KeyRole, Page, Store, StoreError, Stored, TenantConfig};
use serde_json::json;

use crate::Fixture;

pub use crate::call_cases::*;

fn admin() -> Actor {
    Actor::key("AKTEST")
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("test JSON matches the model")
}

async fn tenant(store: &Store, name: &str) -> Stored<TenantSpec> {
    store
        .create_tenant(&admin(), from_json(json!({"name": name})))
        .await
        .unwrap()
}

fn trunk(name: &str) -> TrunkSpec {
    from_json(json!({"name": name, "addresses": [{"host": "127.0.0.1", "port": 5070}]}))
}

fn queue(name: &str) -> SkillQueueSpec {
    from_json(json!({"name": name}))
}

fn agent(work_no: &str, queue: &str) -> AgentSpec {
    from_json(json!({
        "work_no": work_no, "name": format!("Agent {work_no}"),
        "skills": [{"queue": queue, "weight": 5}],
        "sip_password": "Sip-pass-1", "password": "Web-pass-1"
    }))
}

/// A small but complete tenant: trunk, access code, queue, route, two agents.
async fn seed(store: &Store, name: &str) -> String {
    let t = tenant(store, name).await;
    store
        .create(&admin(), &t.id, trunk("carrier"))
        .await
        .unwrap();
    store
        .create(
            &admin(),
            &t.id,
            from_json::<AccessCodeSpec>(json!({"number": "4001", "trunk": "carrier"})),
        )
        .await
        .unwrap();
    store
        .create(&admin(), &t.id, queue("support"))
        .await
        .unwrap();
    store
        .create(
            &admin(),
            &t.id,
            from_json::<CalledRouteSpec>(
                json!({"access_code": "4001", "target": {"type": "skill_queue", "id": "support"}}),
            ),
        )
        .await
        .unwrap();
    store
        .create(&admin(), &t.id, agent("1001", "support"))
        .await
        .unwrap();
    store
        .create(&admin(), &t.id, agent("1002", "support"))
        .await
        .unwrap();
    t.id
}

pub async fn crud_round_trip(f: &Fixture) {
    let store = f.open().await;
    let t = seed(&store, "acme").await;
    let by_key: Stored<AccessCodeSpec> = store.get(&t, "4001").await.unwrap();
    let by_id: Stored<AccessCodeSpec> = store.get(&t, &by_key.id).await.unwrap();
    assert_eq!(by_key.id, by_id.id);
    assert_eq!(by_key.version, 1);
    let carrier: Stored<TrunkSpec> = store.get(&t, "carrier").await.unwrap();
    assert_eq!(
        by_key.spec.trunk, carrier.id,
        "references are stored as ids"
    );
    assert_eq!(carrier.spec.probe_interval_s, 60, "defaults applied");

    let a: Stored<AgentSpec> = store.get_by_alt_key(&t, "1001").await.unwrap();
    assert_eq!(a.spec.work_no, "1001");
    assert_eq!(
        a.spec.sip_user, "1001",
        "sip_user defaults to the work number"
    );

    let mut changed = carrier.spec.clone();
    changed.max_cps = 42;
    let updated = store
        .update(&admin(), &t, "carrier", Some(1), changed)
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    let read: Stored<TrunkSpec> = store.get(&t, &carrier.id).await.unwrap();
    assert_eq!(read.spec.max_cps, 42);
    assert_eq!(read.version, 2);
    assert!(read.updated_ms >= read.created_ms);

    store
        .delete::<CalledRouteSpec>(
            &admin(),
            &t,
            &list_ids::<CalledRouteSpec>(&store, &t).await[0],
            None,
        )
        .await
        .unwrap();
    store
        .delete::<AccessCodeSpec>(&admin(), &t, "4001", None)
        .await
        .unwrap();
    assert!(matches!(
        store.get::<AccessCodeSpec>(&t, "4001").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn list_ids<R: cec_store::Resource>(store: &Store, t: &str) -> Vec<String> {
    store
        .list::<R>(t, &Page::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.id)
        .collect()
}

pub async fn paging(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "paging").await.id;
    for i in 0..7 {
        store
            .create(
                &admin(),
                &t,
                from_json::<PromptSpec>(json!({"name": format!("p{i}")})),
            )
            .await
            .unwrap();
    }
    let mut page = Page {
        limit: Some(3),
        cursor: None,
    };
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let listing = store.list::<PromptSpec>(&t, &page).await.unwrap();
        pages += 1;
        names.extend(listing.items.into_iter().map(|p| p.spec.name));
        match listing.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        (0..7).map(|i| format!("p{i}")).collect::<Vec<_>>(),
        "oldest first, nothing twice"
    );
    let bogus_cursor = Page {
        limit: None,
        cursor: Some("zzz".into()),
    };
    assert!(
        matches!(store.list::<PromptSpec>(&t, &bogus_cursor).await, Err(StoreError::Invalid(e)) if e[0].field == "cursor")
    );
    let too_big = Page {
        limit: Some(101),
        cursor: None,
    };
    assert!(
        matches!(store.list::<PromptSpec>(&t, &too_big).await, Err(StoreError::Invalid(e)) if e[0].field == "limit")
    );
}

pub async fn references_are_checked_and_protected(f: &Fixture) {
    let store = f.open().await;
    let t = seed(&store, "refs").await;
    let bad = store
        .create(
            &admin(),
            &t,
            from_json::<AccessCodeSpec>(json!({"number": "4002", "trunk": "nope"})),
        )
        .await;
    match bad {
        Err(StoreError::Invalid(errors)) => assert_eq!(errors[0].field, "trunk"),
        other => panic!("expected invalid trunk reference, got {other:?}"),
    }
    // The queue is used by the route and both agents; the trunk by the access code.
    match store
        .delete::<SkillQueueSpec>(&admin(), &t, "support", None)
        .await
    {
        Err(StoreError::InUse { used_by, .. }) => assert!(
            used_by.contains("called route") || used_by.contains("agent"),
            "{used_by}"
        ),
        other => panic!("expected in use, got {other:?}"),
    }
    assert!(matches!(
        store
            .delete::<TrunkSpec>(&admin(), &t, "carrier", None)
            .await,
        Err(StoreError::InUse { .. })
    ));
    // Dropping the agents' skill and the route frees the queue.
    for work_no in ["1001", "1002"] {
        let a: Stored<AgentSpec> = store.get(&t, work_no).await.unwrap();
        let mut spec = a.spec.clone();
        spec.skills.clear();
        store
            .update(&admin(), &t, work_no, None, spec)
            .await
            .unwrap();
    }
    let route = list_ids::<CalledRouteSpec>(&store, &t).await;
    store
        .delete::<CalledRouteSpec>(&admin(), &t, &route[0], None)
        .await
        .unwrap();
    store
        .delete::<SkillQueueSpec>(&admin(), &t, "support", None)
        .await
        .unwrap();
}

pub async fn tenant_isolation(f: &Fixture) {
    let store = f.open().await;
    let a = seed(&store, "tenant-a").await;
    let b = tenant(&store, "tenant-b").await.id;
    let a_trunk: Stored<TrunkSpec> = store.get(&a, "carrier").await.unwrap();
    assert!(matches!(
        store.get::<TrunkSpec>(&b, &a_trunk.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get::<TrunkSpec>(&b, "carrier").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .delete::<TrunkSpec>(&admin(), &b, &a_trunk.id, None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store
            .list::<TrunkSpec>(&b, &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // A reference to another tenant's object, even by id, is refused.
    let cross = store
        .create(
            &admin(),
            &b,
            from_json::<AccessCodeSpec>(json!({"number": "4001", "trunk": a_trunk.id})),
        )
        .await;
    assert!(matches!(cross, Err(StoreError::Invalid(e)) if e[0].field == "trunk"));
    // The same natural key may exist in two tenants.
    store.create(&admin(), &b, trunk("carrier")).await.unwrap();
}

pub async fn uniqueness(f: &Fixture) {
    let store = f.open().await;
    let t = seed(&store, "unique").await;
    assert!(matches!(
        store.create(&admin(), &t, trunk("carrier")).await,
        Err(StoreError::Duplicate { .. })
    ));
    let mut same_phone = agent("1003", "support");
    same_phone.sip_user = "1001".into();
    // The clash is named by the key that clashed: the SIP user, not the new work number.
    match store.create(&admin(), &t, same_phone).await {
        Err(StoreError::Duplicate { kind, key }) => {
            assert_eq!((kind, key.as_str()), ("SIP user", "1001"));
        }
        other => panic!("expected a duplicate SIP user, got {other:?}"),
    }
    let dup_route = store
        .create(
            &admin(),
            &t,
            from_json::<CalledRouteSpec>(
                json!({"access_code": "4001", "target": {"type": "skill_queue", "id": "support"}}),
            ),
        )
        .await;
    assert!(
        matches!(dup_route, Err(StoreError::Duplicate { .. })),
        "{dup_route:?}"
    );
    store
        .create(&admin(), &t, from_json::<CalledRouteSpec>(json!({"access_code": "4001", "extension": "2", "target": {"type": "skill_queue", "id": "support"}})))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_tenant(&admin(), from_json(json!({"name": "unique"})))
            .await,
        Err(StoreError::Duplicate { .. })
    ));
}

pub async fn optimistic_versioning(f: &Fixture) {
    let store = f.open().await;
    let t = seed(&store, "versions").await;
    let q: Stored<SkillQueueSpec> = store.get(&t, "support").await.unwrap();
    let mut spec = q.spec.clone();
    spec.max_waiting_calls = 7;
    store
        .update(&admin(), &t, "support", Some(q.version), spec.clone())
        .await
        .unwrap();
    spec.max_waiting_calls = 8;
    match store
        .update(&admin(), &t, "support", Some(q.version), spec)
        .await
    {
        Err(StoreError::VersionMismatch { expected, current }) => {
            assert_eq!((expected, current), (1, 2));
        }
        other => panic!("expected a version mismatch, got {other:?}"),
    }
    assert!(matches!(
        store
            .delete::<SkillQueueSpec>(&admin(), &t, "support", Some(1))
            .await,
        Err(StoreError::VersionMismatch { .. })
    ));
    let read: Stored<SkillQueueSpec> = store.get(&t, "support").await.unwrap();
    assert_eq!(read.spec.max_waiting_calls, 7);
}

pub async fn concurrent_updates_one_wins(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "race").await.id;
    store.create(&admin(), &t, queue("q")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8u32 {
        let store = store.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut spec = queue("q");
            spec.max_waiting_calls = i;
            store.update(&admin(), &t, "q", Some(1), spec).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::VersionMismatch { .. }) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(
        ok, 1,
        "exactly one of the racing updates based on version 1 wins"
    );
    let read: Stored<SkillQueueSpec> = store.get(&t, "q").await.unwrap();
    assert_eq!(read.version, 2);
}

async fn agent_secrets(store: &Store, tenant: &str, id: &str) -> serde_json::Value {
    store
        .secrets::<AgentSpec>(tenant, id)
        .await
        .unwrap()
        .expect("agent secrets")
}

fn md5_ha1(user: &str, password: &str) -> String {
    cec_sip_auth::compute_ha1(cec_sip_auth::Algorithm::Md5, user, "opencec", password)
        .as_str()
        .to_owned()
}

pub async fn secrets_never_in_bodies(f: &Fixture) {
    let store = f.open().await;
    let t = seed(&store, "secrets").await;
    let a: Stored<AgentSpec> = store.get(&t, "1001").await.unwrap();
    let shown = serde_json::to_string(&a).unwrap();
    assert!(
        !shown.contains("Sip-pass-1") && !shown.contains("password"),
        "{shown}"
    );
    let secrets = agent_secrets(&store, &t, &a.id).await;
    let expected = md5_ha1("1001", "Sip-pass-1");
    assert_eq!(secrets["sip_ha1_md5"], expected);
    assert!(cec_store::verify_password(
        "Web-pass-1",
        secrets["password_argon2"].as_str().unwrap()
    ));
    // An update without passwords keeps them.
    let mut spec = a.spec.clone();
    spec.name = "Renamed".into();
    store
        .update(&admin(), &t, "1001", None, spec.clone())
        .await
        .unwrap();
    let kept = agent_secrets(&store, &t, &a.id).await;
    assert_eq!(kept["sip_ha1_md5"], secrets["sip_ha1_md5"]);
    // A new SIP user needs the SIP password again (HA1 covers the user name).
    spec.sip_user = "2001".into();
    assert!(
        matches!(store.update(&admin(), &t, "1001", None, spec.clone()).await, Err(StoreError::Invalid(e)) if e[0].field == "sip_password")
    );
    spec.sip_password = Some("New-sip-pass-2".into());
    store
        .update(&admin(), &t, "1001", None, spec)
        .await
        .unwrap();
    let renewed = agent_secrets(&store, &t, &a.id).await;
    let expected = md5_ha1("2001", "New-sip-pass-2");
    assert_eq!(renewed["sip_ha1_md5"], expected);
    assert!(cec_store::verify_password(
        "Web-pass-1",
        renewed["password_argon2"].as_str().unwrap()
    ));
    // Nor in the audit log.
    let audit = store.audit_log(&t, &Default::default()).await.unwrap();
    assert!(
        !serde_json::to_string(&audit).unwrap().contains("pass-"),
        "audit must not carry passwords"
    );
}

/// The fields an `Invalid` error names; panics on any other outcome.
fn invalid_fields<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Vec<String> {
    match result {
        Err(StoreError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

pub async fn validation_names_fields(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "valid").await.id;
    let spec: AgentSpec = from_json(json!({
        "work_no": "12ab", "name": "", "skills": [{"queue": "x", "weight": 0}], "password": "weak"
    }));
    assert_eq!(
        invalid_fields(store.create(&admin(), &t, spec).await),
        ["work_no", "name", "skills[0].weight", "password"]
    );
    let bad_trunk: TrunkSpec = from_json(
        json!({"name": "t", "addresses": [], "probe_interval_s": 2, "allowed_sources": ["10.0.0.0/33"]}),
    );
    assert_eq!(
        invalid_fields(store.create(&admin(), &t, bad_trunk).await),
        ["addresses", "allowed_sources[0]", "probe_interval_s"]
    );
    let bad_code: ReasonCodeSpec = from_json(json!({"kind": "busy", "code": 100, "name": "Lunch"}));
    assert!(
        matches!(store.create(&admin(), &t, bad_code).await, Err(StoreError::Invalid(e)) if e[0].field == "code")
    );
    let bad_calendar: CalendarSpec = from_json(
        json!({"name": "c", "weekly": [{"day": "mon", "open": "18:00", "close": "09:00"}], "holidays": [{"date": "2026-02-30"}]}),
    );
    assert_eq!(
        invalid_fields(store.create(&admin(), &t, bad_calendar).await),
        ["weekly[0].close", "holidays[0].date"]
    );
}

pub async fn audit_log_records_changes(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "audit").await.id;
    let actor = Actor::key("AKAUDITOR");
    let q = store.create(&actor, &t, queue("q1")).await.unwrap();
    let mut spec = q.spec.clone();
    spec.wrap_up_time_s = 30;
    store.update(&actor, &t, "q1", None, spec).await.unwrap();
    store
        .delete::<SkillQueueSpec>(&actor, &t, "q1", None)
        .await
        .unwrap();
    let query = cec_store::AuditQuery {
        kind: Some("skill_queue".into()),
        ..Default::default()
    };
    let log = store.audit_log(&t, &query).await.unwrap();
    let actions: Vec<_> = log.items.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            cec_store::Action::Create,
            cec_store::Action::Update,
            cec_store::Action::Delete
        ]
    );
    assert!(
        log.items
            .iter()
            .all(|e| e.actor == "key:AKAUDITOR" && e.resource_id == q.id && e.key == "q1")
    );
    assert_eq!(log.items[1].before.as_ref().unwrap()["wrap_up_time_s"], 5);
    assert_eq!(log.items[1].after.as_ref().unwrap()["wrap_up_time_s"], 30);
    // Paging through the whole log (tenant creation included).
    let first = store
        .audit_log(
            &t,
            &cec_store::AuditQuery {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = store
        .audit_log(
            &t,
            &cec_store::AuditQuery {
                limit: Some(10),
                cursor: first.next_cursor.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2, "tenant create + 3 queue entries");
    assert!(rest.items[0].seq > first.items[1].seq);
}

pub async fn api_keys(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "keys").await.id;
    let new = store
        .create_api_key(&admin(), Some(&t), KeyRole::Admin, "ci")
        .await
        .unwrap();
    let key = store
        .verify_api_key(&new.key.access_key, &new.secret)
        .await
        .unwrap();
    assert_eq!(key.tenant_id.as_deref(), Some(t.as_str()));
    assert!(matches!(
        store.verify_api_key(&new.key.access_key, "wrong").await,
        Err(StoreError::BadCredentials)
    ));
    assert!(matches!(
        store.verify_api_key("AKNOPE", &new.secret).await,
        Err(StoreError::BadCredentials)
    ));
    assert!(matches!(
        store
            .create_api_key(&admin(), Some(&t), KeyRole::System, "")
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.list_api_keys(Some(&t)).await.unwrap().len(), 1);
    store
        .revoke_api_key(&admin(), Some(&t), &new.key.access_key)
        .await
        .unwrap();
    assert!(matches!(
        store.verify_api_key(&new.key.access_key, &new.secret).await,
        Err(StoreError::BadCredentials)
    ));
    let system = store
        .create_api_key(&admin(), None, KeyRole::System, "ops")
        .await
        .unwrap();
    assert!(
        store
            .verify_api_key(&system.key.access_key, &system.secret)
            .await
            .is_ok()
    );
    let k1 = store.token_signing_key().await.unwrap();
    let k2 = store.token_signing_key().await.unwrap();
    assert_eq!(k1, k2, "the signing key is created once");
}

pub async fn survives_reopen(f: &Fixture) {
    let t;
    let key;
    {
        let store = f.open().await;
        t = seed(&store, "durable").await;
        key = store.token_signing_key().await.unwrap();
        store.close().await;
    }
    let store = f.open().await;
    let agents = store.list::<AgentSpec>(&t, &Page::default()).await.unwrap();
    assert_eq!(agents.items.len(), 2);
    assert_eq!(store.token_signing_key().await.unwrap(), key);
    assert_eq!(store.get_tenant("durable").await.unwrap().id, t);
}

fn full_config() -> TenantConfig {
    from_json(json!({
        "settings": {"display_name": "Acme", "time_zone": "Europe/Berlin", "limits": {"max_agents": 10, "max_concurrent_calls": 20, "max_cps": 5}},
        "prompts": [{"name": "welcome"}, {"name": "music", "language": "de"}],
        "calendars": [{"name": "office", "weekly": [{"day": "mon", "open": "09:00", "close": "17:00"}]}],
        "reason_codes": [{"kind": "rest", "code": 1, "name": "Lunch"}],
        "flows": [{"name": "menu", "draft": {"start": "n1"}}],
        "trunks": [{"name": "carrier", "addresses": [{"host": "192.0.2.10"}]}],
        "access_codes": [{"number": "4001", "trunk": "carrier"}, {"number": "4000", "trunk": "carrier"}],
        "skill_queues": [
            {"name": "sales", "on_queue_full": {"type": "skill_queue", "id": "support"}, "hold_music": "music"},
            {"name": "support", "on_wait_timeout": {"type": "release", "prompt": "welcome"}}
        ],
        "called_routes": [
            {"access_code": "4001", "target": {"type": "skill_queue", "id": "support"}},
            {"access_code": "4000", "target": {"type": "ivr_flow", "id": "menu"}}
        ],
        "agents": [{"work_no": "1001", "name": "Ann", "skills": [{"queue": "support"}, {"queue": "sales", "weight": 3}], "sip_password": "Sip-pass-1"}]
    }))
}

pub async fn config_export_import_round_trip(f: &Fixture) {
    let store = f.open().await;
    let a = tenant(&store, "source").await.id;
    let summary = store
        .apply_config(&admin(), &a, full_config())
        .await
        .unwrap();
    assert_eq!(summary.created, 13);
    let exported = store.export_config(&a).await.unwrap();
    let text = serde_json::to_value(&exported).unwrap();
    assert_eq!(
        text["access_codes"][0]["trunk"], "carrier",
        "references exported as names"
    );
    assert_eq!(text["called_routes"][0]["access_code"], "4001");
    assert_eq!(text["skill_queues"][0]["on_queue_full"]["id"], "support");
    assert!(
        !text.to_string().contains("Sip-pass"),
        "no secrets in exports"
    );
    // Applying the export to another tenant reproduces the same export.
    let b = tenant(&store, "copy").await.id;
    store
        .apply_config(&admin(), &b, exported.clone())
        .await
        .unwrap();
    let again = store.export_config(&b).await.unwrap();
    assert_eq!(serde_json::to_value(&again).unwrap(), text);
}

pub async fn config_apply_is_idempotent_and_prunes(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "gitops").await.id;
    store
        .apply_config(&admin(), &t, full_config())
        .await
        .unwrap();
    let mut doc = store.export_config(&t).await.unwrap();
    let second = store.apply_config(&admin(), &t, doc.clone()).await.unwrap();
    assert_eq!(
        (second.created, second.updated, second.deleted),
        (0, 0, 0),
        "{second:?}"
    );
    let audit_before = store
        .audit_log(
            &t,
            &cec_store::AuditQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .len();
    // Drop the IVR route and the flow; change one queue.
    doc.called_routes.retain(|r| r.access_code != "4000");
    doc.flows.clear();
    doc.skill_queues[1].max_waiting_calls = 3;
    let third = store.apply_config(&admin(), &t, doc).await.unwrap();
    assert_eq!(
        (third.created, third.updated, third.deleted),
        (0, 1, 2),
        "{third:?}"
    );
    assert!(matches!(
        store.get::<FlowSpec>(&t, "menu").await,
        Err(StoreError::NotFound { .. })
    ));
    let support: Stored<SkillQueueSpec> = store.get(&t, "support").await.unwrap();
    assert_eq!(support.spec.max_waiting_calls, 3);
    let audit_after = store
        .audit_log(
            &t,
            &cec_store::AuditQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(audit_after, audit_before + 3);
    // Agents keep their SIP credentials across applies without passwords.
    let ann: Stored<AgentSpec> = store.get(&t, "1001").await.unwrap();
    assert!(
        store
            .secrets::<AgentSpec>(&t, &ann.id)
            .await
            .unwrap()
            .unwrap()["sip_ha1_md5"]
            .is_string()
    );
}

pub async fn config_apply_rejects_bad_references(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "badref").await.id;
    let mut doc = full_config();
    doc.agents[0].skills[1].queue = "nowhere".into();
    doc.trunks.push(doc.trunks[0].clone());
    let fields = invalid_fields(store.apply_config(&admin(), &t, doc).await);
    assert!(
        fields.iter().any(|f| f == "agents[0].skills[1].queue"),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|f| f.starts_with("trunks[1]")),
        "{fields:?}"
    );
    assert!(
        store
            .list::<TrunkSpec>(&t, &Page::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "nothing applied"
    );
}

pub async fn flows_publish(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "flows").await.id;
    store.create(&admin(), &t, from_json::<FlowSpec>(json!({"name": "menu", "draft": {"v": 1}, "published": {"version": 9, "document": {}, "published_ms": 0}}))).await.unwrap();
    let created: Stored<FlowSpec> = store.get(&t, "menu").await.unwrap();
    assert!(
        created.spec.published.is_none(),
        "clients cannot set published"
    );
    let p1 = store
        .publish_flow(&admin(), &t, "menu", None)
        .await
        .unwrap();
    assert_eq!(p1.spec.published.as_ref().unwrap().version, 1);
    let mut spec = p1.spec.clone();
    spec.draft = json!({"v": 2});
    spec.published = None;
    let edited = store
        .update(&admin(), &t, "menu", Some(p1.version), spec)
        .await
        .unwrap();
    assert_eq!(
        edited.spec.published.as_ref().unwrap().document,
        json!({"v": 1}),
        "editing the draft keeps the published version"
    );
    let p2 = store
        .publish_flow(&admin(), &t, "menu", Some(edited.version))
        .await
        .unwrap();
    let published = p2.spec.published.unwrap();
    assert_eq!(
        (published.version, published.document),
        (2, json!({"v": 2}))
    );
    assert!(
        matches!(store.create(&admin(), &t, from_json::<FlowSpec>(json!({"name": "x", "draft": [1]}))).await, Err(StoreError::Invalid(e)) if e[0].field == "draft")
    );
}

pub async fn prompt_audio_files(f: &Fixture) {
    let store = f.open().await;
    let t = tenant(&store, "prompts").await.id;
    let p = store
        .create(
            &admin(),
            &t,
            from_json::<PromptSpec>(json!({"name": "hello"})),
        )
        .await
        .unwrap();
    assert!(matches!(
        store.prompt_audio(&t, "hello").await,
        Err(StoreError::NotFound { .. })
    ));
    let wav = b"RIFF....WAVEfmt fake".to_vec();
    let stored = store
        .put_prompt_audio(
            &admin(),
            &t,
            "hello",
            wav.clone(),
            1234,
            "PCM 16-bit 44100 Hz 2 ch".into(),
        )
        .await
        .unwrap();
    let audio = stored.spec.audio.clone().unwrap();
    assert_eq!((audio.duration_ms, audio.bytes), (1234, wav.len() as u64));
    assert_eq!(store.prompt_audio(&t, &p.id).await.unwrap(), wav);
    let path = store.prompt_audio_path(&t, &p.id);
    assert!(path.exists());
    // Metadata updates keep the audio.
    let mut spec = stored.spec.clone();
    spec.description = "greeting".into();
    spec.audio = None;
    let updated = store
        .update(&admin(), &t, "hello", None, spec)
        .await
        .unwrap();
    assert!(updated.spec.audio.is_some());
    store
        .delete::<PromptSpec>(&admin(), &t, "hello", None)
        .await
        .unwrap();
    assert!(!path.exists(), "deleting the prompt removes its file");
}

pub async fn tenant_delete_cascades(f: &Fixture) {
    let store = f.open().await;
    let t = seed(&store, "doomed").await;
    store
        .create_api_key(&admin(), Some(&t), KeyRole::Admin, "")
        .await
        .unwrap();
    let other = seed(&store, "kept").await;
    store.delete_tenant(&admin(), "doomed", None).await.unwrap();
    assert!(matches!(
        store.get_tenant("doomed").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store
            .list::<AgentSpec>(&t, &Page::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .list::<AgentSpec>(&other, &Page::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert!(store.list_api_keys(Some(&t)).await.unwrap().is_empty());
}
