//! The audit log records create, update and delete with the API key as actor; a tenant's
//! configuration exported as one document and applied to an empty tenant reproduces it
//! exactly, and applying it again changes nothing.

use serde_json::{Value, json};

use crate::{Backend, Running, id_of};

#[test]
fn audit_log_records_changes_with_the_key() {
    let running = Running::start("api-audit", Backend::Sqlite, false);
    let (access_key, secret) = running.tenant_with_admin_key("audited");
    let api = running.login(&access_key, &secret);
    let base = "/api/v1/tenants/audited";

    let queue = api
        .post(
            &format!("{base}/skill-queues"),
            &json!({"name": "helpdesk"}),
        )
        .expect(201);
    let path = format!("{base}/skill-queues/{}", id_of(&queue));
    api.patch(&path, &json!({"description": "first line"}))
        .expect(200);
    // Another kind, to see the filter work.
    api.post(&format!("{base}/prompts"), &json!({"name": "hello"}))
        .expect(201);
    assert_eq!(api.delete(&path).status, 204);

    let log = api
        .get(&format!("{base}/audit?kind=skill_queue"))
        .expect(200);
    let entries = log["items"].as_array().expect("items");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["create", "update", "delete"], "{log}");
    let actor = format!("key:{access_key}");
    for entry in entries {
        assert_eq!(entry["actor"], actor.as_str(), "{entry}");
        assert_eq!(entry["kind"], "skill_queue");
        assert_eq!(entry["resource_id"], queue["id"]);
        assert_eq!(entry["key"], "helpdesk");
    }
    let [created, updated, deleted] = entries.as_slice() else {
        panic!("three entries expected: {log}");
    };
    assert!(created.get("before").is_none() && created["after"]["name"] == "helpdesk");
    assert_eq!(updated["before"]["description"], "");
    assert_eq!(updated["after"]["description"], "first line");
    assert!(deleted.get("after").is_none() && deleted["before"]["name"] == "helpdesk");
    let seqs: Vec<i64> = entries.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {seqs:?}"
    );

    let by_object = api
        .get(&format!("{base}/audit?resource_id={}", id_of(&queue)))
        .expect(200);
    assert_eq!(by_object["items"].as_array().map(Vec::len), Some(3));
    let prompts = api.get(&format!("{base}/audit?kind=prompt")).expect(200);
    assert_eq!(prompts["items"].as_array().map(Vec::len), Some(1));
    running.finish();
}

/// Number of objects in a configuration document.
fn object_count(doc: &Value) -> u64 {
    doc.as_object()
        .map(|sections| {
            sections
                .values()
                .filter_map(Value::as_array)
                .map(|items| items.len() as u64)
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn config_export_applies_to_another_tenant() {
    let running = Running::start("api-config", Backend::Sqlite, true);
    let demo = running.demo_admin();
    let platform = running.platform();
    // A little more than the demo seed: a prompt referenced by a queue, a reason code.
    demo.post("/api/v1/tenants/demo/prompts", &json!({"name": "hold"}))
        .expect(201);
    demo.post(
        "/api/v1/tenants/demo/skill-queues",
        &json!({"name": "overflow", "hold_music": "hold",
                "on_no_agents": {"type": "skill_queue", "id": "support"}}),
    )
    .expect(201);
    demo.post(
        "/api/v1/tenants/demo/reason-codes",
        &json!({"kind": "busy", "code": 201, "name": "Back office"}),
    )
    .expect(201);

    let exported = demo.get("/api/v1/tenants/demo/config").expect(200);
    let count = object_count(&exported);
    assert!(count >= 9, "demo seed plus three objects: {exported}");
    let queues = exported["skill_queues"].as_array().expect("skill_queues");
    let overflow = queues
        .iter()
        .find(|q| q["name"] == "overflow")
        .expect("overflow queue exported");
    assert_eq!(overflow["hold_music"], "hold", "references by name, not id");
    assert_eq!(overflow["on_no_agents"]["id"], "support");
    let text = exported.to_string();
    assert!(
        !text.contains("password") && !text.contains("ha1"),
        "no secrets in the export"
    );

    platform
        .post("/api/v1/tenants", &json!({"name": "copy"}))
        .expect(201);
    let summary = platform
        .put("/api/v1/tenants/copy/config", &exported)
        .expect(200);
    assert_eq!(summary["created"], count, "{summary}");
    assert_eq!(summary["deleted"], 0);
    let copied = platform.get("/api/v1/tenants/copy/config").expect(200);
    assert_eq!(copied, exported);

    let again = platform
        .put("/api/v1/tenants/copy/config", &exported)
        .expect(200);
    assert_eq!(
        again,
        json!({"created": 0, "updated": 0, "deleted": 0, "unchanged": count})
    );
    // The copy's objects are its own: ids differ, references point inside the copy.
    let copy_queue = platform
        .get("/api/v1/tenants/copy/skill-queues/overflow")
        .expect(200);
    let demo_queue = demo
        .get("/api/v1/tenants/demo/skill-queues/overflow")
        .expect(200);
    assert_ne!(copy_queue["id"], demo_queue["id"]);
    let copy_prompt = platform
        .get("/api/v1/tenants/copy/prompts/hold")
        .expect(200);
    assert_eq!(copy_queue["hold_music"], copy_prompt["id"]);

    // Applying a document without the reason code deletes it; demo is untouched.
    let mut smaller = exported.clone();
    smaller["reason_codes"] = json!([]);
    let summary = platform
        .put("/api/v1/tenants/copy/config", &smaller)
        .expect(200);
    assert_eq!(summary["deleted"], 1, "{summary}");
    demo.get("/api/v1/tenants/demo/reason-codes/busy-201")
        .expect(200);
    running.finish();
}
