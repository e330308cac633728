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
