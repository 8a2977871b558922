//! Parquet key-value metadata: what the writers store and [`read_metadata`].

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use parquet::file::metadata::KeyValue;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::error::DataError;

/// Metadata key under which every file written by this crate records its
/// schema identifier ([`POSITIONS_SCHEMA_ID`](crate::POSITIONS_SCHEMA_ID) or
/// [`STEPS_SCHEMA_ID`](crate::STEPS_SCHEMA_ID)).
pub const SCHEMA_METADATA_KEY: &str = "backstop.schema";

/// Metadata key under which the Arrow writer embeds the Arrow schema. It is
/// reserved and left out of [`read_metadata`]'s result.
pub(crate) const ARROW_SCHEMA_METADATA_KEY: &str = "ARROW:schema";

/// Reads the key-value metadata of the Parquet file at `path`, sorted by key
/// (then value, should a foreign file repeat a key).
///
/// The result includes [`SCHEMA_METADATA_KEY`] when present but not the
/// embedded Arrow schema (`ARROW:schema`), which is an encoding detail. A key
/// stored without a value is returned with an empty string.
///
/// # Errors
///
/// [`DataError::Io`] if the file cannot be opened, [`DataError::NotParquet`]
/// if its footer cannot be parsed as Parquet.
pub fn read_metadata(path: &Path) -> Result<Vec<(String, String)>, DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let reader = SerializedFileReader::new(file).map_err(|source| DataError::NotParquet {
        path: path.to_owned(),
        source,
    })?;
    let mut pairs: Vec<(String, String)> = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter(|kv| kv.key != ARROW_SCHEMA_METADATA_KEY)
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    pairs.sort();
    Ok(pairs)
}

/// Builds the key-value metadata to store: the caller's pairs plus
/// [`SCHEMA_METADATA_KEY`] = `schema_id`, sorted by key so that the output does
/// not depend on the order the caller listed them in.
pub(crate) fn build_key_value_metadata(
    path: &Path,
    schema_id: &str,
    metadata: &[(String, String)],
) -> Result<Vec<KeyValue>, DataError> {
    let mut sorted = BTreeMap::new();
    for (key, value) in metadata {
        if key == SCHEMA_METADATA_KEY || key == ARROW_SCHEMA_METADATA_KEY {
            return Err(DataError::ReservedMetadataKey {
                path: path.to_owned(),
                key: key.clone(),
            });
        }
        if sorted.insert(key.as_str(), value.as_str()).is_some() {
            return Err(DataError::DuplicateMetadataKey {
                path: path.to_owned(),
                key: key.clone(),
            });
        }
    }
    sorted.insert(SCHEMA_METADATA_KEY, schema_id);
    Ok(sorted
        .into_iter()
        .map(|(key, value)| KeyValue::new(key.to_owned(), value.to_owned()))
        .collect())
}

/// Checks that a file either carries no [`SCHEMA_METADATA_KEY`] (foreign files
/// are welcome) or carries `expected`.
pub(crate) fn check_schema_id(
    path: &Path,
    key_value_metadata: Option<&Vec<KeyValue>>,
    expected: &str,
) -> Result<(), DataError> {
    let found = key_value_metadata
        .into_iter()
        .flatten()
        .find(|kv| kv.key == SCHEMA_METADATA_KEY);
    match found {
        None => Ok(()),
        Some(kv) if kv.value.as_deref() == Some(expected) => Ok(()),
        Some(kv) => Err(DataError::SchemaMismatch {
            path: path.to_owned(),
            expected: expected.to_owned(),
            found: kv.value.clone().unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn metadata_is_sorted_and_tagged() {
        let kv = build_key_value_metadata(
            Path::new("x.parquet"),
            "steps/v1",
            &pairs(&[("zeta", "1"), ("alpha", "2")]),
        )
        .unwrap();
        let keys: Vec<&str> = kv.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["alpha", "backstop.schema", "zeta"]);
        assert_eq!(kv[1].value.as_deref(), Some("steps/v1"));
    }

    #[test]
    fn reserved_and_duplicate_keys_are_rejected() {
        let path = Path::new("out/x.parquet");
        let err = build_key_value_metadata(path, "steps/v1", &pairs(&[("backstop.schema", "v9")]))
            .unwrap_err();
        assert!(
            matches!(err, DataError::ReservedMetadataKey { ref key, .. } if key == "backstop.schema")
        );
        assert!(err.to_string().contains("out/x.parquet"), "{err}");

        let err = build_key_value_metadata(path, "steps/v1", &pairs(&[("a", "1"), ("a", "2")]))
            .unwrap_err();
        assert!(matches!(err, DataError::DuplicateMetadataKey { ref key, .. } if key == "a"));
    }

    #[test]
    fn schema_id_check() {
        let path = Path::new("f.parquet");
        assert!(check_schema_id(path, None, "positions/v1").is_ok());
        let kv = vec![KeyValue::new(
            SCHEMA_METADATA_KEY.to_owned(),
            "steps/v1".to_owned(),
        )];
        assert!(check_schema_id(path, Some(&kv), "steps/v1").is_ok());
        let err = check_schema_id(path, Some(&kv), "positions/v1").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"steps/v1\"") && msg.contains("\"positions/v1\""),
            "{msg}"
        );
    }
}
