//! Bad input is a 4xx `application/problem+json` answer that names the offending field,
//! never a 5xx, a plain-text error or a dead server: wrong content type, broken JSON,
//! unknown fields, wrong types deep in a document, numbers out of range (by rule and by
//! type), duplicates, oversized bodies, bad query strings, unknown paths and methods.

use serde_json::json;

use crate::{Backend, Running};

const QUEUES: &str = "/api/v1/tenants/shop/skill-queues";
const AGENTS: &str = "/api/v1/tenants/shop/agents";

#[test]
fn bad_input_gets_problems() {
    let mut running = Running::start("api-bad-input", Backend::Sqlite, false);
    let (access_key, secret) = running.tenant_with_admin_key("shop");
    let api = running.login(&access_key, &secret);
    api.post(QUEUES, &json!({"name": "sales"})).expect(201);

    let wrong_type = api.send("POST", QUEUES, Some("text/plain"), br#"{"name": "q1"}"#);
    wrong_type.problem(415);
    let no_type = api.send("POST", QUEUES, None, br#"{"name": "q1"}"#);
    no_type.problem(415);

    let broken = api.send("POST", QUEUES, Some("application/json"), br#"{"name": "#);
    let doc = broken.problem(400);
    assert!(
        doc["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/malformed-json"),
        "{doc}"
    );
    let not_utf8 = api.send(
        "POST",
        QUEUES,
        Some("application/json"),
        b"{\"name\": \"\xff\"}",
    );
    not_utf8.problem(400);

    let unknown = api.post(QUEUES, &json!({"name": "q1", "colour": "red"}));
    unknown.problem(400);
    assert_eq!(unknown.problem_fields(), ["colour"]);

    let nested = api.post(
        AGENTS,
        &json!({"work_no": "3001", "name": "Bob", "skills": [{"queue": "sales", "weight": "x"}]}),
    );
    nested.problem(400);
    assert_eq!(nested.problem_fields(), ["skills[0].weight"]);
    let deep_unknown = api.post(
        AGENTS,
        &json!({"work_no": "3001", "name": "Bob", "skills": [{"queue": "sales", "wieght": 2}]}),
    );
    deep_unknown.problem(400);
    assert_eq!(deep_unknown.problem_fields(), ["skills[0].wieght"]);

    // Out of range by the model's rule, and for the field's type.
    let by_rule = api.post(QUEUES, &json!({"name": "q1", "ring_timeout_s": 1}));
    by_rule.problem(400);
    assert_eq!(by_rule.problem_fields(), ["ring_timeout_s"]);
    let by_type = api.post(
        QUEUES,
        &json!({"name": "q1", "max_waiting_calls": 5_000_000_000u64}),
    );
    by_type.problem(400);
    assert_eq!(by_type.problem_fields(), ["max_waiting_calls"]);
    let negative = api.post(
        AGENTS,
        &json!({"work_no": "3001", "name": "Bob", "skills": [{"queue": "sales", "weight": -1}]}),
    );
    negative.problem(400);
    assert_eq!(negative.problem_fields(), ["skills[0].weight"]);
    let weight_by_rule = api.post(
        AGENTS,
        &json!({"work_no": "3001", "name": "Bob", "skills": [{"queue": "sales", "weight": 101}]}),
    );
    weight_by_rule.problem(400);
    assert_eq!(weight_by_rule.problem_fields(), ["skills[0].weight"]);

    let duplicate = api.post(QUEUES, &json!({"name": "sales"}));
    duplicate.problem(409);

    // 2 MiB of valid JSON: refused by size, not parsed.
    let big = format!(
        r#"{{"name": "big", "description": "{}"}}"#,
        "x".repeat(2 << 20)
    );
    let too_large = api.send("POST", QUEUES, Some("application/json"), big.as_bytes());
    too_large.problem(413);

    api.get(&format!("{QUEUES}?limit=abc")).problem(400);
    api.get("/api/v1/no-such-thing").problem(404);
    api.send("PATCH", "/api/v1/tenants", Some("application/json"), b"{}")
        .problem(405);
    api.send(
        "PUT",
        &format!("{QUEUES}/sales"),
        Some("application/json"),
        b"[1, 2]",
    )
    .problem(400);

    // Still up and unchanged.
    assert!(running.server.is_running(), "the server died");
    api.get("/healthz").expect(200);
    let listing = api.get(QUEUES).expect(200);
    let names: Vec<&str> = listing["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|q| q["name"].as_str())
        .collect();
    assert_eq!(names, ["sales"], "no refused request created anything");
    assert!(
        !running.server.log_text().contains("panicked"),
        "a handler panicked:\n{}",
        running.server.log_text()
    );
    running.finish();
}
