//! Random JSON thrown at every create endpoint of the real router over a real SQLite store
//! never gets a 5xx or a panic: the answer is 201, 409 (duplicate) or a 400 problem naming a
//! field. Two shapes of input: arbitrary documents, and a valid object of the kind with one
//! field replaced by an arbitrary value (which reaches the model's validation and the
//! reference checks instead of stopping at the first unknown field).

mod json_strategy;

use std::sync::OnceLock;

use cec_store::Actor;
use proptest::prelude::*;
use serde_json::{Value, json};

fn bases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "trunks",
            json!({"name": "t", "addresses": [{"host": "127.0.0.1", "port": 5080, "transport": "tcp"}], "allowed_sources": ["10.0.0.0/8"], "probe_interval_s": 30}),
        ),
        (
            "access-codes",
            json!({"number": "5001", "trunk": "carrier", "media_type": "voice"}),
        ),
        (
            "called-routes",
            json!({"access_code": "4001", "extension": "9", "target": {"type": "skill_queue", "id": "support"}}),
        ),
        (
            "skill-queues",
            json!({"name": "q", "max_waiting_calls": 5, "on_queue_full": {"type": "release", "prompt": "welcome", "sip_status": 486}, "announcement": {"prompt": "welcome", "interval_s": 30}}),
        ),
        (
            "agents",
            json!({"work_no": "2001", "name": "A", "skills": [{"queue": "support", "weight": 2}], "role": "agent"}),
        ),
        ("flows", json!({"name": "f", "draft": {"start": "x"}})),
        ("prompts", json!({"name": "p", "language": "en"})),
        (
            "calendars",
            json!({"name": "c", "weekly": [{"day": "mon", "open": "09:00", "close": "17:00"}], "holidays": [{"date": "2026-12-25"}]}),
        ),
        (
            "reason-codes",
            json!({"kind": "busy", "code": 201, "name": "Meeting"}),
        ),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_strategy::json_value(
        &[
            "name",
            "number",
            "trunk",
            "target",
            "type",
            "id",
            "skills",
            "queue",
            "weight",
            "addresses",
            "host",
            "port",
            "draft",
            "code",
            "kind",
            "weekly",
        ],
        &[
            "skill_queue",
            "ivr_flow",
            "release",
            "support",
            "carrier",
            "4001",
            "09:00",
            "udp",
            "",
        ],
        3,
    )
}

mod store_fixture;
use store_fixture::StoreFixture;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    api: StoreFixture,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let api = runtime.block_on(async {
            let api = StoreFixture::new("create", "acme").await;
            let doc = json!({
                "prompts": [{"name": "welcome"}],
                "trunks": [{"name": "carrier", "addresses": [{"host": "127.0.0.1"}]}],
                "access_codes": [{"number": "4001", "trunk": "carrier"}],
                "skill_queues": [{"name": "support"}],
            });
            let config = serde_json::from_value(doc).unwrap();
            api.store()
                .apply_config(&Actor::system("test"), "acme", config)
                .await
                .unwrap();
            api
        });
        Fixture { runtime, api }
    })
}

fn post(collection: &str, body: &Value) -> (u16, Value) {
    let f = fixture();
    let uri = format!("/api/v1/tenants/acme/{collection}");
    let bytes = serde_json::to_vec(body).unwrap();
    let (status, _, answer) =
        f.runtime.block_on(
            f.api
                .send("POST", &uri, Some("application/json"), None, bytes),
        );
    (
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    )
}

fn check(collection: &str, body: &Value) -> Result<(), TestCaseError> {
    let (status, answer) = post(collection, body);
    prop_assert!(
        matches!(status, 201 | 400 | 409),
        "{collection}: {status} for {body}: {answer}"
    );
    if status == 400 {
        let field = answer["errors"][0]["field"].as_str().unwrap_or_default();
        prop_assert!(
            !field.is_empty(),
            "{collection}: 400 without a field for {body}: {answer}"
        );
    }
    Ok(())
}

#[test]
fn valid_bases_are_accepted() {
    for (collection, base) in bases() {
        let (status, answer) = post(collection, &base);
        assert!(
            status == 201 || status == 409,
            "{collection}: {status} {answer}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_documents(index in 0usize..9, value in json_value()) {
        let (collection, _) = &bases()[index];
        check(collection, &value)?;
    }

    #[test]
    fn one_field_replaced(index in 0usize..9, field in 0usize..8, value in json_value()) {
        let (collection, mut base) = bases().swap_remove(index);
        let keys: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
        let key = keys[field % keys.len()].clone();
        base[&key] = value;
        check(collection, &base)?;
    }
}
