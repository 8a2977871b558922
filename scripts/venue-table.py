#!/usr/bin/env python3
"""A table across rule books: the headline metrics of the runs of
scenarios/venues/ (one column per venue), as Markdown.

    for f in scenarios/venues/*.toml; do backstop run "$f" --out OUT; done
    python3 scripts/venue-table.py OUT            # OUT defaults to notebooks-out

Each value is the median across the run's paths (the replays have one path).
Metrics are those of docs/model.md §7.
"""
import json
import sys
from pathlib import Path

VENUES = ["binance-usdm", "hyperliquid", "dydx-v4", "bitmex", "drift"]
ROWS = [
    ("accounts liquidated", "accounts_liquidated", "{:,.0f}"),
    ("liquidation orders", "liquidation_orders", "{:,.0f}"),
    ("liquidated notional (USD)", "liquidated_notional", "{:,.0f}"),
    ("bad debt (USD)", "bad_debt", "{:,.0f}"),
    ("covered by the fund (USD)", "insurance_fund_payouts", "{:,.0f}"),
    ("fund fee income (USD)", "insurance_fund_fee_income", "{:,.0f}"),
    ("fund at the end (USD)", "insurance_fund_final", "{:,.0f}"),
    ("ADL closes", "adl_closes", "{:,.0f}"),
    ("ADL accounts hit", "adl_accounts_hit", "{:,.0f}"),
    ("ADL cost (USD)", "adl_cost", "{:,.0f}"),
    ("socialized loss (USD)", "socialized_loss", "{:,.0f}"),
    ("accounts charged", "accounts_haircut", "{:,.0f}"),
    ("insolvency (USD)", "insolvency", "{:,.0f}"),
]


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks-out")
    runs = {}
    for v in VENUES:
        f = out / f"oct-2025-{v}" / "summary.json"
        if not f.exists():
            sys.exit(f"{f}: missing; run scenarios/venues/oct-2025-{v}.toml first")
        runs[v] = json.loads(f.read_text())["aggregates"]["metrics"]
    print("| metric | " + " | ".join(VENUES) + " |")
    print("| --- |" + " ---: |" * len(VENUES))
    for label, key, fmt in ROWS:
        cells = []
        for v in VENUES:
            m = runs[v].get(key)
            cells.append("--" if m is None or m.get("p50") is None else fmt.format(m["p50"]))
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
