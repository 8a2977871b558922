//! The prose of a comparison: what each run is, each run's control settings,
//! and the notes on what else differs between the two.

use super::run::Run;
use super::values::controls_words;
use crate::controls;
use crate::format::count;
use crate::summary::RunInfo;

/// One line naming run `r`: label, scenario, paths, steps, folder, controls.
pub(crate) fn run_text(r: &Run, in_force: &[String]) -> String {
    format!(
        "{}: scenario `{}`, {}, {}, results `{}`; controls in force: {}.",
        r.label,
        r.data.summary.name,
        if r.data.summary.paths == 1 {
            "1 path".to_owned()
        } else {
            #[allow(clippy::cast_precision_loss)]
            let paths = r.data.summary.paths as f64;
            format!("{} paths", count(paths))
        },
        r.data.summary.steps_text(),
        r.dir.display(),
        controls_words(in_force),
    )
}

/// The settings of every control run `r` enables, in words.
pub(crate) fn settings(r: &Run) -> Vec<String> {
    controls::enabled_controls(&r.data.summary)
        .iter()
        .map(|c| controls::describe(&r.data.summary, c))
        .collect()
}

/// The notes under the table: whether the scenarios differ in more than their
/// controls, in steps, and how multi-path values are shown.
pub(crate) fn notes(a: &Run, b: &Run, multi: bool) -> Vec<String> {
    let (sa, sb) = (&a.data.summary, &b.data.summary);
    let differing = differing_parameters(a, b);
    let controls_differ = controls::control_settings(sa) != controls::control_settings(sb);
    let mut notes = Vec::new();
    if differing.is_empty() && controls_differ {
        notes.push(
            "The two scenarios differ only in their controls (`controls.*`): same market, path, \
             population and seed, so the differences above are the controls' doing."
                .to_owned(),
        );
    } else if !differing.is_empty() {
        let shown: Vec<String> = differing.iter().take(6).cloned().collect();
        notes.push(format!(
            "The scenarios differ in more than their controls: {}{}. The differences above are \
             not the controls' alone.",
            shown.join(", "),
            if differing.len() > 6 {
                format!(" and {} more", differing.len() - 6)
            } else {
                String::new()
            }
        ));
    }
    if sa.steps != sb.steps {
        #[allow(clippy::cast_precision_loss)]
        let (steps_a, steps_b) = (sa.steps as f64, sb.steps as f64);
        notes.push(format!(
            "The runs have different numbers of steps ({} vs {}); the chart puts both on the \
             time elapsed since each run's start.",
            count(steps_a),
            count(steps_b)
        ));
    }
    if multi {
        notes.push(
            "Multi-path values are means across paths; probabilities are the share of paths, \
             with the 95% confidence interval each run reports."
                .to_owned(),
        );
    }
    notes
}

/// The scenario parameters (apart from controls, name and description) that
/// differ between the runs, in words.
fn differing_parameters(a: &Run, b: &Run) -> Vec<String> {
    let others = |s: &RunInfo| -> Vec<(String, String)> {
        s.parameters
            .iter()
            .filter(|(k, _)| !k.starts_with("controls.") && k != "name" && k != "description")
            .cloned()
            .collect()
    };
    let (oa, ob) = (others(&a.data.summary), others(&b.data.summary));
    let mut differing: Vec<String> = Vec::new();
    for (k, v) in &oa {
        match ob.iter().find(|(kb, _)| kb == k) {
            Some((_, vb)) if vb == v => {}
            Some((_, vb)) => differing.push(format!("`{k}` ({v} vs {vb})")),
            None => differing.push(format!("`{k}` (only in {})", a.label)),
        }
    }
    for (k, _) in &ob {
        if !oa.iter().any(|(ka, _)| ka == k) {
            differing.push(format!("`{k}` (only in {})", b.label));
        }
    }
    differing
}
