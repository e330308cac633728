//! `--demo`: the demo tenant (`docs/interfaces.md`): its database rows (tenant `demo`, trunk
//! `demo-trunk`, access code 4001 routed to skill queue `support`, agents 1001 and 1002) and
//! its API key, seeded idempotently. Passwords and the key are generated once and kept in
//! `<data dir>/demo-credentials.json`, so a softphone configured yesterday still registers
//! today and scripts find the key.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::TrunkConfig;

/// The credentials file (format fixed by docs/interfaces.md). `access_key` and `secret` are
/// null until the API exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCredentials {
    pub tenant: String,
    pub access_key: Option<String>,
    pub secret: Option<String>,
    pub agents: Vec<DemoAgent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoAgent {
    pub work_no: String,
    pub sip_user: String,
    pub sip_password: String,
    pub password: String,
}

const FILE: &str = "demo-credentials.json";

/// Loads the demo credentials from `data_dir`, creating them on first use.
pub fn load_or_create(
    data_dir: &Path,
    mut random: impl FnMut() -> u64,
) -> anyhow::Result<DemoCredentials> {
    let path = data_dir.join(FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        match serde_json::from_str::<DemoCredentials>(&text) {
            // Files from before the password rules (hex only) are replaced.
            Ok(existing)
                if existing.agents.iter().all(|a| {
                    cec_store::password_problem(&a.password).is_none()
                        && cec_store::password_problem(&a.sip_password).is_none()
                }) =>
            {
                return Ok(existing);
            }
            _ => {}
        }
        tracing::warn!(path = %path.display(), "unreadable demo credentials; writing new ones");
    }
    // Upper, lower, digits and a dash: meets the agent password rules.
    let mut password = || format!("Demo-{:012x}", random() & 0xffff_ffff_ffff);
    let agents = ["1001", "1002"]
        .into_iter()
        .map(|n| DemoAgent {
            work_no: n.to_string(),
            sip_user: n.to_string(),
            sip_password: password(),
            password: password(),
        })
        .collect();
    let credentials = DemoCredentials {
        tenant: "demo".into(),
        access_key: None,
        secret: None,
        agents,
    };
    save(data_dir, &credentials)?;
    Ok(credentials)
}

/// Writes the credentials file (owner-only).
pub fn save(data_dir: &Path, credentials: &DemoCredentials) -> anyhow::Result<()> {
    let path = data_dir.join(FILE);
    let text = serde_json::to_string_pretty(credentials)?;
    write_private(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Seeds the demo tenant's rows and API key; objects that exist are left alone, agents get
/// the passwords of the credentials file. Returns the credentials with the API key filled.
pub async fn seed(
    store: &cec_store::Store,
    data_dir: &Path,
    mut credentials: DemoCredentials,
) -> anyhow::Result<DemoCredentials> {
    use cec_store::model::{
        AccessCodeSpec, AgentSpec, CalledRouteSpec, SkillQueueSpec, TenantSpec, TrunkSpec,
    };
    use cec_store::{Actor, KeyRole, StoreError};
    use serde_json::json;

    let actor = Actor::system("demo");
    let tenant = match store.get_tenant("demo").await {
        Ok(t) => t,
        Err(StoreError::NotFound { .. }) => {
            let spec: TenantSpec =
                serde_json::from_value(json!({"name": "demo", "display_name": "Demo tenant"}))?;
            store.create_tenant(&actor, spec).await?
        }
        Err(e) => return Err(e.into()),
    };
    let t = tenant.id.as_str();
    async fn ensure<R: cec_store::Resource>(
        store: &cec_store::Store,
        actor: &Actor,
        tenant: &str,
        key: &str,
        spec: serde_json::Value,
    ) -> anyhow::Result<()> {
        match store.get::<R>(tenant, key).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => {
                store
                    .create::<R>(actor, tenant, serde_json::from_value(spec)?)
                    .await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
    ensure::<TrunkSpec>(
        store,
        &actor,
        t,
        "demo-trunk",
        json!({
            "name": "demo-trunk", "addresses": [{"host": "127.0.0.1", "port": 5060}],
            "allowed_sources": ["127.0.0.1"], "probe_interval_s": 0
        }),
    )
    .await?;
    ensure::<AccessCodeSpec>(
        store,
        &actor,
        t,
        "4001",
        json!({"number": "4001", "trunk": "demo-trunk", "description": "Demo support line"}),
    )
    .await?;
    ensure::<SkillQueueSpec>(
        store,
        &actor,
        t,
        "support",
        json!({"name": "support", "description": "Demo support queue"}),
    )
    .await?;
    let code: cec_store::Stored<AccessCodeSpec> = store.get(t, "4001").await?;
    ensure::<CalledRouteSpec>(
        store,
        &actor,
        t,
        &format!("{}/", code.id),
        json!({
            "access_code": "4001", "target": {"type": "skill_queue", "id": "support"}
        }),
    )
    .await?;
    for agent in &credentials.agents {
        let spec = json!({
            "work_no": agent.work_no, "name": format!("Demo agent {}", agent.work_no), "sip_user": agent.sip_user,
            "skills": [{"queue": "support"}], "sip_password": agent.sip_password, "password": agent.password
        });
        match store.get::<AgentSpec>(t, &agent.work_no).await {
            Ok(existing) => {
                // Keep the stored passwords in step with the file (it may have been rewritten).
                let spec: AgentSpec = serde_json::from_value(spec)?;
                store.update(&actor, t, &existing.id, None, spec).await?;
            }
            Err(StoreError::NotFound { .. }) => {
                store
                    .create::<AgentSpec>(&actor, t, serde_json::from_value(spec)?)
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let key_works = match (&credentials.access_key, &credentials.secret) {
        (Some(key), Some(secret)) => store.verify_api_key(key, secret).await.is_ok(),
        _ => false,
    };
    if !key_works {
        let key = store
            .create_api_key(&actor, Some(t), KeyRole::Admin, "demo tenant key")
            .await?;
        credentials.access_key = Some(key.key.access_key);
        credentials.secret = Some(key.secret);
        save(data_dir, &credentials)?;
    }
    Ok(credentials)
}

pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// The demo trunk: calls from 127.0.0.1 are the demo carrier's (no probing: it is a
/// softphone or SIPp on this machine, not a gateway that answers OPTIONS).
pub fn demo_trunk() -> TrunkConfig {
    TrunkConfig {
        name: "demo-trunk".into(),
        address: "127.0.0.1:5060".into(),
        transport: "udp".into(),
        allow_from: vec!["127.0.0.1".into()],
        probe_interval_s: 0,
        failure_threshold: 3,
        accept_any_response: false,
        register: false,
        username: None,
        password: None,
        register_expires: 3600,
    }
}
