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

use schemars::r#gen::SchemaSettings;

use serde_json::{Value, json};

use super::scenario::Scenario;
use crate::venue::rulebook::Venue;

/// Where the schema says it lives (its `$id`); the file `backstop schema`
/// prints, committed as `docs/scenario.schema.json`.
pub const SCHEMA_ID: &str = "https://example.invalid/backstop/scenario.schema.json";

/// The JSON Schema (draft-07) of a scenario file, as a JSON value.
pub fn scenario_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut root = generator.into_root_schema_for::<Scenario>();
    let metadata = root.schema.metadata();
    metadata.id = Some(SCHEMA_ID.to_string());
    metadata.title = Some("backstop scenario".to_string());
    // A `RootSchema` is plain data (maps, strings, numbers): it always serializes.
    let mut schema =
        serde_json::to_value(&root).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    add_rule_books(&mut schema);
    schema
}

/// What the types cannot say about `venue = "<name>"` (config/rule_book.rs): its
/// values are the rule books' names, and a file that names one may leave out a
/// market's `tiers` (the rule book's brackets); without it every market needs them.
fn add_rule_books(schema: &mut Value) {
    let mut names: Vec<Value> = Venue::ALL.iter().map(|v| Value::from(v.name())).collect();
    names.push(Value::Null);
    if let Some(venue) = schema.pointer_mut("/properties/venue") {
        venue["enum"] = Value::Array(names);
    }
    if let Some(required) = schema
        .pointer_mut("/definitions/MarketConfig/required")
        .and_then(Value::as_array_mut)
    {
        required.retain(|k| k != "tiers");
    }
    if let Some(Value::String(text)) =
        schema.pointer_mut("/definitions/MarketConfig/properties/tiers/description")
    {
        text.push_str(" Required, unless `venue` names a rule book (which gives its brackets).");
    }
    if let Some(root) = schema.as_object_mut() {
        root.insert(
            "anyOf".into(),
            json!([
                { "required": ["venue"] },
                { "properties": { "market": { "additionalProperties": { "required": ["tiers"] } } } }
            ]),
        );
    }
}

/// [`scenario_schema`] as pretty-printed JSON, ending with a newline.
pub fn scenario_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&scenario_schema())
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
