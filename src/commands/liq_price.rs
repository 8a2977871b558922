//! `backstop liq-price`: liquidation and bankruptcy prices of an account's
//! positions under a venue's rule book
//! ([`backstop_sim::run::liq_price::liquidation_prices`], the engine's own
//! computation).

use std::path::Path;

use anyhow::{Context, Result};
use backstop_sim::run::liq_price::{AccountFile, PositionPrices, liquidation_prices};

/// Prints each position's prices as a table, or as JSON with `json`.
///
/// # Errors
/// An account file that cannot be read or priced, naming the file and key.
pub fn liq_price(file: &Path, json: bool) -> Result<()> {
    let account = AccountFile::load(file)?;
    let rows = liquidation_prices(&account).with_context(|| file.display().to_string())?;
    if json {
        let doc = serde_json::json!({ "venue": account.venue, "positions": rows });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", table(&account.venue, &rows));
    }
    Ok(())
}

fn price(p: Option<f64>) -> String {
    p.map_or_else(|| "--".to_string(), |p| format!("{p:.2}"))
}

/// The human-readable table.
fn table(venue: &str, rows: &[PositionPrices]) -> String {
    let mut s = format!(
        "venue {venue}\n{:<8} {:>12} {:>12} {:>9} {:>12} {:>12} {:>12} {:>9} {:>7} {:>8} {:>12}\n",
        "market",
        "size",
        "entry",
        "mode",
        "mark",
        "liq price",
        "bankruptcy",
        "distance",
        "bracket",
        "mmr",
        "maint. amt"
    );
    for r in rows {
        s.push_str(&format!(
            "{:<8} {:>12} {:>12.2} {:>9} {:>12.2} {:>12} {:>12} {:>9} {:>7} {:>7.3}% {:>12.2}\n",
            r.market,
            r.size,
            r.entry,
            r.margin_mode,
            r.mark,
            price(r.liquidation_price),
            price(r.bankruptcy_price),
            r.distance_pct
                .map_or_else(|| "--".to_string(), |d| format!("{d:+.2}%")),
            r.bracket + 1,
            r.bracket_mmr * 100.0,
            r.maintenance_amount
        ));
    }
    s
}
