//! A section a command adds to a report already written (`backstop size-fund`
//! adds its fund sizing): the same section in both renderings, a heading, an
//! introduction, a table, closing text and a chart; the HTML one inserted before
//! the end of the page's body, so `report.html` stays one self-contained file.

use crate::charts::Chart;
use crate::markup::{esc, esc_code, html_table, inline_svg};

/// One added section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// HTML id of the section.
    pub id: String,
    /// Heading (inline code in backticks).
    pub title: String,
    /// Paragraph before the table (inline code in backticks).
    pub intro: String,
    /// Table head: first column text, the others numbers.
    pub head: Vec<String>,
    /// Table rows.
    pub rows: Vec<Vec<String>>,
    /// Paragraph after the table (inline code in backticks).
    pub after: String,
}

impl Section {
    /// The section as HTML, with `chart` inline (its message instead when it has
    /// nothing to draw).
    #[must_use]
    pub fn html(&self, chart: &Chart) -> String {
        let mut h = format!(
            "<section id=\"{}\">\n<h2>{}</h2>\n<p>{}</p>\n",
            esc(&self.id),
            esc_code(&self.title),
            esc_code(&self.intro)
        );
        html_table(&mut h, &self.head, &self.rows);
        h.push_str(&format!("<p>{}</p>\n", esc_code(&self.after)));
        match &chart.message {
            Some(message) => h.push_str(&format!("<p>{}</p>\n", esc(message))),
            None => h.push_str(&format!(
                "<figure id=\"chart-{}\" role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                chart.name,
                esc(&chart.title),
                inline_svg(&chart.svg),
                esc(&chart.caption)
            )),
        }
        h.push_str("</section>\n");
        h
    }
}

/// `page` (an HTML document) with `section` inserted before its last
/// `</body>` (appended when it has none).
#[must_use]
pub fn insert_into_html(page: &str, section: &str) -> String {
    match page.rfind("</body>") {
        Some(i) => format!("{}{section}{}", &page[..i], &page[i..]),
        None => format!("{page}{section}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_goes_before_the_end_of_the_body_with_its_chart_inline() {
        let chart = Chart {
            name: "fund_size".to_owned(),
            title: "t <1>".to_owned(),
            caption: "c".to_owned(),
            message: None,
            width: 10,
            height: 10,
            svg: "<?xml version=\"1.0\"?>\n<svg>x</svg>".to_owned(),
            png: Vec::new(),
        };
        let s = Section {
            id: "fund-sizing".to_owned(),
            title: "Fund sizing (`backstop size-fund`)".to_owned(),
            intro: "From the paths' needs.".to_owned(),
            head: vec!["P ≤".to_owned(), "fund".to_owned()],
            rows: vec![vec!["0.01".to_owned(), "1,000 USD".to_owned()]],
            after: "At the scenario's fund.".to_owned(),
        };
        let page = "<html><body><p>report</p></body>\n</html>\n";
        let out = insert_into_html(page, &s.html(&chart));
        let at = out
            .find("<section id=\"fund-sizing\">")
            .expect("the section");
        assert!(at > out.find("<p>report</p>").unwrap() && at < out.find("</body>").unwrap());
        assert!(out.contains("<code>backstop size-fund</code>"));
        assert!(out.contains("<td class=\"n\">1,000 USD</td>"));
        assert!(out.contains("<svg>x</svg>") && !out.contains("<?xml"));
        assert!(out.contains("aria-label=\"t &lt;1&gt;\""));
    }
}
