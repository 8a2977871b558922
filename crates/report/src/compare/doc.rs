//! The comparison's text, rendered as HTML and as Markdown.

use backstop_data::results::layout::CHARTS_DIR;

use crate::charts::plot::Chart;
use crate::markup::{STYLE, cell, esc, esc_code, html_table, inline_svg, md, md_table};

/// The comparison's text.
pub(crate) struct Doc {
    pub(crate) title: String,
    pub(crate) runs: Vec<String>,
    pub(crate) head: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
    /// Heading of the plain-words lines (`What changed` for two runs).
    pub(crate) lines_title: &'static str,
    pub(crate) lines: Vec<String>,
    pub(crate) notes: Vec<String>,
    pub(crate) settings: Vec<(String, Vec<String>)>,
}

impl Doc {
    pub(crate) fn html(&self, charts: &[Chart]) -> String {
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str(&format!(
            "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<ul>\n",
            esc(&self.title),
            esc(&self.title)
        ));
        for r in &self.runs {
            h.push_str(&format!("<li>{}</li>\n", esc_code(r)));
        }
        h.push_str("</ul>\n<h2 id=\"headline\">Side by side</h2>\n");
        html_table(&mut h, &self.head, &self.rows);
        h.push_str(&format!(
            "<h2 id=\"differences\">{}</h2>\n<ul>\n",
            esc(self.lines_title)
        ));
        for l in &self.lines {
            h.push_str(&format!("<li>{}</li>\n", esc(l)));
        }
        h.push_str("</ul>\n");
        for n in &self.notes {
            h.push_str(&format!("<p class=\"muted\">{}</p>\n", esc_code(n)));
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
        h.push_str("<h2 id=\"controls\">Controls of each run</h2>\n");
        for (label, lines) in &self.settings {
            h.push_str(&format!("<h3>{}</h3>\n", esc(label)));
            if lines.is_empty() {
                h.push_str("<p>No control enabled.</p>\n");
            } else {
                h.push_str("<ul>\n");
                for l in lines {
                    h.push_str(&format!("<li>{}</li>\n", esc(l)));
                }
                h.push_str("</ul>\n");
            }
        }
        h.push_str("</body>\n</html>\n");
        h
    }

    pub(crate) fn markdown(&self, charts: &[Chart]) -> String {
        let mut m = format!("# {}\n\n", md(&self.title));
        for r in &self.runs {
            m.push_str(&format!("- {}\n", md(r)));
        }
        m.push_str("\n## Side by side\n\n");
        md_table(&mut m, &self.head, &self.rows);
        m.push_str(&format!("## {}\n\n", md(self.lines_title)));
        for l in &self.lines {
            m.push_str(&format!("- {}\n", md(l)));
        }
        m.push('\n');
        for n in &self.notes {
            m.push_str(&format!("{}\n\n", md(n)));
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
        m.push_str("## Controls of each run\n\n");
        for (label, lines) in &self.settings {
            m.push_str(&format!("### {}\n\n", md(label)));
            if lines.is_empty() {
                m.push_str("No control enabled.\n\n");
            } else {
                for l in lines {
                    m.push_str(&format!("- {}\n", md(l)));
                }
                m.push('\n');
            }
        }
        m
    }
}
