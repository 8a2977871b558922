//! A shard folder's `manifest.json`: which work items of which sweep a
//! `backstop sweep --shard K/N` computed, read back by `backstop merge`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Format tag of a shard's `manifest.json`.
const MANIFEST_FORMAT: &str = "backstop-shard/v1";

/// `manifest.json` of a shard.
#[derive(Serialize, Deserialize)]
pub(super) struct Manifest {
    format: String,
    backstop_version: String,
    /// FNV-1a 64 of the normalised scenario JSON (see `scenario_hash`).
    pub scenario_hash: String,
    pub shard: u32,
    pub shards: u32,
    pub sets: u32,
    pub paths: u64,
    /// Work items `[items_from, items_to)`, item = set × paths + path.
    pub items_from: u64,
    pub items_to: u64,
    pub items_done: u64,
    pub scenario: serde_json::Value,
}

/// What a shard covers, for [`Manifest::new`].
pub(super) struct ShardWork {
    /// FNV-1a 64 of the normalised scenario JSON.
    pub scenario_hash: String,
    /// Shard K of N.
    pub shard: u32,
    /// N.
    pub shards: u32,
    /// Parameter sets of the sweep.
    pub sets: u32,
    /// Paths per set.
    pub paths: u64,
    /// Work items `[from, to)`.
    pub items: (u64, u64),
    /// The base scenario.
    pub scenario: serde_json::Value,
}

impl Manifest {
    /// The manifest of a finished shard.
    pub(super) fn new(w: ShardWork) -> Manifest {
        let (from, to) = w.items;
        Manifest {
            format: MANIFEST_FORMAT.to_string(),
            backstop_version: backstop_sim::run::results::VERSION.to_string(),
            scenario_hash: w.scenario_hash,
            shard: w.shard,
            shards: w.shards,
            sets: w.sets,
            paths: w.paths,
            items_from: from,
            items_to: to,
            items_done: to - from,
            scenario: w.scenario,
        }
    }

    /// Writes it atomically into the shard folder `dir`.
    pub(super) fn write(&self, dir: &Path) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        backstop_data::write_bytes_atomically(&dir.join("manifest.json"), &json)?;
        Ok(())
    }

    /// Reads the manifest of the shard folder `dir`.
    pub(super) fn read(dir: &Path) -> Result<Manifest> {
        let file = dir.join("manifest.json");
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{}: not a shard folder (cannot read manifest.json)",
                dir.display()
            )
        })?;
        let m: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid shard manifest", file.display()))?;
        if m.format != MANIFEST_FORMAT {
            bail!(
                "{}: format `{}`, expected `{MANIFEST_FORMAT}`",
                file.display(),
                m.format
            );
        }
        Ok(m)
    }
}
