//! Which operating-system user runs `initdb` and `postgres`.
//!
//! Both refuse to run as root, and CI runs as root; there we hand the cluster directory to
//! the `postgres` system user (created by the Debian package) and run the server programs
//! through `runuser`. Without libc (and without `unsafe`) the effective uid comes from
//! `/proc/self/status`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::PgTestError;

/// The system user that owns the cluster when the tests run as root.
pub(crate) const SYSTEM_USER: &str = "postgres";

/// Who the server programs run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunAs {
    /// We are not root: run them as ourselves.
    CurrentUser,
    /// We are root: run them as [`SYSTEM_USER`] via `runuser`.
    SystemUser,
}

impl RunAs {
    /// Decides from the effective uid of this process.
    pub(crate) fn detect() -> Self {
        match effective_uid() {
            Some(0) => Self::SystemUser,
            _ => Self::CurrentUser,
        }
    }

    /// The words to put before a server program's argv (`runuser -u postgres --`, or none).
    pub(crate) fn argv_prefix(self) -> Vec<OsString> {
        match self {
            Self::CurrentUser => Vec::new(),
            Self::SystemUser => ["runuser", "-u", SYSTEM_USER, "--"]
                .map(OsString::from)
                .to_vec(),
        }
    }

    /// A [`Command`] that runs `program` as this user.
    pub(crate) fn command(self, program: &Path) -> Command {
        match self {
            Self::CurrentUser => Command::new(program),
            Self::SystemUser => {
                let mut command = Command::new("runuser");
                command.args(["-u", SYSTEM_USER, "--"]).arg(program);
                command
            }
        }
    }

    /// Makes `dir` (recursively) writable by this user: `chown -R postgres` when root.
    pub(crate) fn hand_over(self, dir: &Path) -> Result<(), PgTestError> {
        if self == Self::CurrentUser {
            return Ok(());
        }
        let output = Command::new("chown")
            .arg("-R")
            .arg(SYSTEM_USER)
            .arg(dir)
            .output()
            .map_err(|e| PgTestError::io("running chown", e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(PgTestError::Command {
                what: format!("chown -R {SYSTEM_USER} {}", dir.display()),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }
}

/// This process's effective uid, or `None` when `/proc` is unreadable.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_effective_uid(&status)
}

/// Reads the effective uid out of `/proc/<pid>/status` text: the second number of the
/// `Uid:` line (real, effective, saved, filesystem).
pub(crate) fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_effective_not_the_real_uid() {
        let status = "Name:\tcargo\nUmask:\t0022\nState:\tR (running)\nUid:\t1000\t0\t0\t0\n\
                      Gid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(
            parse_effective_uid("Uid:\t0\t1001\t1001\t1001\n"),
            Some(1001)
        );
    }

    #[test]
    fn malformed_status_has_no_uid() {
        for status in [
            "",
            "Uid:",
            "Uid:\t0",
            "Uid:\t0\tx",
            "Gid:\t0\t0\t0\t0",
            " Uid:\t0\t0",
        ] {
            assert_eq!(parse_effective_uid(status), None, "{status:?}");
        }
    }

    #[test]
    fn our_own_status_parses() {
        assert!(effective_uid().is_some());
    }

    #[test]
    fn root_goes_through_runuser() {
        let command = RunAs::SystemUser.command(Path::new("/x/initdb"));
        assert_eq!(command.get_program(), "runuser");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["-u", "postgres", "--", "/x/initdb"]);
        let command = RunAs::CurrentUser.command(Path::new("/x/initdb"));
        assert_eq!(command.get_program(), "/x/initdb");
        assert_eq!(command.get_args().count(), 0);
    }

    proptest! {
        #[test]
        fn parse_never_panics(status in ".{0,80}") {
            let _ = parse_effective_uid(&status);
        }

        #[test]
        fn parse_finds_any_effective_uid(real: u32, effective: u32, before in "[A-TV-Z][a-z]{0,7}:\t[a-z ]{0,10}\n") {
            let status = format!("{before}Uid:\t{real}\t{effective}\t{effective}\t{effective}\n");
            prop_assert_eq!(parse_effective_uid(&status), Some(effective));
        }
    }
}
