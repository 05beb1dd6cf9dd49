"""The scale guarantees of issue 7 at a tiny size, on the shape of the benchmark's workload
(bench/workload.py: campaigns starting on different days, hourly snapshots for 48 hours then four
a day, late joiners, contacts that vanish, legacy and unknown states):

- built day by day (incrementally, in small chunks), the warehouse equals a full rebuild;
- each incremental day reads that day's new rows only;
- the compact interval history, expanded back to snapshots, gives every snapshot row exactly;
- the tables kept step by step (milestones, daily counts, daily moves) equal their formulas
  computed afresh over the whole history.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

import pipeline.warehouse.steps as steps
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.store.snapshots import Store
from pipeline.warehouse.build import build
from pipeline.warehouse.db import WAREHOUSE_DIR, WAREHOUSE_FILE
from pipeline.warehouse.steps import RESULT_TABLES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from workload import Workload, mix32, write_days

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_warehouse_build import NO_STORED_DIFFERENCES, stored_differences

#: M's shape at a tiny size: 4 campaigns starting on days 1, 2, 4 and 5 of 6, 100 contacts each.
TINY = Workload("T", campaigns=4, contacts=400, days=6)
HIVE = "hive_partitioning = true, hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE}"


def warehouse_file(data: Path) -> Path:
    return data / WAREHOUSE_DIR / WAREHOUSE_FILE


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, list[tuple[int, int]]]:
    """The tiny workload published and built one day at a time (chunks of ~1,500 rows, so days
    are split across several steps, and daily tables redone one campaign at a time); per day:
    (rows written, rows the build read)."""
    data = tmp_path_factory.mktemp("scale") / "data"
    config = Config(data_dir=data)
    per_day = []
    with pytest.MonkeyPatch.context() as mp:
        # the daily step one campaign at a time (100 contacts each)
        mp.setattr(steps, "DAILY_BATCH_CONTACTS", 150)
        for day in range(TINY.days):
            written = write_days(TINY, data, range(day, day + 1))
            result = build(config, Console.silent(), batch_rows=1_500)
            per_day.append((written, result.rows_read))
    return config, per_day


def test_the_workload_has_the_benchmark_shape() -> None:
    assert [TINY.start_day(c) for c in range(4)] == [0, 1, 3, 4]
    hours = [h for d in range(TINY.days) for h in TINY.hours(1, d)]
    assert hours[:48] == list(range(24, 72))  # hourly for its first 48 hours
    assert hours[48:] == [72, 78, 84, 90, 96, 102, 108, 114, 120, 126, 132, 138]
    assert TINY.snapshots() == 64 + 60 + 52 + 48
    # the counter hash is pinned: the same workload on every machine and polars version
    counters = pl.DataFrame({"n": pl.Series([0, 1, 2, 12_345], dtype=pl.UInt64)})
    values = counters.select(mix32(pl.col("n"), 7)).to_series().to_list()
    assert values == [2492178918, 2767685996, 3303668989, 3734623763]
    # a day generated alone equals the same day generated after the others
    frames = lambda: [f for c in range(4) for _, f in TINY.frames(c, 4)]  # noqa: E731
    assert all(a.equals(b) for a, b in zip(frames(), frames(), strict=True))


def test_the_tiny_history_has_what_the_bench_exercises(built: tuple[Config, list]) -> None:
    config, _ = built
    rows = Store(config.data_dir).scan().collect()
    per_snapshot = rows.group_by("snapshot_id").len()["len"]
    assert per_snapshot.min() != per_snapshot.max()  # late joiners and leavers
    assert rows["legacy"].any()
    assert (rows["state"] == "other").any()
    assert set(rows["state"]) >= {"initial", "sent", "delivered", "read", "sending_failed"}


def test_each_day_reads_only_its_new_rows(built: tuple[Config, list]) -> None:
    _, per_day = built
    assert all(written == read for written, read in per_day), per_day
    assert all(written > 0 for written, _ in per_day)


def test_day_by_day_build_equals_full_rebuild(built: tuple[Config, list], tmp_path: Path) -> None:
    config, _ = built
    data = Path(config.data_dir)
    incremental = tmp_path / "incremental.duckdb"
    shutil.copyfile(warehouse_file(data), incremental)
    copy = tmp_path / "full" / "data"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("warehouse"))
    build(Config(data_dir=copy), Console.silent(), full=True)
    con = duckdb.connect()
    con.execute(f"ATTACH '{incremental}' AS i (READ_ONLY)")
    con.execute(f"ATTACH '{warehouse_file(copy)}' AS f (READ_ONLY)")
    counts = {}
    for table in RESULT_TABLES:
        a = con.execute(
            f"SELECT count(*) FROM (FROM i.{table} EXCEPT ALL FROM f.{table})"
        ).fetchall()[0][0]
        b = con.execute(
            f"SELECT count(*) FROM (FROM f.{table} EXCEPT ALL FROM i.{table})"
        ).fetchall()[0][0]
        n = con.execute(f"SELECT count(*) FROM f.{table}").fetchall()[0][0]
        counts[table] = (a, b, n > 0)
    # every table has rows and the same in both, but daily_dirty: a finished build empties it
    assert counts == {t: (0, 0, t != "daily_dirty") for t in RESULT_TABLES}


def test_interval_history_expands_back_to_every_snapshot_row(built: tuple[Config, list]) -> None:
    config, _ = built
    data = Path(config.data_dir)
    files = [str(p) for p in Store(data).files()]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{warehouse_file(data)}' AS w (READ_ONLY)")
    con.execute(
        "CREATE TEMP TABLE raw AS SELECT campaign_id, snapshot_id, snapshot_time, contact_id, "
        f"state, raw_state, coalesce(legacy, false) AS legacy FROM read_parquet(?, {HIVE})",
        [files],
    )
    # the intervals themselves (not the snapshots view): a row per snapshot each one covers
    con.execute(
        "CREATE TEMP TABLE expanded AS "
        "SELECT s.campaign_id, s.snapshot_id, s.snapshot_time, h.contact_id, h.state, "
        "h.raw_state, h.legacy "
        "FROM w.snapshot_log AS s "
        "JOIN (FROM w.history_closed UNION ALL FROM w.history_open) AS h "
        "ON h.campaign_id = s.campaign_id AND h.valid_from <= s.snapshot_time "
        "AND (h.valid_to IS NULL OR h.valid_to > s.snapshot_time) WHERE s.complete"
    )
    one = con.execute("SELECT count(*) FROM (FROM expanded EXCEPT ALL FROM raw)").fetchall()
    other = con.execute("SELECT count(*) FROM (FROM raw EXCEPT ALL FROM expanded)").fetchall()
    raw, history = con.execute(
        "SELECT (SELECT count(*) FROM raw), "
        "(SELECT count(*) FROM w.history_closed) + (SELECT count(*) FROM w.history_open)"
    ).fetchall()[0]
    assert (one[0][0], other[0][0]) == (0, 0)
    assert raw > 20_000
    # compact: one row per state change, far fewer than the snapshot rows
    assert history * 5 < raw


def test_daily_tables_built_step_by_step_equal_their_formulas(built: tuple[Config, list]) -> None:
    config, _ = built
    assert stored_differences(config) == NO_STORED_DIFFERENCES
