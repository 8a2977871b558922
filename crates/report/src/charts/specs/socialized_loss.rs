//! The socialized-loss chart: its distribution across paths, or for one path
//! the haircut per account.

use super::text::{MIN_HISTOGRAM, message_chart, subtitle, title};
use crate::charts::draw::render;
use crate::charts::plot::Histogram;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, pct_interval, usd};

/// Socialized loss: across paths, its distribution and the share of paths with any;
/// for one path, the haircut per account.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn socialized_loss(data: &ReportData) -> Result<Chart, ReportError> {
    if data.single_path() {
        haircuts_chart(data)
    } else {
        across_paths_chart(data)
    }
}

/// One path: the haircut per account.
fn haircuts_chart(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "socialized_loss";
    let what = "socialized-loss haircut per account";
    let amounts: Vec<f64> = data
        .haircuts
        .iter()
        .map(|h| h.amount)
        .filter(|a| a.is_finite() && *a > 0.0)
        .collect();
    if amounts.is_empty() {
        return message_chart(
            data,
            name,
            what,
            "No socialized loss in this run: no account was haircut".to_owned(),
        );
    }
    let total: f64 = amounts.iter().sum();
    if amounts.len() < MIN_HISTOGRAM {
        // A histogram of one or two values says less than the values.
        let list: Vec<String> = amounts.iter().map(|a| usd(*a)).collect();
        return message_chart(
            data,
            name,
            what,
            format!(
                "{} haircut: {}",
                if amounts.len() == 1 {
                    "One account"
                } else {
                    "Two accounts"
                },
                list.join(" and ")
            ),
        );
    }
    let caption = format!(
        "Haircut charged per account: {} accounts, {} in total, largest {}.",
        count(amounts.len() as f64),
        usd(total),
        usd(amounts.iter().copied().fold(0.0, f64::max))
    );
    render(
        name,
        title(data, what),
        format!(
            "{}; {} accounts haircut, {} in total",
            subtitle(data),
            count(amounts.len() as f64),
            usd(total)
        ),
        caption,
        HEIGHT,
        &Plot::Histogram(Histogram {
            values: amounts,
            x_desc: "Haircut per account (USD)".to_owned(),
            y_desc: "Accounts".to_owned(),
        }),
    )
}

/// Across paths: the socialized loss of the paths with any, and their share.
fn across_paths_chart(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "socialized_loss";
    let what = "socialized loss across paths";
    let values = data.paths.values("socialized_loss", data.first_param_set());
    let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
    let any = &data.summary.aggregates.socialized_loss_any;
    if positive.is_empty() {
        return message_chart(
            data,
            name,
            what,
            format!(
                "No socialized loss in any of the {} paths",
                count(values.len().max(1) as f64)
            ),
        );
    }
    let share = pct_interval(any.probability, any.ci95[0], any.ci95[1]);
    if positive.len() < MIN_HISTOGRAM {
        let list: Vec<String> = positive.iter().map(|a| usd(*a)).collect();
        return message_chart(
            data,
            name,
            what,
            format!(
                "Socialized loss on {} of {} paths: {}",
                count(positive.len() as f64),
                count(values.len().max(1) as f64),
                list.join(" and ")
            ),
        );
    }
    let caption = format!(
        "Socialized loss per path, for the {} paths with any; share of paths with any: {share} (95% CI).",
        count(positive.len() as f64)
    );
    render(
        name,
        title(data, what),
        format!("{}; paths with any: {share}", subtitle(data)),
        caption,
        HEIGHT,
        &Plot::Histogram(Histogram {
            values: positive,
            x_desc: "Socialized loss per path, paths with any (USD)".to_owned(),
            y_desc: "Paths".to_owned(),
        }),
    )
}
