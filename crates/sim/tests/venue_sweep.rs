//! `[sweep] venue = [...]`: a sweep across rule books. Each set is the
//! scenario read with that `venue` (the file's own keys still overriding the
//! rule book), and runs byte for byte as that scenario does on its own.

use std::path::Path;

use backstop_sim::config::grid::SweepGrid;
use backstop_sim::config::sweep::{venue_code, venue_name};
use backstop_sim::{Prepared, Scenario};

const VENUES: [&str; 5] = ["binance-usdm", "hyperliquid", "dydx-v4", "bitmex", "drift"];

/// The scenario without its sweep, its `venue` line as given.
fn body(venue_line: &str) -> String {
    format!(
        r#"name = "venue-sweep"
{venue_line}
seed = 11
paths = 3
start = "2025-10-10T00:00:00Z"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
impact = {{ model = "square_root", volume_usd = 50000000.0, permanent_fraction = 0.3 }}

[path]
kind = "jump"
steps = 240
volatility = 0.9
intensity = 400.0
jump_mean = -0.04
jump_stdev = 0.04

[population]
kind = "generated"
accounts = 300
notional = {{ distribution = "pareto", scale = 2000.0, shape = 1.3 }}
max_notional = 2000000.0
leverage = {{ distribution = "lognormal", median = 12.0, sigma = 0.7 }}
long_fraction = 0.6

[liquidation]
fee = 0.004
"#
    )
}

fn swept(extra: &str) -> String {
    format!(
        "{}\n[sweep]\nvenue = [\"binance-usdm\", \"hyperliquid\", \"dydx-v4\", \"bitmex\", \"drift\"]\n{extra}",
        body("venue = \"hyperliquid\"")
    )
}

fn read(text: &str) -> Scenario {
    Scenario::from_toml_str(text, Path::new("venue-sweep.toml")).unwrap()
}

fn metrics(s: Scenario) -> Vec<String> {
    let p = Prepared::new(s, Path::new(".")).unwrap();
    (0..3)
        .map(|i| format!("{:?}", p.run_metrics(i).unwrap()))
        .collect()
}

#[test]
fn each_set_is_the_scenario_under_that_venue() {
    let base = read(&swept(""));
    let grid = SweepGrid::new(&base, base.sweep.as_ref().unwrap()).unwrap();
    assert_eq!(grid.sets, 5, "no extra set: the file's own venue is listed");
    assert_eq!(grid.current, None);
    assert_eq!(grid.parameters[0].key, "venue");
    assert_eq!(grid.parameters[0].values, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    for (set, venue) in VENUES.iter().enumerate() {
        let set = set as u32;
        assert_eq!(grid.describe(set), format!("venue = {venue}"));
        let applied = grid.apply(&base, set).unwrap();
        let direct = read(&body(&format!("venue = \"{venue}\"")));
        assert_eq!(applied, direct, "{venue}");
        assert_eq!(applied.venue.as_deref(), Some(*venue));
        // The file's own key wins over every rule book.
        assert_eq!(applied.liquidation.fee, 0.004, "{venue}");
        assert_eq!(metrics(applied), metrics(direct), "{venue}");
    }
    // The rule books differ where the file is silent.
    let modes: Vec<_> = (0..5)
        .map(|s| grid.apply(&base, s).unwrap().liquidation.mode)
        .collect();
    assert_ne!(modes[0], modes[1]);
    assert!(
        grid.apply(&base, 2).unwrap().liquidation.limit.is_some(),
        "dYdX's fillable-price limit"
    );
    assert!(grid.apply(&base, 0).unwrap().liquidation.limit.is_none());
}

/// Sets that share their spare engines (`Prepared::share_engines_with`, as
/// `backstop sweep` links its sets) run each path as the set does alone, the
/// paths taken in turn across the five rule books (each engine restarted
/// from another book's template), on one thread and on two.
#[test]
fn sets_sharing_engines_run_as_each_alone() {
    let base = read(&swept(""));
    let grid = SweepGrid::new(&base, base.sweep.as_ref().unwrap()).unwrap();
    let alone: Vec<Vec<String>> = (0..5)
        .map(|set| metrics(grid.apply(&base, set).unwrap()))
        .collect();
    for threads in [1, 2] {
        let mut sets: Vec<Prepared> = (0..5)
            .map(|set| Prepared::new(grid.apply(&base, set).unwrap(), Path::new(".")).unwrap())
            .collect();
        let (first, rest) = sets.split_first_mut().unwrap();
        for p in rest {
            p.share_engines_with(first);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut shared = vec![Vec::new(); 5];
        pool.install(|| {
            for i in 0..3 {
                for (set, p) in sets.iter().enumerate() {
                    shared[set].push(format!("{:?}", p.run_metrics(i).unwrap()));
                }
            }
        });
        assert_eq!(shared, alone, "{threads} threads");
    }
}

#[test]
fn venue_codes_and_names_round_trip() {
    for (i, v) in VENUES.iter().enumerate() {
        assert_eq!(venue_code(v), Some(i as f64));
        assert_eq!(venue_name(i as f64), Some(*v));
    }
    assert_eq!(venue_code("binance"), None);
    assert_eq!(venue_name(5.0), None);
    assert_eq!(venue_name(0.5), None);
}

/// With numeric parameters too, the venue is the slowest axis; the file's
/// own venue, when listed, is the current value (no extra set).
#[test]
fn venue_is_the_slowest_axis_and_own_venue_is_current() {
    let text = format!(
        "{}\n[sweep]\nvenue = [\"dydx-v4\", \"bitmex\"]\n[[sweep.parameter]]\nkey = \"liquidation.fee\"\nvalues = [0.004, 0.01]\n",
        body("venue = \"bitmex\"")
    );
    let base = read(&text);
    let grid = SweepGrid::new(&base, base.sweep.as_ref().unwrap()).unwrap();
    assert_eq!(grid.sets, 4);
    assert!(grid.current.is_none());
    assert_eq!(grid.capital_efficiency, "liquidation.fee");
    assert_eq!(grid.describe(1), "venue = dydx-v4, liquidation.fee = 0.01");
    assert_eq!(grid.describe(2), "venue = bitmex, liquidation.fee = 0.004");
    let s = grid.apply(&base, 1).unwrap();
    assert_eq!(s.venue.as_deref(), Some("dydx-v4"));
    assert_eq!(s.liquidation.fee, 0.01);
}

#[test]
fn a_bad_venue_list_names_its_key() {
    for (list, key, message) in [
        ("[\"dydx\"]", "sweep.venue[0]", "unknown venue `dydx`"),
        ("[\"drift\", \"drift\"]", "sweep.venue[1]", "listed twice"),
        ("[]", "sweep.venue", "the venue list is empty"),
    ] {
        let text = format!("{}\n[sweep]\nvenue = {list}\n", body("venue = \"bitmex\""));
        let e = Scenario::from_toml_str(&text, Path::new("x.toml")).unwrap_err();
        assert_eq!(e.key(), Some(key), "{list}: {e}");
        assert!(e.to_string().contains(message), "{list}: {e}");
    }
}
