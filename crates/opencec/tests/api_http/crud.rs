//! The full life of configuration objects with the demo tenant's admin key: create (201 with
//! `Location`), references by name stored as ids, read by id and by natural key, paging until
//! `next_cursor` is gone, replace with and without the current version, merge patch, and
//! deletes that respect references.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::http::Client;
use crate::{Backend, Running, id_of, version_of};

const BASE: &str = "/api/v1/tenants/demo";

/// POSTs `body` to the collection, checks 201, `Location` and the first version; returns
/// the created object.
fn create(api: &Client, collection: &str, body: &Value) -> Value {
    let answer = api.post(&format!("{BASE}/{collection}"), body);
    let created = answer.expect(201);
    let id = id_of(&created);
    assert_eq!(
        answer.header("location"),
        Some(format!("{BASE}/{collection}/{id}").as_str()),
        "Location of a new {collection} object"
    );
    assert_eq!(version_of(&created), 1);
    let read = api.get(&format!("{BASE}/{collection}/{id}")).expect(200);
    assert_eq!(
        read, created,
        "GET of the Location returns what POST answered"
    );
    created
}

fn crud_walk(backend: Backend) {
    let running = Running::start(&format!("api-crud-{backend:?}"), backend, true);
    let api = running.demo_admin();

    let trunk = create(
        &api,
        "trunks",
        &json!({"name": "carrier-a", "addresses": [{"host": "192.0.2.10", "port": 5060}]}),
    );
    assert_eq!(trunk["probe_interval_s"], 60, "defaults are filled in");
    let code = create(
        &api,
        "access-codes",
        &json!({"number": "5001", "trunk": "carrier-a"}),
    );
    assert_eq!(
        code["trunk"], trunk["id"],
        "the trunk name is stored as its id"
    );
    let queue = create(&api, "skill-queues", &json!({"name": "sales"}));
    let route = create(
        &api,
        "called-routes",
        &json!({"access_code": "5001", "target": {"type": "skill_queue", "id": "sales"}}),
    );
    assert_eq!(route["access_code"], code["id"]);
    assert_eq!(route["target"]["id"], queue["id"]);
    // No password: keeps argon2 out of this test.
    let agent = create(
        &api,
        "agents",
        &json!({"work_no": "2001", "name": "Alice", "skills": [{"queue": "sales", "weight": 5}]}),
    );
    assert_eq!(agent["skills"][0]["queue"], queue["id"]);
    assert_eq!(
        agent["sip_user"], "2001",
        "sip_user defaults to the work number"
    );
    assert!(agent.get("password").is_none() && agent.get("sip_password").is_none());

    // Natural keys resolve like ids.
    for (collection, key, object) in [
        ("trunks", "carrier-a", &trunk),
        ("access-codes", "5001", &code),
        ("skill-queues", "sales", &queue),
        ("agents", "2001", &agent),
    ] {
        let read = api.get(&format!("{BASE}/{collection}/{key}")).expect(200);
        assert_eq!(&read, object, "{collection} by key {key}");
    }
    let route_key = format!("{}%2F", id_of(&code));
    let read = api
        .get(&format!("{BASE}/called-routes/{route_key}"))
        .expect(200);
    assert_eq!(
        read, route,
        "called route by its key <access code id>/<extension>"
    );
    api.get(&format!("{BASE}/skill-queues/no-such-queue"))
        .problem(404);

    paging(&api);
    versions(&api, &queue);
    deletes(&api, &trunk, &code, &route, &agent);
    running.finish();
}

/// Lists skill queues two at a time until `next_cursor` is absent: every queue exactly once.
fn paging(api: &Client) {
    for name in ["paging-1", "paging-2", "paging-3"] {
        api.post(&format!("{BASE}/skill-queues"), &json!({"name": name}))
            .expect(201);
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = format!("{BASE}/skill-queues?limit=2");
    loop {
        let page = api.get(&path).expect(200);
        pages += 1;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2, "limit=2 gave {} items", items.len());
        seen.extend(
            items
                .iter()
                .map(|q| q["name"].as_str().expect("name").to_owned()),
        );
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(cursor) => path = format!("{BASE}/skill-queues?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    let expected: BTreeSet<String> = ["support", "sales", "paging-1", "paging-2", "paging-3"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(seen.len(), expected.len(), "no queue twice: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(pages >= 3, "five queues two at a time take three pages");
    api.get(&format!("{BASE}/skill-queues?limit=0"))
        .problem(400);
}

/// PUT with the current version, with a stale one, and PATCH.
fn versions(api: &Client, queue: &Value) {
    let path = format!("{BASE}/skill-queues/{}", id_of(queue));
    let mut body = queue.clone();
    body["description"] = json!("Sales line");
    let replaced = api.put(&path, &body).expect(200);
    assert_eq!(version_of(&replaced), 2);
    assert_eq!(replaced["description"], "Sales line");
    assert_eq!(replaced["id"], queue["id"]);

    // `body` still carries version 1.
    body["description"] = json!("lost update");
    let conflict = api.put(&path, &body).problem(409);
    let kind = conflict["type"].as_str().unwrap_or_default();
    assert!(kind.ends_with("/version-conflict"), "problem type {kind}");
    let current = api.get(&path).expect(200);
    assert_eq!(
        current["description"], "Sales line",
        "a refused PUT changes nothing"
    );

    let patched = api
        .patch(&path, &json!({"ring_timeout_s": 30, "description": null}))
        .expect(200);
    assert_eq!(version_of(&patched), 3);
    assert_eq!(patched["ring_timeout_s"], 30);
    assert_eq!(
        patched["description"], "",
        "null removes the member (default)"
    );
    assert_eq!(patched["name"], "sales", "members not in the patch stay");
    let stale_patch = api
        .patch(&path, &json!({"version": 2, "wrap_up_time_s": 9}))
        .problem(409);
    assert!(
        stale_patch["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/version-conflict")
    );
    let invalid_patch = api.patch(&path, &json!({"ring_timeout_s": 1})).problem(400);
    assert_eq!(invalid_patch["errors"][0]["field"], "ring_timeout_s");
}

/// The trunk cannot go while an access code uses it; in dependency order everything goes.
fn deletes(api: &Client, trunk: &Value, code: &Value, route: &Value, agent: &Value) {
    let trunk_path = format!("{BASE}/trunks/{}", id_of(trunk));
    let refused = api.delete(&trunk_path).problem(409);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("used by"),
        "409 says what uses it: {refused}"
    );
    api.get(&trunk_path).expect(200);

    let queue_path = format!("{BASE}/skill-queues/sales");
    let queue_version = version_of(&api.get(&queue_path).expect(200));
    for (collection, object) in [("agents", agent), ("called-routes", route)] {
        let answer = api.delete(&format!("{BASE}/{collection}/{}", id_of(object)));
        assert_eq!(answer.status, 204, "delete {collection}: {}", answer.text());
        assert!(answer.body.is_empty());
    }
    api.delete(&format!("{queue_path}?version={}", queue_version - 1))
        .problem(409);
    assert_eq!(
        api.delete(&format!("{queue_path}?version={queue_version}"))
            .status,
        204
    );
    assert_eq!(
        api.delete(&format!("{BASE}/access-codes/{}", id_of(code)))
            .status,
        204
    );
    assert_eq!(api.delete(&trunk_path).status, 204);
    api.get(&trunk_path).problem(404);
    api.delete(&trunk_path).problem(404);
}

#[test]
fn crud_walk_sqlite() {
    crud_walk(Backend::Sqlite);
}

#[test]
fn crud_walk_postgres() {
    crud_walk(Backend::Postgres);
}
