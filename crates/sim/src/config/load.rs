//! Reading a scenario file: TOML to [`Scenario`], validated, with every error
//! located by file, line and key path.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::key_path::{KeyPath, KeySegment};
use super::scenario::Scenario;

/// The largest scenario file read (64 MiB): a file is read whole, so its size
/// is checked first.
pub const MAX_SCENARIO_BYTES: u64 = 64 << 20;

/// A scenario that cannot be used, located in its file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read scenario: {source}")]
    Io {
        /// File.
        file: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, a wrong type, an unknown or missing key, or a value out of
    /// range.
    #[error("{}", Located { file, line: *line, key, message })]
    Invalid {
        /// File.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Key path (`market.btc.tiers[1].mmr`), empty for syntax errors.
        key: String,
        /// What is wrong.
        message: String,
    },
}

struct Located<'a> {
    file: &'a Path,
    line: Option<usize>,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ScenarioError {
    /// The key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { key, .. } if !key.is_empty() => Some(key),
            _ => None,
        }
    }
    /// The 1-based line, if known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ScenarioError::Invalid { line, .. } => *line,
            ScenarioError::Io { .. } => None,
        }
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    ///
    /// # Errors
    /// [`ScenarioError`] naming the file, line and key.
    pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
        let io = |source| ScenarioError::Io {
            file: file.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(file).map_err(io)?.len();
        if size > MAX_SCENARIO_BYTES {
            return Err(ScenarioError::Invalid {
                file: file.to_path_buf(),
                line: None,
                key: String::new(),
                message: format!(
                    "the file is {size} bytes, more than a scenario may be ({MAX_SCENARIO_BYTES} \
                     bytes); long price series belong in a prices/v1 file"
                ),
            });
        }
        let src = std::fs::read_to_string(file).map_err(io)?;
        Scenario::from_toml_str(&src, file)
    }

    /// Parses and validates scenario text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] naming `origin`, the line and the key.
    pub fn from_toml_str(src: &str, origin: &Path) -> Result<Scenario, ScenarioError> {
        let invalid = |line, key: &KeyPath, message: String| ScenarioError::Invalid {
            file: origin.to_path_buf(),
            line,
            key: key.to_string(),
            message,
        };
        let table = DeTable::parse(src).map_err(|e| {
            let mut message = e.message().to_string();
            // "duplicate key" alone does not say which: the span is the key.
            if let Some(k) = e.span().and_then(|s| src.get(s)).map(str::trim)
                && message == "duplicate key"
                && !k.is_empty()
            {
                message = format!("duplicate key `{k}`");
            }
            invalid(
                e.span().map(|s| line_of(src, s.start)),
                &KeyPath::root(),
                message,
            )
        })?;
        read_table(table, src, origin)
    }
}

/// The scenario of a parsed file `table` (text `src`, named `origin` in
/// errors): the rule book its `venue` names laid under it, deserialized,
/// a venue sweep's scenarios read, validated.
fn read_table(
    table: Spanned<DeTable<'_>>,
    src: &str,
    origin: &Path,
) -> Result<Scenario, ScenarioError> {
    let invalid = |line, key: &KeyPath, message: String| ScenarioError::Invalid {
        file: origin.to_path_buf(),
        line,
        key: key.to_string(),
        message,
    };
    // `venue = "…"`: the rule book under the file's own keys.
    let book = super::rule_book::rule_book_text(table.get_ref()).map_err(|e| {
        invalid(
            Some(line_of(src, e.span.start)),
            &KeyPath::root().key("venue"),
            e.message,
        )
    })?;
    let mut table: Spanned<DeTable<'_>> = table;
    // The file's own keys, apart from any rule book: a venue sweep reads
    // them again under each venue.
    let own = table.clone();
    if let Some((text, span)) = &book {
        let parsed = DeTable::parse(text).map_err(|e| {
            invalid(
                Some(line_of(src, span.start)),
                &KeyPath::root().key("venue"),
                format!("the venue's rule book does not parse: {e}"),
            )
        })?;
        super::rule_book::lay_under(table.get_mut(), parsed.into_inner(), span);
    }
    let doc = table.clone();
    let de = toml::de::Deserializer::from(table);
    let mut scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = KeyPath::from_serde(e.path());
        let inner = e.inner();
        let message = inner.message().to_string();
        // Inside the internally tagged tables (`path`, `population`, the
        // distributions) serde loses the path and the span at the table: find
        // the key the message is about.
        if let Some((key, at)) = refine(doc.get_ref(), &key, &message) {
            return invalid(Some(line_of(src, at)), &key, message);
        }
        let line = inner
            .span()
            .filter(|s| s.start > 0 || s.end > 0)
            .map(|s| line_of(src, s.start))
            .or_else(|| locate(doc.get_ref(), &key).map(|at| line_of(src, at)));
        invalid(line, &key, message)
    })?;
    scenario.venue_scenarios = venue_scenarios(&own, &scenario, src, origin)?;
    scenario.validate().map_err(|e| {
        let line = locate(doc.get_ref(), &e.key).map(|at| line_of(src, at));
        invalid(line, &e.key, e.message)
    })?;
    Ok(scenario)
}

/// A venue sweep's scenarios (`[sweep] venue = [...]`): the file's own keys
/// `own` read under each listed venue in turn (its `venue` replaced, its
/// `[sweep]` dropped). Errors name `sweep.venue[i]`, or the key at fault
/// under that venue.
fn venue_scenarios(
    own: &Spanned<DeTable<'_>>,
    s: &Scenario,
    src: &str,
    origin: &Path,
) -> Result<Vec<Scenario>, ScenarioError> {
    let Some(names) = s.sweep.as_ref().and_then(|w| w.venue.as_ref()) else {
        return Ok(Vec::new());
    };
    let at = KeyPath::root().key("sweep").key("venue");
    let list = value_at(own.get_ref(), &at);
    let invalid = |i: Option<usize>, message: String| {
        let span = match (i, list.map(|l| l.get_ref())) {
            (Some(i), Some(DeValue::Array(a))) => a.get(i).map(|v| v.span()),
            _ => list.map(|l| l.span()),
        };
        ScenarioError::Invalid {
            file: origin.to_path_buf(),
            line: span.map(|sp| line_of(src, sp.start)),
            key: i.map_or_else(|| at.clone(), |i| at.index(i)).to_string(),
            message,
        }
    };
    if names.is_empty() {
        return Err(invalid(None, "the venue list is empty".into()));
    }
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if super::sweep::venue_code(name).is_none() {
            let all = crate::venue::rulebook::Venue::ALL
                .map(|v| v.name())
                .join("\", \"");
            return Err(invalid(
                Some(i),
                format!("unknown venue `{name}`: expected one of \"{all}\""),
            ));
        }
        if names[..i].contains(name) {
            return Err(invalid(Some(i), format!("venue `{name}` is listed twice")));
        }
        let span = match list.map(|l| l.get_ref()) {
            Some(DeValue::Array(a)) => a.get(i).map_or(0..0, |v| v.span()),
            _ => 0..0,
        };
        let mut t = own.clone();
        t.get_mut().remove("sweep");
        t.get_mut().insert(
            Spanned::new(span.clone(), std::borrow::Cow::Borrowed("venue")),
            Spanned::new(span, DeValue::String(std::borrow::Cow::Owned(name.clone()))),
        );
        let scenario = read_table(t, src, origin).map_err(|e| match e {
            ScenarioError::Invalid {
                file,
                line,
                key,
                message,
            } => ScenarioError::Invalid {
                file,
                line,
                key,
                message: format!("under venue `{name}` (sweep.venue[{i}]): {message}"),
            },
            other => other,
        })?;
        out.push(scenario);
    }
    Ok(out)
}

/// 1-based line of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Byte offset of the deepest part of `key` found in the document.
fn locate(root: &DeTable<'_>, key: &KeyPath) -> Option<usize> {
    let mut table = root;
    let mut found: Option<usize> = None;
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for segment in key.segments() {
        match segment {
            KeySegment::Key(k) => {
                let t = match value.map(|v| v.get_ref()) {
                    None => table,
                    Some(DeValue::Table(t)) => t,
                    _ => break,
                };
                let Some((k, v)) = t.get_key_value(k.as_str()) else {
                    break;
                };
                found = Some(k.span().start);
                value = Some(v);
                table = t;
            }
            KeySegment::Index(i) => match value.map(|v| v.get_ref()) {
                Some(DeValue::Array(a)) => {
                    let Some(v) = a.get(*i) else { break };
                    found = Some(v.span().start);
                    value = Some(v);
                }
                _ => break,
            },
        }
    }
    found
}

/// The value at `key`, if every part of it is in the document.
fn value_at<'d, 'i>(root: &'d DeTable<'i>, key: &KeyPath) -> Option<&'d Spanned<DeValue<'i>>> {
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for segment in key.segments() {
        value = Some(match (segment, value.map(|v| v.get_ref())) {
            (KeySegment::Key(k), None) => root.get(k.as_str())?,
            (KeySegment::Key(k), Some(DeValue::Table(t))) => t.get(k.as_str())?,
            (KeySegment::Index(i), Some(DeValue::Array(a))) => a.get(*i)?,
            _ => return None,
        });
    }
    value
}

/// For an error serde reported at a table (`key`), the one key below it that the
/// message is about: the unknown field it names, or the only value equal to the
/// one it rejects. Returns the full key and the byte offset to report.
fn refine(root: &DeTable<'_>, key: &KeyPath, message: &str) -> Option<(KeyPath, usize)> {
    let table = match value_at(root, key)?.get_ref() {
        DeValue::Table(t) => t,
        _ => return None,
    };
    let mut found = Vec::new();
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        walk_table(table, key, &mut |k, key_at, _| {
            if matches!(k.segments().last(), Some(KeySegment::Key(last)) if last == field) {
                found.push((k.clone(), key_at));
            }
        });
    } else if let Some(unexpected) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split(", expected").next())
    {
        walk_table(table, key, &mut |k, _, v| {
            if describes(unexpected, v.get_ref()) {
                found.push((k.clone(), v.span().start));
            }
        });
    }
    match found.as_slice() {
        [(k, at)] => Some((k.clone(), *at)),
        _ => None,
    }
}

/// A value in the parsed document.
type Node<'d, 'i> = &'d Spanned<DeValue<'i>>;

/// Calls `f(key, key offset, value)` for every entry below `table`, depth first;
/// array elements get the array key's offset and their own value.
fn walk_table<'d, 'i>(
    table: &'d DeTable<'i>,
    prefix: &KeyPath,
    f: &mut dyn FnMut(&KeyPath, usize, Node<'d, 'i>),
) {
    for (k, v) in table {
        let key = prefix.key(k.get_ref().as_ref());
        f(&key, k.span().start, v);
        walk_value(v, &key, k.span().start, f);
    }
}

fn walk_value<'d, 'i>(
    value: Node<'d, 'i>,
    key: &KeyPath,
    key_at: usize,
    f: &mut dyn FnMut(&KeyPath, usize, Node<'d, 'i>),
) {
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, key, f),
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let k = key.index(i);
                f(&k, key_at, v);
                walk_value(v, &k, key_at, f);
            }
        }
        _ => {}
    }
}

/// Whether serde's description of an unexpected value (`integer `-5``,
/// `string "x"`, `floating point `1.5``, `boolean `true``) is this TOML value.
fn describes(unexpected: &str, value: &DeValue<'_>) -> bool {
    let quoted = |prefix: &str| {
        unexpected
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('`'))
            .and_then(|r| r.strip_suffix('`'))
            .map(str::to_string)
    };
    match value {
        DeValue::String(s) => unexpected.strip_prefix("string ") == Some(&format!("{s:?}")),
        DeValue::Integer(i) => {
            let v = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix());
            quoted("integer ").is_some_and(|q| v.is_ok_and(|v| q == v.to_string()))
        }
        DeValue::Float(x) => {
            let v = x.as_str().replace('_', "").parse::<f64>();
            quoted("floating point ").is_some_and(|q| {
                v.is_ok_and(|v| {
                    q.parse::<f64>()
                        .is_ok_and(|q| q == v || (q.is_nan() && v.is_nan()))
                })
            })
        }
        DeValue::Boolean(b) => quoted("boolean ") == Some(b.to_string()),
        _ => false,
    }
}
