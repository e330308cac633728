//! The REST API over real HTTP against the real `opencec serve` binary, on SQLite and (where
//! the storage matters) on PostgreSQL: CRUD, restart, tenant isolation, authentication, bad
//! input, the audit log, configuration export/import, prompt audio and the operational
//! endpoints. These pin the contract a script or the web UI relies on, end to end: status
//! codes, `Location`, versions, problem documents naming the field, and that nothing a
//! client sends takes the server down.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod bad_input;
mod config_audit;
mod crud;
mod http;
mod isolation;
mod operations;
mod prompts;
mod restart;

use std::path::PathBuf;

use serde_json::{Value, json};

use common::Server;
use http::Client;

/// SIP on one loopback UDP port only: these tests never send SIP.
const CONFIG: &str = "[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n";

/// Which database the server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server plus what is needed to restart it on the same data.
pub struct Running {
    pub server: Server,
    /// Anonymous client.
    pub client: Client,
    dir: PathBuf,
    args: Vec<&'static str>,
    env: Vec<(String, String)>,
}

impl Running {
    /// Starts `opencec serve` (with `--demo` when asked) on a fresh data dir and, for
    /// PostgreSQL, a fresh database of the shared throwaway cluster.
    pub fn start(tag: &str, backend: Backend, demo: bool) -> Running {
        let mut env = Vec::new();
        if backend == Backend::Postgres {
            let url = cec_pgtest::shared()
                .and_then(|cluster| cluster.fresh_database())
                .unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}"));
            env.push(("OPENCEC_DATABASE__URL".to_owned(), url));
        }
        let args = if demo { vec!["--demo"] } else { Vec::new() };
        Running::launch(common::temp_dir(tag), args, env)
    }

    fn launch(dir: PathBuf, args: Vec<&'static str>, env: Vec<(String, String)>) -> Running {
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let server = Server::start_in(dir.clone(), CONFIG, &args, &env_refs);
        let addr = server
            .http
            .unwrap_or_else(|| panic!("no `HTTP listening` line:\n{}", server.log_text()));
        Running {
            server,
            client: Client::new(addr),
            dir,
            args,
            env,
        }
    }

    /// Stops the server with SIGTERM (it must exit 0) and starts it again on the same data
    /// dir and database.
    pub fn restart(self) -> Running {
        let Running {
            server,
            dir,
            args,
            env,
            ..
        } = self;
        assert!(server.stop(), "opencec did not exit 0 on SIGTERM");
        Running::launch(dir, args, env)
    }

    /// Stops the server with SIGTERM, checks that it exited 0, and removes its directory.
    pub fn finish(self) {
        assert!(self.server.stop(), "opencec did not exit 0 on SIGTERM");
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn data_file(&self, name: &str) -> Value {
        let path = self.dir.join("data").join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("credentials file is JSON")
    }

    /// `admin-credentials.json`: the platform (system) key.
    pub fn platform_key(&self) -> (String, String) {
        key_pair(&self.data_file("admin-credentials.json"))
    }

    /// `demo-credentials.json` (only with `--demo`).
    pub fn demo_credentials(&self) -> Value {
        self.data_file("demo-credentials.json")
    }

    /// A client with a token of the platform key.
    pub fn platform(&self) -> Client {
        let (access_key, secret) = self.platform_key();
        self.login(&access_key, &secret)
    }

    /// A client with a token of the demo tenant's admin key.
    pub fn demo_admin(&self) -> Client {
        let (access_key, secret) = key_pair(&self.demo_credentials());
        self.login(&access_key, &secret)
    }

    /// A client with a token of `access_key`.
    pub fn login(&self, access_key: &str, secret: &str) -> Client {
        let token = self.token(access_key, secret);
        self.client.with_token(&token)
    }

    /// A token for `access_key` (must be granted).
    pub fn token(&self, access_key: &str, secret: &str) -> String {
        let answer = self.client.post(
            "/api/v1/auth/token",
            &json!({"access_key": access_key, "secret": secret}),
        );
        let body = answer.expect(200);
        assert_eq!(body["token_type"], "Bearer");
        body["token"].as_str().expect("token").to_owned()
    }

    /// With the platform key: creates tenant `name` and an admin key for it; returns the
    /// key's (access key, secret).
    pub fn tenant_with_admin_key(&self, name: &str) -> (String, String) {
        let platform = self.platform();
        let created = platform
            .post("/api/v1/tenants", &json!({"name": name}))
            .expect(201);
        assert_eq!(created["name"], name);
        let key = platform
            .post(
                &format!("/api/v1/tenants/{name}/api-keys"),
                &json!({"role": "admin", "description": "tests"}),
            )
            .expect(201);
        assert_eq!(key["role"], "admin");
        key_pair(&key)
    }
}

fn key_pair(doc: &Value) -> (String, String) {
    let access_key = doc["access_key"].as_str().expect("access_key").to_owned();
    let secret = doc["secret"].as_str().expect("secret").to_owned();
    (access_key, secret)
}

/// The `id` of a JSON object.
pub fn id_of(doc: &Value) -> String {
    doc["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {doc}"))
        .to_owned()
}

/// The `version` of a JSON object.
pub fn version_of(doc: &Value) -> i64 {
    doc["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("no version in {doc}"))
}
