//! `report.html` and `report.md`: the same content, two renderings.

use crate::charts::{self, Chart};
use crate::controls::ControlsSection;
use crate::data::ReportData;
use crate::format::{count, pct, pct_interval, plain, usd};
use crate::summary::Quantiles;
use crate::{CHARTS_DIR, ReportError};

/// A rendered report, before it is written anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The charts, in report order.
    pub charts: Vec<Chart>,
    /// `report.html`: self-contained, SVGs inline.
    pub html: String,
    /// `report.md`: links `charts/{name}.png`.
    pub markdown: String,
}

/// Renders every chart and both documents from `data`.
///
/// # Errors
///
/// The first chart's error ([`ReportError::Chart`], [`ReportError::Png`] or
/// [`ReportError::Invalid`]).
pub fn build(data: &ReportData) -> Result<Report, ReportError> {
    let charts = charts::all(data)?;
    let content = Content::new(data);
    let html = html(&content, &charts);
    let markdown = markdown(&content, &charts);
    Ok(Report {
        charts,
        html,
        markdown,
    })
}

/// One row of the headline table.
struct Row {
    label: String,
    value: String,
    note: String,
}

/// How a metric's values are shown.
#[derive(Clone, Copy)]
enum Unit {
    Usd,
    Fraction,
    Count,
    Step,
}

/// The per-path metrics of MODEL.md §7 shown in the distribution table.
const METRIC_ROWS: [(&str, &str, Unit); 14] = [
    ("insurance_fund_min", "Insurance fund, minimum", Unit::Usd),
    ("insurance_fund_final", "Insurance fund, final", Unit::Usd),
    (
        "insurance_fund_max_drawdown",
        "Insurance fund, max drawdown",
        Unit::Usd,
    ),
    (
        "insurance_fund_max_drawdown_pct",
        "Insurance fund, max drawdown %",
        Unit::Fraction,
    ),
    ("insurance_fund_min_step", "Time of the minimum", Unit::Step),
    (
        "insurance_fund_first_depletion_step",
        "Time of first depletion (paths that depleted)",
        Unit::Step,
    ),
    ("bad_debt", "Bad debt", Unit::Usd),
    ("socialized_loss", "Socialized loss", Unit::Usd),
    ("adl_events", "ADL events", Unit::Count),
    ("adl_notional", "ADL notional", Unit::Usd),
    (
        "adl_excess_notional",
        "ADL notional beyond the minimum",
        Unit::Usd,
    ),
    ("liquidations", "Liquidations", Unit::Count),
    ("liquidated_notional", "Liquidated notional", Unit::Usd),
    ("accounts_liquidated", "Accounts liquidated", Unit::Count),
];

/// Column headings of the distribution table.
const QUANTILE_HEADINGS: [&str; 7] = ["metric", "mean", "p50", "p95", "p99", "p99.9", "max"];

/// [`QUANTILE_HEADINGS`] as a table head.
fn quantile_headings() -> Vec<String> {
    QUANTILE_HEADINGS.iter().map(|h| (*h).to_owned()).collect()
}

/// Everything the two documents show, as text.
struct Content {
    title: String,
    description: String,
    overview: String,
    headline: Vec<Row>,
    distribution: Vec<[String; 7]>,
    parameters: Vec<(String, String)>,
    methodology: Vec<String>,
    /// A sweep's sets meeting the target: heading, intro, column names, rows.
    sweep_target: Option<(String, Vec<String>, Vec<Vec<String>>)>,
    /// The venue controls, when the scenario enables any.
    controls: Option<ControlsSection>,
}

/// The table of a sweep's parameter sets meeting its target, best first.
fn sweep_target(data: &ReportData) -> Option<(String, Vec<String>, Vec<Vec<String>>)> {
    let sets = data.sweep_sets.as_ref()?;
    let t = &sets.table;
    let intro = match sets.max_depletion_probability {
        Some(max) => format!(
            "{} of {} parameter sets keep the probability of insurance-fund depletion at or under {}; best capital efficiency first.",
            sets.meeting_target.len(),
            t.rows.len(),
            pct(max)
        ),
        None => format!(
            "The sweep sets no target (`[sweep.target] max_depletion_probability`); all {} parameter sets are listed.",
            t.rows.len()
        ),
    };
    let order: Vec<u32> = if sets.max_depletion_probability.is_some() {
        sets.meeting_target.clone()
    } else {
        t.rows.iter().map(|r| r.param_set).collect()
    };
    let mut head = vec!["set".to_owned()];
    head.extend(t.parameters.iter().cloned());
    head.extend([
        "depletion".to_owned(),
        "bad debt p99".to_owned(),
        "fund loss ES 99%".to_owned(),
    ]);
    let rows = order
        .iter()
        .filter_map(|set| t.rows.iter().find(|r| r.param_set == *set))
        .map(|r| {
            let mut row = vec![r.param_set.to_string()];
            row.extend(r.values.iter().map(|v| plain(*v)));
            row.push(pct_interval(
                r.depletion.probability,
                r.depletion.ci95_lower,
                r.depletion.ci95_upper,
            ));
            row.push(usd(r.bad_debt_p99));
            row.push(usd(r.insurance_fund_loss_es_99));
            row
        })
        .collect();
    Some((intro, head, rows))
}

/// Elapsed time of `steps` steps: `2h 05m`, `3d 4h`, `45m`, `30s`.
fn duration(steps: f64, step_seconds: f64) -> String {
    duration_seconds(steps * step_seconds)
}

/// `seconds` as `2h 05m`, `3d 4h`, `45m`, `30s`; negative or non-finite as `0s`.
fn duration_seconds(seconds: f64) -> String {
    let total = if seconds.is_finite() {
        seconds.max(0.0)
    } else {
        0.0
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let secs = total.round() as u64;
    let (d, h, m, s) = (
        secs / 86400,
        secs % 86400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// Time from the start to step `step`: the recorded step time for a tick replay
/// (steps have no fixed length), else `step × step_seconds`.
fn step_duration(step: f64, data: &ReportData) -> String {
    let s = &data.summary;
    match data.elapsed_seconds(step).filter(|_| s.is_tick()) {
        Some(seconds) => duration_seconds(seconds),
        None => duration(step, s.step_seconds),
    }
}

/// Length of the whole run: the recorded span for a tick replay, else
/// `steps × step_seconds`.
fn run_duration(data: &ReportData) -> String {
    let s = &data.summary;
    match data.recorded_span_seconds().filter(|_| s.is_tick()) {
        Some(seconds) => duration_seconds(seconds),
        #[allow(clippy::cast_precision_loss)]
        None => duration(s.steps as f64, s.step_seconds),
    }
}

fn value(v: f64, unit: Unit, data: &ReportData) -> String {
    match unit {
        Unit::Usd => usd(v),
        Unit::Fraction => pct(v),
        Unit::Count => count(v),
        Unit::Step => step_duration(v, data),
    }
}

fn paths_text(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    if n == 1.0 {
        "1 path".to_owned()
    } else {
        format!("{} paths", count(n))
    }
}

impl Content {
    fn new(data: &ReportData) -> Self {
        let s = &data.summary;
        let a = &s.aggregates;
        let dep = &a.insurance_fund_depletion;
        let soc = &a.socialized_loss_any;
        #[allow(clippy::cast_precision_loss)]
        let agg_paths = a.paths as f64;
        let tail = &a.insurance_fund_loss;
        let mut headline = vec![
            Row {
                label: "Paths simulated".to_owned(),
                value: count(agg_paths),
                note: format!(
                    "{} {} each ({})",
                    count(s.steps as f64),
                    if s.is_tick() { "ticks" } else { "steps" },
                    run_duration(data)
                ),
            },
            Row {
                label: "Probability of insurance-fund depletion".to_owned(),
                value: pct_interval(dep.probability, dep.ci95[0], dep.ci95[1]),
                note: format!(
                    "{} of {} paths; 95% confidence interval",
                    count(dep.count),
                    count(agg_paths)
                ),
            },
            Row {
                label: "Probability of any socialized loss".to_owned(),
                value: pct_interval(soc.probability, soc.ci95[0], soc.ci95[1]),
                note: format!(
                    "{} of {} paths; 95% confidence interval",
                    count(soc.count),
                    count(agg_paths)
                ),
            },
            Row {
                label: "Probability of any ADL".to_owned(),
                value: String::new(),
                note: String::new(),
            },
            Row {
                label: "Insurance-fund loss, VaR 95%".to_owned(),
                value: usd(tail.var_95),
                note: "loss exceeded on 5% of paths".to_owned(),
            },
            Row {
                label: "Insurance-fund loss, ES 95%".to_owned(),
                value: usd(tail.es_95),
                note: "mean loss on the worst 5% of paths".to_owned(),
            },
            Row {
                label: "Insurance-fund loss, VaR 99%".to_owned(),
                value: usd(tail.var_99),
                note: "loss exceeded on 1% of paths".to_owned(),
            },
            Row {
                label: "Insurance-fund loss, ES 99%".to_owned(),
                value: usd(tail.es_99),
                note: "mean loss on the worst 1% of paths".to_owned(),
            },
            Row {
                label: "Cover-1 stressed shortfall".to_owned(),
                value: usd(a.cover_1),
                note: "deficit of the largest bankrupt account".to_owned(),
            },
            Row {
                label: "Cover-2 stressed shortfall".to_owned(),
                value: usd(a.cover_2),
                note: "deficit of the two largest bankrupt accounts".to_owned(),
            },
        ];
        match &a.adl_any {
            Some(adl) => {
                if let Some(row) = headline
                    .iter_mut()
                    .find(|r| r.label == "Probability of any ADL")
                {
                    row.value = pct_interval(adl.probability, adl.ci95[0], adl.ci95[1]);
                    row.note = format!(
                        "{} of {} paths; 95% confidence interval",
                        count(adl.count),
                        count(agg_paths)
                    );
                }
            }
            None => headline.retain(|r| r.label != "Probability of any ADL"),
        }
        let distribution = METRIC_ROWS
            .iter()
            .filter_map(|(key, label, unit)| {
                let q: &Quantiles = a.metrics.get(*key)?;
                let mean = match unit {
                    // A mean count is rarely whole: one decimal.
                    Unit::Count => plain((q.mean * 10.0).round() / 10.0),
                    _ => value(q.mean, *unit, data),
                };
                Some([
                    (*label).to_owned(),
                    mean,
                    value(q.p50, *unit, data),
                    value(q.p95, *unit, data),
                    value(q.p99, *unit, data),
                    value(q.p99_9, *unit, data),
                    value(q.max, *unit, data),
                ])
            })
            .collect();
        let population = s.accounts.map_or_else(
            || "the population".to_owned(),
            |n| format!("{} accounts", count(n)),
        );
        let fund = s.insurance_fund_initial.map_or_else(String::new, |f| {
            format!(", starting insurance fund {}", usd(f))
        });
        let outcome = if s.paths <= 1 {
            format!(
                "The insurance fund was {}depleted and {}loss was socialized.",
                if dep.count > 0.0 { "" } else { "not " },
                if soc.count > 0.0 { "a " } else { "no " },
            )
        } else {
            format!(
                "The insurance fund was depleted on {} of paths and a loss was socialized on {} of paths.",
                pct(dep.probability),
                pct(soc.probability),
            )
        };
        let overview = format!(
            "{} of the {} path model through {population}{fund}. {outcome}",
            paths_text(s.paths),
            s.path_model,
        );
        let steps_text = if s.is_tick() {
            format!(
                "{} ticks, one step per event time of the data ({})",
                count(s.steps as f64),
                run_duration(data)
            )
        } else {
            format!(
                "{} steps of {} seconds ({})",
                count(s.steps as f64),
                plain(s.step_seconds),
                run_duration(data)
            )
        };
        let mut methodology = vec![format!(
            "Simulated by backstop {} from scenario `{}`: {} of {steps_text}{}, \
             with the {} path model and master seed {}.",
            s.backstop_version,
            s.name,
            paths_text(s.paths),
            s.start
                .as_deref()
                .map_or_else(String::new, |t| format!(" from {t}")),
            s.path_model,
            s.seed.as_deref().unwrap_or("(not stated)"),
        )];
        if !s.data_files.is_empty() {
            let files: Vec<String> = s
                .data_files
                .iter()
                .map(|(what, file)| format!("{what} `{file}`"))
                .collect();
            methodology.push(format!(
                "Data replayed (paths as the scenario gives them): {}.",
                files.join("; ")
            ));
        }
        let param = |key: &str| {
            s.parameters
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let mut population = String::from("Population: ");
        population.push_str(&match (s.accounts, s.positions) {
            (Some(a), Some(p)) => format!("{} accounts holding {} positions", count(a), count(p)),
            (Some(a), None) => format!("{} accounts", count(a)),
            _ => "as in the scenario".to_owned(),
        });
        if let Some(c) = s.collateral {
            population.push_str(&format!(", {} of collateral", usd(c)));
        }
        if let Some(kind) = param("population.kind") {
            population.push_str(&format!(" ({kind})"));
        }
        population.push('.');
        methodology.push(population);
        let mut waterfall = String::from("Loss waterfall: liquidation");
        if let Some(mode) = param("liquidation.mode") {
            waterfall.push_str(&format!(" mode `{mode}`"));
        }
        if let Some(fee) = param("liquidation.fee") {
            waterfall.push_str(&format!(", fee {fee}"));
        }
        waterfall.push_str("; insurance fund");
        if let Some(f) = s.insurance_fund_initial {
            waterfall.push_str(&format!(" starting at {}", usd(f)));
        }
        waterfall.push_str("; last line ");
        waterfall.push_str(param("last_line.kind").unwrap_or("as in the scenario"));
        waterfall.push('.');
        methodology.push(waterfall);
        methodology.push(
            "Probabilities are the share of paths on which the event happened, with the 95% \
             confidence interval the run reports. VaR and expected shortfall (ES) are of the \
             insurance-fund loss per path across paths; Cover-1 and Cover-2 are the deficits of \
             the largest and the two largest bankrupt accounts. Quantiles are across paths. Money \
             is in USD; the engine keeps exact integer micro-USD and the report rounds to whole \
             dollars."
                .to_owned(),
        );
        methodology.push(format!(
            "This report is generated from the run's results files alone (summary.json and the \
             Parquet series); rerunning the scenario with backstop {} and rendering again gives \
             byte-identical files.",
            s.backstop_version
        ));
        Self {
            title: format!("Stress report: {}", s.name),
            description: s.description.clone(),
            overview,
            headline,
            distribution,
            parameters: s.parameters.clone(),
            methodology,
            sweep_target: sweep_target(data),
            controls: crate::controls::section(data, &|step| step_duration(step, data)),
        }
    }
}

pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline code spans (`x`) as `<code>`, the rest escaped.
pub(crate) fn esc_code(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

/// An SVG document as an inline element (no XML declaration).
pub(crate) fn inline_svg(svg: &str) -> &str {
    let svg = svg.trim_start();
    if svg.starts_with("<?xml") {
        svg.find("?>").map_or(svg, |i| svg[i + 2..].trim_start())
    } else {
        svg
    }
}

pub(crate) const STYLE: &str = "\
body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#212529;background:#fff;\
max-width:1160px;margin:2em auto;padding:0 1em;line-height:1.45}\
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #dee2e6}\
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .8em;border-bottom:1px solid #e9ecef;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #e9ecef}\
figcaption{color:#555;font-size:.95em}code{background:#f1f3f5;padding:0 .2em}\
.lead{font-size:1.1em}.muted{color:#666}";

fn html(c: &Content, charts: &[Chart]) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str(&format!(
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&c.title)
    ));
    h.push_str(&format!("<h1>{}</h1>\n", esc(&c.title)));
    if !c.description.is_empty() {
        h.push_str(&format!("<p class=\"muted\">{}</p>\n", esc(&c.description)));
    }
    h.push_str(&format!("<p class=\"lead\">{}</p>\n", esc(&c.overview)));

    h.push_str("<h2 id=\"headline\">Headline</h2>\n<table>\n<thead><tr><th>measure</th><th class=\"n\">value</th><th>note</th></tr></thead>\n<tbody>\n");
    for r in &c.headline {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
            esc(&r.label),
            esc(&r.value),
            esc(&r.note)
        ));
    }
    h.push_str("</tbody>\n</table>\n");

    if !c.distribution.is_empty() {
        h.push_str("<h2 id=\"distribution\">Across paths</h2>\n");
        html_table(&mut h, &quantile_headings(), &c.distribution);
    }

    if let Some(ctl) = &c.controls {
        h.push_str("<h2 id=\"controls\">Controls</h2>\n<ul>\n");
        for line in &ctl.settings {
            h.push_str(&format!("<li>{}</li>\n", esc(line)));
        }
        h.push_str("</ul>\n");
        html_table(&mut h, &ctl.metrics_head, &ctl.metrics);
        for p in &ctl.pauses_text {
            h.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
        if !ctl.pauses_table.1.is_empty() {
            html_table(&mut h, &ctl.pauses_table.0, &ctl.pauses_table.1);
        }
    }

    if let Some((intro, head, rows)) = &c.sweep_target {
        h.push_str("<h2 id=\"sweep-target\">Parameter sets meeting the target</h2>\n");
        h.push_str(&format!("<p>{}</p>\n", esc_code(intro)));
        html_table(&mut h, head, rows);
    }

    h.push_str("<h2 id=\"charts\">Charts</h2>\n");
    for chart in charts {
        h.push_str(&format!(
            "<figure id=\"chart-{}\" role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            chart.name,
            esc(&chart.title),
            inline_svg(&chart.svg),
            esc(&chart.caption)
        ));
    }

    h.push_str("<h2 id=\"methodology\">Methodology</h2>\n");
    for p in &c.methodology {
        h.push_str(&format!("<p>{}</p>\n", esc_code(p)));
    }

    h.push_str("<h2 id=\"parameters\">Scenario parameters</h2>\n<table>\n<thead><tr><th>parameter</th><th>value</th></tr></thead>\n<tbody>\n");
    for (k, v) in &c.parameters {
        h.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td></tr>\n",
            esc(k),
            esc(v)
        ));
    }
    h.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    h
}

/// Markdown prose: `$` escaped, so forums that render `$...$` as maths (Discourse
/// with its math plugin) show dollars.
pub(crate) fn md(text: &str) -> String {
    text.replace('$', "\\$")
}

/// A Markdown table cell: as [`md`], pipes escaped, line breaks flattened.
pub(crate) fn cell(text: &str) -> String {
    md(text).replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn markdown(c: &Content, charts: &[Chart]) -> String {
    let mut m = String::new();
    m.push_str(&format!("# {}\n\n", c.title));
    if !c.description.is_empty() {
        m.push_str(&format!("_{}_\n\n", md(&c.description).replace('_', "\\_")));
    }
    m.push_str(&format!("{}\n\n", md(&c.overview)));

    m.push_str("## Headline\n\n| measure | value | note |\n| --- | ---: | --- |\n");
    for r in &c.headline {
        m.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&r.label),
            cell(&r.value),
            cell(&r.note)
        ));
    }
    m.push('\n');

    if !c.distribution.is_empty() {
        m.push_str("## Across paths\n\n");
        md_table(&mut m, &quantile_headings(), &c.distribution);
    }

    if let Some(ctl) = &c.controls {
        m.push_str("## Controls\n\n");
        for line in &ctl.settings {
            m.push_str(&format!("- {}\n", md(line)));
        }
        m.push('\n');
        md_table(&mut m, &ctl.metrics_head, &ctl.metrics);
        for p in &ctl.pauses_text {
            m.push_str(&format!("{}\n\n", md(p)));
        }
        if !ctl.pauses_table.1.is_empty() {
            md_table(&mut m, &ctl.pauses_table.0, &ctl.pauses_table.1);
        }
    }

    if let Some((intro, head, rows)) = &c.sweep_target {
        m.push_str(&format!(
            "## Parameter sets meeting the target\n\n{}\n\n",
            md(intro)
        ));
        md_table(&mut m, head, rows);
    }

    m.push_str("## Charts\n\n");
    for chart in charts {
        m.push_str(&format!(
            "### {}\n\n![{}]({CHARTS_DIR}/{}.png)\n\n{}\n\n",
            md(&chart.title),
            cell(&chart.caption).replace(['[', ']'], ""),
            chart.name,
            md(&chart.caption)
        ));
    }

    m.push_str("## Methodology\n\n");
    for p in &c.methodology {
        m.push_str(&format!("{}\n\n", md(p)));
    }

    m.push_str("## Scenario parameters\n\n| parameter | value |\n| --- | --- |\n");
    for (k, v) in &c.parameters {
        m.push_str(&format!("| `{}` | {} |\n", cell(k), cell(v)));
    }
    m
}

/// An HTML table: first column text, the others numbers.
pub(crate) fn html_table<R: AsRef<[String]>>(h: &mut String, head: &[String], rows: &[R]) {
    h.push_str("<table>\n<thead><tr>");
    for (i, x) in head.iter().enumerate() {
        let class = if i == 0 { "" } else { " class=\"n\"" };
        h.push_str(&format!("<th{class}>{}</th>", esc(x)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        h.push_str("<tr>");
        for (i, x) in row.as_ref().iter().enumerate() {
            let class = if i == 0 { "" } else { " class=\"n\"" };
            h.push_str(&format!("<td{class}>{}</td>", esc(x)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

/// A Markdown table: first column left-aligned, the others right-aligned.
pub(crate) fn md_table<R: AsRef<[String]>>(m: &mut String, head: &[String], rows: &[R]) {
    let cells: Vec<String> = head.iter().map(|x| cell(x)).collect();
    m.push_str(&format!("| {} |\n| --- |", cells.join(" | ")));
    m.push_str(&" ---: |".repeat(head.len().saturating_sub(1)));
    m.push('\n');
    for row in rows {
        let cells: Vec<String> = row.as_ref().iter().map(|x| cell(x)).collect();
        m.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    m.push('\n');
}
