//! The venue controls of a run (`[controls.*]`, docs/model.md §10): which are on,
//! their settings in words, their metrics, and for a one-path run with a circuit
//! breaker what happened right after each pause.
//!
//! Everything is read from the results files: the settings from the scenario in
//! `summary.json` (the flattened `controls.*` parameters), the metrics from every
//! aggregate whose name starts with one of [`CONTROL_PREFIXES`] (so metrics added
//! later, such as multi-asset collateral's `collateral_*`, appear without code
//! changes), and the breaker's pauses from `steps.parquet`.

mod metrics;
mod pauses;
mod section;
mod settings;

pub use crate::pause_log::{PAUSES_KEPT, Pause, PauseAnalysis};
pub use metrics::{
    CONTROL_PREFIXES, control_metric_names, is_control_metric, metric_control, metric_label,
    metric_neutral, metric_union, metric_value, run_value, signed_usd,
};
pub use pauses::{NoPauses, breaker_pauses, multiplier_series};
pub use section::{ControlsSection, section};
pub use settings::{control_settings, controls_in_force, describe, enabled_controls};
