//! A small, fixed results folder written with the real `backstop_data` writers:
//! what a run writes, at test size (deterministic, no simulation).
#![allow(
    dead_code,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)]

use std::path::Path;

use backstop_data::{
    BandsTable, HaircutsTable, PATH_METRICS, PathsTable, StepsTable, write_bands, write_haircuts,
    write_paths, write_steps,
};
use serde_json::{Value, json};

/// Which results to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 200 paths of a crash: depletion on some, socialized loss on a few, ADL.
    Crash,
    /// One path (historical replay) with haircuts and ADL.
    Single,
    /// 200 quiet paths: no liquidation, no ADL, no socialized loss.
    Quiet,
    /// Two parameter sets of 100 paths each.
    Sweep,
    /// [`Kind::Single`] with every control on: circuit breaker, volatility
    /// margin, three-source oracle, and a `collateral_converted` metric.
    Controls,
}

impl Kind {
    /// One path (historical replay).
    pub fn single(self) -> bool {
        matches!(self, Kind::Single | Kind::Controls)
    }
}

/// `[controls.breaker]` of the [`Kind::Controls`] fixture: threshold, window, pause.
pub const BREAKER: (f64, usize, usize) = (0.015, 4, 3);

/// The breaker rule (docs/model.md §10) on `marks` with tick 0.1: whether each
/// step is paused, and the number of trips.
pub fn breaker(marks: &[f64]) -> (Vec<bool>, usize) {
    let (threshold, window, pause) = BREAKER;
    let ticks: Vec<i64> = marks.iter().map(|m| (m / 0.1).round() as i64).collect();
    let mut paused = vec![false; ticks.len()];
    let (mut until, mut trips) = (0usize, 0usize);
    for i in 0..ticks.len() {
        if i < until {
            paused[i] = true;
            continue;
        }
        let moved = ticks[i.saturating_sub(window)..i]
            .iter()
            .any(|r| (ticks[i] - r).abs() as f64 > threshold * *r as f64);
        if moved {
            trips += 1;
            until = i + pause;
            paused[i] = true;
        }
    }
    (paused, trips)
}

/// Margin multiplier of the [`Kind::Controls`] fixture at `step`: 1, up to 2 in
/// steps of 0.25 every 10 steps from step 40, back to 1.2 after step 150.
pub fn multiplier(step: u32) -> f64 {
    match step {
        0..40 => 1.0,
        40..80 => 1.0 + 0.25 * f64::from((step - 40) / 10 + 1),
        80..150 => 2.0,
        _ => 1.2,
    }
}

pub const STEPS: u32 = 240;
pub const STEP_SECONDS: f64 = 60.0;
pub const START_NS: i64 = 1_760_126_400_000_000_000; // 2025-10-10T20:00:00Z
pub const INITIAL: f64 = 2_000_000.0;
pub const PRICE: f64 = 121_000.0;

/// Deterministic uniform numbers in (0, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Share of the crash done by `step`: 0 before step 30, 1 after step 90.
fn ramp(step: u32) -> f64 {
    (f64::from(step.saturating_sub(30)) / 60.0).min(1.0)
}

/// One path's per-step series.
struct PathRun {
    mark: Vec<f64>,
    fund: Vec<f64>,
    long: Vec<f64>,
    short: Vec<f64>,
    adl: Vec<f64>,
    adl_count: Vec<u32>,
    social: Vec<f64>,
    haircuts: Vec<(u64, f64)>,
    metrics: [Option<f64>; PATH_METRICS.len()],
}

fn simulate(kind: Kind, rng: &mut Lcg) -> PathRun {
    let quiet = kind == Kind::Quiet;
    let severity = if quiet { 0.0 } else { 0.4 + 1.2 * rng.next() };
    let shock = -0.3 * severity;
    // Heavy-tailed fund loss demand; beyond the fund it is socialized / ADL'd.
    let demand = if quiet {
        0.0
    } else if kind.single() {
        2_600_000.0
    } else {
        let u = rng.next();
        350_000.0 * severity * (-u.ln()).powf(1.6)
    };
    let n = STEPS as usize;
    let (mut mark, mut fund, mut long, mut short) =
        (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (mut adl, mut adl_count, mut social) = (vec![0.0; n], vec![0u32; n], vec![0.0; n]);
    let mut first_depletion = None;
    let mut paid = 0.0;
    for s in 0..STEPS {
        let i = s as usize;
        let r = ramp(s);
        mark[i] = PRICE * (1.0 + shock * r) * (1.0 + 0.002 * (f64::from(s) * 0.7).sin());
        let want = demand * r;
        let pay = want.min(INITIAL);
        let shortfall = want - pay;
        let prev_short = if i > 0 {
            (demand * ramp(s - 1) - INITIAL).max(0.0)
        } else {
            0.0
        };
        fund[i] = INITIAL - pay;
        if shortfall > 0.0 && first_depletion.is_none() {
            first_depletion = Some(f64::from(s));
        }
        let new_short = shortfall.max(0.0) - prev_short;
        if new_short > 0.0 {
            // The replay, and the worst crash paths, also socialize half the shortfall.
            let adl_share = if kind.single() || demand > 3_000_000.0 {
                social[i] = new_short * 0.5;
                0.5
            } else {
                1.0
            };
            adl[i] = new_short * adl_share * 3.0;
            adl_count[i] = 1 + (new_short * adl_share / 50_000.0) as u32;
        }
        paid = pay;
        if !quiet && (30..90).contains(&s) {
            long[i] = 2_000_000.0 * severity * (0.5 + rng.next());
            short[i] = 150_000.0 * rng.next();
        }
    }
    let social_total: f64 = social.iter().sum();
    let adl_total: f64 = adl.iter().sum();
    let mut haircuts = Vec::new();
    if social_total > 0.0 {
        let k = 40;
        let weights: Vec<f64> = (0..k).map(|_| (-rng.next().ln()).powi(2)).collect();
        let wsum: f64 = weights.iter().sum();
        haircuts = weights
            .iter()
            .enumerate()
            .map(|(j, w)| (1000 + j as u64 * 7, social_total * w / wsum))
            .collect();
    }
    let min = fund.iter().copied().fold(f64::INFINITY, f64::min);
    let min_step = fund.iter().position(|v| *v == min).unwrap_or(0) as f64;
    let liq_total: f64 = long.iter().sum::<f64>() + short.iter().sum::<f64>();
    let liq_count: f64 = long.iter().filter(|v| **v > 0.0).count() as f64 * 3.0;
    let mut metrics = [Some(0.0); PATH_METRICS.len()];
    let mut set = |name: &str, v: Option<f64>| {
        let k = PATH_METRICS
            .iter()
            .position(|m| *m == name)
            .expect("known metric");
        metrics[k] = v;
    };
    set("steps", Some(f64::from(STEPS)));
    set("insurance_fund_initial", Some(INITIAL));
    set("insurance_fund_min", Some(min));
    set("insurance_fund_final", Some(fund[n - 1]));
    set("insurance_fund_max_drawdown", Some(INITIAL - min));
    set(
        "insurance_fund_max_drawdown_pct",
        Some((INITIAL - min) / INITIAL),
    );
    set("insurance_fund_loss", Some(paid));
    set("insurance_fund_min_step", Some(min_step));
    set("insurance_fund_first_depletion_step", first_depletion);
    set("insurance_fund_payouts", Some(paid));
    set("bad_debt", Some(demand));
    set("socialized_loss", Some(social_total));
    set("accounts_haircut", Some(haircuts.len() as f64));
    set(
        "adl_closes",
        Some(adl_count.iter().map(|c| f64::from(*c)).sum()),
    );
    set("adl_notional", Some(adl_total));
    set("adl_excess_notional", Some(adl_total * 2.0 / 3.0));
    set("liquidation_orders", Some(liq_count));
    set("liquidated_notional", Some(liq_total));
    set("accounts_liquidated", Some(liq_count * 0.9));
    set("largest_deficit", Some(demand * 0.2));
    set("second_largest_deficit", Some(demand * 0.1));
    PathRun {
        mark,
        fund,
        long,
        short,
        adl,
        adl_count,
        social,
        haircuts,
        metrics,
    }
}

/// Nearest-rank quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn wilson(k: f64, n: f64) -> [f64; 2] {
    let z: f64 = 1.959_964;
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    [(c - h).max(0.0), (c + h).min(1.0)]
}

fn quantiles_json(values: &[f64]) -> Value {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mean = if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    };
    json!({
        "count": v.len(), "mean": mean, "min": quantile(&v, 0.0), "p1": quantile(&v, 0.01), "p5": quantile(&v, 0.05),
        "p25": quantile(&v, 0.25), "p50": quantile(&v, 0.5), "p75": quantile(&v, 0.75),
        "p95": quantile(&v, 0.95), "p99": quantile(&v, 0.99), "p99_9": quantile(&v, 0.999),
        "max": v.last().copied().unwrap_or(0.0)
    })
}

fn tail(losses: &[f64], level: f64) -> (f64, f64) {
    let mut v = losses.to_vec();
    v.sort_by(f64::total_cmp);
    let var = quantile(&v, level);
    let worst: Vec<f64> = v.iter().copied().filter(|x| *x >= var).collect();
    (var, worst.iter().sum::<f64>() / worst.len().max(1) as f64)
}

/// Writes the results folder of `kind` into `dir` and returns its `summary.json`.
pub fn write(dir: &Path, kind: Kind) -> Value {
    let (sets, per_set) = match kind {
        Kind::Single | Kind::Controls => (1u32, 1u64),
        Kind::Sweep => (2, 100),
        Kind::Crash | Kind::Quiet => (1, 200),
    };
    let mut rng = Lcg(20_251_010);
    let mut paths = PathsTable::default();
    let mut haircuts = HaircutsTable::default();
    let mut runs = Vec::new();
    for set in 0..sets {
        for p in 0..per_set {
            let run = simulate(kind, &mut rng);
            paths.push(set, p, &run.metrics);
            for (account, amount) in &run.haircuts {
                haircuts.param_set.push(set);
                haircuts.path.push(p);
                haircuts.account_id.push(*account);
                haircuts.amount.push(*amount);
            }
            if set == 0 {
                runs.push(run);
            }
        }
    }
    let meta = vec![("backstop.scenario".to_owned(), "fixture".to_owned())];
    write_paths(&dir.join("paths.parquet"), &paths, &meta).expect("write paths");
    write_haircuts(&dir.join("haircuts.parquet"), &haircuts, &meta).expect("write haircuts");

    // Path 0's full series.
    if kind == Kind::Controls {
        let (paused, trips) = breaker(&runs[0].mark);
        let steps_paused = paused.iter().filter(|p| **p).count();
        let set = |run: &mut PathRun, name: &str, v: f64| {
            let k = PATH_METRICS
                .iter()
                .position(|m| *m == name)
                .expect("metric");
            run.metrics[k] = Some(v);
        };
        set(&mut runs[0], "breaker_trips", trips as f64);
        set(&mut runs[0], "breaker_steps_paused", steps_paused as f64);
        set(&mut runs[0], "margin_multiplier_max", 2.0);
        set(&mut runs[0], "oracle_sources_dropped", 3.0);
        paths = PathsTable::default();
        paths.push(0, 0, &runs[0].metrics);
        write_paths(&dir.join("paths.parquet"), &paths, &meta).expect("write paths");
    }
    let r0 = &runs[0];
    // Liquidations wait while the breaker pauses them.
    let paused = if kind == Kind::Controls {
        breaker(&r0.mark).0
    } else {
        vec![false; STEPS as usize]
    };
    let mut steps = StepsTable::with_capacity(STEPS as usize);
    for s in 0..STEPS {
        let i = s as usize;
        let live = if paused[i] { 0.0 } else { 1.0 };
        steps.step.push(s);
        steps.ts_ns.push(START_NS + i64::from(s) * 60_000_000_000);
        steps.market.push("btc".to_owned());
        steps.mark.push(r0.mark[i]);
        steps.insurance_fund.push(r0.fund[i]);
        steps.bad_debt.push(0.0);
        steps.socialized_loss.push(r0.social[i]);
        steps.insolvency.push(0.0);
        steps.adl_notional.push(r0.adl[i]);
        steps.adl_count.push(r0.adl_count[i]);
        steps.liquidated_long_notional.push(r0.long[i] * live);
        steps.liquidated_short_notional.push(r0.short[i] * live);
        steps.liquidations.push(u32::from(r0.long[i] * live > 0.0));
        steps.open_interest.push(1e8);
        steps.funding_rate.push(None);
        steps.margin_multiplier.push(if kind == Kind::Controls {
            multiplier(s)
        } else {
            1.0
        });
        steps.liquidations_paused.push(paused[i]);
        steps.path_price.push(r0.mark[i]);
    }
    write_steps(&dir.join("steps.parquet"), &steps, &meta).expect("write steps");

    // Bands across the parameter set 0 paths.
    let mut bands = BandsTable::default();
    type Get = fn(&PathRun) -> &Vec<f64>;
    let series: [(&str, &str, Get); 5] = [
        ("", "insurance_fund", |r| &r.fund),
        ("btc", "mark", |r| &r.mark),
        ("btc", "liquidated_long_notional", |r| &r.long),
        ("btc", "liquidated_short_notional", |r| &r.short),
        ("btc", "adl_notional", |r| &r.adl),
    ];
    if !kind.single() {
        for s in 0..STEPS {
            let i = s as usize;
            for (market, name, get) in &series {
                let mut v: Vec<f64> = runs.iter().map(|r| get(r)[i]).collect();
                v.sort_by(f64::total_cmp);
                bands.step.push(s);
                bands.ts_ns.push(START_NS + i64::from(s) * 60_000_000_000);
                bands.market.push((*market).to_owned());
                bands.series.push((*name).to_owned());
                for (k, q) in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99].iter().enumerate() {
                    bands.quantiles[k].push(quantile(&v, *q));
                }
                bands.mean.push(v.iter().sum::<f64>() / v.len() as f64);
                bands.min.push(v[0]);
                bands.max.push(v[v.len() - 1]);
            }
        }
        write_bands(&dir.join("bands.parquet"), &bands, &meta).expect("write bands");
    }

    // summary.json, aggregated over parameter set 0.
    let n = runs.len() as f64;
    let col = |name: &str| -> Vec<f64> {
        let k = PATH_METRICS
            .iter()
            .position(|m| *m == name)
            .expect("metric");
        runs.iter().filter_map(|r| r.metrics[k]).collect()
    };
    let depleted = col("insurance_fund_first_depletion_step").len() as f64;
    let socialized = col("socialized_loss").iter().filter(|v| **v > 0.0).count() as f64;
    let adl_paths = col("adl_closes").iter().filter(|v| **v > 0.0).count() as f64;
    let losses = col("insurance_fund_loss");
    let (var_95, es_95) = tail(&losses, 0.95);
    let (var_99, es_99) = tail(&losses, 0.99);
    let mut deficits = col("largest_deficit");
    deficits.sort_by(f64::total_cmp);
    let mut metrics = serde_json::Map::new();
    for name in PATH_METRICS {
        metrics.insert(name.to_owned(), quantiles_json(&col(name)));
    }
    let (name, model, last_line) = match kind {
        Kind::Crash => ("fixture-crash", "garch", "adl"),
        Kind::Single => ("fixture-replay", "series", "socialize"),
        Kind::Controls => ("fixture-controls", "series", "socialize"),
        Kind::Quiet => ("fixture-quiet", "garch", "adl"),
        Kind::Sweep => ("fixture-sweep", "garch", "adl"),
    };
    let summary = json!({
        "backstop_version": "0.1.0",
        "scenario": {
            "name": name,
            "description": "Test fixture: a crash of 12% to 48% over an hour, 4 hours in all",
            "seed": 7, "step_seconds": STEP_SECONDS, "start": "2025-10-10T20:00:00Z",
            "market": { "btc": { "price": PRICE, "tick_size": 0.1, "lot_size": 0.001,
                "tiers": [ {"notional_floor": 0, "imr": 0.01, "mmr": 0.005},
                           {"notional_floor": 250000, "imr": 0.02, "mmr": 0.01} ],
                "funding": {"rate": 0.0001, "interval_steps": 480},
                "impact": {"model": "square_root", "coefficient": 1.0} } },
            "path": { "kind": model, "steps": STEPS, "omega": 1e-6, "alpha": 0.08, "beta": 0.9 },
            "population": { "kind": "generated", "accounts": 10000 },
            "liquidation": { "mode": "to_target", "fee": 0.005 },
            "insurance_fund": { "initial": INITIAL, "floor": 0.0 },
            "last_line": { "kind": last_line, "adl": "queue", "ranking": "binance" }
        },
        "population": { "accounts": 10000, "positions": 10000, "collateral": 1.2e8 },
        "run": { "paths": runs.len(), "steps": STEPS, "path_model": model },
        "aggregates": {
            "paths": runs.len(),
            "insurance_fund_depletion": { "count": depleted, "probability": depleted / n, "ci95": wilson(depleted, n) },
            "socialized_loss_any": { "count": socialized, "probability": socialized / n, "ci95": wilson(socialized, n) },
            "adl_any": { "count": adl_paths, "probability": adl_paths / n, "ci95": wilson(adl_paths, n) },
            "insurance_fund_loss": { "var_95": var_95, "es_95": es_95, "var_99": var_99, "es_99": es_99 },
            "cover_1": deficits.last().copied().unwrap_or(0.0),
            "cover_2": deficits.iter().rev().take(2).sum::<f64>(),
            "metrics": metrics
        }
    });
    let mut summary = summary;
    if kind == Kind::Controls {
        let (threshold, window, pause) = BREAKER;
        summary["scenario"]["controls"] = json!({
            "breaker": { "enabled": true, "threshold": threshold, "window_steps": window, "pause_steps": pause },
            "vol_margin": { "enabled": true, "sigma_ref": 0.003, "half_life_steps": 20.0, "update_interval_steps": 10, "cap": 2.0 },
            "oracle": { "enabled": true, "sources": 3, "aggregation": "median", "deviation_guard": 0.05,
                "staleness_limit_steps": 3, "faulty_source": 0, "fault_start_step": 100, "fault_steps": 3,
                "fault_wick": -0.15, "fault_stale": false }
        });
        // A metric of a control this crate does not know yet.
        summary["aggregates"]["metrics"]["collateral_converted"] = quantiles_json(&[1_234_567.0]);
    }
    let text = serde_json::to_string_pretty(&summary).expect("json");
    std::fs::write(dir.join("summary.json"), text).expect("write summary");
    summary
}

/// The in-memory sweep grid used with [`Kind::Sweep`].
pub fn sweep_grid() -> backstop_report::DepletionGrid {
    let x_values = vec![1e6, 2e6, 4e6, 8e6];
    let y_values = vec![0.0025, 0.005, 0.01];
    let probability = y_values
        .iter()
        .map(|fee: &f64| {
            x_values
                .iter()
                .map(|fund: &f64| Some((0.6 * (1e6 / fund) * (0.005 / fee).sqrt()).min(1.0)))
                .collect()
        })
        .collect();
    backstop_report::DepletionGrid {
        x_name: "insurance_fund.initial".to_owned(),
        x_values,
        y_name: "liquidation.fee".to_owned(),
        y_values,
        probability,
        target: Some(0.05),
        meets: Vec::new(),
        held: Vec::new(),
    }
}
