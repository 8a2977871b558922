//! The report as one self-contained HTML file, the SVGs inline.

use super::content::{Content, quantile_headings};
use super::recommend::Section;
use crate::charts::plot::Chart;
use crate::markup::{STYLE, esc, esc_code, html_table, inline_svg};

/// Sections of text and tables, in order.
fn sections(h: &mut String, list: &[Section]) {
    for sec in list {
        h.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n",
            esc(&sec.id),
            esc(&sec.heading)
        ));
        for p in &sec.before {
            h.push_str(&format!("<p>{}</p>\n", esc_code(p)));
        }
        if let Some((head, rows)) = &sec.table {
            html_table(h, head, rows);
        }
        for p in &sec.after {
            h.push_str(&format!("<p>{}</p>\n", esc_code(p)));
        }
    }
}

/// `report.html`.
// Over 70 lines: the HTML page, section after section, in reading order.
pub(crate) fn html(c: &Content, charts: &[Chart]) -> String {
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

    sections(&mut h, &c.front);

    h.push_str(&format!(
        "<h2 id=\"headline\">{}</h2>\n<table>",
        esc(&c.headline_heading)
    ));
    h.push_str("\n<thead><tr><th>measure</th><th class=\"n\">value</th><th>note</th></tr></thead>\n<tbody>\n");
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

    sections(&mut h, &c.book);

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

    if let Some((intro, head, rows)) = &c.replay_marks {
        h.push_str("<h2 id=\"replay-marks\">Recorded and simulated mark</h2>\n");
        h.push_str(&format!("<p>{}</p>\n", esc_code(intro)));
        html_table(&mut h, head, rows);
    }

    h.push_str("<h2 id=\"charts\">Charts</h2>\n");
    for note in &c.chart_notes {
        h.push_str(&format!("<p>{}</p>\n", esc_code(note)));
    }
    for chart in charts {
        h.push_str(&format!(
            "<figure id=\"chart-{}\" role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            chart.name,
            esc(&chart.title),
            inline_svg(&chart.svg),
            esc(&chart.caption)
        ));
    }

    h.push_str("<h2 id=\"methodology\">Methodology and limitations</h2>\n");
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
