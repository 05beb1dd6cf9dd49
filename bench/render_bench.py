"""Render time and page sizes of the daily reports: the demo tenant, and a tenant of N campaigns.

For each tenant: ingest (not timed), ``build`` (timed apart), then ``render_reports`` for the
latest day (timed, median of ``--runs``), and the sizes of the pages it wrote.

The synthetic tenant has ``--campaigns`` campaigns of ``--contacts`` contacts, one snapshot a day
for ``--days`` days (two on the last day), contacts moving Initial -> Sent -> Delivered -> Read,
some failing, a few stuck; every fifth campaign stops two days early (stale on the report day).

    python bench/render_bench.py                     # demo tenant + 100 campaigns
    python bench/render_bench.py --campaigns 300 --contacts 5000 --skip-demo
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import Config  # noqa: E402
from pipeline.core.console import Console  # noqa: E402
from pipeline.report import render_reports  # noqa: E402
from pipeline.store.ingest import ingest_files  # noqa: E402
from pipeline.store.snapshots import Store  # noqa: E402
from pipeline.warehouse.build import build  # noqa: E402

END = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def synthetic(data_dir: Path, campaigns: int, contacts: int, days: int, seed: int) -> int:
    """Write and ingest the synthetic tenant; returns the number of snapshots."""
    inbox = data_dir.parent / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = []
    for c in range(campaigns):
        cid = f"bench{c:04d}"
        # per contact: the day it is sent, delivered, read (None: never), or how it fails
        plan = []
        for i in range(contacts):
            sent = rng.randrange(days)
            fate = rng.random()
            plan.append(
                (
                    f"{cid}-{i:06d}",
                    sent,
                    None if fate < 0.1 else sent + rng.randrange(3),
                    None if fate < 0.4 else sent + rng.randrange(5),
                    "WA_SEND_FAILED" if fate < 0.04 else ("FAILING" if fate < 0.05 else None),
                    fate > 0.999,
                )
            )
        last = days - (3 if c % 5 == 4 else 1)
        times = [END - timedelta(days=days - 1 - d) for d in range(last + 1)]
        if c % 5 != 4:
            times.append(END + timedelta(hours=6))
        for d, t in enumerate(times):
            d = min(d, days - 1)
            ids, states = [], []
            for cid_i, sent, delivered, read, fail, stuck in plan:
                if stuck and d >= sent:
                    state = "CALLING"
                elif d < sent:
                    state = "INITIAL"
                elif fail:
                    state = fail
                elif read is not None and d >= read:
                    state = "WA_READ"
                elif delivered is not None and d >= delivered:
                    state = "WA_DELIVERED"
                else:
                    state = "WA_SENT"
                ids.append(cid_i)
                states.append(state)
            path = inbox / f"campaign-{cid}_{t:%Y%m%dT%H%M%S}Z.parquet"
            pl.DataFrame({"contact_id": ids, "state": states}).write_parquet(path)
            files.append(path)
    cfg = Config(data_dir=data_dir)
    reports = ingest_files(files, store=Store(data_dir), config=cfg, console=Console.silent())
    assert all(r.ok for r in reports), [r.summary() for r in reports if not r.ok]
    return len(files)


def measure(name: str, cfg: Config, runs: int) -> None:
    t = time.perf_counter()
    build(cfg, Console.silent(), full=True)
    build_s = time.perf_counter() - t
    times = []
    result = None
    for _ in range(runs):
        t = time.perf_counter()
        result = render_reports(cfg, Console.silent())
        times.append(time.perf_counter() - t)
    assert result is not None
    day_dir = result.out_dir / result.days[-1].isoformat()
    pages = sorted(day_dir.glob("*.html"))
    campaign_pages = [p.stat().st_size for p in pages if p.name.startswith("campaign-")]
    data = sum(p.stat().st_size for p in day_dir.iterdir() if p.suffix in {".csv", ".json"})
    print(f"\n== {name}")
    print(f"build (full):         {build_s:7.2f} s")
    print(
        f"render (all pages):   {statistics.median(times):7.2f} s median of {runs} "
        f"({len(pages)} pages + archive, day {result.days[-1]})"
    )
    print(f"overview page:        {(day_dir / 'index.html').stat().st_size / 1024:7.1f} KiB")
    if campaign_pages:
        print(
            f"campaign pages:       {statistics.median(campaign_pages) / 1024:7.1f} KiB median, "
            f"{max(campaign_pages) / 1024:.1f} KiB max, {sum(campaign_pages) / 1024:.0f} KiB total"
        )
    print(f"CSV/JSON beside them: {data / 1024:7.1f} KiB")
    print(f"overview:             {day_dir / 'index.html'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaigns", type=int, default=100)
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="render-bench-"))
    try:
        if not args.skip_demo:
            from pipeline.demo.tenant import run_demo

            cfg = Config(data_dir=root / "demo" / "data")
            run_demo(
                cfg,
                Console.silent(),
                seed=7,
                scale=1.0,
                as_of=datetime(2026, 11, 27, 23, tzinfo=UTC),
            )
            measure("demo tenant (seed 7, scale 1)", cfg, args.runs)
        data_dir = root / "synthetic" / "data"
        t = time.perf_counter()
        n = synthetic(data_dir, args.campaigns, args.contacts, args.days, args.seed)
        print(
            f"\n(synthetic tenant: {args.campaigns} campaigns x {args.contacts} contacts, "
            f"{n} snapshots, ingested in {time.perf_counter() - t:.1f} s)"
        )
        measure(
            f"{args.campaigns} campaigns x {args.contacts} contacts, {args.days} days",
            Config(data_dir=data_dir),
            args.runs,
        )
    finally:
        if args.keep:
            print(f"\nkept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
