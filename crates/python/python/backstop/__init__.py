"""backstop from Python: the Rust engine of the `backstop` CLI as a library.

    import backstop
    res = backstop.run("scenarios/linear-crash.toml")   # in memory: no file written
    res.summary["aggregates"]                  # summary.json as a dict
    res.steps                                  # steps.parquet's table, a pyarrow.Table
    res.polars("paths")                        # paths.parquet's table, a polars DataFrame
    backstop.run("scenarios/linear-crash.toml", out="out")   # the CLI's folder, byte for byte

Without ``out`` the results stay in memory: the record batches the CLI's
writers encode into each Parquet file, handed to pyarrow through the Arrow C
data interface (no file, no copy), and ``summary.json`` as a dict.

A scenario is a TOML file path, a TOML string or a dict with the same keys.
Relative file names inside a string or dict scenario resolve against
``base_dir`` (default: the current folder), as they would for a file there.
Errors raise :class:`BackstopError` with the message the CLI prints.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from . import _backstop
from ._backstop import BackstopError

__all__ = [
    "BackstopError",
    "Results",
    "liq_price",
    "merge",
    "report",
    "run",
    "schema",
    "sweep",
    "validate",
]

Scenario = Union[str, os.PathLike, Mapping[str, Any]]

#: The tables a run or sweep may hold, by name (the file is ``<name>.parquet``).
TABLES = ("steps", "population", "paths", "bands", "haircuts", "balances", "adl_waves",
          "market_funds", "market_fund_steps", "sweep")


class Results:
    """Results of a run or sweep: ``summary`` (dict) and its tables as
    ``pyarrow.Table`` (``res.steps``, ``res.table("steps")``) or polars
    DataFrames (``res.polars("steps")``).

    Either a results folder (``dir``; its Parquet files read through the Arrow
    C data interface) or, without one (``dir is None``), the tables and summary
    a run kept in memory."""

    def __init__(self, directory: Union[str, os.PathLike, None] = None, *,
                 tables: Optional[dict] = None, summary: Optional[dict] = None):
        self.dir = Path(directory) if directory is not None else None
        self._tables: dict = dict(tables or {})
        self._summary = summary
        if self.dir is None and summary is None:
            raise BackstopError("Results needs a results folder or the tables and summary of a run")

    def __repr__(self) -> str:
        if self.dir is None:
            return f"Results(<in memory: {', '.join(self.names)}>)"
        return f"Results({str(self.dir)!r})"

    @property
    def names(self) -> list:
        """The tables there are (``steps``, ``paths``, ...)."""
        if self.dir is None:
            return list(self._tables)
        return sorted(p.stem for p in self.dir.glob("*.parquet"))

    @property
    def summary(self) -> dict:
        """``summary.json`` as a dict."""
        if self._summary is not None:
            return self._summary
        with open(self.dir / "summary.json", encoding="utf-8") as f:
            return json.load(f)

    def table(self, name: str):
        """The table ``name`` (``<name>.parquet``) as a ``pyarrow.Table``
        (read once, then cached, for a folder)."""
        if name not in self._tables:
            if self.dir is None:
                raise BackstopError(f"{name}: no such table in these results (there are: {', '.join(self.names)})")
            path = self.dir / f"{name}.parquet"
            if not path.exists():
                raise BackstopError(f"{path}: no such result file")
            self._tables[name] = _backstop.read_table(str(path))
        return self._tables[name]

    def polars(self, name: str):
        """The table ``name`` as a polars DataFrame (zero copy from Arrow)."""
        import polars as pl

        return pl.from_arrow(self.table(name))

    def __getattr__(self, name: str):
        if name in TABLES:
            return self.table(name)
        raise AttributeError(name)


@contextmanager
def _scenario_file(scenario: Scenario, base_dir=None) -> Iterator[str]:
    """A TOML file holding ``scenario``: the path itself, or a hidden file
    written in ``base_dir`` (so relative names resolve there) and removed after."""
    if isinstance(scenario, Mapping):
        text = _backstop.json_to_toml(json.dumps(scenario))
    elif isinstance(scenario, os.PathLike) or (
        isinstance(scenario, str) and "\n" not in scenario and scenario.endswith(".toml")
    ):
        yield os.fspath(scenario)
        return
    elif isinstance(scenario, str):
        text = scenario
    else:
        raise TypeError(f"a scenario is a TOML path, a TOML string or a dict, not {type(scenario).__name__}")
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    fd, path = tempfile.mkstemp(prefix=".backstop-scenario-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        yield path
    finally:
        os.unlink(path)


def _folder(results) -> Path:
    """The folder of a ``Results`` or a path; in-memory results have none."""
    if isinstance(results, Results):
        if results.dir is None:
            raise BackstopError("these results are in memory: run with out=... to get a results folder")
        return results.dir
    return Path(results)


def _out(out) -> str:
    return os.fspath(out) if out is not None else tempfile.mkdtemp(prefix="backstop-")


def run(
    scenario: Scenario,
    out=None,
    *,
    paths: Optional[int] = None,
    threads: Optional[int] = None,
    base_dir=None,
) -> Results:
    """Run a scenario as ``backstop run`` does (rayon workers, the GIL
    released). With ``out``, write its results folder ``<out>/<name>/`` byte
    for byte as the CLI does and return it; without, write nothing and return
    the results in memory (the same tables and summary)."""
    with _scenario_file(scenario, base_dir) as file:
        if out is None:
            tables, summary = _backstop.run_memory(file, paths, threads)
            return Results(tables=tables, summary=summary)
        return Results(_backstop.run(file, os.fspath(out), paths, threads))


def sweep(
    scenario: Scenario,
    shard: Optional[str] = None,
    out=None,
    *,
    paths: Optional[int] = None,
    threads: Optional[int] = None,
    base_dir=None,
) -> Results:
    """Every parameter set of the scenario's ``[sweep]``, as ``backstop sweep``;
    with ``shard="K/N"`` only shard K of N (``<out>/<name>/shard-K-of-N/``,
    returned), to be joined by :func:`merge`. Without ``out`` (and without a
    shard) nothing is written: the results (``sweep``, ``paths``, ``haircuts``
    and the summary) come back in memory; a shard without ``out`` goes to a new
    temporary folder."""
    if out is None and shard is None:
        with _scenario_file(scenario, base_dir) as file:
            tables, summary = _backstop.sweep_memory(file, paths, threads)
        return Results(tables=tables, summary=summary)
    with _scenario_file(scenario, base_dir) as file:
        folder = Path(_backstop.sweep(file, _out(out), shard, paths, threads))
    if shard is not None:
        k, n = shard.split("/")
        return Results(folder / f"shard-{k.strip()}-of-{n.strip()}")
    return Results(folder)


def merge(shard_dirs: Sequence[Union[str, os.PathLike, Results]], out) -> Results:
    """Join the shard folders of one sweep into ``out``, as ``backstop merge``:
    byte for byte the files of a single-process sweep."""
    dirs = [os.fspath(_folder(d)) for d in shard_dirs]
    if not dirs:
        raise BackstopError("merge needs the shard folders (shard-K-of-N) of one sweep")
    _backstop.merge(dirs, os.fspath(out))
    # A shard folder is <out>/<name>/shard-K-of-N; the merge writes <out>/<name>.
    return Results(Path(out) / Path(dirs[0]).resolve().parent.name)


def validate(scenario: Scenario, *, base_dir=None) -> dict:
    """Check a scenario as ``backstop validate`` does (keys, values, population)
    without running it: ``{"markets", "steps", "accounts"}``."""
    with _scenario_file(scenario, base_dir) as file:
        markets, steps, accounts = _backstop.validate(file)
    return {"markets": markets, "steps": steps, "accounts": accounts}


def report(results_dir: Union[str, os.PathLike, Results]) -> Results:
    """Render a results folder's report again (``report.html``, ``report.md``,
    ``charts/``), as ``backstop report``."""
    d = _folder(results_dir)
    _backstop.report(os.fspath(d))
    return Results(d)


def schema() -> dict:
    """The JSON Schema of scenario files, as ``backstop schema`` prints it."""
    return json.loads(_backstop.schema())


def liq_price(account: Scenario, *, base_dir=None) -> dict:
    """Liquidation and bankruptcy prices of an account's positions under a
    venue's rule book, as ``backstop liq-price FILE --json``: ``{"venue",
    "positions": [...]}``. ``account`` is an account file's path, its TOML text
    or a dict with the same keys."""
    with _scenario_file(account, base_dir) as file:
        return json.loads(_backstop.liq_price(file))
