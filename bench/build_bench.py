"""Warehouse build cost against a floor: `build` (full, and one incremental day) next to plain
DuckDB computing each contact's latest state over the same Parquet files.

Generates a deterministic snapshot history through the store's writer (vectorised in polars):
``--campaigns`` campaigns, one snapshot per hour for ``--days`` days, and as many contacts per
campaign as make ``--rows`` snapshot rows in all. Contacts enter over the first two thirds of the
period and move Initial -> In progress -> Sent -> Delivered -> Read (some fail, some stop early)
at hash-derived times, so the compact history is realistic (a few rows per contact).

Then it times, each step in its own subprocess (peak RSS is that process's own ``ru_maxrss``, from
``os.wait4``):

1. ``build`` over all days but the last (a first, full build),
2. the last day is written, and ``build`` adds it incrementally (one day's data),
3. ``build --full`` over the whole history,
4. the floor: DuckDB's plain latest-state-per-contact query (``arg_max(state, snapshot_time)``
   grouped by campaign and contact) over all the Parquet files, hive-partitioned.

    python bench/build_bench.py                    # 30M rows (a few minutes)
    python bench/build_bench.py --rows 300000      # a quick check
    python bench/build_bench.py --inbox demo-data/inbox/demo   # the demo tenant's exports
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchkit  # noqa: E402

from pipeline.core.clock import iso_utc  # noqa: E402
from pipeline.core.config import Config  # noqa: E402
from pipeline.core.console import Console  # noqa: E402
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
UTC_US = pl.Datetime("us", "UTC")


def contacts_frame(campaign: int, contacts: int, hours: int) -> pl.DataFrame:
    """Per contact: entry hour and the hours of each later state (hash-derived, deterministic)."""
    h = lambda salt: pl.col("n").hash(seed=campaign * 100 + salt)  # noqa: E731
    return (
        pl.DataFrame({"n": pl.arange(0, contacts, eager=True, dtype=pl.UInt64)})
        .with_columns(
            pl.format("c{}-{}", pl.lit(campaign), pl.col("n")).alias("contact_id"),
            (h(1) % max(1, hours * 2 // 3)).cast(pl.Int64).alias("t_start"),
            (h(2) % 100).cast(pl.Int64).alias("outcome"),
            (h(3) % 12 + 1).cast(pl.Int64).alias("d_delivered"),
            (h(4) % 48 + 1).cast(pl.Int64).alias("d_read"),
            (h(5) % 4 + 1).cast(pl.Int64).alias("d_progress"),
        )
        .drop("n")
    )


def states_at(contacts: pl.DataFrame, hour: pl.Expr) -> pl.Expr:
    """The API value of each contact at an hour since the start."""
    since = hour - pl.col("t_start")
    sent_at = pl.col("d_progress")
    delivered_at = sent_at + pl.col("d_delivered")
    read_at = delivered_at + pl.col("d_read")
    o = pl.col("outcome")
    return (
        pl.when(since < 0)
        .then(pl.lit("INITIAL"))
        .when(since < sent_at)
        .then(pl.when(o % 7 == 0).then(pl.lit("RETRY_SCHEDULED")).otherwise(pl.lit("CALLING")))
        .when(o < 5)
        .then(pl.lit("WA_SEND_FAILED"))
        .when(o < 7)
        .then(pl.lit("FAILING"))
        .when(since < delivered_at)
        .then(pl.when(o == 50).then(pl.lit("SUCCESS")).otherwise(pl.lit("WA_SENT")))
        .when(o < 11)
        .then(pl.lit("WA_DELIVERY_FAILED"))
        .when(o < 30)
        .then(pl.lit("WA_SENT"))
        .when((since < read_at) | (o < 50))
        .then(pl.lit("WA_DELIVERED"))
        .otherwise(pl.lit("WA_READ"))
    )


def write_days(data_dir: Path, campaigns: int, contacts: int, days: int, day_range: range) -> int:
    """Write the snapshots of the given days (hourly) through the store's writer."""
    from pipeline.core.catalog import state_exprs

    store = Store(data_dir)
    hours = days * 24
    rows = 0
    state, legacy = state_exprs(pl.col("raw_state"))
    with store.writer("bench") as writer:
        for c in range(campaigns):
            people = contacts_frame(c, contacts, hours)
            cid = f"bench{c:03d}"
            for day in day_range:
                slots = pl.DataFrame({"hour": pl.arange(day * 24, day * 24 + 24, eager=True)})
                frame = (
                    people.join(slots, how="cross")
                    .with_columns(states_at(people, pl.col("hour")).alias("raw_state"))
                    .with_columns(state.alias("state"), legacy.alias("legacy"))
                )
                staged = []
                for (hour,), part in frame.partition_by("hour", as_dict=True).items():
                    t = START + timedelta(hours=int(hour))  # type: ignore[arg-type]
                    sid = snapshot_id_for(cid, t)
                    out = part.select(
                        pl.lit(sid).alias("snapshot_id"),
                        pl.lit(t).cast(UTC_US).alias("snapshot_time"),
                        pl.lit("bench").alias("source"),
                        "contact_id",
                        "state",
                        "raw_state",
                        "legacy",
                        pl.lit(None, UTC_US).alias("created"),
                        pl.lit(None, pl.Int32).alias("retry_count"),
                        pl.lit(None, UTC_US).alias("retry_scheduled"),
                        pl.lit(None, pl.String).alias("phone_hash"),
                    )
                    meta = SnapshotMeta(
                        snapshot_id=sid,
                        campaign_id=cid,
                        snapshot_time=iso_utc(t),
                        source="bench",
                        path=store.relative_path(cid, t, sid),
                        rows=out.height,
                        fingerprint=hashlib.sha256(sid.encode()).hexdigest(),
                        input=f"bench-{cid}-{day}",
                    )
                    staged.append(writer.stage_snapshot(meta, out))
                    rows += out.height
                writer.commit(staged, input_name=f"bench-{cid}-day{day}")
    return rows


# ------------------------------------------------------------------------------ measured steps
def step_build(data_dir: Path, full: bool) -> dict:
    from pipeline.warehouse.build import build

    result = build(Config(data_dir=data_dir), Console.silent(), full=full)
    return {
        "snapshots": result.snapshots_new,
        "rows": result.rows_read,
        "history_rows": result.history_rows,
    }


def step_floor(data_dir: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    rows = con.execute(
        "SELECT count(*) FROM (SELECT campaign_id, contact_id, arg_max(state, snapshot_time) "
        "FROM read_parquet(?, hive_partitioning = true, "
        "hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE}) GROUP BY ALL)",
        [str(data_dir / "snapshots" / "campaign_id=*" / "snapshot_date=*" / "*.parquet")],
    ).fetchall()
    return {"contacts": rows[0][0]}


def run_step(*args: str) -> dict:
    """Run one step in a subprocess; its wall time and its own peak RSS."""
    info, seconds, rss = benchkit.run_step(__file__, *args)
    return {**info, "seconds": seconds, "peak_rss_mb": rss}


def ingest_inbox(data_dir: Path, files: list[Path]) -> int:
    """Ingest export files (e.g. the demo tenant's inbox) through the normal ingest path."""
    from pipeline.store.ingest import IngestOptions, ingest_files

    config, quiet = Config(data_dir=data_dir), Console.silent()
    reports = ingest_files(files, store=Store(data_dir), config=config, console=quiet)
    rejected = [Path(r.path) for r in reports if not r.ok]
    if rejected:  # the demo's Czech Excel exports are cp1250
        again = ingest_files(
            rejected,
            store=Store(data_dir),
            config=config,
            console=quiet,
            options=IngestOptions(encoding="cp1250"),
        )
        reports = [r for r in reports if r.ok] + again
    return sum(r.rows_loaded for r in reports)


def split_inbox(inbox: Path) -> tuple[list[Path], list[Path]]:
    """Export files before the last (UTC) day of the inbox, and those of the last day."""
    stamped = []
    for p in sorted(inbox.iterdir()):
        m = re.search(r"_(\d{8})T\d{4,6}Z", p.name)
        if m and p.is_file():
            stamped.append((m.group(1), p))
    last = max(day for day, _ in stamped)
    return [p for d, p in stamped if d < last], [p for d, p in stamped if d == last]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30_000_000, help="snapshot rows in all")
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dir", type=Path, help="data directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--inbox",
        type=Path,
        help="instead of generating, ingest these export files (e.g. the demo tenant's "
        "<data-dir>/inbox/demo); the last day's files make the incremental step",
    )
    args = parser.parse_args()

    contacts = max(1, args.rows // (args.campaigns * args.days * 24))
    root = args.dir or Path(tempfile.mkdtemp(prefix="build-bench-"))
    data_dir = root / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    if not args.inbox:
        print(
            f"{args.campaigns} campaigns x {contacts:,} contacts x {args.days} days x 24 "
            f"snapshots = {args.campaigns * contacts * args.days * 24:,} rows in {data_dir}",
            flush=True,
        )
    if args.inbox:
        before, last_day = split_inbox(args.inbox)
        write_first = lambda: ingest_inbox(data_dir, before)  # noqa: E731
        write_last = lambda: ingest_inbox(data_dir, last_day)  # noqa: E731
        print(f"ingesting {len(before)} + {len(last_day)} export files from {args.inbox}")
    else:
        write_first = lambda: write_days(  # noqa: E731
            data_dir, args.campaigns, contacts, args.days, range(args.days - 1)
        )
        write_last = lambda: write_days(  # noqa: E731
            data_dir, args.campaigns, contacts, args.days, range(args.days - 1, args.days)
        )
    try:
        t = time.perf_counter()
        rows = write_first()
        print(f"wrote {rows:,} rows (all days but the last) in {time.perf_counter() - t:.1f} s")
        first = run_step("build", str(data_dir))
        t = time.perf_counter()
        day_rows = write_last()
        print(f"wrote {day_rows:,} rows (the last day) in {time.perf_counter() - t:.1f} s")
        incremental = run_step("build", str(data_dir))
        full = run_step("build", str(data_dir), "--full")
        floor = run_step("floor", str(data_dir))
        size = sum(p.stat().st_size for p in (data_dir / "snapshots").rglob("*.parquet"))
        wh = data_dir / "warehouse" / "warehouse.duckdb"
        print(
            f"\nParquet: {size / 2**20:,.0f} MiB; warehouse: {wh.stat().st_size / 2**20:,.1f} MiB"
        )
        print(f"{'step':<44} {'rows read':>12} {'seconds':>8} {'peak RSS MiB':>13}")
        for label, r in (
            ("build, first (all days but the last, full)", first),
            ("build, one more day (incremental)", incremental),
            ("build --full (all days)", full),
            ("DuckDB latest state per contact (floor)", floor),
        ):
            n = r.get("rows", rows + day_rows)
            print(f"{label:<44} {n:>12,} {r['seconds']:>8.1f} {r['peak_rss_mb']:>13,.0f}")
        print(
            f"\nstate history: {full['history_rows']:,} rows for {rows + day_rows:,} snapshot rows; "
            f"latest-state contacts: {floor['contacts']:,}"
        )
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_step":
        kind, data = sys.argv[2], Path(sys.argv[3])
        if kind == "build":
            info = step_build(data, full="--full" in sys.argv[4:])
        else:
            info = step_floor(data)
        info["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(info), flush=True)
    else:
        main()
