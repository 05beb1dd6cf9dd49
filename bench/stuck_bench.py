"""How long listing the stuck counts of every snapshot takes: the view ``stuck_counts``.

Builds the demo tenant (``campaign-reports demo``) in ``--data-dir`` unless it is there already,
then times ``SELECT * FROM stuck_counts`` on the analyst copy (median of ``--runs``, each on a
fresh connection) and, for comparison, one call of ``stuck_contacts(as_of)`` per snapshot (what a
caller had to do before the view existed; ``--macro-calls`` of them, 0 to skip).

    python bench/stuck_bench.py                           # demo at scale 1.0 in /tmp/stuck-bench
    python bench/stuck_bench.py --data-dir /tmp/demo      # an existing demo (python -m pipeline
                                                          #   --data-dir /tmp/demo demo)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/stuck-bench"))
    ap.add_argument("--scale", type=float, default=1.0, help="demo scale when building it")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--macro-calls", type=int, default=20)
    args = ap.parse_args()
    analyst = args.data_dir / "warehouse" / "analyst.duckdb"
    if not analyst.exists():
        print(f"building the demo (scale {args.scale}) in {args.data_dir} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pipeline", "--quiet", "--data-dir", str(args.data_dir),
             "demo", "--scale", str(args.scale)],
            check=True, cwd=ROOT,
        )  # fmt: skip
    times = []
    for _ in range(args.runs):
        con = duckdb.connect(str(analyst), read_only=True)
        start = time.perf_counter()
        rows = con.execute("SELECT * FROM stuck_counts").fetchall()
        times.append(time.perf_counter() - start)
        con.close()
    con = duckdb.connect(str(analyst), read_only=True)
    history = con.execute("SELECT count(*) FROM state_history").fetchone()
    snapshots = con.execute(
        "SELECT snapshot_time FROM snapshot_log WHERE complete ORDER BY 1"
    ).fetchall()
    print(f"history rows: {history[0] if history else 0:,}; complete snapshots: {len(rows)}")
    print(
        f"SELECT * FROM stuck_counts: median {statistics.median(times):.3f} s, "
        f"max {max(times):.3f} s over {args.runs} runs; stuck contacts summed over snapshots: "
        f"{sum(r[-1] for r in rows):,}"
    )
    calls = snapshots[: args.macro_calls]
    if calls:
        start = time.perf_counter()
        for (t,) in calls:
            con.execute("SELECT count(*) FROM stuck_contacts(as_of := ?)", [t]).fetchall()
        each = (time.perf_counter() - start) / len(calls)
        print(f"stuck_contacts(as_of) per snapshot: {each:.3f} s a call ({len(calls)} calls)")
    con.close()


if __name__ == "__main__":
    main()
