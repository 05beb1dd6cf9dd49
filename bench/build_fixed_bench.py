"""The fixed part of a build: what ``build`` costs when there is nothing new to add.

    python bench/build_fixed_bench.py DATA_DIR [--runs 5]

DATA_DIR is a data directory with a built warehouse (e.g. the one ``campaign-reports demo``
made). Each run calls ``build`` in this process (the imports are paid once, before) with its
phases wrapped in timers: reading the store's index, the lock and the rebuild check, opening
DuckDB, loading queries/ (skipped when unchanged), registering the inputs, the first transaction,
listing new snapshots, applying them, redoing days, the rest (counts, CHECKPOINT, close) and
publishing the analyst copy. It prints the median of each phase and of the whole. Nothing is
added to the warehouse, so every run measures the same work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.store.snapshots import Store  # noqa: E402
from pipeline.warehouse import build as build_module  # noqa: E402
from pipeline.warehouse import steps  # noqa: E402

PHASES: list[tuple[Any, str, str]] = [
    (Store, "index", "store index"),
    (build_module, "rebuild_reason", "rebuild check"),
    (build_module, "connect", "open DuckDB"),
    (build_module, "create_views", "queries/ (if changed)"),
    (steps, "register_inputs", "register inputs"),
    (steps, "forget_what_changed", "first transaction"),
    (steps, "new_snapshots", "list new snapshots"),
    (steps, "apply_snapshots", "apply snapshots"),
    (steps, "redo_days", "redo days"),
    (build_module, "publish_analyst_copy", "publish analyst copy"),
]


def wrap(owner: Any, name: str, label: str, times: dict[str, float]) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            times[label] += time.perf_counter() - start

    setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    config = load_config(None, overrides={"data_dir": opts.data_dir})
    times: dict[str, float] = defaultdict(float)
    for owner, name, label in PHASES:
        wrap(owner, name, label, times)
    per_phase: dict[str, list[float]] = defaultdict(list)
    totals = []
    for _ in range(opts.runs):
        times.clear()
        start = time.perf_counter()
        result = build_module.build(config)
        totals.append(time.perf_counter() - start)
        assert result.snapshots_new == 0, "the store had new snapshots: run build once first"
        for _, _, label in PHASES:
            per_phase[label].append(times[label])
        per_phase["rest (lock, counts, CHECKPOINT)"].append(totals[-1] - sum(times.values()))
    size = (opts.data_dir / "warehouse" / "warehouse.duckdb").stat().st_size / 2**20
    print(f"no-op build of {opts.data_dir} (warehouse {size:,.0f} MiB), {opts.runs} runs")
    print(f"{'phase':<34}{'median s':>10}{'share':>8}")
    whole = statistics.median(totals)
    for label, values in per_phase.items():
        m = statistics.median(values)
        print(f"{label:<34}{m:>10.3f}{m / whole:>8.0%}")
    print(f"{'whole build':<34}{whole:>10.3f}")


if __name__ == "__main__":
    main()
