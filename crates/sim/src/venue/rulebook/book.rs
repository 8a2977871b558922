//! The rule book's types: [`Venue`], [`RuleBook`] (the rules as data) and its
//! rendering in the scenario's keys.

/// A venue with a rule book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Venue {
    /// Binance USDⓈ-M futures.
    BinanceUsdm,
    /// Hyperliquid perpetuals.
    Hyperliquid,
    /// dYdX v4 (dYdX Chain).
    DydxV4,
    /// BitMEX linear perpetuals.
    Bitmex,
    /// Drift v2 perpetuals.
    Drift,
}

impl Venue {
    /// Every venue, in the order docs/venues.md lists them.
    pub const ALL: [Venue; 5] = [
        Venue::BinanceUsdm,
        Venue::Hyperliquid,
        Venue::DydxV4,
        Venue::Bitmex,
        Venue::Drift,
    ];

    /// The name a scenario uses (`venue = "binance-usdm"`).
    pub fn name(self) -> &'static str {
        match self {
            Venue::BinanceUsdm => "binance-usdm",
            Venue::Hyperliquid => "hyperliquid",
            Venue::DydxV4 => "dydx-v4",
            Venue::Bitmex => "bitmex",
            Venue::Drift => "drift",
        }
    }

    /// The venue of a name, if any.
    pub fn from_name(name: &str) -> Option<Venue> {
        Venue::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// One margin bracket of a rule book: `(notional floor USD, initial rate,
/// maintenance rate)`; the maintenance amounts follow (continuity, Binance's
/// `cum` rule).
pub type Bracket = (f64, f64, f64);

/// A venue's published rules, as the scenario spells them.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleBook {
    /// The venue.
    pub venue: Venue,
    /// Margin brackets of BTC, the asset every bundled scenario trades; a
    /// market of another asset gets them too unless the scenario gives its own
    /// `tiers` (docs/venues.md, "Per-asset schedules").
    pub btc_brackets: &'static [Bracket],
    /// Seconds between funding settlements.
    pub funding_interval_seconds: u32,
    /// Largest funding rate per interval in size (the venue's clamp).
    pub funding_cap: f64,
    /// `liquidation.mode`: `full`, `to_target`, `chunked` or `per_block`.
    pub liquidation_mode: &'static str,
    /// Liquidation (clearance) fee on liquidated notional.
    pub liquidation_fee: f64,
    /// Share of that fee paid to the insurance fund.
    pub insurance_fund_share: f64,
    /// Seconds between a breach and its liquidation.
    pub latency_seconds: u32,
    /// `to_target`: buffer over maintenance after a partial liquidation.
    pub target_buffer: f64,
    /// `chunked`: largest share of a position per liquidation order.
    pub chunk_fraction: f64,
    /// `chunked`: smallest order, USD.
    pub chunk_min_usd: f64,
    /// `chunked`: positions at or below this notional close whole, USD.
    pub chunk_full_below_usd: f64,
    /// `chunked`: seconds between two orders on one account.
    pub cooldown_seconds: u32,
    /// `chunked`: after the first chunk, the next order is for the whole
    /// remaining position.
    pub chunk_then_whole: bool,
    /// The insurance fund's balance at the start when the venue has none of its
    /// own (`Some(0.0)`: Hyperliquid's backstop is its liquidity vault);
    /// `None` leaves the scenario's (or the default) balance.
    pub insurance_fund_initial: Option<f64>,
    /// `last_line.kind`.
    pub last_line: &'static str,
    /// `last_line.adl`.
    pub adl: &'static str,
    /// `last_line.ranking`.
    pub ranking: &'static str,
    /// `last_line.adl_price`: `"bankruptcy"` or `"previous_mark"`.
    pub adl_price: &'static str,
    /// `[liquidation.limit]` of kind `fillable`: `(spread_to_maintenance,
    /// bankruptcy_adjustment)` (dYdX); `None`: no limit.
    pub fillable_limit: Option<(f64, f64)>,
    /// `[liquidation.blocks]` of `mode = "per_block"` (dYdX); `None`: no
    /// table.
    pub block_limits: Option<BlockLimits>,
}

/// A venue's per-block liquidation limits (`[liquidation.blocks]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockLimits {
    /// Seconds per block.
    pub block_seconds: f64,
    /// Largest share of a position per block.
    pub position_portion: f64,
    /// Smallest notional per block, USD.
    pub min_position_usd: f64,
    /// Largest notional per account per block, USD.
    pub max_account_usd: f64,
}

impl RuleBook {
    /// Steps of `step_seconds` covering `seconds`, rounded up (a rule never
    /// acts sooner than the venue's).
    pub fn steps(seconds: u32, step_seconds: u32) -> u32 {
        seconds.div_ceil(step_seconds.max(1))
    }

    /// Funding interval in steps of `step_seconds` (at least one).
    pub fn funding_interval_steps(&self, step_seconds: u32) -> u32 {
        let s = step_seconds.max(1);
        ((self.funding_interval_seconds + s / 2) / s).max(1)
    }

    /// The rule book as a TOML document in the scenario's own keys, for a
    /// scenario with these markets and steps of `step_seconds`.
    pub fn to_toml(&self, markets: &[&str], step_seconds: u32) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        for m in markets {
            let _ = writeln!(t, "[market.{m}]");
            let tiers: Vec<String> = self
                .btc_brackets
                .iter()
                .map(|(floor, imr, mmr)| {
                    format!("{{ notional_floor = {floor:?}, imr = {imr:?}, mmr = {mmr:?} }}")
                })
                .collect();
            let _ = writeln!(t, "tiers = [{}]", tiers.join(", "));
            let _ = writeln!(t, "[market.{m}.funding]");
            let _ = writeln!(
                t,
                "interval_steps = {}",
                self.funding_interval_steps(step_seconds)
            );
            let _ = writeln!(t, "cap = {:?}", self.funding_cap);
        }
        let _ = writeln!(t, "[liquidation]");
        let _ = writeln!(t, "mode = {:?}", self.liquidation_mode);
        let _ = writeln!(t, "fee = {:?}", self.liquidation_fee);
        let _ = writeln!(t, "insurance_fund_share = {:?}", self.insurance_fund_share);
        let _ = writeln!(
            t,
            "latency_steps = {}",
            RuleBook::steps(self.latency_seconds, step_seconds)
        );
        let _ = writeln!(t, "target_buffer = {:?}", self.target_buffer);
        let _ = writeln!(t, "chunk_fraction = {:?}", self.chunk_fraction);
        let _ = writeln!(t, "chunk_min_usd = {:?}", self.chunk_min_usd);
        let _ = writeln!(t, "chunk_full_below_usd = {:?}", self.chunk_full_below_usd);
        let _ = writeln!(t, "chunk_then_whole = {}", self.chunk_then_whole);
        let _ = writeln!(
            t,
            "cooldown_steps = {}",
            RuleBook::steps(self.cooldown_seconds, step_seconds)
        );
        if let Some((smmr, ba)) = self.fillable_limit {
            let _ = writeln!(t, "[liquidation.limit]");
            let _ = writeln!(t, "kind = \"fillable\"");
            let _ = writeln!(t, "spread_to_maintenance = {smmr:?}");
            let _ = writeln!(t, "bankruptcy_adjustment = {ba:?}");
        }
        if let Some(b) = self.block_limits {
            let _ = writeln!(t, "[liquidation.blocks]");
            let _ = writeln!(t, "block_seconds = {:?}", b.block_seconds);
            let _ = writeln!(t, "position_portion = {:?}", b.position_portion);
            let _ = writeln!(t, "min_position_usd = {:?}", b.min_position_usd);
            let _ = writeln!(t, "max_account_usd = {:?}", b.max_account_usd);
        }
        if let Some(initial) = self.insurance_fund_initial {
            let _ = writeln!(t, "[insurance_fund]");
            let _ = writeln!(t, "initial = {initial:?}");
        }
        let _ = writeln!(t, "[last_line]");
        let _ = writeln!(t, "kind = {:?}", self.last_line);
        let _ = writeln!(t, "adl = {:?}", self.adl);
        let _ = writeln!(t, "ranking = {:?}", self.ranking);
        let _ = writeln!(t, "adl_price = {:?}", self.adl_price);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for v in Venue::ALL {
            assert_eq!(Venue::from_name(v.name()), Some(v));
            assert_eq!(v.rule_book().venue, v);
        }
        assert_eq!(Venue::from_name("binance"), None);
    }

    #[test]
    fn brackets_are_well_formed() {
        for v in Venue::ALL {
            let b = v.rule_book().btc_brackets;
            assert_eq!(b[0].0, 0.0, "{v:?}");
            for w in b.windows(2) {
                assert!(w[0].0 < w[1].0 && w[0].2 <= w[1].2, "{v:?}");
            }
            assert!(
                b.iter().all(|&(_, imr, mmr)| 0.0 < mmr && mmr <= imr),
                "{v:?}"
            );
        }
    }

    #[test]
    fn steps_round_up_and_funding_rounds_to_nearest() {
        assert_eq!(RuleBook::steps(30, 60), 1);
        assert_eq!(RuleBook::steps(0, 60), 0);
        assert_eq!(RuleBook::steps(120, 60), 2);
        let hl = Venue::Hyperliquid.rule_book();
        assert_eq!(hl.funding_interval_steps(60), 60);
        assert_eq!(hl.funding_interval_steps(300), 12);
        assert_eq!(
            Venue::BinanceUsdm.rule_book().funding_interval_steps(60),
            480
        );
    }
}
