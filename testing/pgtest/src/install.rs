//! Finding the PostgreSQL server binaries.
//!
//! Debian keeps them outside PATH, in `/usr/lib/postgresql/<major>/bin`, and the client
//! packages put `psql` & co. there too, so a version directory only counts when it holds
//! both `initdb` and `postgres`.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::PgTestError;

/// Where Debian's `postgresql-<major>` packages install their programs.
pub(crate) const DEBIAN_VERSIONS_ROOT: &str = "/usr/lib/postgresql";

/// The directory holding `initdb` and `postgres` (and usually the client tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Looks in PATH first, then in the highest `/usr/lib/postgresql/<N>/bin`.
    pub(crate) fn locate() -> Result<Self, PgTestError> {
        let path = std::env::var_os("PATH");
        Self::locate_in(path.as_deref(), Path::new(DEBIAN_VERSIONS_ROOT))
    }

    /// [`Binaries::locate`] with the search places passed in, so tests can point it at
    /// directories they build.
    pub(crate) fn locate_in(
        path_var: Option<&OsStr>,
        versions_root: &Path,
    ) -> Result<Self, PgTestError> {
        if let Some(initdb) = path_var.and_then(|path| find_in_path("initdb", path)) {
            // Resolve symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin
            // so that `postgres` is taken from the same installation.
            let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
            if let Some(dir) = real.parent().filter(|dir| has_server_binaries(dir)) {
                return Ok(Self {
                    dir: dir.to_path_buf(),
                });
            }
        }
        highest_version_dir(versions_root)
            .map(|dir| Self { dir })
            .ok_or(PgTestError::NotInstalled)
    }

    /// A server program (`initdb`, `postgres`) from the located directory.
    pub(crate) fn server_tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A client program (`psql`, `pg_isready`): the one next to the server when there is
    /// one, else whatever PATH finds.
    pub(crate) fn client_tool(&self, name: &str) -> PathBuf {
        let beside = self.dir.join(name);
        if is_executable(&beside) {
            beside
        } else {
            PathBuf::from(name)
        }
    }
}

fn find_in_path(name: &str, path_var: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// The `<root>/<N>/bin` with the highest version `N` that holds the server binaries.
fn highest_version_dir(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let key = version_key(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((key, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Orders version directory names numerically: `"9.6"` -> `[9, 6]`, `"15"` -> `[15]`, so
/// that 15 sorts above 9.6. Anything that is not dot-separated digits is `None`.
pub(crate) fn version_key(name: &str) -> Option<Vec<u32>> {
    if name.is_empty() {
        return None;
    }
    name.split('.')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs;

    #[test]
    fn version_keys_order_numerically() {
        assert_eq!(version_key("15"), Some(vec![15]));
        assert_eq!(version_key("9.6"), Some(vec![9, 6]));
        assert!(version_key("15") > version_key("9.6"));
        assert!(version_key("10") > version_key("9"));
        for bad in ["", "15beta", ".", "1..2", "x", "-1", "15."] {
            assert_eq!(version_key(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn version_key_never_panics_and_round_trips(name in ".{0,12}") {
            if let Some(key) = version_key(&name) {
                let joined = key.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
                // Leading zeros are the only thing lost.
                prop_assert_eq!(version_key(&joined), Some(key));
            }
        }

        #[test]
        fn version_key_accepts_every_dotted_number(parts in prop::collection::vec(0u32..100_000, 1..4)) {
            let name = parts.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
            prop_assert_eq!(version_key(&name), Some(parts));
        }
    }

    /// A scratch directory for fake installations, removed when dropped.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("cec-pgtest-unit-{}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn program(&self, relative: &str) {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn picks_highest_version_that_has_a_server() {
        let root = Scratch::new("versions");
        root.program("9.6/bin/initdb");
        root.program("9.6/bin/postgres");
        root.program("13/bin/initdb");
        root.program("13/bin/postgres");
        // Only the client package of 17: must be skipped.
        root.program("17/bin/psql");
        root.program("notaversion/bin/initdb");
        root.program("notaversion/bin/postgres");
        let found = Binaries::locate_in(Some(OsStr::new("")), &root.0).unwrap();
        assert_eq!(
            found.server_tool("postgres"),
            root.0.join("13/bin/postgres")
        );
        assert_eq!(found.client_tool("psql"), PathBuf::from("psql"));
    }

    #[test]
    fn path_wins_over_versions_root() {
        let root = Scratch::new("path");
        root.program("bin/initdb");
        root.program("bin/postgres");
        root.program("bin/psql");
        root.program("versions/99/bin/initdb");
        root.program("versions/99/bin/postgres");
        let path = root.0.join("bin");
        let found = Binaries::locate_in(Some(path.as_os_str()), &root.0.join("versions")).unwrap();
        assert_eq!(found.client_tool("psql"), root.0.join("bin/psql"));
    }

    #[test]
    fn initdb_in_path_without_postgres_beside_it_falls_back() {
        let root = Scratch::new("lonely");
        root.program("bin/initdb");
        root.program("versions/14/bin/initdb");
        root.program("versions/14/bin/postgres");
        let path = root.0.join("bin");
        let found = Binaries::locate_in(Some(path.as_os_str()), &root.0.join("versions")).unwrap();
        assert_eq!(
            found.server_tool("initdb"),
            root.0.join("versions/14/bin/initdb")
        );
    }

    #[test]
    fn nothing_installed_is_not_installed_with_the_install_hint() {
        let root = Scratch::new("empty");
        root.program("bin/psql");
        let path = root.0.join("bin");
        let err = Binaries::locate_in(Some(path.as_os_str()), &root.0.join("missing")).unwrap_err();
        assert!(matches!(err, PgTestError::NotInstalled));
        assert_eq!(
            err.to_string(),
            "PostgreSQL server binaries not found (looked in PATH and \
             /usr/lib/postgresql/*/bin); run scripts/install-deps"
        );
    }
}
