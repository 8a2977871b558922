//! The Python wheel's dev profile (crates/python/Cargo.toml, its own workspace)
//! sets every dependency as the workspace's does. `scripts/python-ci.sh`
//! builds the wheel in the workspace's target folder so that it reuses the
//! dependencies the tests compiled; a dependency whose opt-level or debug
//! setting differs there is compiled a second time (round 31's first try
//! compiled all of polars again, at opt-level 2, in the Python step).

use backstop_testkit::repo_root;

/// The TOML file at `path` (relative to the repository root), parsed.
fn read_toml(path: &str) -> toml::Table {
    let file = repo_root().join(path);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// `[profile.dev.package]` of the manifest at `path` (relative to the
/// repository root): each package's override, by package name.
fn dev_package_overrides(path: &str) -> toml::Table {
    read_toml(path)
        .get("profile")
        .and_then(|p| p.get("dev"))
        .and_then(|d| d.get("package"))
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("{path} has no [profile.dev.package]"))
        .clone()
}

/// Overrides of anything but backstop's own crates (which the wheel, where
/// they are path dependencies and not members, builds its own way).
fn dependency_overrides(path: &str) -> toml::Table {
    dev_package_overrides(path)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("backstop"))
        .collect()
}

#[test]
fn the_wheel_builds_every_dependency_as_the_workspace_does() {
    let workspace = dependency_overrides("Cargo.toml");
    let wheel = dependency_overrides("crates/python/Cargo.toml");
    assert!(
        workspace.contains_key("*"),
        "the workspace's dev profile sets no \"*\" override"
    );
    for name in workspace.keys().chain(wheel.keys()) {
        assert_eq!(
            workspace.get(name),
            wheel.get(name),
            "[profile.dev.package.{name}] differs between Cargo.toml and \
             crates/python/Cargo.toml: the wheel would compile {name} again"
        );
    }
}

/// Every polars crate in Cargo.lock has its own entry: one that a new polars
/// release adds would otherwise fall to `"*"`'s opt-level 2 and add minutes
/// to a cold build, unnoticed.
#[test]
fn every_polars_crate_in_the_lock_file_has_its_own_level() {
    let lock = read_toml("Cargo.lock");
    let overrides = dev_package_overrides("Cargo.toml");
    let polars: Vec<&str> = lock["package"]
        .as_array()
        .expect("Cargo.lock lists its packages")
        .iter()
        .filter_map(|package| package.get("name").and_then(toml::Value::as_str))
        .filter(|name| name.starts_with("polars"))
        .collect();
    assert!(polars.contains(&"polars-core"), "no polars in Cargo.lock");
    let missing: Vec<&&str> = polars
        .iter()
        .filter(|name| !overrides.contains_key(**name))
        .collect();
    assert!(
        missing.is_empty(),
        "no [profile.dev.package] entry in Cargo.toml for {missing:?}"
    );
}
