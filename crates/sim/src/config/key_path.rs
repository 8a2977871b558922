//! Key paths: where a value sits in a scenario, `market.btc.tiers[1].mmr`.
//!
//! One dialect for every key a message names (validation errors, TOML errors,
//! the keys a sweep varies): names joined by `.`, array indices in brackets.
//! [`KeyPath`] is built from parts ([`KeyPath::key`], [`KeyPath::index`]), from
//! serde's record of where deserialization failed ([`KeyPath::from_serde`]), or
//! parsed from text a user wrote ([`KeyPath::parse`]); it prints the same text
//! in every case.

use std::fmt;

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeySegment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Where a value sits in a scenario: `market.btc.tiers[1].mmr`. The empty key
/// path is the whole scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyPath {
    segments: Vec<KeySegment>,
}

/// Text that is not a key path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyPathError {
    /// An empty name (`a..b`, a leading or trailing dot, or nothing at all).
    #[error("`{0}` is not a key path like `liquidation.fee` or `market.btc.tiers[0].mmr`")]
    NotAKeyPath(String),
    /// An index that is not a whole number in brackets.
    #[error("`{text}`: bad index `[{index}`")]
    BadIndex {
        /// The whole text.
        text: String,
        /// What followed the `[`.
        index: String,
    },
}

impl KeyPath {
    /// The whole scenario.
    pub fn root() -> KeyPath {
        KeyPath::default()
    }

    /// This key path followed by table key `name`.
    #[must_use]
    pub fn key(&self, name: impl Into<String>) -> KeyPath {
        let mut k = self.clone();
        k.segments.push(KeySegment::Key(name.into()));
        k
    }

    /// This key path followed by array index `i`.
    #[must_use]
    pub fn index(&self, i: usize) -> KeyPath {
        let mut k = self.clone();
        k.segments.push(KeySegment::Index(i));
        k
    }

    /// Parses `a.b[2].c`: names separated by `.`, each followed by any number of
    /// `[index]`.
    ///
    /// # Errors
    /// An empty name or an index that is not a whole number.
    pub fn parse(text: &str) -> Result<KeyPath, KeyPathError> {
        let mut out = KeyPath::root();
        for part in text.split('.') {
            let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
            if name.is_empty() {
                return Err(KeyPathError::NotAKeyPath(text.to_string()));
            }
            out.segments.push(KeySegment::Key(name.to_string()));
            if !rest.is_empty() {
                for idx in format!("[{rest}").split('[').skip(1) {
                    let i = idx
                        .strip_suffix(']')
                        .and_then(|i| i.parse().ok())
                        .ok_or_else(|| KeyPathError::BadIndex {
                            text: text.to_string(),
                            index: idx.to_string(),
                        })?;
                    out.segments.push(KeySegment::Index(i));
                }
            }
        }
        Ok(out)
    }

    /// Where serde stopped: its path's segments as they are (map keys may
    /// contain dots), an unknown segment as `?`.
    pub fn from_serde(path: &serde_path_to_error::Path) -> KeyPath {
        use serde_path_to_error::Segment;
        let segments = path
            .iter()
            .map(|s| match s {
                Segment::Seq { index } => KeySegment::Index(*index),
                Segment::Map { key } => KeySegment::Key(key.clone()),
                Segment::Enum { variant } => KeySegment::Key(variant.clone()),
                Segment::Unknown => KeySegment::Key("?".to_string()),
            })
            .collect();
        KeyPath { segments }
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[KeySegment] {
        &self.segments
    }

    /// Whether this is the whole scenario.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether this key path starts with `prefix`'s segments.
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.segments.starts_with(&prefix.segments)
    }
}

impl From<&str> for KeyPath {
    /// A single table key (no parsing: `"market"` → `market`).
    fn from(name: &str) -> KeyPath {
        KeyPath::root().key(name)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for s in &self.segments {
            match s {
                KeySegment::Key(k) => write!(f, "{separator}{k}")?,
                KeySegment::Index(i) => write!(f, "[{i}]")?,
            }
            separator = ".";
        }
        Ok(())
    }
}

impl PartialEq<&str> for KeyPath {
    /// Whether this key path prints as `other`.
    fn eq(&self, other: &&str) -> bool {
        KeyPath::parse(other).is_ok_and(|k| k == *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_parsed_and_printed_alike() {
        let built = KeyPath::from("market")
            .key("btc")
            .key("tiers")
            .index(1)
            .key("mmr");
        assert_eq!(built.to_string(), "market.btc.tiers[1].mmr");
        assert_eq!(KeyPath::parse("market.btc.tiers[1].mmr").unwrap(), built);
        assert_eq!(built.segments().len(), 5);
        assert_eq!(
            KeyPath::parse("a[1][2].b").unwrap().to_string(),
            "a[1][2].b"
        );
        assert_eq!(KeyPath::root().to_string(), "");
    }

    #[test]
    fn bad_text_is_refused() {
        assert!(matches!(
            KeyPath::parse("a..b"),
            Err(KeyPathError::NotAKeyPath(_))
        ));
        assert!(KeyPath::parse("").is_err());
        assert_eq!(
            KeyPath::parse("a[x]").unwrap_err().to_string(),
            "`a[x]`: bad index `[x]`"
        );
    }
}
