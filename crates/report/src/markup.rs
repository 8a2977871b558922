//! HTML and Markdown text shared by the report and the comparison: escaping,
//! tables, the inline SVG of a chart, and the page's style sheet.

/// `text` with the HTML special characters escaped.
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

/// The style sheet of the HTML documents.
pub(crate) const STYLE: &str = "\
body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#212529;background:#fff;\
max-width:1160px;margin:2em auto;padding:0 1em;line-height:1.45}\
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #dee2e6}\
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .8em;border-bottom:1px solid #e9ecef;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #e9ecef}\
figcaption{color:#555;font-size:.95em}code{background:#f1f3f5;padding:0 .2em}\
.lead{font-size:1.1em}.muted{color:#666}";

/// Markdown prose: `$` escaped, so forums that render `$...$` as maths (Discourse
/// with its math plugin) show dollars; `<` escaped, so a placeholder such as
/// `market.<m>` is text, never an HTML tag a forum strips.
pub(crate) fn md(text: &str) -> String {
    text.replace('$', "\\$")
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 0 {
                part.replace('<', "\\<")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// A Markdown table cell: as [`md`], pipes escaped, line breaks flattened.
pub(crate) fn cell(text: &str) -> String {
    md(text).replace('|', "\\|").replace(['\n', '\r'], " ")
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
