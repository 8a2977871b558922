//! The insurance-fund loss chart: its distribution across paths, with VaR and
//! ES 99%.

use super::text::{MIN_HISTOGRAM, message_chart, subtitle, title};
use crate::charts::draw::render;
use crate::charts::plot::LossDistribution;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, usd};

/// Distribution of the insurance-fund loss across paths: histogram and exceedance
/// curve with VaR and ES 99% marked.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn drawdown(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "drawdown";
    let what = "insurance-fund loss across paths";
    let losses = data
        .paths
        .values("insurance_fund_loss", data.first_param_set());
    let tail = &data.summary.aggregates.insurance_fund_loss;
    if losses.len() < MIN_HISTOGRAM {
        let dd = data
            .paths
            .values("insurance_fund_max_drawdown", data.first_param_set());
        let text = match (losses.as_slice(), dd.first()) {
            ([l], Some(d)) => format!(
                "One path: insurance-fund loss {}, max drawdown {}",
                usd(*l),
                usd(*d)
            ),
            ([], _) => "No per-path insurance-fund losses in these results".to_owned(),
            (ls, _) => {
                let list: Vec<String> = ls.iter().map(|l| usd(*l)).collect();
                format!("Insurance-fund loss per path: {}", list.join(" and "))
            }
        };
        return message_chart(data, name, what, text);
    }
    if losses.iter().all(|l| *l <= 0.0) {
        return message_chart(
            data,
            name,
            what,
            format!(
                "The insurance fund never lost money in any of the {} paths",
                count(losses.len() as f64)
            ),
        );
    }
    let caption = format!(
        "Insurance-fund loss per path (left, histogram) and the share of paths losing at least x \
         (right, log scale); VaR 99% {} and ES 99% {} dashed.",
        usd(tail.var_99),
        usd(tail.es_99)
    );
    render(
        name,
        title(data, what),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::LossDistribution(LossDistribution {
            losses,
            var_99: tail.var_99,
            es_99: tail.es_99,
        }),
    )
}
