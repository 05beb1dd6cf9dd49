"""Time of the by-age views and the projection on a built warehouse (e.g. the demo tenant).

    python -m pipeline --data-dir demo-data demo          # once
    python bench/by_age_bench.py --data-dir demo-data [--runs 3]

Prints, for the analyst copy, the median wall time of: campaign_age (all snapshots),
campaign_age_median, projection of the latest day, and the report's whole by-age load for that
day (report_by_age, report_age_median, projection): the first day of a report (which copies
campaign_age into a temporary table) and each further day (median of --runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import load_config  # noqa: E402
from pipeline.report.by_age import load_by_age  # noqa: E402
from pipeline.warehouse.analyst import open_analyst  # noqa: E402


def timed(fn, runs: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(runs):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    config = load_config(overrides={"data_dir": args.data_dir})
    con = open_analyst(config)
    try:
        day = con.execute("SELECT local_day(latest_data_time(), configured_timezone())").fetchone()[
            0
        ]  # type: ignore[index]
        for name, sql in (
            ("campaign_age", "SELECT count(*) FROM campaign_age"),
            ("campaign_age_median", "SELECT count(*) FROM campaign_age_median"),
            ("projection (latest day)", "SELECT count(*) FROM projection"),
        ):
            seconds, rows = timed(lambda sql=sql: con.execute(sql).fetchone()[0], args.runs)
            print(f"{name:28s} {seconds:7.3f} s  {rows} rows")
        began = time.perf_counter()
        data = load_by_age(con, day, config.timezone, {})
        first = time.perf_counter() - began
        points = sum(len(s.points) for s in data.series)
        print(f"{'report day, first (cache)':28s} {first:7.3f} s  {points} points")
        seconds, _ = timed(lambda: load_by_age(con, day, config.timezone, {}), args.runs)
        print(f"{'report day, each further':28s} {seconds:7.3f} s")
    finally:
        con.close()


if __name__ == "__main__":
    main()
