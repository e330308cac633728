//! Pins the behaviour the storage tests rely on, against the real PostgreSQL installed on
//! the machine: fresh databases are isolated and reachable by the URL we return, the shared
//! cluster is one per process, and no server or directory outlives its owner, whether it is
//! dropped, abandoned by `std::process::exit`, or its process is SIGKILLed.
//!
//! Without PostgreSQL these tests fail with `PgTestError::NotInstalled`'s message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cec_pgtest::{PgCluster, PgTestError};

/// Set in a child copy of this test binary to the role it plays (`exit` or `hang`).
const CHILD_ROLE: &str = "CEC_PGTEST_CHILD_ROLE";

/// Unwraps with the error's message (not its `Debug`), so a missing installation shows the
/// install hint.
fn ok<T>(result: Result<T, PgTestError>) -> T {
    result.unwrap_or_else(|err| panic!("{err}"))
}

/// Runs the real `psql` client against `url`, returning trimmed `-At` output.
fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "psql {url} {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to `limit` for `pid` and `dir` to disappear.
fn gone_within(pid: u32, dir: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !process_exists(pid) && !dir.exists() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fresh_databases_are_isolated_and_reachable_by_url() {
    let cluster = ok(cec_pgtest::shared());
    let first = ok(cluster.fresh_database());
    let second = ok(cluster.fresh_database());
    assert_ne!(first, second);

    let prefix = format!("postgres://postgres@127.0.0.1:{}/", cluster.port());
    for url in [&first, &second] {
        let name = url
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{url} lacks {prefix}"));
        let (counter, pid) = name.strip_prefix("t_").unwrap().split_once('_').unwrap();
        counter.parse::<u64>().unwrap();
        assert_eq!(pid, std::process::id().to_string());
        assert_eq!(psql(url, "SELECT current_database()"), name);
    }

    psql(
        &first,
        "CREATE TABLE widgets (id integer PRIMARY KEY); INSERT INTO widgets VALUES (7)",
    );
    assert_eq!(psql(&first, "SELECT id FROM widgets"), "7");
    assert_eq!(
        psql(&second, "SELECT to_regclass('public.widgets') IS NULL"),
        "t"
    );
    assert_eq!(psql(&first, "SHOW fsync"), "off");
    assert_eq!(psql(&first, "SHOW max_connections"), "200");
    assert_eq!(
        psql(
            &first,
            "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"
        ),
        "UTF8"
    );
    assert_eq!(
        psql(&cluster.admin_url(), "SELECT current_database()"),
        "postgres"
    );
}

#[test]
fn psql_helper_reports_sql_errors() {
    let cluster = ok(cec_pgtest::shared());
    assert_eq!(ok(cluster.psql("postgres", "SELECT 40 + 2")), "42\n");
    let err = cluster
        .psql("postgres", "SELECT * FROM no_such_table")
        .unwrap_err();
    match err {
        PgTestError::Command { stderr, .. } => {
            assert!(stderr.contains("no_such_table"), "{stderr}");
        }
        other => panic!("expected a Command error, got {other}"),
    }
}

#[test]
fn shared_is_one_cluster_per_process() {
    let first = ok(cec_pgtest::shared());
    let again = std::thread::spawn(|| ok(cec_pgtest::shared()).port())
        .join()
        .unwrap();
    assert_eq!(first.port(), again);
    let third: &PgCluster = ok(cec_pgtest::shared());
    assert!(std::ptr::eq(first, third));
}

#[test]
fn dropping_an_owned_cluster_stops_the_server_and_removes_its_directory() {
    let cluster = ok(PgCluster::start());
    let pid = cluster.server_pid();
    let dir = cluster.dir().to_path_buf();
    let file_name = dir.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        file_name.starts_with(&format!("cec-pgtest-{}-", std::process::id())),
        "{file_name}"
    );
    assert!(dir.starts_with(std::env::temp_dir()));
    assert!(process_exists(pid));
    assert!(dir.join("data/PG_VERSION").exists());
    // The pid we report really is the postmaster.
    let postmaster_pid = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap();
    assert_eq!(
        postmaster_pid.lines().next(),
        Some(pid.to_string().as_str())
    );
    // Independent of the shared cluster.
    let shared = ok(cec_pgtest::shared());
    assert_ne!(cluster.port(), shared.port());
    assert_ne!(cluster.dir(), shared.dir());
    let url = ok(cluster.fresh_database());
    psql(&url, "CREATE TABLE only_here (x int)");
    let name = url.rsplit('/').next().unwrap();
    let sql = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
    assert_eq!(ok(shared.psql("postgres", &sql)), "0\n");
    assert_eq!(ok(cluster.psql("postgres", &sql)), "1\n");

    let dropped_at = Instant::now();
    drop(cluster);
    // Drop is synchronous: everything is gone when it returns.
    assert!(!process_exists(pid), "server {pid} outlived drop");
    assert!(!dir.exists(), "{} outlived drop", dir.display());
    assert!(dropped_at.elapsed() < Duration::from_secs(5));
}

/// In a child copy of this binary: start a cluster, report it, then either exit without
/// dropping anything or wait to be SIGKILLed.
fn child_role(role: &str) {
    let (pid, dir) = if role == "exit" {
        let cluster = ok(cec_pgtest::shared());
        (cluster.server_pid(), cluster.dir().to_path_buf())
    } else {
        // Leaked on purpose: only the watchdog may clean up after a SIGKILL.
        let cluster = Box::leak(Box::new(ok(PgCluster::start())));
        (cluster.server_pid(), cluster.dir().to_path_buf())
    };
    println!("\nCLUSTER pid={pid} dir={}", dir.display());
    if role == "exit" {
        std::process::exit(0);
    }
    std::thread::sleep(Duration::from_secs(20));
    std::process::exit(1);
}

/// Spawns this test binary running only `test_name` in `role`, reads the cluster it
/// reports, ends it with `end`, and returns the server pid and directory.
fn run_child(
    test_name: &str,
    role: &str,
    end: impl FnOnce(&mut std::process::Child),
) -> (u32, PathBuf) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ROLE, role)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut reported = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        // The harness prints "test <name> ... " before our line, without a newline.
        if let Some((_, rest)) = line.split_once("CLUSTER pid=") {
            let (pid, dir) = rest.split_once(" dir=").unwrap();
            reported = Some((pid.parse().unwrap(), PathBuf::from(dir)));
            break;
        }
        seen.push(line);
    }
    let (pid, dir) = reported.unwrap_or_else(|| panic!("child reported no cluster: {seen:?}"));
    assert!(
        process_exists(pid),
        "server {pid} not running while its owner lives"
    );
    end(&mut child);
    child.wait().unwrap();
    (pid, dir)
}

#[test]
fn abandoned_shared_cluster_dies_with_its_process() {
    if let Ok(role) = std::env::var(CHILD_ROLE) {
        return child_role(&role);
    }
    let (pid, dir) = run_child(
        "abandoned_shared_cluster_dies_with_its_process",
        "exit",
        |_| {},
    );
    assert!(
        gone_within(pid, &dir, Duration::from_secs(3)),
        "server {pid} or {} survived exit",
        dir.display()
    );
}

#[test]
fn owned_cluster_dies_when_its_process_is_sigkilled() {
    if let Ok(role) = std::env::var(CHILD_ROLE) {
        return child_role(&role);
    }
    let (pid, dir) = run_child(
        "owned_cluster_dies_when_its_process_is_sigkilled",
        "hang",
        |child| {
            child.kill().unwrap();
        },
    );
    assert!(
        gone_within(pid, &dir, Duration::from_secs(3)),
        "server {pid} or {} survived SIGKILL",
        dir.display()
    );
}
