#!/usr/bin/env python3
"""Check, outside backstop, that a run's money is conserved (docs/model.md §8).

Usage: scripts/check-conservation.py RESULTS_DIR [RESULTS_DIR...]

Reads RESULTS_DIR/balances.parquet (`balances/v1`, integer micro-USD) with
pyarrow and checks exactly, in Python integers:
  1. the sum of `opening_cash` equals the sum of `end_cash` over all rows;
  2. per market, `lots`, `cost` and `value` each sum to zero, so unrealized PnL
     (value - cost) does.
Prints one line per folder; exits 1 if any check fails, 2 on unusable input.
"""

import sys
from collections import defaultdict
from pathlib import Path


def check(folder: Path) -> bool:
    import pyarrow.parquet as pq

    path = folder / "balances.parquet"
    file = pq.ParquetFile(path)
    schema = (file.metadata.metadata or {}).get(b"backstop.schema", b"").decode()
    if schema != "balances/v1":
        raise ValueError(f"{path}: backstop.schema is {schema!r}, expected 'balances/v1'")
    cols = file.read().to_pydict()
    opening = sum(cols["opening_cash"])
    end = sum(cols["end_cash"])
    markets = defaultdict(lambda: [0, 0, 0])
    for market, lots, cost, value in zip(cols["market"], cols["lots"], cols["cost"], cols["value"]):
        if market is not None:
            m = markets[market]
            m[0] += lots
            m[1] += cost
            m[2] += value
    ok = opening == end and all(v == [0, 0, 0] for v in markets.values())
    parties = sorted(set(cols["party"]))
    verdict = "ok" if ok else "BROKEN"
    print(
        f"{verdict}: {path}: {len(cols['party'])} rows, parties {parties}; "
        f"opening {opening} µUSD, end {end} µUSD (difference {end - opening}); "
        + ", ".join(f"{m}: Σlots {v[0]}, Σcost {v[1]}, Σvalue {v[2]}" for m, v in sorted(markets.items()))
    )
    return ok


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        results = [check(Path(a)) for a in argv[1:]]
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
