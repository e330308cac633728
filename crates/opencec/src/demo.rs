//! `--demo`: the demo tenant's SIP side (issue 5 adds its database rows and API key). Agents'
//! SIP passwords are generated once and kept in `<data dir>/demo-credentials.json`, so a
//! softphone configured yesterday still registers today.

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
        if let Ok(existing) = serde_json::from_str::<DemoCredentials>(&text) {
            return Ok(existing);
        }
        tracing::warn!(path = %path.display(), "unreadable demo credentials; writing new ones");
    }
    let mut password = || format!("{:016x}", random());
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
    let text = serde_json::to_string_pretty(&credentials)?;
    write_private(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(credentials)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
