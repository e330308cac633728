//! Tenants cannot see or reference each other's objects: another tenant's admin gets 404
//! (never 403, which would confirm the object exists) for `demo`'s objects by id and by key
//! and for the tenant itself; a reference to another tenant's object by id is a 400 naming
//! the field; and an agent's token reads reason codes but cannot change configuration.

use serde_json::json;

use crate::{Backend, Running, id_of};

fn isolation(backend: Backend) {
    let running = Running::start(&format!("api-isolation-{backend:?}"), backend, true);
    let demo = running.demo_admin();
    let (access_key, secret) = running.tenant_with_admin_key("other");
    let other = running.login(&access_key, &secret);

    let demo_trunk = demo
        .get("/api/v1/tenants/demo/trunks/demo-trunk")
        .expect(200);
    let demo_queue = demo
        .get("/api/v1/tenants/demo/skill-queues/support")
        .expect(200);
    let trunk_id = id_of(&demo_trunk);
    let queue_id = id_of(&demo_queue);

    // Demo's objects, through demo's path, by id and by key.
    for path in [
        "/api/v1/tenants/demo".to_owned(),
        "/api/v1/tenants/demo/trunks".to_owned(),
        "/api/v1/tenants/demo/trunks/demo-trunk".to_owned(),
        format!("/api/v1/tenants/demo/trunks/{trunk_id}"),
        format!("/api/v1/tenants/demo/skill-queues/{queue_id}"),
        "/api/v1/tenants/demo/config".to_owned(),
    ] {
        other.get(&path).problem(404);
    }
    other
        .delete(&format!("/api/v1/tenants/demo/trunks/{trunk_id}"))
        .problem(404);
    // Demo's ids through other's own path.
    other
        .get(&format!("/api/v1/tenants/other/trunks/{trunk_id}"))
        .problem(404);
    other
        .get("/api/v1/tenants/other/skill-queues/support")
        .problem(404);
    // A tenant admin is not a platform operator.
    other.get("/api/v1/tenants").problem(403);

    // References to demo's objects from other's objects.
    let refused = other
        .post(
            "/api/v1/tenants/other/access-codes",
            &json!({"number": "6001", "trunk": trunk_id}),
        )
        .problem(400);
    assert_eq!(refused["errors"][0]["field"], "trunk", "{refused}");
    let answer = other.post(
        "/api/v1/tenants/other/agents",
        &json!({"work_no": "7001", "name": "Mallory", "skills": [{"queue": queue_id}]}),
    );
    answer.problem(400);
    assert_eq!(answer.problem_fields(), ["skills[0].queue"]);
    // Nothing was created in either tenant.
    let listing = other.get("/api/v1/tenants/other/agents").expect(200);
    assert_eq!(listing["items"], json!([]));
    demo.get("/api/v1/tenants/demo/agents/7001").problem(404);

    agent_token(&running);
    running.finish();
}

/// Demo agent 1001's session token: reason codes yes, configuration no.
fn agent_token(running: &Running) {
    let credentials = running.demo_credentials();
    let agent = &credentials["agents"][0];
    assert_eq!(agent["work_no"], "1001");
    let answer = running
        .client
        .post(
            "/api/v1/auth/agent-token",
            &json!({"tenant": "demo", "work_no": "1001", "password": agent["password"]}),
        )
        .expect(200);
    assert_eq!(answer["role"], "agent");
    let token = answer["token"].as_str().expect("token");
    let agent = running.client.with_token(token);

    let reasons = agent.get("/api/v1/tenants/demo/reason-codes").expect(200);
    assert!(reasons["items"].is_array());
    agent
        .post(
            "/api/v1/tenants/demo/reason-codes",
            &json!({"kind": "rest", "code": 7, "name": "Lunch"}),
        )
        .problem(403);
    agent
        .post(
            "/api/v1/tenants/demo/trunks",
            &json!({"name": "sneaky", "addresses": [{"host": "192.0.2.66"}]}),
        )
        .problem(403);
    agent
        .patch(
            "/api/v1/tenants/demo/skill-queues/support",
            &json!({"description": "changed by an agent"}),
        )
        .problem(403);
    agent
        .delete("/api/v1/tenants/demo/agents/1002")
        .problem(403);
    agent.get("/api/v1/tenants/demo/config").problem(403);
    // Reading the rest of the configuration is for supervisors.
    agent.get("/api/v1/tenants/demo/trunks").problem(403);
    let queue = running
        .demo_admin()
        .get("/api/v1/tenants/demo/skill-queues/support")
        .expect(200);
    assert_ne!(queue["description"], "changed by an agent");
}

#[test]
fn isolation_sqlite() {
    isolation(Backend::Sqlite);
}

#[test]
fn isolation_postgres() {
    isolation(Backend::Postgres);
}
