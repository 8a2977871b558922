//! `backstop sweep` and `backstop merge`: parameter sweeps on one machine or as
//! shards on many (Slurm job arrays, Kubernetes Indexed Jobs), merged into the
//! same files byte for byte.
//!
//! Layout of `<out>/<name>/` (see README, "Parameter sweeps"):
//!
//! - `work/set-SSSS-paths-AAAAAA-BBBBBB.parquet` (+ `.haircuts.parquet`): one
//!   finished chunk of work, written atomically, reused by a rerun (resume);
//!   removed once the run's own results are written;
//! - `shard-K-of-N/` (`--shard K/N`): `paths.parquet`, `haircuts.parquet` and
//!   `manifest.json` of the shard's work items;
//! - `sweep.parquet`, `paths.parquet`, `haircuts.parquet`, `summary.json` and
//!   the report, for a whole sweep or a merge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use backstop_data::{HaircutsTable, PathsTable, SweepProbability, SweepRow, SweepTable};
use backstop_sim::aggregate::{Aggregates, Probability};
use backstop_sim::sweep::{Chunk, ShardSpec, SweepGrid, chunks, scenario_hash, set_aggregates};
use backstop_sim::{PathMetrics, Prepared, Scenario};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Environment variable (tests only): stop with an error after computing this
/// many chunks, as if the process had been killed.
pub const STOP_AFTER_ENV: &str = "BACKSTOP_SWEEP_STOP_AFTER_CHUNKS";

/// Format tag of a shard's `manifest.json`.
const MANIFEST_FORMAT: &str = "backstop-shard/v1";
const HASH_KEY: &str = "backstop.scenario_hash";

/// What `backstop sweep` was asked to do.
pub struct SweepArgs<'a> {
    /// Scenario file.
    pub file: &'a Path,
    /// Folder the results folder is created in.
    pub out: &'a Path,
    /// No progress bar, no headline.
    pub quiet: bool,
    /// Worker threads.
    pub threads: Option<usize>,
    /// Paths per set instead of the scenario's.
    pub paths: Option<u32>,
    /// `K/N`.
    pub shard: Option<&'a str>,
}

/// `manifest.json` of a shard.
#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    backstop_version: String,
    /// FNV-1a 64 of the normalised scenario JSON (see `scenario_hash`).
    scenario_hash: String,
    shard: u32,
    shards: u32,
    sets: u32,
    paths: u64,
    /// Work items `[items_from, items_to)`, item = set × paths + path.
    items_from: u64,
    items_to: u64,
    items_done: u64,
    scenario: serde_json::Value,
}

fn scenario_dir(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new("."))
}

fn metadata(s: &Scenario, hash: &str) -> Vec<(String, String)> {
    vec![
        (
            "backstop.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("backstop.scenario".to_string(), s.name.clone()),
        ("backstop.seed".to_string(), s.seed.to_string()),
        (HASH_KEY.to_string(), hash.to_string()),
    ]
}

/// The base scenario (with `--paths` applied) and its grid.
fn load(file: &Path, paths: Option<u32>) -> Result<(Scenario, SweepGrid)> {
    let mut base = Scenario::load(file)?;
    let config = base.sweep.clone().ok_or_else(|| {
        anyhow!(
            "{}: no [sweep] table: `backstop sweep` needs [[sweep.parameter]] entries (use `backstop run` for one scenario)",
            file.display()
        )
    })?;
    if let Some(n) = paths {
        if n == 0 {
            bail!("--paths 0: at least one path is needed");
        }
        base.paths = n;
    }
    let grid = SweepGrid::new(&base, &config)
        .map_err(|e| anyhow!("{}: key `{}`: {}", file.display(), e.key, e.message))?;
    Ok((base, grid))
}

/// `backstop sweep`.
pub fn sweep(a: &SweepArgs<'_>) -> Result<()> {
    let (base, grid) = load(a.file, a.paths)?;
    let shard = a.shard.map(ShardSpec::parse).transpose()?;
    let spec = shard.unwrap_or(ShardSpec::WHOLE);
    let hash = scenario_hash(&base)?;
    let paths = u64::from(base.paths);
    let items = u64::from(grid.sets) * paths;
    let (from, to) = spec.items(items);
    let work = chunks(paths, from, to);
    let needed: BTreeSet<u32> = work.iter().map(|c| c.set).collect();
    let mut prepared: BTreeMap<u32, Prepared> = BTreeMap::new();
    for set in needed {
        let s = grid
            .apply(&base, set)
            .map_err(|e| anyhow!("{}: key `{}`: {}", a.file.display(), e.key, e.message))?;
        let mut p = Prepared::new(s, scenario_dir(a.file)).with_context(|| {
            format!(
                "{}: parameter set {set} ({}): cannot prepare the run",
                a.file.display(),
                grid.describe(set)
            )
        })?;
        p.set_paths(base.paths)
            .with_context(|| format!("{}: --paths {}", a.file.display(), base.paths))?;
        prepared.insert(set, p);
    }
    let dir = a.out.join(&base.name);
    let work_dir = dir.join("work");
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;

    let bar = indicatif::ProgressBar::hidden();
    bar.set_length(to - from);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} (set, path) items ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    if !a.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    let stop_after: Option<u64> = std::env::var(STOP_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let computed = AtomicU64::new(0);
    let meta = metadata(&base, &hash);
    let results: Vec<Result<(PathsTable, HaircutsTable)>> = pool.install(|| {
        work.par_iter()
            .map(|c| {
                let file = work_dir.join(c.file_name());
                if let Some(done) = load_chunk(&file, &hash, c) {
                    bar.inc(c.len());
                    return Ok(done);
                }
                if let Some(k) = stop_after
                    && computed.fetch_add(1, Ordering::SeqCst) >= k
                {
                    bail!("stopped after {k} chunks ({STOP_AFTER_ENV})");
                }
                let p = prepared
                    .get(&c.set)
                    .ok_or_else(|| anyhow!("parameter set {} was not prepared", c.set))?;
                let metrics: Vec<PathMetrics> = (c.from..c.to)
                    .into_par_iter()
                    .map(|i| p.run_metrics(i))
                    .collect::<Result<_, _>>()
                    .with_context(|| {
                        format!(
                            "parameter set {} ({}): simulation failed",
                            c.set,
                            grid.describe(c.set)
                        )
                    })?;
                let (t, h) = tables(c.set, &metrics);
                backstop_data::write_haircuts(&haircuts_file(&file), &h, &meta)?;
                backstop_data::write_paths(&file, &t, &meta)?;
                bar.inc(c.len());
                Ok((t, h))
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut all = PathsTable::default();
    let mut cuts = HaircutsTable::default();
    for r in results {
        let (t, h) = r?;
        append(&mut all, &mut cuts, t, h);
    }
    match shard {
        Some(spec) => {
            let sdir = dir.join(format!("shard-{}-of-{}", spec.index, spec.count));
            std::fs::create_dir_all(&sdir)
                .with_context(|| format!("cannot create {}", sdir.display()))?;
            backstop_data::write_paths(&sdir.join("paths.parquet"), &all, &meta)?;
            backstop_data::write_haircuts(&sdir.join("haircuts.parquet"), &cuts, &meta)?;
            let manifest = Manifest {
                format: MANIFEST_FORMAT.to_string(),
                backstop_version: env!("CARGO_PKG_VERSION").to_string(),
                scenario_hash: hash.clone(),
                shard: spec.index,
                shards: spec.count,
                sets: grid.sets,
                paths,
                items_from: from,
                items_to: to,
                items_done: to - from,
                scenario: serde_json::to_value(&base)?,
            };
            let mut json = serde_json::to_vec_pretty(&manifest)?;
            json.push(b'\n');
            backstop_data::write_bytes_atomically(&sdir.join("manifest.json"), &json)?;
            clean_work(&work_dir, &work);
            if !a.quiet {
                println!(
                    "shard {spec}: work items {from}..{to} of {items} ({} sets x {paths} paths) -> {}",
                    grid.sets,
                    sdir.display()
                );
            }
        }
        None => {
            finalize(&dir, &base, &grid, &hash, &all, &cuts, a.quiet)?;
            clean_work(&work_dir, &work);
        }
    }
    Ok(())
}

fn haircuts_file(chunk: &Path) -> PathBuf {
    chunk.with_extension("haircuts.parquet")
}

/// A finished chunk of this scenario, if its files are there and whole.
fn load_chunk(file: &Path, hash: &str, c: &Chunk) -> Option<(PathsTable, HaircutsTable)> {
    if !file.is_file() {
        return None;
    }
    let meta = backstop_data::read_metadata(file).ok()?;
    if !meta.iter().any(|(k, v)| k == HASH_KEY && v == hash) {
        return None;
    }
    let t = backstop_data::read_paths(file).ok()?;
    let expected: Vec<u64> = (c.from..c.to).collect();
    if t.path != expected || t.param_set.iter().any(|s| *s != c.set) {
        return None;
    }
    let h = backstop_data::read_haircuts(&haircuts_file(file)).ok()?;
    Some((t, h))
}

fn clean_work(work_dir: &Path, work: &[Chunk]) {
    for c in work {
        let f = work_dir.join(c.file_name());
        let _ = std::fs::remove_file(haircuts_file(&f));
        let _ = std::fs::remove_file(f);
    }
    // Only if empty: other shards may still be writing theirs.
    let _ = std::fs::remove_dir(work_dir);
}

fn tables(set: u32, metrics: &[PathMetrics]) -> (PathsTable, HaircutsTable) {
    let mut t = PathsTable::default();
    let mut h = HaircutsTable::default();
    for m in metrics {
        t.push(set, m.path, &m.to_row());
        for c in &m.haircuts {
            h.param_set.push(set);
            h.path.push(m.path);
            h.account_id.push(c.account_id);
            h.amount.push(c.amount);
        }
    }
    (t, h)
}

fn append(all: &mut PathsTable, cuts: &mut HaircutsTable, t: PathsTable, h: HaircutsTable) {
    all.param_set.extend(t.param_set);
    all.path.extend(t.path);
    for (a, b) in all.metrics.iter_mut().zip(t.metrics) {
        a.extend(b);
    }
    cuts.param_set.extend(h.param_set);
    cuts.path.extend(h.path);
    cuts.account_id.extend(h.account_id);
    cuts.amount.extend(h.amount);
}

fn probability(p: &Probability) -> SweepProbability {
    SweepProbability {
        count: p.count,
        probability: p.probability,
        ci95_lower: p.ci95[0],
        ci95_upper: p.ci95[1],
    }
}

/// Writes the results of a whole sweep from all its per-path rows, in
/// (set, path) order: the same bytes however the rows were computed.
fn finalize(
    dir: &Path,
    base: &Scenario,
    grid: &SweepGrid,
    hash: &str,
    paths: &PathsTable,
    haircuts: &HaircutsTable,
    quiet: bool,
) -> Result<()> {
    let n = u64::from(base.paths);
    let aggregates = set_aggregates(paths, grid.sets, n)?;
    let meets: Vec<Option<bool>> = aggregates.iter().map(|a| grid.meets_target(a)).collect();
    let ranked = grid.ranked(&meets);
    let meta = metadata(base, hash);
    let table = SweepTable {
        parameters: grid.parameters.iter().map(|p| p.path.clone()).collect(),
        rows: aggregates
            .iter()
            .zip(&meets)
            .enumerate()
            .map(|(set, (a, m))| {
                let set = set as u32;
                let bad_debt = a.metrics.get("bad_debt");
                SweepRow {
                    param_set: set,
                    values: grid.values(set),
                    paths: a.paths,
                    depletion: probability(&a.insurance_fund_depletion),
                    socialized: probability(&a.socialized_loss_any),
                    adl: probability(&a.adl_any),
                    insurance_fund_loss_var_95: a.insurance_fund_loss.var_95,
                    insurance_fund_loss_es_95: a.insurance_fund_loss.es_95,
                    insurance_fund_loss_var_99: a.insurance_fund_loss.var_99,
                    insurance_fund_loss_es_99: a.insurance_fund_loss.es_99,
                    cover_1: a.cover_1,
                    cover_2: a.cover_2,
                    bad_debt_p50: bad_debt.map_or(0.0, |b| b.p50),
                    bad_debt_p99: bad_debt.map_or(0.0, |b| b.p99),
                    meets_target: *m,
                }
            })
            .collect(),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    backstop_data::write_sweep(&dir.join("sweep.parquet"), &table, &meta)?;
    backstop_data::write_paths(&dir.join("paths.parquet"), paths, &meta)?;
    backstop_data::write_haircuts(&dir.join("haircuts.parquet"), haircuts, &meta)?;
    let first = aggregates
        .first()
        .ok_or_else(|| anyhow!("a sweep has at least one parameter set"))?;
    let k = grid.efficiency_index();
    let summary = backstop_data::Summary {
        backstop_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: base,
        scenario_hash: Some(hash.to_owned()),
        population: None,
        run: backstop_data::RunSummary {
            paths: n,
            steps: u64::from(
                paths
                    .metric("steps")
                    .and_then(|c| c.first().copied().flatten())
                    .map_or(0, |s| s as u32),
            ),
            path_model: Some(base.path.kind().to_owned()),
            sets: Some(grid.sets),
            work_items: Some(u64::from(grid.sets) * n),
        },
        sweep: Some(grid),
        sets: Some(
            aggregates
                .iter()
                .zip(&meets)
                .enumerate()
                .map(|(set, (a, m))| backstop_data::SetSummary {
                    param_set: set as u32,
                    values: grid.values(set as u32),
                    meets_target: *m,
                    aggregates: crate::summary_aggregates(a),
                })
                .collect(),
        ),
        meeting_target: Some(
            ranked
                .iter()
                .map(|&set| {
                    let d = &aggregates[set as usize].insurance_fund_depletion;
                    let values = grid.values(set);
                    backstop_data::RankedSet {
                        param_set: set,
                        capital_efficiency: values[k],
                        values,
                        depletion_probability: d.probability,
                        depletion_ci95: d.ci95,
                    }
                })
                .collect(),
        ),
        aggregates: crate::summary_aggregates(first),
    };
    backstop_data::write_summary(
        &dir.join(backstop_data::results::layout::SUMMARY_FILE),
        &summary,
    )?;
    backstop_report::render(dir)
        .with_context(|| format!("{}: cannot render the report", dir.display()))?;
    if !quiet {
        print_table(dir, grid, &aggregates, &meets, &ranked);
    }
    Ok(())
}

fn print_table(
    dir: &Path,
    grid: &SweepGrid,
    aggregates: &[Aggregates],
    meets: &[Option<bool>],
    ranked: &[u32],
) {
    let names: Vec<&str> = grid.parameters.iter().map(|p| p.path.as_str()).collect();
    println!("set  {}  depletion [95% CI]", names.join("  "));
    for (set, a) in aggregates.iter().enumerate() {
        let d = &a.insurance_fund_depletion;
        let mark = match meets[set] {
            Some(true) => "  meets target",
            _ => "",
        };
        println!(
            "{set:<4} {}  {:.2}% [{:.2}%, {:.2}%]{mark}",
            grid.values(set as u32)
                .iter()
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join("  "),
            100.0 * d.probability,
            100.0 * d.ci95[0],
            100.0 * d.ci95[1]
        );
    }
    if let Some(max) = grid.max_depletion_probability {
        match ranked.first() {
            Some(best) => println!(
                "best          set {best} ({}) keeps depletion <= {:.2}%",
                grid.describe(*best),
                100.0 * max
            ),
            None => println!(
                "best          no set keeps depletion <= {:.2}%",
                100.0 * max
            ),
        }
    }
    println!("results       {}", dir.display());
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
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

/// `backstop merge`.
pub fn merge(dirs: &[PathBuf], out: &Path, quiet: bool) -> Result<()> {
    if dirs.is_empty() {
        bail!("merge needs the shard folders (shard-K-of-N) of one sweep");
    }
    let mut shards: BTreeMap<u32, (PathBuf, Manifest)> = BTreeMap::new();
    let mut first: Option<(PathBuf, String, u32)> = None;
    for dir in dirs {
        let m = read_manifest(dir)?;
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
        let t = backstop_data::read_paths(&dir.join("paths.parquet"))?;
        if t.len() as u64 != to - from {
            bail!(
                "{}: paths.parquet has {} rows, the shard has {} work items",
                dir.display(),
                t.len(),
                to - from
            );
        }
        let h = backstop_data::read_haircuts(&dir.join("haircuts.parquet"))?;
        append(&mut all, &mut cuts, t, h);
    }
    let dir = out.join(&base.name);
    finalize(&dir, &base, &grid, &hash, &all, &cuts, quiet)
}
