//! `backstop merge`: the shard folders of one sweep into the results of the
//! whole sweep, byte for byte those of a single `backstop sweep`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use backstop_data::results::layout::{HAIRCUTS_FILE, MARKET_FUNDS_FILE, PATHS_FILE};
use backstop_data::{HaircutsTable, PathsTable};
use backstop_sim::Scenario;
use backstop_sim::run::results::append_tables;
use backstop_sim::run::sweep::{ShardSpec, SweepGrid, scenario_hash};

use super::shard::Manifest;

/// `backstop merge`.
pub fn merge(dirs: &[PathBuf], out: &Path, quiet: bool) -> Result<()> {
    if dirs.is_empty() {
        bail!("merge needs the shard folders (shard-K-of-N) of one sweep");
    }
    let mut shards: BTreeMap<u32, (PathBuf, Manifest)> = BTreeMap::new();
    let mut first: Option<(PathBuf, String, u32)> = None;
    for dir in dirs {
        let m = Manifest::read(dir)?;
        match &first {
            None => first = Some((dir.clone(), m.scenario_hash.clone(), m.shards)),
            Some((d0, h0, n0)) => {
                if &m.scenario_hash != h0 {
                    bail!(
                        "shards of different scenarios: {} has scenario hash {h0}, {} has {}",
                        d0.display(),
                        dir.display(),
                        m.scenario_hash
                    );
                }
                if m.shards != *n0 {
                    bail!(
                        "shards of different splits: {} is one of {n0} shards, {} one of {}",
                        d0.display(),
                        dir.display(),
                        m.shards
                    );
                }
            }
        }
        if let Some((other, _)) = shards.get(&m.shard) {
            bail!(
                "shard {}/{} given twice: {} and {}",
                m.shard,
                m.shards,
                other.display(),
                dir.display()
            );
        }
        shards.insert(m.shard, (dir.clone(), m));
    }
    let Some((_, hash, n)) = first else {
        bail!("no shards");
    };
    let missing: Vec<String> = (0..n)
        .filter(|k| !shards.contains_key(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "missing shard{} {} (have {} of {n})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            shards.len()
        );
    }
    let (_, m0) = shards.values().next().ok_or_else(|| anyhow!("no shards"))?;
    let base: Scenario = serde_json::from_value(m0.scenario.clone())
        .context("the shard manifest's scenario cannot be read")?;
    if scenario_hash(&base)? != hash {
        bail!("the shard manifest's scenario does not match its hash {hash}");
    }
    let config = base
        .sweep
        .clone()
        .ok_or_else(|| anyhow!("the shards' scenario has no [sweep]"))?;
    let grid =
        SweepGrid::new(&base, &config).map_err(|e| anyhow!("key `{}`: {}", e.key, e.message))?;
    let paths = u64::from(base.paths);
    let items = u64::from(grid.sets) * paths;
    let mut all = PathsTable::default();
    let mut cuts = HaircutsTable::default();
    let mut funds = Vec::new();
    for (k, (dir, m)) in &shards {
        let (from, to) = ShardSpec {
            index: *k,
            count: n,
        }
        .items(items);
        if (m.items_from, m.items_to, m.items_done, m.sets, m.paths)
            != (from, to, to - from, grid.sets, paths)
        {
            bail!(
                "{}: manifest says items {}..{} of {} sets x {} paths, expected {from}..{to}",
                dir.display(),
                m.items_from,
                m.items_to,
                m.sets,
                m.paths
            );
        }
        let t = backstop_data::read_paths(&dir.join(PATHS_FILE))?;
        if t.len() as u64 != to - from {
            bail!(
                "{}: paths.parquet has {} rows, the shard has {} work items",
                dir.display(),
                t.len(),
                to - from
            );
        }
        let h = backstop_data::read_haircuts(&dir.join(HAIRCUTS_FILE))?;
        append_tables(&mut all, &mut cuts, t, h);
        // A market's own fund: the shard's rows (no file without one).
        let f = dir.join(MARKET_FUNDS_FILE);
        if f.is_file() {
            funds.extend(backstop_data::read_market_funds(&f)?);
        }
    }
    let dir = out.join(&base.name);
    let rows = super::sweep::Rows { all, cuts, funds };
    super::sweep::finalize(
        &dir,
        (&base, &grid, &hash),
        &rows,
        quiet,
        super::sweep::Publishing {
            saved: Box::new(|| Ok(())),
            then: Box::new(|| {}),
        },
    )
}
