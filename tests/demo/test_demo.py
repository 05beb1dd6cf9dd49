"""The demo tenant: its shape, the cases analysts meet, determinism and idempotence.

One small demo (scale 0.01) is built once per test run and checked with polars over the store.
"""

from __future__ import annotations

import codecs
import fcntl
import hashlib
import os
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError
from pipeline.demo.campaigns import UNKNOWN_API_VALUE
from pipeline.demo.tenant import DemoResult, run_demo
from pipeline.store.snapshots import Store

AS_OF = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
SCALE = 0.01
SEED = 7
HALF_DAY = timedelta(hours=12)


def build(data_dir: Path, seed: int = SEED) -> DemoResult:
    return run_demo(
        Config(data_dir=data_dir), Console.silent(), seed=seed, scale=SCALE, as_of=AS_OF
    )


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """One demo for the whole run, shared by the pytest-xdist workers (built by the first)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.getbasetemp() / "demo" / "data")
    root = tmp_path_factory.getbasetemp().parent
    saved = root / "demo-result.pickle"
    with open(root / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            result = build(root / "demo" / "data")
            saved.write_bytes(pickle.dumps(result))
        loaded: DemoResult = pickle.loads(saved.read_bytes())
        return loaded


@pytest.fixture(scope="session")
def rows(demo: DemoResult) -> pl.DataFrame:
    return Store(demo.data_dir).scan().collect()


def snapshot_files(data_dir: Path) -> dict[str, str]:
    """The snapshot files (not the table's log, whose commits carry their times)."""
    return {
        p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((data_dir / "snapshots").rglob("*.parquet"))
        if "_delta_log" not in p.parts
    }


def table_log(data_dir: Path) -> dict[str, str]:
    """The Delta table's transaction log, file by file: unchanged means no commit."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((data_dir / "snapshots" / "_delta_log").iterdir())
        if p.is_file()
    }


def test_campaigns_of_different_sizes_and_ages(demo: DemoResult, rows: pl.DataFrame) -> None:
    per = rows.group_by("campaign_id").agg(
        pl.col("contact_id").n_unique().alias("contacts"),
        pl.col("snapshot_time").min().alias("first"),
    )
    assert per.height >= 6
    assert per["contacts"].max() >= 10 * per["contacts"].min()  # type: ignore[operator]
    assert per["first"].n_unique() == per.height  # each started at another time
    assert {c.fmt for c in demo.campaigns} == {
        "json",
        "csv-labels",
        "csv-api",
        "csv-cp1250",
        "parquet",
    }


def test_two_weeks_of_snapshots_several_a_day(rows: pl.DataFrame) -> None:
    snaps = rows.select("campaign_id", "snapshot_time").unique()
    days = snaps.with_columns(pl.col("snapshot_time").dt.date().alias("day"))
    assert days["day"].n_unique() >= 14
    per_day = days.group_by("campaign_id", "day").len()
    # Hourly in a campaign's first hours, then several a day on every later full day.
    first_hours = snaps.filter(
        pl.col("snapshot_time") < pl.col("snapshot_time").min().over("campaign_id") + HALF_DAY
    )
    assert first_hours.group_by("campaign_id").len()["len"].min() >= 12
    bounds = per_day.group_by("campaign_id").agg(
        pl.col("day").min().alias("lo"), pl.col("day").max().alias("hi")
    )
    inner = per_day.join(bounds, on="campaign_id").filter(
        (pl.col("day") > pl.col("lo")) & (pl.col("day") < pl.col("hi"))
    )
    assert inner.height > 0
    assert inner["len"].min() >= 3


def test_contacts_keep_their_ids(rows: pl.DataFrame) -> None:
    last = rows.filter(pl.col("snapshot_time") == pl.col("snapshot_time").max().over("campaign_id"))
    ever = rows.select("campaign_id", "contact_id").unique()
    # Every contact ever seen is in its campaign's last snapshot (nobody disappears).
    assert last.select("campaign_id", "contact_id").unique().height == ever.height


def test_legacy_rows(rows: pl.DataFrame) -> None:
    legacy = rows.filter(pl.col("legacy"))
    assert legacy.height > 0
    assert set(legacy["raw_state"].unique()) <= {"SUCCESS", "Successfully Submitted"}
    assert set(legacy["state"].unique()) == {"sent"}


def test_invalid_removed_and_other(rows: pl.DataFrame) -> None:
    states = set(rows["state"].unique())
    assert {"invalid_record", "removed", "error", "delivery_failed"} <= states
    other = rows.filter(pl.col("state") == "other")
    assert set(other["raw_state"].unique()) == {UNKNOWN_API_VALUE}


def test_stuck_contacts(rows: pl.DataFrame) -> None:
    """Contacts In progress or Retry scheduled over consecutive snapshots many hours apart."""
    runs = (
        rows.sort("campaign_id", "contact_id", "snapshot_time")
        .with_columns(
            (pl.col("state") != pl.col("state").shift().over("campaign_id", "contact_id"))
            .fill_null(True)
            .cum_sum()
            .over("campaign_id", "contact_id")
            .alias("run")
        )
        .group_by("campaign_id", "contact_id", "run")
        .agg(
            pl.col("state").first(),
            (pl.col("snapshot_time").max() - pl.col("snapshot_time").min()).alias("span"),
            pl.len().alias("snapshots"),
        )
    )
    stuck = runs.filter(
        pl.col("state").is_in(["in_progress", "retry_scheduled"])
        & (pl.col("span") >= pl.duration(hours=4))
        & (pl.col("snapshots") >= 2)
    )
    assert set(stuck["state"].unique()) == {"in_progress", "retry_scheduled"}
    assert stuck["span"].max() >= timedelta(hours=12)  # type: ignore[operator]


def test_a_day_with_a_spike_of_sending_failed(rows: pl.DataFrame) -> None:
    first_failed = (
        rows.filter(pl.col("state") == "sending_failed")
        .group_by("campaign_id", "contact_id")
        .agg(pl.col("snapshot_time").min().dt.date().alias("day"))
    )
    per_day = first_failed.group_by("day").len().sort("len", descending=True)
    assert per_day.height >= 5
    assert per_day["len"][0] >= 2 * per_day["len"][1]


def test_a_campaign_canceled_by_admin(rows: pl.DataFrame) -> None:
    last = rows.filter(pl.col("snapshot_time") == pl.col("snapshot_time").max().over("campaign_id"))
    share = last.group_by("campaign_id").agg(
        (pl.col("state") == "canceled_by_admin").mean().alias("canceled")
    )
    canceled = share.filter(pl.col("canceled") >= 0.2)
    assert canceled.height == 1
    cid = canceled["campaign_id"][0]
    first = rows.filter(
        (pl.col("campaign_id") == cid) & (pl.col("snapshot_time") == pl.col("snapshot_time").min())
    )
    assert "canceled_by_admin" not in set(first["state"])
    # Once canceled, a contact stays canceled.
    after = rows.filter(pl.col("campaign_id") == cid).sort("contact_id", "snapshot_time")
    went_back = after.filter(
        (pl.col("state").shift().over("contact_id") == "canceled_by_admin")
        & (pl.col("state") != "canceled_by_admin")
    )
    assert went_back.height == 0


def test_every_file_accounted_for_and_quarantine(demo: DemoResult) -> None:
    assert demo.reports and all(r.ok for r in demo.reports)
    for r in demo.reports:
        assert r.rows_read == r.rows_loaded + r.rows_quarantined, r.path
    assert demo.rows_quarantined > 0
    assert len(demo.quarantine_files) == 1
    quarantine = pl.read_csv(demo.data_dir / demo.quarantine_files[0], infer_schema=False)
    assert "missing contact id" in set(quarantine["reason"])
    (bad_file,) = [r for r in demo.reports if r.rows_quarantined]
    invalid = sum(n for reason, n in bad_file.reasons.items() if not reason.startswith("duplicate"))
    assert 0 < invalid < 0.01 * bad_file.rows_read  # below the limit: the file is not rejected
    published = Store(demo.data_dir).published()
    assert len(published) == demo.published == sum(c.snapshots for c in demo.campaigns)


def test_export_files_mix_formats(demo: DemoResult) -> None:
    suffixes = {p.suffix for p in demo.inbox.iterdir()}
    assert {".json", ".csv", ".parquet"} <= suffixes
    bom = [p for p in demo.inbox.glob("*.csv") if p.read_bytes().startswith(codecs.BOM_UTF8)]
    assert bom and all(b";" in p.read_bytes().split(b"\n", 1)[0] for p in bom)
    cp1250 = []
    for p in demo.inbox.glob("*.csv"):
        try:
            p.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            cp1250.append(p)
    assert cp1250 and "Poznámka" in cp1250[0].read_bytes().decode("cp1250")


def test_same_seed_same_snapshots(demo: DemoResult, tmp_path: Path) -> None:
    again = build(tmp_path / "data")
    assert snapshot_files(again.data_dir) == snapshot_files(demo.data_dir)
    key = ["campaign_id", "snapshot_time", "contact_id"]
    a = Store(demo.data_dir).scan().collect().sort(key)
    b = Store(again.data_dir).scan().collect().sort(key)
    assert a.equals(b)


def test_a_second_run_adds_nothing(demo: DemoResult) -> None:
    log = table_log(demo.data_dir)
    files = snapshot_files(demo.data_dir)
    rerun = build(demo.data_dir)
    assert rerun.published == 0
    assert rerun.already_present == demo.published
    assert all(r.ok and r.rows_read == r.rows_loaded + r.rows_quarantined for r in rerun.reports)
    assert table_log(demo.data_dir) == log  # no commit
    assert snapshot_files(demo.data_dir) == files


def test_other_settings_in_the_same_directory_are_refused(demo: DemoResult) -> None:
    before = table_log(demo.data_dir)
    with pytest.raises(PipelineError, match="other settings"):
        build(demo.data_dir, seed=SEED + 1)
    assert table_log(demo.data_dir) == before
