//! `venue = "<name>"`: a venue's rule book ([`crate::venue::rulebook`]) laid
//! under the scenario's own keys before the scenario is read.
//!
//! Layering, exactly (docs/venues.md, "Layering"): the rule book is a TOML
//! document in the scenario's keys (its market rules repeated for every
//! `[market.<name>]` of the file); tables merge key by key, recursively; a key
//! the file sets — a value, an array (`tiers` whole) or an inline table —
//! replaces the rule book's; a key only the rule book has is added. So the
//! file wins everywhere it speaks, and the built-in defaults apply only where
//! neither speaks. The merged values are what `summary.json` records.
//!
//! Values the rule book adds carry the span of the file's `venue` line, so an
//! error about one of them points there.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::defaults;
use crate::venue::rulebook::Venue;

/// A `venue` value that names no rule book, or one that is not a string.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleBookError {
    /// Byte span of the value in the file.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
}

/// The rule book the document's `venue` key names, as TOML text in the
/// scenario's keys, with the span of the `venue` value; `None` without one.
///
/// # Errors
/// [`RuleBookError`] for a `venue` that is not the name of a rule book.
pub fn rule_book_text(doc: &DeTable<'_>) -> Result<Option<(String, Range<usize>)>, RuleBookError> {
    let Some(v) = doc.get("venue") else {
        return Ok(None);
    };
    let span = v.span();
    let names = Venue::ALL.map(Venue::name).join("\", \"");
    let venue = match v.get_ref() {
        DeValue::String(s) => Venue::from_name(s).ok_or_else(|| RuleBookError {
            span: span.clone(),
            message: format!("unknown venue `{s}`: expected one of \"{names}\""),
        })?,
        _ => {
            return Err(RuleBookError {
                span,
                message: format!("must be a string, one of \"{names}\""),
            });
        }
    };
    let step_seconds = match doc.get("step_seconds").map(|v| v.get_ref()) {
        Some(DeValue::Integer(i)) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(defaults::STEP_SECONDS),
        _ => defaults::STEP_SECONDS,
    };
    let markets: Vec<String> = match doc.get("market").map(|v| v.get_ref()) {
        Some(DeValue::Table(t)) => t.keys().map(|k| k.get_ref().to_string()).collect(),
        _ => Vec::new(),
    };
    let names: Vec<&str> = markets.iter().map(String::as_str).collect();
    Ok(Some((
        venue.rule_book().to_toml(&names, step_seconds),
        span,
    )))
}

/// Lays `book` (the parsed rule book) under `doc`: every key of `book` that
/// `doc` lacks is added, with the span `span` (the file's `venue` value);
/// tables both have merge recursively; `doc`'s own values stay.
pub fn lay_under<'i>(doc: &mut DeTable<'i>, book: DeTable<'i>, span: &Range<usize>) {
    for (k, v) in book {
        match doc.get_mut(k.get_ref().as_ref()) {
            None => {
                let key = Spanned::new(span.clone(), k.into_inner());
                doc.insert(key, respan(v.into_inner(), span));
            }
            Some(mine) => {
                if let (DeValue::Table(mine), DeValue::Table(theirs)) =
                    (mine.get_mut(), v.into_inner())
                {
                    lay_under(mine, theirs, span);
                }
            }
        }
    }
}

/// `v` with its span, and the spans of everything in it, set to `span`.
fn respan<'i>(v: DeValue<'i>, span: &Range<usize>) -> Spanned<DeValue<'i>> {
    let value = match v {
        DeValue::Array(a) => {
            let mut out = DeArray::new();
            for e in a.iter() {
                out.push(respan(e.get_ref().clone(), span));
            }
            DeValue::Array(out)
        }
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            for (k, v) in t {
                out.insert(
                    Spanned::new(span.clone(), k.into_inner()),
                    respan(v.into_inner(), span),
                );
            }
            DeValue::Table(out)
        }
        other => other,
    };
    Spanned::new(span.clone(), value)
}
