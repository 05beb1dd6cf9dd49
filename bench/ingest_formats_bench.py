"""Ingest of every input format against its floor: DuckDB's plain COPY of the same files.

Six cases, each a set of files ingested by ``ingest_files`` into a fresh data directory, next to
DuckDB ``COPY (SELECT * FROM read_csv/read_json/read_parquet('f')) TO 'f.parquet'`` of each of
the same files (one connection, the files one after another, no checks at all):

- one large file (``--rows``, 1M by default) of one campaign snapshot in each of CSV (API values
  and UI labels, ISO times with offsets), API JSON (``[{"id": 48000003, "state": ...}, ...]``)
  and Parquet (typed: integer ids, UTC timestamps);
- a day of many small files: the demo tenant's last day (``--scale``, the files written as the
  demo writes them), split by format. The cp1250 CSV is left out: DuckDB reads UTF-8 only.

Both sides run in this process (no start-up on either side); each figure is the median of
``--runs`` rounds, the rounds interleaved (COPY, ingest, next case...). The ratio ingest/COPY is
printed next to the target (1.3). ``--profile CASE`` runs cProfile on one ingest of that case and
prints where the time goes.

    python bench/ingest_formats_bench.py --rows 1000000 --runs 3 --scale 0.3
    python bench/ingest_formats_bench.py --rows 1000000 --runs 1 --profile parquet-large
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_bench import make_csv  # noqa: E402

from pipeline.core.clock import parse_as_of  # noqa: E402
from pipeline.core.config import Config  # noqa: E402
from pipeline.core.console import Console  # noqa: E402
from pipeline.demo.campaigns import CAMPAIGNS, snapshot_times  # noqa: E402
from pipeline.demo.contacts import build_contacts  # noqa: E402
from pipeline.demo.exports import write_exports  # noqa: E402
from pipeline.store.ingest import IngestOptions, ingest_files  # noqa: E402
from pipeline.store.snapshots import Store  # noqa: E402

TARGET = 1.3
READERS = {"csv": "read_csv", "json": "read_json", "parquet": "read_parquet"}


def large_files(work: Path, rows: int) -> dict[str, list[Path]]:
    """One snapshot of ``rows`` contacts as CSV, API JSON and typed Parquet."""
    csv = work / "large" / "campaign-4242_20261128T060000Z.csv"
    csv.parent.mkdir(parents=True)
    make_csv(csv, rows)
    frame = pl.read_csv(csv, schema_overrides={"contact_id": pl.Int64})
    json = csv.with_suffix(".json")
    frame.rename({"contact_id": "id"}).write_json(json)
    parquet = csv.with_suffix(".parquet")
    frame.select(
        "contact_id",
        "state",
        pl.col("created").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC"),
        pl.col("retryCount").cast(pl.Int32).alias("retry_count"),
        pl.col("retryScheduledDate")
        .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
        .alias("retry_scheduled"),
    ).write_parquet(parquet, compression="zstd")
    return {"csv": [csv], "json": [json], "parquet": [parquet]}


def demo_day(work: Path, scale: float) -> dict[str, list[Path]]:
    """The demo tenant's last day (default as-of), written as the demo writes its files."""
    as_of = parse_as_of("2026-11-27T22:00:00Z", "UTC")
    inbox = work / "day"
    inbox.mkdir()
    day0 = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    out: dict[str, list[Path]] = {"csv": [], "json": [], "parquet": []}
    for spec in CAMPAIGNS:
        if spec.fmt == "csv-cp1250":
            continue  # DuckDB reads UTF-8 only
        start = day0 - timedelta(days=spec.start_days_before) + timedelta(hours=spec.start_hour)
        n = max(50, round(spec.contacts * scale))
        rng = random.Random(f"7:{spec.campaign_id}")
        contacts = build_contacts(spec, n, start, as_of, rng)
        times = [t for t in snapshot_times(start, as_of, spec.hourly_hours) if t >= day0]
        paths, _ = write_exports(spec, contacts, times, start, inbox, rng, "Europe/Prague")
        out[spec.fmt.split("-")[0]].extend(paths)
    return out


def run_copy(fmt: str, files: list[Path], out: Path) -> float:
    out.mkdir(parents=True)
    con = duckdb.connect()
    start = time.perf_counter()
    for n, path in enumerate(files):
        con.execute(
            f"COPY (SELECT * FROM {READERS[fmt]}('{path}')) TO '{out / f'{n}.parquet'}' "
            "(FORMAT parquet)"
        )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def run_ingest(files: list[Path], data_dir: Path) -> float:
    config = Config(data_dir=data_dir)
    start = time.perf_counter()
    reports = ingest_files(
        files, store=Store(data_dir), config=config, console=Console.silent(),
        options=IngestOptions(),
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    bad = [r for r in reports if not r.ok or not r.published]
    if bad:
        raise SystemExit(f"ingest failed: {bad[0].summary()}")
    return elapsed


def profile(files: list[Path], data_dir: Path, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    run_ingest(files, data_dir)
    prof.disable()
    stats = pstats.Stats(prof).sort_stats("cumulative")
    stats.print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def rows_in(files: list[Path]) -> int:
    total = 0
    for path in files:
        if path.suffix == ".parquet":
            total += pl.scan_parquet(path).select(pl.len()).collect().item()
        elif path.suffix == ".json":
            total += pl.read_json(path, infer_schema_length=None).height
        else:
            total += pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each large file")
    parser.add_argument("--scale", type=float, default=0.3, help="the demo tenant's scale")
    parser.add_argument("--runs", type=int, default=3, help="rounds (median)")
    parser.add_argument("--only", action="append", help="only these cases (repeatable)")
    parser.add_argument("--profile", help="profile one ingest of this case instead")
    parser.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="ingest-formats-"))
    try:
        cases: dict[str, tuple[str, list[Path]]] = {}
        for fmt, files in large_files(work, args.rows).items():
            cases[f"{fmt}-large"] = (fmt, files)
        for fmt, files in demo_day(work, args.scale).items():
            cases[f"{fmt}-day"] = (fmt, files)
        if args.profile:
            profile(cases[args.profile][1], work / "profile", args.top)
            return
        if args.only:
            cases = {k: v for k, v in cases.items() if k in args.only}
        times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cases}
        for r in range(args.runs):
            for name, (fmt, files) in cases.items():
                times[name][0].append(run_copy(fmt, files, work / f"copy-{name}-{r}"))
                times[name][1].append(run_ingest(files, work / f"ingest-{name}-{r}"))
                shutil.rmtree(work / f"copy-{name}-{r}")
                shutil.rmtree(work / f"ingest-{name}-{r}")
        load = os.getloadavg()
        print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, load average "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median of {args.runs} rounds")  # fmt: skip
        print(f"{'case':14s} {'files':>5s} {'rows':>10s} {'COPY s':>7s} {'ingest s':>8s} "
              f"{'ratio':>6s} {'target':>6s}")  # fmt: skip
        for name, (_fmt, files) in cases.items():
            copy, ingest = (statistics.median(t) for t in times[name])
            ratio = ingest / copy
            verdict = "met" if ratio <= TARGET else f"MISSED by {ratio / TARGET - 1:.0%}"
            print(f"{name:14s} {len(files):5d} {rows_in(files):10,d} {copy:7.2f} {ingest:8.2f} "
                  f"{ratio:6.2f} {TARGET:6.1f}  {verdict}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
