"""Sweeps on a Ray cluster: each shard of ``backstop sweep --shard K/N`` a Ray
task, the shards merged as ``backstop merge`` does, byte for byte the files of
a single-process ``backstop sweep``.

    import ray, backstop.ray
    ray.init(address="auto")
    res = backstop.ray.sweep("scenarios/sweep-margin-fee.toml", shards=8, out="sweeps")

The tasks need no shared file system: each returns its shard folder's files
(a few Parquet files and a manifest) to the driver, which writes them and
merges. Files a scenario names (populations, price histories) must be readable
at the same path on every node (``base_dir``, default the scenario's folder).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Optional

from . import Results, _backstop, _scenario_file, merge


def _scenario_text(scenario, base_dir) -> tuple:
    """(TOML text, folder its relative names resolve against)."""
    with _scenario_file(scenario, base_dir) as file:
        text = Path(file).read_text(encoding="utf-8")
        folder = Path(file).resolve().parent
    return text, str(folder if base_dir is None else Path(base_dir).resolve())


def _run_shard(text: str, base_dir: str, k: int, n: int, paths, threads) -> dict:
    """One shard, in a scratch folder: ``{relative file name: bytes}``."""
    from . import sweep as local_sweep

    with tempfile.TemporaryDirectory(prefix="backstop-ray-") as out:
        res = local_sweep(text, shard=f"{k}/{n}", out=out, paths=paths, threads=threads, base_dir=base_dir)
        files = {}
        for path in sorted(res.dir.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(res.dir))] = path.read_bytes()
        return files


def sweep(
    scenario,
    shards: int,
    out=None,
    *,
    paths: Optional[int] = None,
    threads: Optional[int] = None,
    base_dir=None,
    num_cpus: float = 1,
) -> Results:
    """Run the scenario's sweep as ``shards`` Ray tasks and merge them into
    ``<out>/<name>/`` (``out`` defaults to a new temporary folder). Ray must be
    initialised (``ray.init``) or it starts a local instance."""
    import ray

    if shards < 1:
        raise ValueError("shards must be at least 1")
    text, folder = _scenario_text(scenario, base_dir)
    name = _backstop.scenario_name_of(text)
    remote = ray.remote(num_cpus=num_cpus)(_run_shard)
    futures = [remote.remote(text, folder, k, shards, paths, threads) for k in range(shards)]
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="backstop-ray-"))
    shard_root = out_dir / ".shards" / name
    shard_dirs = []
    for k, files in enumerate(ray.get(futures)):
        d = shard_root / f"shard-{k}-of-{shards}"
        for rel, data in files.items():
            target = d / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        shard_dirs.append(d)
    merged = merge(shard_dirs, out_dir)
    shutil.rmtree(out_dir / ".shards")
    return merged
