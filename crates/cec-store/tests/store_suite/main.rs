//! The store's behaviour, run unchanged against SQLite (a file in a temp dir) and PostgreSQL
//! (a throwaway cluster from `cec-pgtest`): CRUD, paging, references, uniqueness, versions,
//! secrets, audit, API keys, export/import and durability across a reopen; and the records
//! of the call path: call-record upserts, filters and paging, the event log and its cursor.

mod call_cases;
mod cases;

use cec_store::{Store, StoreOptions};

/// A database to run one case against, plus how to open it again.
pub struct Fixture {
    pub options: StoreOptions,
    _dir: tempdir::TempDir,
}

mod tempdir {
    /// A temp directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("cec-store-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Fixture {
    pub fn sqlite() -> Fixture {
        let dir = tempdir::TempDir::new("sqlite");
        let url = format!("sqlite://{}/opencec.db", dir.0.display());
        Fixture {
            options: options(url, &dir.0),
            _dir: dir,
        }
    }

    pub fn postgres() -> Fixture {
        let dir = tempdir::TempDir::new("pg");
        let cluster = cec_pgtest::shared().expect("PostgreSQL for the store suite");
        let url = cluster.fresh_database().expect("fresh PostgreSQL database");
        Fixture {
            options: options(url, &dir.0),
            _dir: dir,
        }
    }

    pub async fn open(&self) -> Store {
        let store = Store::open(&self.options).await.expect("open store");
        store.migrate().await.expect("migrate");
        store
    }
}

fn options(url: String, dir: &std::path::Path) -> StoreOptions {
    StoreOptions {
        url,
        sip_realm: "opencec".into(),
        data_dir: dir.to_path_buf(),
        max_connections: 4,
    }
}

macro_rules! suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::Fixture::$backend();
                    super::cases::$case(&fixture).await;
                }
            )*
        }
    };
}

macro_rules! both {
    ($($case:ident),* $(,)?) => {
        suite!(sqlite: $($case),*);
        suite!(postgres: $($case),*);
    };
}

both!(
    crud_round_trip,
    paging,
    references_are_checked_and_protected,
    tenant_isolation,
    uniqueness,
    optimistic_versioning,
    concurrent_updates_one_wins,
    secrets_never_in_bodies,
    validation_names_fields,
    audit_log_records_changes,
    api_keys,
    survives_reopen,
    config_export_import_round_trip,
    config_apply_is_idempotent_and_prunes,
    config_apply_rejects_bad_references,
    flows_publish,
    prompt_audio_files,
    tenant_delete_cascades,
    call_batch_round_trip,
    call_record_ended_is_final,
    call_record_filters_and_paging,
    event_log_cursor_reads,
    call_records_tenant_isolation,
    call_batch_at_full_size,
    config_fingerprint_moves_with_changes,
);
