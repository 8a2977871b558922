"""The Python package against the CLI: same files byte for byte, same errors.

Needs the wheel installed and the CLI binary in $BACKSTOP_BIN (.ci/run sets both).
"""

import filecmp
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import backstop

REPO = Path(__file__).resolve().parents[3]
BIN = os.environ.get("BACKSTOP_BIN", str(REPO / "target" / "debug" / "backstop"))
LINEAR = REPO / "scenarios" / "linear-crash.toml"
SWEEP = REPO / "scenarios" / "sweep-margin-fee.toml"
MC = REPO / "scenarios" / "mc-jump-stress.toml"
# The result files compared byte for byte (charts/ and the report too).
RESULT_FILES = ["summary.json", "steps.parquet", "population.parquet", "paths.parquet",
                "bands.parquet", "haircuts.parquet", "report.md", "report.html"]
SWEEP_FILES = ["sweep.parquet", "paths.parquet", "haircuts.parquet", "summary.json"]


def cli(*args, cwd=REPO):
    return subprocess.run([BIN, *map(str, args)], cwd=cwd, capture_output=True, text=True)


def same_files(a: Path, b: Path, names):
    for name in names:
        assert (a / name).exists(), a / name
        assert filecmp.cmp(a / name, b / name, shallow=False), f"{name} differs: {a} vs {b}"


def test_run_is_byte_identical_to_the_cli(tmp_path):
    o = cli("run", LINEAR, "--out", tmp_path / "cli", "--quiet")
    assert o.returncode == 0, o.stderr
    res = backstop.run(LINEAR, out=tmp_path / "py")
    assert res.dir == tmp_path / "py" / "linear-crash"
    same_files(res.dir, tmp_path / "cli" / "linear-crash", RESULT_FILES)
    charts = sorted(p.name for p in (res.dir / "charts").iterdir())
    assert charts and charts == sorted(p.name for p in (tmp_path / "cli" / "linear-crash" / "charts").iterdir())


def test_results_are_arrow_tables_and_a_summary_dict(tmp_path):
    res = backstop.run(LINEAR, out=tmp_path)
    summary = res.summary
    assert summary["scenario"]["name"] == "linear-crash"
    steps = res.steps
    assert isinstance(steps, pa.Table)
    assert steps.num_rows >= 1440
    assert {"step", "mark", "insurance_fund", "bad_debt"} <= set(steps.column_names)
    # The fund's final balance is the last step's.
    assert steps.column("insurance_fund")[-1].as_py() == pytest.approx(
        res.paths.column("insurance_fund_final")[0].as_py())
    pl = pytest.importorskip("polars")
    df = res.polars("population")
    assert isinstance(df, pl.DataFrame) and df.height == 10000


def same_tables(mem: "backstop.Results", folder: Path):
    """Every table of the in-memory results equals the CLI's file of that name
    (read by pyarrow's own Parquet reader): same schema, every column, same
    backstop.* metadata; and the folder holds no table memory lacks."""
    files = sorted(p.stem for p in folder.glob("*.parquet"))
    assert files and sorted(mem.names) == files
    for name in files:
        got, want = mem.table(name), pq.read_table(folder / f"{name}.parquet")
        assert isinstance(got, pa.Table)
        assert got.schema.equals(want.schema), f"{name}: {got.schema} vs {want.schema}"
        assert got.num_rows == want.num_rows, name
        for column in want.column_names:
            assert got.column(column).equals(want.column(column)), f"{name}.{column} differs"
        assert got.equals(want), name
        # The file's key-value metadata (version, scenario, seed, schema) is on
        # the in-memory schema.
        kv = pq.read_metadata(folder / f"{name}.parquet").metadata
        assert got.schema.metadata == {k: v for k, v in kv.items() if k.startswith(b"backstop.")}, name
        assert got.schema.metadata[b"backstop.schema"].endswith(b"/v1"), name
    with open(folder / "summary.json", encoding="utf-8") as f:
        assert mem.summary == json.load(f)


def test_an_in_memory_run_equals_the_clis_files(tmp_path):
    """Without out=..., backstop.run keeps the results in memory: every table
    is the one the CLI writes (a Monte Carlo of 3 paths, so the bands are
    across paths), and the summary dict is summary.json."""
    o = cli("run", MC, "--paths", 3, "--out", tmp_path / "cli", "--quiet")
    assert o.returncode == 0, o.stderr
    mem = backstop.run(MC, paths=3)
    assert mem.dir is None
    assert {"population", "steps", "paths", "bands", "haircuts", "balances", "adl_waves"} <= set(mem.names)
    assert mem.steps.num_rows > 0 and mem.paths.num_rows == 3 and mem.bands.num_rows > 0
    assert mem.summary["run"]["paths"] == 3
    same_tables(mem, tmp_path / "cli" / "mc-jump-stress")
    pl = pytest.importorskip("polars")
    assert mem.polars("population").height == mem.population.num_rows > 0


def test_market_funds_are_tables_in_memory_and_in_the_folder(tmp_path):
    """A market with its own insurance fund: ``res.market_funds`` (end of path)
    and ``res.market_fund_steps`` (per step) in memory equal the CLI's files,
    and the per-step balance ends at the fund's final balance."""
    scenario = REPO / "scenarios" / "venues" / "dydx-isolated-fund.toml"
    o = cli("run", scenario, "--out", tmp_path / "cli", "--quiet")
    assert o.returncode == 0, o.stderr
    mem = backstop.run(scenario)
    same_tables(mem, tmp_path / "cli" / "dydx-isolated-fund")
    funds, steps = mem.market_funds.to_pylist(), mem.market_fund_steps.to_pylist()
    assert [f["market"] for f in funds] == ["alt"]
    last = [r for r in steps if r["market"] == "alt"][-1]
    assert last["balance"] == pytest.approx(funds[0]["final"])


def test_an_in_memory_sweep_equals_the_clis_files(tmp_path):
    o = cli("sweep", SWEEP, "--paths", 2, "--out", tmp_path / "cli", "--quiet")
    assert o.returncode == 0, o.stderr
    mem = backstop.sweep(SWEEP, paths=2)
    assert mem.dir is None and sorted(mem.names) == ["haircuts", "paths", "sweep"]
    assert mem.sweep.num_rows == 9
    same_tables(mem, tmp_path / "cli" / "sweep-margin-fee")


def test_an_in_memory_run_writes_no_file(tmp_path, monkeypatch):
    """Neither the current folder, the scenario's folder nor the temporary
    folder gets a file: no results folder, no scratch copy."""
    work, tmp, scen = tmp_path / "cwd", tmp_path / "tmp", tmp_path / "scenario"
    for d in (work, tmp, scen):
        d.mkdir()
    (scen / "linear-crash.toml").write_text(LINEAR.read_text())
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    res = backstop.run(scen / "linear-crash.toml", paths=1)
    swept = backstop.sweep(SWEEP, paths=1)
    assert res.steps.num_rows >= 1440 and swept.sweep.num_rows == 9
    assert [list(d.iterdir()) for d in (work, tmp)] == [[], []]
    assert [p.name for p in scen.iterdir()] == ["linear-crash.toml"]
    with pytest.raises(backstop.BackstopError, match="in memory"):
        backstop.report(res)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe (os.mkfifo)")
def test_the_engine_runs_with_the_gil_released(tmp_path):
    """The run reads its scenario from a named pipe that another Python thread
    writes only once the run has opened it. The reading happens inside the
    engine call: were the GIL held there, the writing thread could never run
    and this would deadlock (the subprocess is then killed after 10 minutes
    and the test fails)."""
    fifo = tmp_path / "linear-crash.toml"
    os.mkfifo(fifo)
    script = textwrap.dedent("""
        import sys, threading
        import backstop
        fifo, text = sys.argv[1], open(sys.argv[2]).read()
        done = {}
        t = threading.Thread(target=lambda: done.setdefault("res", backstop.run(fifo, paths=1)))
        t.start()
        with open(fifo, "w") as f:  # opens once the run opens the pipe to read it
            f.write(text)
        t.join()
        print("steps", done["res"].steps.num_rows)
    """)
    try:
        o = subprocess.run([sys.executable, "-c", script, str(fifo), str(LINEAR)],
                           capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("deadlock: the run held the GIL while reading its scenario")
    assert o.returncode == 0, o.stderr
    assert o.stdout.split() == ["steps", "1440"]


def test_a_scenario_as_string_or_dict_runs_as_the_file(tmp_path):
    text = LINEAR.read_text()
    by_file = backstop.run(LINEAR, out=tmp_path / "file", paths=1)
    by_text = backstop.run(text, out=tmp_path / "text", paths=1)
    same_files(by_text.dir, by_file.dir, ["steps.parquet", "paths.parquet"])
    if sys.version_info >= (3, 11):
        import tomllib

        by_dict = backstop.run(tomllib.loads(text), out=tmp_path / "dict", paths=1)
        same_files(by_dict.dir, by_file.dir, ["steps.parquet", "paths.parquet"])
    # No scratch scenario is left behind in the base folder.
    assert not list(Path.cwd().glob(".backstop-scenario-*"))


def test_errors_carry_the_cli_message(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(LINEAR.read_text().replace("fee = 0.005", "fee = 1.5", 1))
    o = cli("validate", bad)
    assert o.returncode != 0
    message = o.stderr.strip().removeprefix("error: ")
    with pytest.raises(backstop.BackstopError) as e:
        backstop.validate(bad)
    assert str(e.value) == message
    assert "bad.toml" in message and "liquidation.fee" in message
    with pytest.raises(backstop.BackstopError, match="population"):
        backstop.validate({"name": "x", "market": {}, "path": {"kind": "series", "prices": {}}})


def test_validate_reports_what_the_scenario_holds():
    assert backstop.validate(LINEAR) == {"markets": 1, "steps": 1440, "accounts": 10000}


def test_sweep_shards_merge_to_the_single_sweep(tmp_path):
    whole = backstop.sweep(SWEEP, out=tmp_path / "whole", paths=4)
    shards = [backstop.sweep(SWEEP, shard=f"{k}/3", out=tmp_path / "shards", paths=4) for k in range(3)]
    assert [s.dir.name for s in shards] == ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"]
    merged = backstop.merge(shards, tmp_path / "merged")
    same_files(merged.dir, whole.dir, SWEEP_FILES)
    o = cli("sweep", SWEEP, "--paths", 4, "--out", tmp_path / "cli", "--quiet")
    assert o.returncode == 0, o.stderr
    same_files(whole.dir, tmp_path / "cli" / "sweep-margin-fee", SWEEP_FILES)
    assert whole.sweep.num_rows == 9


def test_report_renders_again(tmp_path):
    res = backstop.run(LINEAR, out=tmp_path)
    (res.dir / "report.md").unlink()
    backstop.report(res.dir)
    assert (res.dir / "report.md").stat().st_size > 0


def test_schema_is_the_clis():
    o = cli("schema")
    assert o.returncode == 0
    import json

    assert backstop.schema() == json.loads(o.stdout)


def test_liq_price_is_the_clis_json():
    account = REPO / "docs" / "examples" / "liq-price-binance.toml"
    o = cli("liq-price", account, "--json")
    assert o.returncode == 0, o.stderr
    import json
    expected = json.loads(o.stdout)
    assert backstop.liq_price(account) == expected
    assert expected["positions"] and expected["positions"][0]["liquidation_price"] is not None
    # A TOML string gives the same prices; a bad venue raises the CLI's message.
    assert backstop.liq_price(account.read_text(), base_dir=REPO) == expected
    with pytest.raises(backstop.BackstopError, match="ftx"):
        backstop.liq_price(account.read_text().replace("binance-usdm", "ftx"))


def test_the_notebook_example_runs(tmp_path):
    """examples/notebook.py, all cells, on 4 paths: a Monte Carlo, the fund's
    fan data and a three-value sweep of the liquidation fee."""
    env = dict(os.environ, BACKSTOP_NOTEBOOK_OUT=str(tmp_path), BACKSTOP_NOTEBOOK_PATHS="4")
    o = subprocess.run([sys.executable, str(REPO / "examples" / "notebook.py")], cwd=REPO,
                       env=env, capture_output=True, text=True)
    assert o.returncode == 0, o.stderr
    assert "P(fund depleted):" in o.stdout
    sweep = backstop.Results(tmp_path / "fee-sweep").polars("sweep")
    assert sweep["liquidation.fee"].to_list() == [0.0025, 0.005, 0.01]
    assert sweep["paths"].to_list() == [4, 4, 4]
    # The fund's fan chart (matplotlib is in CI's venv: scripts/python-ci.sh).
    pytest.importorskip("matplotlib")
    png = tmp_path / "fund-fan.png"
    assert png.stat().st_size > 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
