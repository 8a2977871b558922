//! The report as Markdown for a governance forum post, the PNGs beside it.

use backstop_data::results::layout::CHARTS_DIR;

use super::content::{Content, quantile_headings};
use super::recommend::Section;
use crate::charts::plot::Chart;
use crate::markup::{cell, md, md_table};

/// Sections of text and tables, in order.
fn sections(m: &mut String, list: &[Section]) {
    for sec in list {
        m.push_str(&format!("## {}\n\n", md(&sec.heading)));
        for p in &sec.before {
            m.push_str(&format!("{}\n\n", md(p)));
        }
        if let Some((head, rows)) = &sec.table {
            md_table(m, head, rows);
        }
        for p in &sec.after {
            m.push_str(&format!("{}\n\n", md(p)));
        }
    }
}

/// `report.md`.
pub(crate) fn markdown(c: &Content, charts: &[Chart]) -> String {
    let mut m = String::new();
    m.push_str(&format!("# {}\n\n", c.title));
    if !c.description.is_empty() {
        m.push_str(&format!("_{}_\n\n", md(&c.description).replace('_', "\\_")));
    }
    m.push_str(&format!("{}\n\n", md(&c.overview)));

    sections(&mut m, &c.front);

    m.push_str(&format!(
        "## {}\n\n| measure | value | note |\n| --- | ---: | --- |\n",
        md(&c.headline_heading)
    ));
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

    sections(&mut m, &c.book);

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

    if let Some((intro, head, rows)) = &c.replay_marks {
        m.push_str(&format!(
            "## Recorded and simulated mark\n\n{}\n\n",
            md(intro)
        ));
        md_table(&mut m, head, rows);
    }

    m.push_str("## Charts\n\n");
    for note in &c.chart_notes {
        m.push_str(&format!("{}\n\n", md(note)));
    }
    for chart in charts {
        m.push_str(&format!(
            "### {}\n\n![{}]({CHARTS_DIR}/{}.png)\n\n{}\n\n",
            md(&chart.title),
            cell(&chart.caption).replace(['[', ']'], ""),
            chart.name,
            md(&chart.caption)
        ));
    }

    m.push_str("## Methodology and limitations\n\n");
    for p in &c.methodology {
        m.push_str(&format!("{}\n\n", md(p)));
    }

    m.push_str("## Scenario parameters\n\n| parameter | value |\n| --- | --- |\n");
    for (k, v) in &c.parameters {
        m.push_str(&format!("| `{}` | {} |\n", cell(k), cell(v)));
    }
    m
}
