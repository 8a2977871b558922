//! Charts and governance reports from backstop run results.
//!
//! This crate will turn a run's `summary.json` and Parquet series into charts
//! (plotters) and HTML/Markdown reports. It depends on `backstop-data` for the file
//! schemas and never on the engine: a report is rendered from saved results alone.
