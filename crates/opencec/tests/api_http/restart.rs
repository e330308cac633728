//! What the API handed out survives a restart on the same data dir and database: objects,
//! API keys created over the API, the platform and demo keys from the credentials files,
//! and bearer tokens issued before the restart (the signing key lives in the database, not
//! in the process).

use serde_json::json;

use crate::{Backend, Running, id_of};

fn survives_restart(backend: Backend) {
    let running = Running::start(&format!("api-restart-{backend:?}"), backend, true);
    let demo = running.demo_admin();
    let trunk = demo
        .post(
            "/api/v1/tenants/demo/trunks",
            &json!({"name": "before-restart", "addresses": [{"host": "gw.example.net"}]}),
        )
        .expect(201);
    let key = demo
        .post(
            "/api/v1/tenants/demo/api-keys",
            &json!({"role": "supervisor", "description": "kept"}),
        )
        .expect(201);
    let key_access = key["access_key"].as_str().expect("access_key").to_owned();
    let key_secret = key["secret"].as_str().expect("secret").to_owned();
    let supervisor = running.login(&key_access, &key_secret);
    let old_demo_token = demo.token.expect("token");
    let old_supervisor_token = supervisor.token.expect("token");
    let platform_key = running.platform_key();
    let demo_file = running.demo_credentials();

    let running = running.restart();

    assert_eq!(
        running.platform_key(),
        platform_key,
        "the platform key is created once"
    );
    assert_eq!(
        running.demo_credentials()["access_key"],
        demo_file["access_key"],
        "the demo key is kept while it works"
    );
    let trunk_path = format!("/api/v1/tenants/demo/trunks/{}", id_of(&trunk));
    // Tokens from before the restart.
    let demo = running.client.with_token(&old_demo_token);
    assert_eq!(demo.get(&trunk_path).expect(200), trunk);
    let supervisor = running.client.with_token(&old_supervisor_token);
    assert_eq!(
        supervisor
            .get("/api/v1/tenants/demo/trunks/before-restart")
            .expect(200),
        trunk
    );
    // Keys from before the restart still log in.
    let supervisor = running.login(&key_access, &key_secret);
    supervisor.get(&trunk_path).expect(200);
    let keys = running
        .platform()
        .get("/api/v1/tenants/demo/api-keys")
        .expect(200);
    assert!(
        keys.as_array()
            .expect("array")
            .iter()
            .any(|k| k["access_key"] == key_access.as_str() && k.get("secret").is_none()),
        "the key is listed, without its secret: {keys}"
    );
    // The demo seed on the second start left the objects the API created alone.
    running.demo_admin().get(&trunk_path).expect(200);
    running.finish();
}

#[test]
fn survives_restart_sqlite() {
    survives_restart(Backend::Sqlite);
}

#[test]
fn survives_restart_postgres() {
    survives_restart(Backend::Postgres);
}
