//! One throwaway cluster: `initdb` into a fresh temporary directory, `postgres` on a free
//! loopback port under the watchdog, and teardown.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::PgTestError;
use crate::identity::RunAs;
use crate::install::Binaries;
use crate::launch::{DirGuard, Launch, POLL_INTERVAL, SERVER_LOG, create_cluster_dir};
use crate::watchdog::{self, LEASE_FILE, PID_FILE};

/// The superuser that `initdb` creates; every URL connects as it (authentication is
/// `trust`).
pub const SUPERUSER: &str = "postgres";

/// How often a whole start is retried when another process took our port in between.
const START_ATTEMPTS: usize = 5;
/// How long the server gets to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

/// A running throwaway PostgreSQL cluster, listening on `127.0.0.1` only, with `trust`
/// authentication, `fsync` off and room for 200 connections.
///
/// Dropping it stops the server at once (SIGQUIT) and removes its directory. If the test
/// process dies without dropping it, the watchdog does the same within about 200 ms.
#[derive(Debug)]
pub struct PgCluster {
    binaries: Binaries,
    port: u16,
    server_pid: u32,
    // Last, so that it is torn down after the rest (it owns the directory).
    launch: Launch,
}

impl PgCluster {
    /// Starts a new cluster owned by the caller.
    ///
    /// # Errors
    ///
    /// [`PgTestError::NotInstalled`] when no server binaries are found; `Command`, `Io` or
    /// `Timeout` when `initdb` or the server fails (the server log tail is included).
    pub fn start() -> Result<PgCluster, PgTestError> {
        let binaries = Binaries::locate()?;
        let run_as = RunAs::detect();
        let mut attempt = 1;
        loop {
            match start_once(&binaries, run_as, free_port()?) {
                Err(Failure::PortTaken(_)) if attempt < START_ATTEMPTS => attempt += 1,
                Err(Failure::PortTaken(err) | Failure::Other(err)) => return Err(err),
                Ok(cluster) => return Ok(cluster),
            }
        }
    }

    /// Creates an empty database with a name unique to this process (`t_<n>_<pid>`) and
    /// returns its URL, `postgres://postgres@127.0.0.1:<port>/t_<n>_<pid>`.
    ///
    /// # Errors
    ///
    /// `Command` when `CREATE DATABASE` fails, `Io` when `psql` cannot be run.
    pub fn fresh_database(&self) -> Result<String, PgTestError> {
        let n = NEXT_DATABASE.fetch_add(1, Ordering::Relaxed);
        let name = format!("t_{n}_{}", std::process::id());
        // template0: nobody is ever connected to it, so concurrent creations never collide
        // on "source database is being accessed by other users".
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE template0"),
        )?;
        Ok(self.url(&name))
    }

    /// Runs `sql` with `psql` in `database` (a name, not a URL) as the superuser and returns
    /// its output, unaligned and without headers (`psql -At`), e.g. `"1\n"` for `SELECT 1`.
    ///
    /// # Errors
    ///
    /// `Command` when `psql` fails (the SQL error is in `stderr`), `Io` when it cannot run.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgTestError> {
        let output = Command::new(self.binaries.client_tool("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
            ])
            .arg(self.port.to_string())
            .args(["-U", SUPERUSER, "-d", database, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .map_err(|e| PgTestError::io("running psql", e))?;
        check(&format!("psql -d {database} -c {sql:?}"), &output)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The TCP port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the `postgres` maintenance database, for administrative statements.
    pub fn admin_url(&self) -> String {
        self.url("postgres")
    }

    /// The pid of the `postgres` server process (the postmaster).
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// The temporary directory holding the data directory, the socket directory and
    /// `server.log`; removed when the cluster stops.
    pub fn dir(&self) -> &Path {
        &self.launch.dir
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }
}

/// Why one start attempt failed.
enum Failure {
    /// The port was free when probed but taken by the time the server bound it.
    PortTaken(PgTestError),
    Other(PgTestError),
}

impl From<PgTestError> for Failure {
    fn from(err: PgTestError) -> Self {
        Self::Other(err)
    }
}

fn start_once(binaries: &Binaries, run_as: RunAs, port: u16) -> Result<PgCluster, Failure> {
    let dir = create_cluster_dir()?;
    // Until the watchdog exists, removing the directory is our job.
    let staging = DirGuard::new(dir.clone());
    let data = dir.join("data");
    let sockets = dir.join("sock");
    let log_path = dir.join(SERVER_LOG);
    fs::create_dir(&sockets).map_err(|e| PgTestError::io("creating the socket directory", e))?;
    File::create(dir.join(LEASE_FILE)).map_err(|e| PgTestError::io("creating the lease", e))?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| PgTestError::io("creating the server log", e))?;
    run_as.hand_over(&dir)?;

    let initdb = run_as
        .command(&binaries.server_tool("initdb"))
        .arg("-D")
        .arg(&data)
        // --auth sets both -A (local) and host authentication to trust.
        .args([
            "--auth=trust",
            "--username",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
        ])
        .arg("--no-sync")
        .current_dir(&dir)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| PgTestError::io("running initdb", e))?;
    check("initdb", &initdb)?;

    let mut server_argv: Vec<OsString> = run_as.argv_prefix();
    server_argv.extend(watchdog::exec_recording_pid(&dir.join(PID_FILE)));
    server_argv.push(binaries.server_tool("postgres").into_os_string());
    server_argv.push("-D".into());
    server_argv.push(data.into_os_string());
    let mut setting = |name: &str, value: &str| {
        server_argv.push("-c".into());
        server_argv.push(format!("{name}={value}").into());
    };
    setting("listen_addresses", "127.0.0.1");
    setting("port", &port.to_string());
    setting("unix_socket_directories", &sockets.to_string_lossy());
    setting("fsync", "off");
    setting("synchronous_commit", "off");
    setting("full_page_writes", "off");
    setting("max_connections", "200");

    let watchdog = watchdog::spawn(&dir, &server_argv, &log)
        .map_err(|e| PgTestError::io("starting the watchdog", e))?;
    staging.disarm();
    // From here on, dropping `launch` stops everything.
    let mut launch = Launch { dir, watchdog };
    wait_until_ready(binaries, port, &mut launch)?;
    let server_pid = launch.server_pid().ok_or_else(|| PgTestError::Command {
        what: "postgres".to_owned(),
        status: "ready but no pid file".to_owned(),
        stderr: launch.log_tail(),
    })?;
    Ok(PgCluster {
        binaries: binaries.clone(),
        port,
        server_pid,
        launch,
    })
}

/// Polls `pg_isready` until the server accepts connections, it exits, or time runs out.
fn wait_until_ready(binaries: &Binaries, port: u16, launch: &mut Launch) -> Result<(), Failure> {
    let pg_isready = binaries.client_tool("pg_isready");
    let started = Instant::now();
    loop {
        let ready = Command::new(&pg_isready)
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-t",
                "2",
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-p",
            ])
            .arg(port.to_string())
            .status()
            .map_err(|e| PgTestError::io("running pg_isready", e))?;
        if ready.success() {
            return Ok(());
        }
        if let Some(status) = launch.server_exit_status() {
            let log_tail = launch.log_tail();
            let err = PgTestError::Command {
                what: format!("postgres on port {port}"),
                status: format!("exit status: {status}"),
                stderr: log_tail.clone(),
            };
            return Err(if port_was_taken(&log_tail) {
                Failure::PortTaken(err)
            } else {
                Failure::Other(err)
            });
        }
        if !launch.watchdog_running() {
            return Err(Failure::Other(PgTestError::Command {
                what: "the cec-pgtest watchdog".to_owned(),
                status: "exited before the server was ready".to_owned(),
                stderr: launch.log_tail(),
            }));
        }
        if started.elapsed() >= READY_TIMEOUT {
            return Err(Failure::Other(PgTestError::Timeout {
                what: format!("postgres to accept connections on port {port}"),
                waited: started.elapsed(),
                log_tail: launch.log_tail(),
            }));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Whether the server log says another process holds the port.
fn port_was_taken(log: &str) -> bool {
    // The server runs with lc_messages=C (initdb --locale=C), so the text is stable.
    log.contains("Address already in use")
}

/// A loopback port that was free a moment ago (the retry loop covers the race).
fn free_port() -> Result<u16, PgTestError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| PgTestError::io("probing for a free port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| PgTestError::io("probing for a free port", e))?;
    Ok(port.port())
}

fn check(what: &str, output: &Output) -> Result<(), PgTestError> {
    if output.status.success() {
        return Ok(());
    }
    // initdb reports some failures on stdout.
    let stream = if output.stderr.trim_ascii().is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let stderr = String::from_utf8_lossy(stream).into_owned();
    Err(PgTestError::Command {
        what: what.to_owned(),
        status: output.status.to_string(),
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn start_on(port: u16) -> Result<PgCluster, Failure> {
        let binaries = Binaries::locate().unwrap_or_else(|err| panic!("{err}"));
        start_once(&binaries, RunAs::detect(), port)
    }

    #[test]
    fn a_taken_port_is_reported_as_such_and_cleaned_up() {
        let squatter = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = squatter.local_addr().unwrap().port();
        let before = cluster_dirs();
        match start_on(port) {
            Err(Failure::PortTaken(PgTestError::Command { stderr, .. })) => {
                assert!(stderr.contains("could not bind"), "{stderr}");
            }
            Err(Failure::PortTaken(other) | Failure::Other(other)) => {
                panic!("expected PortTaken, got {other}")
            }
            Ok(cluster) => panic!("started on a taken port {}", cluster.port()),
        }
        // The failed attempt's directory is gone (other tests may be creating theirs).
        let after = cluster_dirs();
        assert!(
            after
                .iter()
                .all(|dir| before.contains(dir) || !dir.exists()),
            "{after:?}"
        );
        drop(squatter);
    }

    #[test]
    fn port_taken_is_recognised_in_the_log() {
        let log = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                   FATAL:  could not create any TCP/IP sockets";
        assert!(port_was_taken(log));
        assert!(!port_was_taken(
            "FATAL:  data directory has wrong ownership"
        ));
    }

    fn cluster_dirs() -> Vec<PathBuf> {
        let prefix = format!("cec-pgtest-{}-", std::process::id());
        fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
            .map(|entry| entry.path())
            .collect()
    }
}
