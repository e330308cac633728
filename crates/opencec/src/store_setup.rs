//! Opening the configuration store for `serve` and `migrate`, and the platform's first
//! administrator key.

use std::path::Path;

use anyhow::Context;
use cec_store::{Actor, KeyRole, Store, StoreOptions};
use serde::Serialize;

use crate::config::Config;

/// The default `database.url`; with it, the database lives in the data dir.
const DEFAULT_URL: &str = "sqlite://data/opencec.db";

/// The database URL: the configured one, or `<data dir>/opencec.db` for the default.
pub fn database_url(config: &Config, data_dir: &Path) -> String {
    if config.database.url == DEFAULT_URL {
        format!("sqlite://{}", data_dir.join("opencec.db").display())
    } else {
        config.database.url.clone()
    }
}

/// Opens the store and applies migrations.
pub async fn open(config: &Config, data_dir: &Path) -> anyhow::Result<Store> {
    let url = database_url(config, data_dir);
    let options = StoreOptions {
        url: url.clone(),
        sip_realm: config.sip.realm.clone(),
        data_dir: data_dir.to_path_buf(),
        max_connections: 16,
    };
    let store = Store::open(&options).await.with_context(|| {
        format!(
            "cannot open the database {}",
            crate::config::redact_url(&url)
        )
    })?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

#[derive(Serialize)]
struct AdminCredentials {
    access_key: String,
    secret: String,
    note: &'static str,
}

/// Creates a platform (system) API key on first start, when none exists, and writes it to
/// `<data dir>/admin-credentials.json` (owner-only): the operator's way in to create tenants.
pub async fn bootstrap_admin_key(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    if !store.list_api_keys(None).await?.is_empty() {
        return Ok(());
    }
    let key = store
        .create_api_key(
            &Actor::system("bootstrap"),
            None,
            KeyRole::System,
            "first platform key",
        )
        .await?;
    let path = data_dir.join("admin-credentials.json");
    let text = serde_json::to_string_pretty(&AdminCredentials {
        access_key: key.key.access_key.clone(),
        secret: key.secret,
        note: "platform (system) API key created on first start; create your own and revoke this one",
    })?;
    crate::demo::write_private(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(access_key = %key.key.access_key, file = %path.display(), "created the first platform API key");
    Ok(())
}
