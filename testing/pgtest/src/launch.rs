//! The cluster directory and its teardown, shared by a normal drop and a failed start.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::PgTestError;
use crate::watchdog::{EXIT_FILE, LEASE_FILE, PID_FILE};

/// How long teardown waits for the watchdog before killing harder.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often we look at processes and files we are waiting for.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// The server's (and the watchdog's) output, inside the cluster directory.
pub(crate) const SERVER_LOG: &str = "server.log";
const LOG_TAIL_LINES: usize = 30;

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// The cluster directory and the watchdog that guards it.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) dir: PathBuf,
    pub(crate) watchdog: Child,
}

impl Launch {
    pub(crate) fn server_pid(&self) -> Option<u32> {
        fs::read_to_string(self.dir.join(PID_FILE))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The server's exit status, once the watchdog has seen it exit on its own.
    pub(crate) fn server_exit_status(&self) -> Option<String> {
        let status = fs::read_to_string(self.dir.join(EXIT_FILE)).ok()?;
        Some(status.trim().to_owned())
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = fs::read(self.dir.join(SERVER_LOG)).unwrap_or_default();
        let log = String::from_utf8_lossy(&log);
        let skip = log.lines().count().saturating_sub(LOG_TAIL_LINES);
        log.lines().skip(skip).collect::<Vec<_>>().join("\n")
    }

    pub(crate) fn watchdog_running(&mut self) -> bool {
        matches!(self.watchdog.try_wait(), Ok(None))
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        let server_pid = self.server_pid();
        // While the watchdog runs and has not seen the server exit, the pid is still the
        // server's (the watchdog has not reaped it), so signalling it is safe.
        let server_alive = self.watchdog_running() && self.server_exit_status().is_none();
        if let (true, Some(pid)) = (server_alive, server_pid) {
            signal(pid, "QUIT");
        }
        let _ = fs::remove_file(self.dir.join(LEASE_FILE));
        let deadline = Instant::now() + STOP_TIMEOUT;
        while self.watchdog_running() && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        if self.watchdog_running() {
            if let Some(pid) = server_pid {
                signal(pid, "KILL");
            }
            let _ = self.watchdog.kill();
            let _ = self.watchdog.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Removes a directory on drop, unless disarmed once the watchdog owns it.
pub(crate) struct DirGuard(Option<PathBuf>);

impl DirGuard {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self(Some(dir))
    }

    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Sends `signal` to a process this crate started.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .output();
}

/// `<tmp>/cec-pgtest-<pid>-<n>`, skipping names left over by an earlier process that had
/// the same pid.
pub(crate) fn create_cluster_dir() -> Result<PathBuf, PgTestError> {
    let base = std::env::temp_dir();
    loop {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("cec-pgtest-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(PgTestError::io(format!("creating {}", dir.display()), e));
            }
        }
    }
}
