# %% [markdown]
# # backstop from Python: a Monte Carlo, the fund's fan chart, a one-parameter sweep
#
# Cells in the `# %%` format (VS Code, Jupytext, Spyder run them one by one; `python
# examples/notebook.py` runs them all). Needs the wheel (`pip install
# backstop-*.whl`, see README "Python") plus polars and matplotlib. Writes into
# notebooks-out/python-example/.

# %%
from pathlib import Path

import polars as pl

import backstop

REPO = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd()
OUT = REPO / "notebooks-out" / "python-example"
PATHS = 64  # paths per run; the scenario's own count is 500

# %% [markdown]
# ## A Monte Carlo run: jump-diffusion stress, results as polars DataFrames

# %%
res = backstop.run(REPO / "scenarios" / "mc-jump-stress.toml", out=OUT, paths=PATHS)
summary = res.summary  # summary.json as a dict
print("paths:", summary["paths"])
print("P(fund depleted):", summary["insurance_fund_depletion"])
paths = res.polars("paths")  # one row per path (Arrow C data interface, no file round trip in Python)
print(paths.select("insurance_fund_min", "bad_debt", "adl_closes").describe())

# %% [markdown]
# ## The fund's fan chart, from the package's own per-step bands

# %%
bands = res.polars("bands")
print(bands.head())
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fund = bands.filter(pl.col("metric") == "insurance_fund") if "metric" in bands.columns else bands
    cols = [c for c in fund.columns if c.startswith("p") and c[1:].replace("_", "").isdigit()]
    fig, ax = plt.subplots(figsize=(8, 4))
    x = fund["step"].to_numpy()
    if {"p5", "p95"} <= set(cols):
        ax.fill_between(x, fund["p5"].to_numpy(), fund["p95"].to_numpy(), alpha=0.25, label="p5–p95")
    if {"p25", "p75"} <= set(cols):
        ax.fill_between(x, fund["p25"].to_numpy(), fund["p75"].to_numpy(), alpha=0.4, label="p25–p75")
    if "p50" in cols:
        ax.plot(x, fund["p50"].to_numpy(), label="median")
    ax.set_xlabel("step")
    ax.set_ylabel("insurance fund, USD")
    ax.legend()
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
print(swept.polars("sweep"))
