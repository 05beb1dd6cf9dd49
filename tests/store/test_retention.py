"""Retention of raw data, and erasing one contact everywhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from conftest import ingest, make_config
from wait_helpers import GUARD

from pipeline.core.config import Config, RetentionConfig
from pipeline.core.console import Console
from pipeline.store.erase import erase_contact
from pipeline.store.retention import apply_retention
from pipeline.store.snapshots import Store
from pipeline.store.suppression import suppressed_hashes


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def every_cell(data_dir: Path) -> list[str]:
    """The decoded contents of every Parquet and CSV file under the data directory."""
    cells: list[str] = []
    for p in data_dir.rglob("*"):
        if p.suffix == ".parquet":
            frame = pl.read_parquet(p)
        elif p.suffix == ".csv":
            frame = pl.read_csv(p, infer_schema=False)
        else:
            continue
        for col in frame.columns:
            cells += [
                str(v) for v in frame.get_column(col).cast(pl.String).to_list() if v is not None
            ]
    return cells


def test_erase_removes_the_contact_everywhere_and_keeps_it_out(tmp_path, data_dir):
    body = "contact_id,state\n" + "".join(f"{i},WA_READ\n" for i in range(100, 400))
    day1 = write(tmp_path / "campaign-1_20261127T060000Z.csv", body + "777,WA_SENT\n")
    # contact 777 twice with different states in day 2: its rows go to quarantine
    day2 = write(tmp_path / "campaign-1_20261128T060000Z.csv", body + "777,WA_SENT\n777,WA_READ\n")
    other = write(
        tmp_path / "campaign-2_20261128T060000Z.csv", "contact_id,state\n777,Read\n5,Read\n"
    )
    ingest(data_dir, day1, day2, other)
    assert "777" in every_cell(data_dir)
    q_before = Store(data_dir).quarantine_files()
    assert len(q_before) == 1

    result = erase_contact(make_config(data_dir), Console.silent(), "777")
    assert (result.snapshots_rewritten, result.rows_removed, result.quarantine_files_rewritten) == (
        2,
        2,
        1,
    )
    assert "777" not in every_cell(data_dir)
    store = Store(data_dir)
    # the snapshots keep every other row and their ids; the manifest matches the files
    metas = {m.campaign_id + m.snapshot_time[:10]: m for m in store.published()}
    assert metas["12026-11-27"].rows == 300 and metas["22026-11-28"].rows == 1
    on_disk = {
        p.relative_to(data_dir).as_posix() for p in (data_dir / "snapshots").rglob("*.parquet")
    }
    assert on_disk == {m.path for m in store.published()}
    assert store.scan().collect().height == 300 + 300 + 1
    # the suppression list holds a hash, not the id
    assert len(suppressed_hashes(store)) == 1
    assert b"777" not in (data_dir / "suppressed.jsonl").read_bytes()

    # re-ingesting an old file does not bring it back ...
    [again] = ingest(data_dir, day1)
    assert again.ok and not again.published
    # ... nor does a new one; the dropped row is accounted for
    day3 = write(tmp_path / "campaign-1_20261129T060000Z.csv", body + "777,WA_READ\n")
    [new] = ingest(data_dir, day3)
    assert (new.rows_read, new.rows_loaded, new.rows_quarantined, new.rows_suppressed) == (
        301,
        300,
        0,
        1,
    )
    assert "1 of erased contacts dropped" in new.summary()
    assert "777" not in every_cell(data_dir)


def test_erase_survives_a_crash_after_the_manifest_line(tmp_path, data_dir):
    f = write(
        tmp_path / "campaign-1_20261127T060000Z.csv", "contact_id,state\n1,WA_READ\n2,WA_READ\n"
    )
    ingest(data_dir, f)
    old_path = Store(data_dir).published()[0].path
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--data-dir",
            str(data_dir),
            "erase",
            "--contact",
            "2",
            "--yes",
        ],
        env={**os.environ, "CAMPAIGN_REPORTS_CRASH_AT": "changes-committed"},
        capture_output=True,
        timeout=GUARD,
    )
    assert proc.returncode == -signal.SIGKILL
    store = Store(data_dir)
    [meta] = store.published()
    assert meta.path != old_path and meta.rows == 1
    assert (data_dir / old_path).exists()  # not yet deleted: the next writer finishes it
    ingest(data_dir, f)
    assert not (data_dir / old_path).exists()
    assert "2" not in every_cell(data_dir)


def test_retention_removes_old_snapshots_and_quarantine(tmp_path, data_dir):
    old = write(
        tmp_path / "campaign-1_20250101T060000Z.csv",
        "contact_id,state\n" + "".join(f"{i},Read\n" for i in range(200)) + ",Read\n",
    )
    new = write(tmp_path / "campaign-1_20261127T060000Z.csv", "contact_id,state\n1,Read\n")
    ingest(data_dir, old, new)
    store = Store(data_dir)
    assert len(store.published()) == 2 and len(store.quarantine_files()) == 1
    config = Config(
        data_dir=data_dir, retention=RetentionConfig(snapshots_days=400, quarantine_days=0)
    )
    result = apply_retention(config, Console.silent(), datetime(2026, 11, 28, tzinfo=UTC))
    assert (result.snapshots_removed, result.quarantine_files_removed) == (1, 0)
    [kept] = Store(data_dir).published()
    assert kept.snapshot_time.startswith("2026-11-27")
    assert not (data_dir / "snapshots" / "campaign_id=1" / "snapshot_date=2025-01-01").exists()
    assert len(Store(data_dir).quarantine_files()) == 1
    # quarantine files age by when they were written; "now" 100 days later removes them
    config = Config(
        data_dir=data_dir, retention=RetentionConfig(snapshots_days=0, quarantine_days=90)
    )
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
    result = apply_retention(config, Console.silent(), later)
    assert (result.snapshots_removed, result.quarantine_files_removed) == (0, 1)
    assert Store(data_dir).quarantine_files() == []
    assert list((data_dir / "quarantine").rglob("*.csv")) == []
    assert len(Store(data_dir).published()) == 1


def test_an_export_does_not_bring_an_erased_contact_back(data_dir):
    from datetime import timedelta

    from export_helpers import CLIENT_ID, SECRET, StepClock, published, run_export

    from pipeline.testing.server import FakeMluvii
    from pipeline.testing.tenant import FakeTenant

    tenant = FakeTenant(seed=3, sizes=(50,))
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as fake:
        run_export(fake, data_dir)
        [meta] = published(data_dir, 101)
        victim = pl.read_parquet(data_dir / meta.path)["contact_id"][7]
        erase_contact(make_config(data_dir), Console.silent(), victim)
        later = StepClock(datetime(2026, 11, 28, 9, tzinfo=UTC) + timedelta(hours=1))
        run_export(fake, data_dir, clock=later)
    metas = published(data_dir, 101)
    assert len(metas) == 2
    for m in metas:
        frame = pl.read_parquet(data_dir / m.path)
        assert victim not in frame["contact_id"].to_list()
        assert frame.height == m.rows == 49
    assert victim not in every_cell(data_dir)
