"""Ingest speed against a floor: rows/s of ``ingest`` next to DuckDB's plain CSV -> Parquet COPY.

Generates a deterministic CSV of one campaign snapshot (API values and UI labels mixed, ISO times
with offsets, retry columns), then times, each as the median of ``--runs`` runs with a fresh data
directory:

- the full CLI (``campaign-reports --data-dir D ingest file.csv``) as a subprocess (start-up and
  imports included, nothing excluded),
- ``ingest_files`` in this process,
- DuckDB ``COPY (SELECT * FROM read_csv('x.csv')) TO 'x.parquet'`` (the floor: read and write
  the same file with no checks at all).

Peak RSS is each subprocess's own ``ru_maxrss`` (from ``os.wait4``, the per-child form of
``getrusage(RUSAGE_CHILDREN)``); DuckDB runs in a subprocess too, so that both are measured alike.

    python bench/ingest_bench.py --rows 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchkit  # noqa: E402

from pipeline.core.config import Config  # noqa: E402
from pipeline.core.console import Console  # noqa: E402
from pipeline.store.ingest import ingest_files  # noqa: E402
from pipeline.store.snapshots import Store  # noqa: E402

STATES = [
    ("WA_READ", 0.45),
    ("Read", 0.10),
    ("WA_DELIVERED", 0.15),
    ("Delivered", 0.05),
    ("WA_SENT", 0.08),
    ("Sent", 0.02),
    ("WA_SEND_FAILED", 0.03),
    ("WA_DELIVERY_FAILED", 0.02),
    ("FAILING", 0.01),
    ("RETRY_SCHEDULED", 0.02),
    ("INITIAL", 0.05),
    ("INVALID_RECORD", 0.02),
]


def make_csv(path: Path, rows: int, seed: int = 7) -> None:
    """One snapshot of one campaign, ``rows`` contacts, deterministic for a seed."""
    rng = random.Random(seed)
    names = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    states = rng.choices(names, weights=weights, k=rows)
    offsets = [rng.randrange(0, 6 * 3600) for _ in range(rows)]
    frame = pl.DataFrame(
        {
            "contact_id": pl.int_range(0, rows, eager=True) * 7 + 48_000_003,
            "state": states,
            "off": offsets,
        }
    ).with_columns(
        (pl.lit(1_795_500_000) + pl.col("off")).alias("epoch"),
    )
    created = (
        pl.from_epoch("epoch", time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone("Europe/Prague")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    )
    retry = (
        pl.from_epoch(pl.col("epoch") + 1800, time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    frame.select(
        "contact_id",
        "state",
        created.alias("created"),
        pl.when(pl.col("state") == "RETRY_SCHEDULED")
        .then(1)
        .when(pl.col("state").is_in(["WA_SEND_FAILED", "FAILING"]))
        .then(2)
        .otherwise(0)
        .alias("retryCount"),
        pl.when(pl.col("state") == "RETRY_SCHEDULED").then(retry).alias("retryScheduledDate"),
    ).write_csv(path)


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Run a subprocess: (wall seconds, its own peak RSS in MB).

    ``os.wait4`` gives the child's own rusage; ``getrusage(RUSAGE_CHILDREN)`` would give the
    maximum over every child so far.
    """
    elapsed, rss, _ = benchkit.run_measured(cmd)
    return elapsed, rss


def run_cli(csv: Path, data_dir: Path) -> tuple[float, float | None]:
    exe = ROOT / ".venv" / "bin" / "campaign-reports"
    return run_child([str(exe), "--quiet", "--data-dir", str(data_dir), "ingest", str(csv)])


def run_inprocess(csv: Path, data_dir: Path) -> tuple[float, float | None]:
    start = time.perf_counter()
    reports = ingest_files(
        [csv], store=Store(data_dir), config=Config(data_dir=data_dir), console=Console.silent()
    )
    elapsed = time.perf_counter() - start
    if not reports[0].ok or not reports[0].published:
        raise SystemExit(f"ingest failed: {reports[0].summary()}")
    return elapsed, None


DUCKDB_COPY = (
    "import duckdb, sys; duckdb.connect().execute("
    "f\"COPY (SELECT * FROM read_csv('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet)\")"
)


def run_duckdb(csv: Path, data_dir: Path) -> tuple[float, float | None]:
    data_dir.mkdir(parents=True)
    return run_child([sys.executable, "-c", DUCKDB_COPY, str(csv), str(data_dir / "x.parquet")])


METHODS = {
    "duckdb COPY (floor)": run_duckdb,
    "cli ingest (subprocess)": run_cli,
    "ingest_files (in-process)": run_inprocess,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    try:
        csv = work / "campaign-4242_20261128T060000Z.csv"
        t0 = time.perf_counter()
        make_csv(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        print(
            f"{args.rows:,} rows, {size_mb:.0f} MB CSV, generated in "
            f"{time.perf_counter() - t0:.1f} s; median of {args.runs} runs each"
        )

        results = {}
        for label, method in METHODS.items():
            runs = [method(csv, work / f"run-{label.split()[0]}-{k}") for k in range(args.runs)]
            peaks = [p for _, p in runs if p is not None]
            results[label] = (statistics.median(t for t, _ in runs), max(peaks) if peaks else None)

        floor = results["duckdb COPY (floor)"][0]
        print(f"{'method':28s} {'wall s':>8s} {'rows/s':>12s} {'x floor':>8s} {'peak RSS MB':>12s}")
        for label, (secs, peak) in results.items():
            rss = f"{peak:,.0f}" if peak is not None else "(this process)"
            print(
                f"{label:28s} {secs:8.2f} {args.rows / secs:12,.0f} {secs / floor:8.2f} {rss:>12s}"
            )
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
