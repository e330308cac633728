//! The `sh` watchdog that owns the server process.
//!
//! A test process can end without running destructors (`std::process::exit`, a panic with
//! `panic = "abort"`, SIGKILL from a test runner's timeout), and statics are never dropped
//! anyway. So the server is not our child: it is the background job of a small shell
//! script that polls every 200 ms whether the test process is still alive and whether the
//! cluster's lease file still exists. When either is gone it sends the server SIGQUIT
//! (immediate shutdown), waits for it, and removes the cluster directory.
//!
//! The watchdog runs in its own process group so that a Ctrl-C in the terminal kills the
//! test process but not the watchdog, which then cleans up.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Removed by the test process to stop the watchdog (and the server) while it lives on.
pub(crate) const LEASE_FILE: &str = "lease";
/// The server's pid, written by the server's own shell just before `exec postgres`.
pub(crate) const PID_FILE: &str = "server.pid";
/// Written by the watchdog when the server exits on its own: its exit status.
pub(crate) const EXIT_FILE: &str = "server.exit";

/// `$1` test pid, `$2` cluster directory, the rest: the server command to run.
///
/// `kill -0` on the background job stays true while it is a zombie; dash reaps it during the
/// next foreground `sleep`, so the loops see the exit within one tick. The directory is
/// only removed when its name is one of ours.
const SCRIPT: &str = r#"
test_pid=$1
dir=$2
shift 2
trap '' INT HUP PIPE
"$@" &
bg=$!
while kill -0 "$test_pid" 2>/dev/null && [ -e "$dir/lease" ]; do
    if [ ! -e "$dir/server.exit" ] && ! kill -0 "$bg" 2>/dev/null; then
        wait "$bg"
        echo "$?" > "$dir/server.exit"
    fi
    sleep 0.2
done
if [ ! -e "$dir/server.exit" ]; then
    srv=
    tries=0
    while [ -z "$srv" ] && [ "$tries" -lt 10 ] && kill -0 "$bg" 2>/dev/null; do
        srv=$(cat "$dir/server.pid" 2>/dev/null)
        [ -n "$srv" ] || sleep 0.1
        tries=$((tries + 1))
    done
    [ -n "$srv" ] || srv=$bg
    ticks=0
    while kill -0 "$bg" 2>/dev/null; do
        if [ "$ticks" -eq 0 ]; then kill -QUIT "$srv" 2>/dev/null; fi
        if [ "$ticks" -eq 50 ]; then kill -KILL "$srv" 2>/dev/null; fi
        ticks=$((ticks + 1))
        sleep 0.2
    done
    wait "$bg" 2>/dev/null
fi
case "$dir" in
    */cec-pgtest-*) rm -rf -- "$dir" ;;
esac
"#;

/// The argv that makes a shell record its pid in `pid_file` and then become `program`:
/// through `runuser` the background job's pid is `runuser`'s, not the server's.
pub(crate) fn exec_recording_pid(pid_file: &Path) -> Vec<OsString> {
    vec![
        "sh".into(),
        "-c".into(),
        r#"echo "$$" > "$0" && exec "$@""#.into(),
        pid_file.as_os_str().to_owned(),
    ]
}

/// Starts the watchdog for the cluster in `dir`, running `server_argv` in the background,
/// with all of its output (and the server's) appended to `log`.
pub(crate) fn spawn(dir: &Path, server_argv: &[OsString], log: &File) -> std::io::Result<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("cec-pgtest-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(server_argv)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .process_group(0)
        .spawn()
}
