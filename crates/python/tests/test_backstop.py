"""The Python package against the CLI: same files byte for byte, same errors.

Needs the wheel installed and the CLI binary in $BACKSTOP_BIN (.ci/run sets both).
"""

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import backstop

REPO = Path(__file__).resolve().parents[3]
BIN = os.environ.get("BACKSTOP_BIN", str(REPO / "target" / "debug" / "backstop"))
LINEAR = REPO / "scenarios" / "linear-crash.toml"
SWEEP = REPO / "scenarios" / "sweep-margin-fee.toml"
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
