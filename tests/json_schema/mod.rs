//! A small JSON Schema (draft-07) validator for the keywords `backstop schema`
//! emits, and no more: the test of the schema needs no validator crate (a
//! validator crate's dependencies would change features shared with polars and
//! rebuild it). A keyword it does not know is a test failure, never ignored, so
//! a schema that grows a new keyword cannot pass unchecked.
//!
//! Validation keywords: `$ref` (to `#/definitions/...`), `type`, `enum`,
//! `const`, `properties`, `required`, `additionalProperties`, `items`,
//! `minItems`, `maxItems`, `minimum`, `maximum`, `exclusiveMinimum`,
//! `exclusiveMaximum`, `allOf`, `anyOf`, `oneOf`, and `format` for schemars'
//! integer widths (`uint32`, `int64`, ...; `float`/`double` accept any number).
//! Annotations (`description`, `default`, `title`, `$id`, `$schema`,
//! `definitions`, `examples`) are skipped. Every error names the instance path
//! and the offending value or key.

use serde_json::Value;

/// A validator of instances against one root schema.
pub struct Validator<'s> {
    root: &'s Value,
}

const ANNOTATIONS: &[&str] = &[
    "description",
    "default",
    "title",
    "$id",
    "$schema",
    "definitions",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// The `format`s [`format_error`] checks.
const KNOWN_FORMATS: &[&str] = &[
    "float", "double", "uint8", "uint16", "uint32", "uint64", "uint", "int8", "int16", "int32",
    "int64", "int",
];

impl<'s> Validator<'s> {
    /// A validator of `root`; panics if the schema uses a keyword this
    /// validator does not implement.
    pub fn new(root: &'s Value) -> Self {
        let v = Validator { root };
        v.check_keywords(root, "#");
        v
    }

    /// Every schema keyword in the document is one this validator knows.
    fn check_keywords(&self, s: &Value, at: &str) {
        let Some(map) = s.as_object() else {
            assert!(
                s.is_boolean(),
                "{at}: a schema must be an object or a boolean"
            );
            return;
        };
        for (k, v) in map {
            let here = format!("{at}/{k}");
            match k.as_str() {
                "properties" | "definitions" => {
                    for (name, sub) in v.as_object().expect("an object of schemas") {
                        self.check_keywords(sub, &format!("{here}/{name}"));
                    }
                }
                "items" | "additionalProperties" => self.check_keywords(v, &here),
                "allOf" | "anyOf" | "oneOf" => {
                    for (i, sub) in v
                        .as_array()
                        .expect("an array of schemas")
                        .iter()
                        .enumerate()
                    {
                        self.check_keywords(sub, &format!("{here}/{i}"));
                    }
                }
                "format" => {
                    let f = v.as_str().expect("a format name");
                    assert!(
                        KNOWN_FORMATS.contains(&f),
                        "{here}: format `{f}` is not implemented"
                    );
                }
                "$ref" | "type" | "enum" | "const" | "required" | "minItems" | "maxItems"
                | "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {}
                other if ANNOTATIONS.contains(&other) => {}
                other => panic!("{here}: keyword `{other}` is not implemented by this validator"),
            }
        }
    }

    /// Every error of `instance`, each `path: message`; empty when valid.
    pub fn errors(&self, instance: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.validate(self.root, instance, "", &mut out);
        out
    }

    fn resolve(&self, reference: &str) -> &'s Value {
        let name = reference
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        self.root
            .get("definitions")
            .and_then(|d| d.get(name))
            .unwrap_or_else(|| panic!("$ref {reference}: no such definition"))
    }

    fn validate(&self, s: &'s Value, x: &Value, at: &str, out: &mut Vec<String>) {
        let here = if at.is_empty() { "/" } else { at };
        let map = match s {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                out.push(format!("{here}: {x} is not allowed here"));
                return;
            }
            Value::Object(map) => map,
            _ => panic!("{here}: a schema must be an object or a boolean"),
        };
        if let Some(r) = map.get("$ref").and_then(Value::as_str) {
            self.validate(self.resolve(r), x, at, out);
        }
        if let Some(t) = map.get("type") {
            let types: Vec<&str> = match t {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => panic!("{here}: `type` must be a string or an array"),
            };
            if !types.iter().any(|t| has_type(x, t)) {
                out.push(format!("{here}: {x} is not of type {}", types.join(" or ")));
                // Further keywords would only repeat the same complaint.
                return;
            }
        }
        if let Some(values) = map.get("enum").and_then(Value::as_array)
            && !values.iter().any(|v| json_eq(v, x))
        {
            out.push(format!(
                "{here}: {x} is not one of {}",
                Value::Array(values.clone())
            ));
        }
        if let Some(c) = map.get("const")
            && !json_eq(c, x)
        {
            out.push(format!("{here}: {x} is not {c}"));
        }
        if let Some(n) = x.as_f64() {
            let bound = |k: &str| map.get(k).and_then(Value::as_f64);
            if let Some(m) = bound("minimum")
                && n < m
            {
                out.push(format!("{here}: {x} is less than the minimum of {m}"));
            }
            if let Some(m) = bound("maximum")
                && n > m
            {
                out.push(format!("{here}: {x} is greater than the maximum of {m}"));
            }
            if let Some(m) = bound("exclusiveMinimum")
                && n <= m
            {
                out.push(format!("{here}: {x} is not greater than {m}"));
            }
            if let Some(m) = bound("exclusiveMaximum")
                && n >= m
            {
                out.push(format!("{here}: {x} is not less than {m}"));
            }
            if let Some(f) = map.get("format").and_then(Value::as_str)
                && let Some(message) = format_error(f, x)
            {
                out.push(format!("{here}: {x} {message}"));
            }
        }
        if let Some(object) = x.as_object() {
            let properties = map.get("properties").and_then(Value::as_object);
            for key in map
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(key) {
                    out.push(format!("{here}: required key `{key}` is missing"));
                }
            }
            for (key, value) in object {
                let path = format!("{at}/{key}");
                if let Some(sub) = properties.and_then(|p| p.get(key)) {
                    self.validate(sub, value, &path, out);
                } else if let Some(extra) = map.get("additionalProperties") {
                    if extra == &Value::Bool(false) {
                        out.push(format!("{here}: additional key `{key}` is not allowed"));
                    } else {
                        self.validate(extra, value, &path, out);
                    }
                }
            }
        }
        if let Some(items) = x.as_array() {
            let count = |k: &str| map.get(k).and_then(Value::as_u64);
            if let Some(m) = count("minItems")
                && (items.len() as u64) < m
            {
                out.push(format!("{here}: {} items, fewer than {m}", items.len()));
            }
            if let Some(m) = count("maxItems")
                && (items.len() as u64) > m
            {
                out.push(format!("{here}: {} items, more than {m}", items.len()));
            }
            if let Some(sub) = map.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.validate(sub, item, &format!("{at}/{i}"), out);
                }
            }
        }
        for sub in map
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.validate(sub, x, at, out);
        }
        if let Some(branches) = map.get("anyOf").and_then(Value::as_array) {
            let errors: Vec<Vec<String>> = branches.iter().map(|b| self.branch(b, x, at)).collect();
            if !errors.iter().any(Vec::is_empty) {
                out.push(format!(
                    "{here}: {x} is valid under none of anyOf: {}",
                    flat(&errors)
                ));
            }
        }
        if let Some(branches) = map.get("oneOf").and_then(Value::as_array) {
            let errors: Vec<Vec<String>> = branches.iter().map(|b| self.branch(b, x, at)).collect();
            match errors.iter().filter(|e| e.is_empty()).count() {
                1 => {}
                0 => out.push(format!(
                    "{here}: {x} is valid under none of oneOf: {}",
                    flat(&errors)
                )),
                n => out.push(format!(
                    "{here}: {x} is valid under {n} branches of oneOf, not one"
                )),
            }
        }
    }

    fn branch(&self, s: &'s Value, x: &Value, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.validate(s, x, at, &mut out);
        out
    }
}

/// The branches' errors, `[a; b] | [c]`.
fn flat(errors: &[Vec<String>]) -> String {
    errors
        .iter()
        .map(|e| format!("[{}]", e.join("; ")))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Whether `x` is of JSON Schema type `t` (an integer-valued float is an integer).
fn has_type(x: &Value, t: &str) -> bool {
    match t {
        "null" => x.is_null(),
        "boolean" => x.is_boolean(),
        "object" => x.is_object(),
        "array" => x.is_array(),
        "string" => x.is_string(),
        "number" => x.is_number(),
        "integer" => {
            x.is_i64()
                || x.is_u64()
                || x.as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        other => panic!("unknown type `{other}`"),
    }
}

/// Numbers compare by value (1 equals 1.0); everything else structurally.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(m), Value::Number(n)) => m.as_f64() == n.as_f64(),
        (Value::Array(m), Value::Array(n)) => {
            m.len() == n.len() && m.iter().zip(n).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(m), Value::Object(n)) => {
            m.len() == n.len()
                && m.iter()
                    .all(|(k, v)| n.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// schemars' numeric formats: the integer width's range; `None` when `x` fits.
fn format_error(format: &str, x: &Value) -> Option<String> {
    let range: (i128, i128) = match format {
        "float" | "double" => return None,
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" | "uint" => (0, u64::MAX.into()),
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" | "int" => (i64::MIN.into(), i64::MAX.into()),
        other => panic!("format `{other}` is not implemented by this validator"),
    };
    let value: Option<i128> = x
        .as_i64()
        .map(i128::from)
        .or_else(|| x.as_u64().map(i128::from));
    match value {
        Some(v) if (range.0..=range.1).contains(&v) => None,
        Some(_) => Some(format!("is outside the {format} range")),
        None => Some(format!("is not an integer ({format})")),
    }
}
