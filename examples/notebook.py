# %% [markdown]
# # backstop from Python: a Monte Carlo, the fund's fan chart, a one-parameter sweep
#
# Cells in the `# %%` format (VS Code, Jupytext, Spyder run them one by one; `python
# examples/notebook.py` runs them all). Needs the wheel (`pip install
# backstop-*.whl`, see README "Python") plus polars and matplotlib. Writes into
# notebooks-out/python-example/.

# %%
import os
from pathlib import Path

import polars as pl

import backstop

REPO = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("BACKSTOP_NOTEBOOK_OUT", REPO / "notebooks-out" / "python-example"))
# Paths per run (the scenario's own count is 500); the test of this file uses fewer.
PATHS = int(os.environ.get("BACKSTOP_NOTEBOOK_PATHS", "64"))

# %% [markdown]
# ## A Monte Carlo run: jump-diffusion stress, results as polars DataFrames

# %%
# No `out=`: nothing is written, the tables come back in memory (Arrow C data
# interface); `out=OUT` would write the CLI's results folder instead.
res = backstop.run(REPO / "scenarios" / "mc-jump-stress.toml", paths=PATHS)
summary = res.summary  # summary.json's content, as a dict
print("paths:", summary["run"]["paths"])
depletion = summary["aggregates"]["insurance_fund_depletion"]
print("P(fund depleted): {probability:.4f}, 95% CI {ci95}".format(**depletion))
paths = res.polars("paths")  # one row per path, handed over through the Arrow C data interface
print(paths.select("insurance_fund_min", "bad_debt", "adl_closes").describe())

# %% [markdown]
# ## The fund's fan chart, from the package's own per-step bands

# %%
bands = res.polars("bands")  # step, ts, market, series, p1 ... p99, mean, min, max
fund = bands.filter(pl.col("series") == "insurance_fund").sort("step")
print(fund.select("step", "p5", "p50", "p95").tail(3))
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    x = fund["step"].to_numpy()
    ax.fill_between(x, fund["p5"].to_numpy(), fund["p95"].to_numpy(), alpha=0.25, label="p5–p95")
    ax.fill_between(x, fund["p25"].to_numpy(), fund["p75"].to_numpy(), alpha=0.4, label="p25–p75")
    ax.plot(x, fund["p50"].to_numpy(), label="median")
    ax.set_xlabel("step")
    ax.set_ylabel("insurance fund, USD")
    ax.legend()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "fund-fan.png", dpi=100)
    print("wrote", OUT / "fund-fan.png")
except ImportError:
    print("matplotlib not installed: no fan chart image")

# %% [markdown]
# ## Sweep one parameter: the liquidation fee, as a dict scenario

# %%
import tomllib

base = tomllib.loads((REPO / "scenarios" / "mc-jump-stress.toml").read_text())
base["name"] = "fee-sweep"
base.pop("sweep", None)
base["sweep"] = {"parameter": [{"key": "liquidation.fee", "values": [0.0025, 0.005, 0.01]}]}
swept = backstop.sweep(base, out=OUT, paths=PATHS, base_dir=REPO / "scenarios")
table = swept.polars("sweep")
print(table)
