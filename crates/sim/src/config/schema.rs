//! The JSON Schema of the scenario format, generated from the very types the
//! parser deserializes ([`Scenario`] and its tables, `schemars` derives beside
//! the `serde` ones): every key, its doc comment as `description`, its serde
//! default as `default`, unknown keys rejected as the parser rejects them.
//!
//! Draft-07, the draft editors' TOML extensions (taplo / Even Better TOML)
//! understand. The schema states what the types state (type, integer width,
//! enumerations, defaults, required keys, `#[schemars(range)]` where a field
//! declares one); the cross-field rules (tiers increasing, a price on the tick
//! grid, `alpha + beta < 1`, …) stay with the validator, whose errors name the
//! key.

use schemars::generate::SchemaSettings;

use super::scenario::Scenario;

/// Where the schema says it lives (its `$id`); the file `backstop schema`
/// prints, committed as `docs/scenario.schema.json`.
pub const SCHEMA_ID: &str = "https://example.invalid/backstop/scenario.schema.json";

/// The JSON Schema (draft-07) of a scenario file, as a JSON value.
pub fn scenario_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<Scenario>();
    schema.insert("$id".into(), SCHEMA_ID.into());
    schema.insert("title".into(), "backstop scenario".into());
    schema.to_value()
}

/// [`scenario_schema`] as pretty-printed JSON, ending with a newline.
pub fn scenario_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&scenario_schema())
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
