//! `docs/architecture.md` is the map of the code; it must name every workspace crate so the
//! map cannot silently go stale when a crate is added.

use std::path::Path;

#[test]
fn architecture_map_names_every_workspace_crate() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let map = std::fs::read_to_string(root.join("docs/architecture.md"))?;
    let mut crates = Vec::new();
    for folder in ["crates", "testing"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.join("Cargo.toml").is_file() {
                let manifest = std::fs::read_to_string(path.join("Cargo.toml"))?;
                let name = manifest
                    .lines()
                    .find_map(|line| line.strip_prefix("name = "))
                    .map(|quoted| quoted.trim_matches('"').to_owned())
                    .ok_or_else(|| anyhow::anyhow!("{} has no package name", path.display()))?;
                crates.push(name);
            }
        }
    }
    assert!(crates.len() >= 3, "found only {crates:?}");
    let missing: Vec<_> = crates
        .iter()
        .filter(|c| !map.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not mention {missing:?}"
    );
    Ok(())
}

/// The workspace lint denies `unsafe`; only modules named here may allow it (the allow
/// covers their submodules: `media/uring/` is the io_uring loop), each with a module doc
/// comment that justifies every unsafe block.
const UNSAFE_MODULES: &[&str] = &["crates/cec-runtime/src/media/uring/mod.rs"];

#[test]
fn unsafe_code_is_allowed_only_in_the_listed_modules() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Spelled in two halves so this file does not match itself.
    let needle = concat!("allow(", "unsafe_code)");
    let mut found = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("testing")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                if text.contains(needle) {
                    let relative = path
                        .strip_prefix(&root)?
                        .to_string_lossy()
                        .replace('\\', "/");
                    found.push(relative);
                }
            }
        }
    }
    found.sort();
    assert_eq!(
        found, UNSAFE_MODULES,
        "unsafe_code allowed outside the reviewed modules"
    );
    Ok(())
}
