//! `backstop._backstop`: the Rust half of the Python package `backstop`
//! (`python/backstop/__init__.py` is the other half and the public API).
//!
//! Each function runs the binary's own command code (`src/commands/`, included
//! below by path, not copied), so `backstop.run` writes the very files `backstop
//! run` writes, byte for byte. Without a results folder (`run_memory`,
//! `sweep_memory`) the results stay in memory: the record batches the file
//! writers would encode and `summary.json`'s bytes, handed to pyarrow through
//! the Arrow C data interface. The engine runs with the GIL released and on a
//! rayon pool, as in the CLI. Errors raise [`BackstopError`] with the message the
//! CLI prints after `error: `.

use std::path::{Path, PathBuf};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

/// The binary's subcommands, compiled here too (the import subcommand, behind
/// the binary's `import` feature, is left out: it needs polars).
#[allow(dead_code, unexpected_cfgs, clippy::all)]
#[path = "../../../src/commands/mod.rs"]
mod commands;

create_exception!(
    _backstop,
    BackstopError,
    PyException,
    "An invalid scenario or results folder, or a failed run: the CLI's message."
);

/// The error and its causes on one line, as `backstop` prints them (main.rs's
/// `describe`).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn raise(e: &anyhow::Error) -> PyErr {
    BackstopError::new_err(describe(e))
}

/// The scenario's `name` (its results folder's name), validated as `run` does.
fn scenario_name(file: &Path) -> PyResult<String> {
    backstop_sim::Scenario::load(file)
        .map(|s| s.name)
        .map_err(|e| raise(&anyhow::Error::new(e)))
}

/// `backstop run FILE --out OUT [--paths N] [--threads T]`; returns the
/// results folder `OUT/<name>`.
#[pyfunction]
#[pyo3(signature = (file, out, paths=None, threads=None, quiet=true))]
fn run(
    py: Python<'_>,
    file: PathBuf,
    out: PathBuf,
    paths: Option<u32>,
    threads: Option<usize>,
    quiet: bool,
) -> PyResult<PathBuf> {
    let name = scenario_name(&file)?;
    py.detach(|| {
        commands::run::run(&commands::run::RunArgs {
            file: &file,
            out: &out,
            quiet,
            threads,
            paths,
        })
    })
    .map_err(|e| raise(&e))?;
    Ok(out.join(name))
}

/// `backstop sweep FILE --out OUT [--shard K/N] [--paths N] [--threads T]`;
/// returns the sweep's folder `OUT/<name>` (a shard writes
/// `OUT/<name>/shard-K-of-N/`).
#[pyfunction]
#[pyo3(signature = (file, out, shard=None, paths=None, threads=None, quiet=true))]
fn sweep(
    py: Python<'_>,
    file: PathBuf,
    out: PathBuf,
    shard: Option<String>,
    paths: Option<u32>,
    threads: Option<usize>,
    quiet: bool,
) -> PyResult<PathBuf> {
    let name = scenario_name(&file)?;
    py.detach(|| {
        commands::sweep::sweep(&commands::sweep::SweepArgs {
            file: &file,
            out: &out,
            quiet,
            threads,
            paths,
            shard: shard.as_deref(),
        })
    })
    .map_err(|e| raise(&e))?;
    Ok(out.join(name))
}

/// Results in memory as Python objects: `(tables, summary)`, `tables` a dict
/// of `pyarrow.Table` by table name (`steps`, ...), each handed over through
/// the Arrow C data interface, and `summary` the dict `json.loads` makes of
/// `summary.json`'s bytes.
fn to_python<'py>(
    py: Python<'py>,
    results: backstop_sim::run::results::RunTables,
) -> PyResult<(Bound<'py, pyo3::types::PyDict>, Bound<'py, PyAny>)> {
    use arrow_pyarrow::IntoPyArrow;
    let tables = pyo3::types::PyDict::new(py);
    for (file, t) in results.tables {
        let name = file.strip_suffix(".parquet").unwrap_or(file);
        let table = arrow_pyarrow::Table::try_new(t.batches, t.schema)
            .map_err(|e| BackstopError::new_err(format!("{file}: {e}")))?
            .into_pyarrow(py)?;
        tables.set_item(name, table)?;
    }
    let text = String::from_utf8(results.summary_json)
        .map_err(|e| BackstopError::new_err(format!("summary.json: {e}")))?;
    let summary = py.import("json")?.call_method1("loads", (text,))?;
    Ok((tables, summary))
}

/// `backstop run FILE [--paths N] [--threads T]` without a results folder:
/// `(tables, summary)`, the tables and `summary.json` the CLI would
/// write, built in memory by the same code. Nothing is written.
#[pyfunction]
#[pyo3(signature = (file, paths=None, threads=None))]
fn run_memory<'py>(
    py: Python<'py>,
    file: PathBuf,
    paths: Option<u32>,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, pyo3::types::PyDict>, Bound<'py, PyAny>)> {
    let results = py
        .detach(|| commands::run::run_in_memory(&file, threads, paths))
        .map_err(|e| raise(&e))?;
    to_python(py, results)
}

/// `backstop sweep FILE [--paths N] [--threads T]` without a results folder:
/// `(tables, summary)` of the whole sweep (`sweep`, `paths`,
/// `haircuts`), built in memory by the code that writes the files.
#[pyfunction]
#[pyo3(signature = (file, paths=None, threads=None))]
fn sweep_memory<'py>(
    py: Python<'py>,
    file: PathBuf,
    paths: Option<u32>,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, pyo3::types::PyDict>, Bound<'py, PyAny>)> {
    let results = py
        .detach(|| commands::sweep::sweep_in_memory(&file, threads, paths))
        .map_err(|e| raise(&e))?;
    to_python(py, results)
}

/// `backstop merge SHARD_DIR... --out OUT`.
#[pyfunction]
#[pyo3(signature = (dirs, out, quiet=true))]
fn merge(py: Python<'_>, dirs: Vec<PathBuf>, out: PathBuf, quiet: bool) -> PyResult<PathBuf> {
    py.detach(|| commands::merge::merge(&dirs, &out, quiet))
        .map_err(|e| raise(&e))?;
    Ok(out)
}

/// `backstop report DIR`: renders the report of a results folder again.
#[pyfunction]
fn report(py: Python<'_>, dir: PathBuf) -> PyResult<()> {
    py.detach(|| commands::report::report(&dir))
        .map_err(|e| raise(&e))
}

/// `backstop validate FILE` without printing: `(markets, steps, accounts)`.
#[pyfunction]
fn validate(py: Python<'_>, file: PathBuf) -> PyResult<(usize, usize, usize)> {
    py.detach(|| -> anyhow::Result<_> {
        let scenario = backstop_sim::Scenario::load(&file)?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let prepared = backstop_sim::Prepared::new(scenario, dir).map_err(|e| {
            anyhow::Error::new(e).context(format!("{}: cannot prepare the run", file.display()))
        })?;
        Ok((
            prepared.scenario.market.len(),
            prepared.scenario.steps(),
            prepared.population.len(),
        ))
    })
    .map_err(|e| raise(&e))
}

/// `backstop liq-price FILE --json`: the account's liquidation and bankruptcy
/// prices, as the same JSON document (compact).
#[pyfunction]
fn liq_price(py: Python<'_>, file: PathBuf) -> PyResult<String> {
    use anyhow::Context as _;
    use backstop_sim::run::liq_price::{AccountFile, liquidation_prices};
    py.detach(|| -> anyhow::Result<String> {
        let account = AccountFile::load(&file)?;
        let rows = liquidation_prices(&account).with_context(|| file.display().to_string())?;
        let doc = serde_json::json!({ "venue": account.venue, "positions": rows });
        Ok(serde_json::to_string(&doc)?)
    })
    .map_err(|e| raise(&e))
}

/// The JSON Schema of scenario files (`backstop schema`).
#[pyfunction]
fn schema() -> String {
    backstop_sim::config::scenario_schema_json()
}

/// A JSON object (a scenario given as a Python dict, via `json.dumps`) as
/// TOML text.
#[pyfunction]
fn json_to_toml(json: &str) -> PyResult<String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| BackstopError::new_err(format!("scenario: {e}")))?;
    toml::to_string(&value).map_err(|e| BackstopError::new_err(format!("scenario: {e}")))
}

/// The `name` of a scenario given as TOML text (its results folder's name).
#[pyfunction]
fn scenario_name_of(text: &str) -> PyResult<String> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| BackstopError::new_err(format!("scenario: {e}")))?;
    table
        .get("name")
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| BackstopError::new_err("scenario: missing `name`"))
}

/// A Parquet file as a `pyarrow.Table`, its buffers handed over through the
/// Arrow C data interface (no copy, no second Parquet reader).
#[pyfunction]
fn read_table<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    use arrow_array::RecordBatchReader as _;
    use arrow_pyarrow::IntoPyArrow;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let (schema, batches) = py
        .detach(|| -> anyhow::Result<_> {
            let file = std::fs::File::open(&path)
                .map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", path.display()))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| {
                    anyhow::anyhow!("{}: not a readable Parquet file: {e}", path.display())
                })?;
            let schema = reader.schema();
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok((schema, batches))
        })
        .map_err(|e| raise(&e))?;
    arrow_pyarrow::Table::try_new(batches, schema)
        .map_err(|e| BackstopError::new_err(format!("{}: {e}", path.display())))?
        .into_pyarrow(py)
}

/// The module `backstop._backstop`.
#[pymodule]
fn _backstop(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("BackstopError", m.py().get_type::<BackstopError>())?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(run_memory, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_memory, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(liq_price, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(read_table, m)?)?;
    m.add_function(wrap_pyfunction!(scenario_name_of, m)?)?;
    Ok(())
}
