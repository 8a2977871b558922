//! The key-value metadata of a tick-history file (the keys are listed in the
//! [history module docs](crate::history)): which schema it holds
//! ([`HistorySchema`]), the symbol's [`Contract`], and [`HistoryMetadata`];
//! encoding them as pairs, parsing and checking them, and opening a file for
//! reading with its metadata checked.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::KeyValue;

use super::chunk_file::ChunkFile;
use crate::error::DataError;
use crate::metadata::{ARROW_SCHEMA_METADATA_KEY, SCHEMA_METADATA_KEY};

/// Metadata key holding the symbol a tick-history file covers.
pub const SYMBOL_METADATA_KEY: &str = "backstop.symbol";
/// Metadata key holding the venue a tick-history file comes from.
pub const VENUE_METADATA_KEY: &str = "backstop.venue";
/// Metadata key holding where a tick-history file's data came from.
pub const SOURCE_METADATA_KEY: &str = "backstop.source";
/// Metadata key holding the contract type, `linear` or `inverse`.
pub const CONTRACT_METADATA_KEY: &str = "backstop.contract";
/// Metadata key holding the USD face value of one inverse contract.
pub const CONTRACT_SIZE_METADATA_KEY: &str = "backstop.contract_size_usd";
/// Metadata key holding the version of the importing tool (optional).
pub const TOOL_VERSION_METADATA_KEY: &str = "backstop.tool_version";

/// The keys [`HistoryMetadata`] reads and writes itself; callers may not
/// pass them in [`HistoryMetadata::extra`].
const HISTORY_KEYS: [&str; 6] = [
    SYMBOL_METADATA_KEY,
    VENUE_METADATA_KEY,
    SOURCE_METADATA_KEY,
    CONTRACT_METADATA_KEY,
    CONTRACT_SIZE_METADATA_KEY,
    TOOL_VERSION_METADATA_KEY,
];

/// Which of the four tick-history schemas a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HistorySchema {
    /// `trades/v1`, see [`trades`](crate::history::trades).
    Trades,
    /// `prices/v1`, see [`prices`](crate::history::prices).
    Prices,
    /// `funding/v1`, see [`funding`](crate::history::funding).
    Funding,
    /// `depth/v1`, see [`depth`](crate::history::depth).
    Depth,
}

impl HistorySchema {
    /// Every schema, in declaration order.
    pub const ALL: [Self; 4] = [Self::Trades, Self::Prices, Self::Funding, Self::Depth];

    /// The schema's `backstop.schema` identifier, e.g. `"trades/v1"`.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::Trades => "trades/v1",
            Self::Prices => "prices/v1",
            Self::Funding => "funding/v1",
            Self::Depth => "depth/v1",
        }
    }

    /// The schema with identifier `id`, if it is one of the four.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|schema| schema.id() == id)
    }
}

/// How a symbol's sizes are denominated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Contract {
    /// USD(T)-margined: sizes are in base units, notional = size × price.
    Linear,
    /// Coin-margined (COIN-M): sizes are in contracts of a fixed USD face
    /// value, notional = size × `contract_size_usd`.
    Inverse {
        /// USD face value of one contract (e.g. 100 for BTCUSD perpetuals,
        /// 10 for most others), finite and > 0.
        contract_size_usd: f64,
    },
}

impl Contract {
    /// USD notional of `size` (as recorded in the file) traded at `price`.
    #[must_use]
    pub fn notional_usd(self, size: f64, price: f64) -> f64 {
        match self {
            Self::Linear => size * price,
            Self::Inverse { contract_size_usd } => size * contract_size_usd,
        }
    }

    /// `size` (as recorded in the file) converted to base units at `price`.
    #[must_use]
    pub fn base_units(self, size: f64, price: f64) -> f64 {
        match self {
            Self::Linear => size,
            Self::Inverse { contract_size_usd } => size * contract_size_usd / price,
        }
    }
}

/// What a tick-history file records about its contents, stored as Parquet
/// key-value metadata (see the [module docs](self) for the keys).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMetadata {
    /// The venue's symbol, e.g. `BTCUSDT` (non-empty).
    pub symbol: String,
    /// The venue, e.g. `binance-usdm` (non-empty).
    pub venue: String,
    /// Where the data came from, e.g. `tardis:trades` (non-empty).
    pub source: String,
    /// How sizes are denominated.
    pub contract: Contract,
    /// Version of the tool that imported the data, if recorded.
    pub tool_version: Option<String>,
    /// Any other key-value pairs, sorted by key when read. Must not use the
    /// keys above, `backstop.schema` or `ARROW:schema`.
    pub extra: Vec<(String, String)>,
}

impl HistoryMetadata {
    /// Metadata with no tool version and no extra pairs.
    #[must_use]
    pub fn new(
        symbol: impl Into<String>,
        venue: impl Into<String>,
        source: impl Into<String>,
        contract: Contract,
    ) -> Self {
        Self {
            symbol: symbol.into(),
            venue: venue.into(),
            source: source.into(),
            contract,
            tool_version: None,
            extra: Vec::new(),
        }
    }
}

/// The key-value pairs (apart from `backstop.schema`) written for `meta`.
pub(crate) fn metadata_pairs(
    path: &Path,
    meta: &HistoryMetadata,
) -> Result<Vec<(String, String)>, DataError> {
    let invalid = |key: &str, value: &str, reason: &str| DataError::InvalidMetadata {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let mut pairs = Vec::with_capacity(6 + meta.extra.len());
    for (key, value) in [
        (SYMBOL_METADATA_KEY, &meta.symbol),
        (VENUE_METADATA_KEY, &meta.venue),
        (SOURCE_METADATA_KEY, &meta.source),
    ] {
        if value.is_empty() {
            return Err(invalid(key, value, "must not be empty"));
        }
        pairs.push((key.to_owned(), value.clone()));
    }
    match meta.contract {
        Contract::Linear => pairs.push((CONTRACT_METADATA_KEY.to_owned(), "linear".to_owned())),
        Contract::Inverse { contract_size_usd } => {
            let value = contract_size_usd.to_string();
            if !(contract_size_usd.is_finite() && contract_size_usd > 0.0) {
                return Err(invalid(
                    CONTRACT_SIZE_METADATA_KEY,
                    &value,
                    "must be finite and > 0",
                ));
            }
            pairs.push((CONTRACT_METADATA_KEY.to_owned(), "inverse".to_owned()));
            pairs.push((CONTRACT_SIZE_METADATA_KEY.to_owned(), value));
        }
    }
    if let Some(version) = &meta.tool_version {
        pairs.push((TOOL_VERSION_METADATA_KEY.to_owned(), version.clone()));
    }
    for (key, value) in &meta.extra {
        if HISTORY_KEYS.contains(&key.as_str()) {
            return Err(DataError::ReservedMetadataKey {
                path: path.to_owned(),
                key: key.clone(),
            });
        }
        pairs.push((key.clone(), value.clone()));
    }
    Ok(pairs)
}

/// The key-value pairs of a file: those [`HistoryMetadata`] reads (and
/// `backstop.schema`), and the others, sorted.
struct StoredPairs<'a> {
    path: &'a Path,
    known: BTreeMap<&'a str, &'a str>,
    extra: Vec<(String, String)>,
}

impl<'a> StoredPairs<'a> {
    /// Sorts a file's pairs into known and extra ones; a known key given twice
    /// is an error.
    fn new(path: &'a Path, key_values: Option<&'a Vec<KeyValue>>) -> Result<Self, DataError> {
        let mut known: BTreeMap<&str, &str> = BTreeMap::new();
        let mut extra = Vec::new();
        for kv in key_values.into_iter().flatten() {
            let value = kv.value.as_deref().unwrap_or_default();
            let key = kv.key.as_str();
            if key == SCHEMA_METADATA_KEY || HISTORY_KEYS.contains(&key) {
                if known.insert(key, value).is_some() {
                    return Err(DataError::InvalidMetadata {
                        path: path.to_owned(),
                        key: key.to_owned(),
                        value: value.to_owned(),
                        reason: "key appears more than once".to_owned(),
                    });
                }
            } else if key != ARROW_SCHEMA_METADATA_KEY {
                extra.push((key.to_owned(), value.to_owned()));
            }
        }
        extra.sort();
        Ok(Self { path, known, extra })
    }

    fn required(&self, key: &str) -> Result<&'a str, DataError> {
        self.known
            .get(key)
            .copied()
            .ok_or_else(|| DataError::MissingMetadata {
                path: self.path.to_owned(),
                key: key.to_owned(),
            })
    }

    fn invalid(&self, key: &str, value: &str, reason: &str) -> DataError {
        DataError::InvalidMetadata {
            path: self.path.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn non_empty(&self, key: &str) -> Result<String, DataError> {
        let value = self.required(key)?;
        if value.is_empty() {
            return Err(self.invalid(key, value, "must not be empty"));
        }
        Ok(value.to_owned())
    }

    /// The schema of `backstop.schema`, if it is one of `accept`.
    fn schema(&self, accept: &[HistorySchema]) -> Result<HistorySchema, DataError> {
        let id = self.required(SCHEMA_METADATA_KEY)?;
        HistorySchema::from_id(id)
            .filter(|schema| accept.contains(schema))
            .ok_or_else(|| DataError::SchemaMismatch {
                path: self.path.to_owned(),
                expected: accept
                    .iter()
                    .map(|schema| schema.id())
                    .collect::<Vec<_>>()
                    .join(" or "),
                found: id.to_owned(),
            })
    }

    /// `backstop.contract` and, for an inverse contract, its size.
    fn contract(&self) -> Result<Contract, DataError> {
        let contract_size = self.known.get(CONTRACT_SIZE_METADATA_KEY).copied();
        match self.required(CONTRACT_METADATA_KEY)? {
            "linear" => match contract_size {
                Some(size) => Err(self.invalid(
                    CONTRACT_SIZE_METADATA_KEY,
                    size,
                    "only inverse contracts have a contract size",
                )),
                None => Ok(Contract::Linear),
            },
            "inverse" => {
                let text = self.required(CONTRACT_SIZE_METADATA_KEY)?;
                let contract_size_usd = text
                    .parse::<f64>()
                    .ok()
                    .filter(|size| size.is_finite() && *size > 0.0)
                    .ok_or_else(|| {
                        self.invalid(
                            CONTRACT_SIZE_METADATA_KEY,
                            text,
                            "must be a finite number > 0",
                        )
                    })?;
                Ok(Contract::Inverse { contract_size_usd })
            }
            other => Err(self.invalid(
                CONTRACT_METADATA_KEY,
                other,
                "must be \"linear\" or \"inverse\"",
            )),
        }
    }
}

/// Parses the schema and [`HistoryMetadata`] out of a file's key-value
/// metadata, accepting only the schemas in `accept`.
fn parse_metadata(
    path: &Path,
    key_values: Option<&Vec<KeyValue>>,
    accept: &[HistorySchema],
) -> Result<(HistorySchema, HistoryMetadata), DataError> {
    let pairs = StoredPairs::new(path, key_values)?;
    let schema = pairs.schema(accept)?;
    let symbol = pairs.non_empty(SYMBOL_METADATA_KEY)?;
    let venue = pairs.non_empty(VENUE_METADATA_KEY)?;
    let source = pairs.non_empty(SOURCE_METADATA_KEY)?;
    let contract = pairs.contract()?;
    let tool_version = pairs
        .known
        .get(TOOL_VERSION_METADATA_KEY)
        .map(|&version| version.to_owned());
    Ok((
        schema,
        HistoryMetadata {
            symbol,
            venue,
            source,
            contract,
            tool_version,
            extra: pairs.extra,
        },
    ))
}

/// A tick-history file opened for reading: its footer has been parsed and its
/// metadata checked.
pub(crate) struct Opened {
    /// The reader's builder, over the file read a column chunk at a time.
    pub(crate) builder: ParquetRecordBatchReaderBuilder<ChunkFile>,
    pub(crate) schema: HistorySchema,
    pub(crate) metadata: HistoryMetadata,
}

/// Opens `path`, parses its footer and its metadata, accepting only the
/// schemas in `accept`.
pub(crate) fn open(path: &Path, accept: &[HistorySchema]) -> Result<Opened, DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let footer = ArrowReaderMetadata::load(&file, Default::default()).map_err(|source| {
        DataError::NotParquet {
            path: path.to_owned(),
            source,
        }
    })?;
    crate::parquet_io::check_chunk_ranges(path, footer.metadata())?;
    let file = ChunkFile::new(file, footer.metadata())
        .map_err(|source| DataError::io(path, "failed to read the file's length", source))?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, footer);
    let (schema, metadata) = parse_metadata(
        path,
        builder.metadata().file_metadata().key_value_metadata(),
        accept,
    )?;
    Ok(Opened {
        builder,
        schema,
        metadata,
    })
}

/// Reads which schema a tick-history file holds and its metadata, without
/// reading any rows.
///
/// # Errors
///
/// [`DataError::Io`] / [`DataError::NotParquet`] if the file cannot be opened
/// as Parquet; [`DataError::MissingMetadata`] if a required key (including
/// `backstop.schema`) is absent; [`DataError::SchemaMismatch`] if
/// `backstop.schema` is not a tick-history schema;
/// [`DataError::InvalidMetadata`] for an unusable value.
pub fn read_history_metadata(path: &Path) -> Result<(HistorySchema, HistoryMetadata), DataError> {
    let opened = open(path, &HistorySchema::ALL)?;
    Ok((opened.schema, opened.metadata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::build_key_value_metadata;

    fn kv(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
        pairs
            .iter()
            .map(|(k, v)| KeyValue::new((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const BASE: [(&str, &str); 5] = [
        ("backstop.schema", "funding/v1"),
        ("backstop.symbol", "BTCUSD_PERP"),
        ("backstop.venue", "binance-coinm"),
        ("backstop.source", "test"),
        ("backstop.contract", "linear"),
    ];

    fn parse(pairs: &[(&str, &str)]) -> Result<(HistorySchema, HistoryMetadata), DataError> {
        parse_metadata(
            Path::new("f.parquet"),
            Some(&kv(pairs)),
            &HistorySchema::ALL,
        )
    }

    fn with<'a>(replace: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut pairs: Vec<(&str, &str)> = BASE.to_vec();
        for &(key, value) in replace {
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, value));
        }
        pairs
    }

    #[test]
    fn metadata_round_trips_through_pairs() {
        let mut meta = HistoryMetadata::new(
            "BTCUSD_PERP",
            "binance-coinm",
            "tardis",
            Contract::Inverse {
                contract_size_usd: 0.1,
            },
        );
        meta.tool_version = Some("0.1.0".to_owned());
        meta.extra = vec![
            ("a".to_owned(), String::new()),
            ("z".to_owned(), "1".to_owned()),
        ];
        let path = Path::new("f.parquet");
        let stored =
            build_key_value_metadata(path, "trades/v1", &metadata_pairs(path, &meta).unwrap())
                .unwrap();
        let mut with_arrow = stored;
        with_arrow.push(KeyValue::new(
            ARROW_SCHEMA_METADATA_KEY.to_owned(),
            "xyz".to_owned(),
        ));
        let (schema, parsed) =
            parse_metadata(path, Some(&with_arrow), &HistorySchema::ALL).unwrap();
        assert_eq!(schema, HistorySchema::Trades);
        assert_eq!(parsed, meta);
    }

    #[test]
    fn bad_metadata_is_named() {
        let err = parse(&with(&[("backstop.contract", "quanto")])).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, ref value, .. }
                if key == "backstop.contract" && value == "quanto"),
            "{err:?}"
        );
        let err = parse(&with(&[("backstop.contract_size_usd", "100")])).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.contract_size_usd"),
            "{err:?}"
        );
        for size in ["-1", "NaN", "inf", "ten"] {
            let err = parse(&with(&[
                ("backstop.contract", "inverse"),
                ("backstop.contract_size_usd", size),
            ]))
            .unwrap_err();
            assert!(
                matches!(err, DataError::InvalidMetadata { .. }),
                "{size}: {err:?}"
            );
        }
        let err = parse(&with(&[("backstop.venue", "")])).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.venue"),
            "{err:?}"
        );
        let mut duplicated = BASE.to_vec();
        duplicated.push(("backstop.symbol", "ETHUSD_PERP"));
        let err = parse(&duplicated).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.symbol"),
            "{err:?}"
        );
        let mut no_schema = BASE.to_vec();
        no_schema.remove(0);
        let err = parse(&no_schema).unwrap_err();
        assert!(
            matches!(err, DataError::MissingMetadata { ref key, .. } if key == "backstop.schema"),
            "{err:?}"
        );
        let err = parse(&with(&[("backstop.schema", "steps/v1")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("steps/v1")
                && msg.contains("trades/v1 or prices/v1 or funding/v1 or depth/v1"),
            "{msg}"
        );
        let err = parse_metadata(Path::new("f"), None, &HistorySchema::ALL).unwrap_err();
        assert!(matches!(err, DataError::MissingMetadata { .. }), "{err:?}");
    }
}
