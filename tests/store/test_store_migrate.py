"""`campaign-reports migrate`: a store of an older version (Parquet files and manifest.jsonl)
becomes the Delta table, with every snapshot and quarantine file it listed, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import StoreError
from pipeline.store.meta import SNAPSHOT_SCHEMA, SnapshotMeta, snapshot_id_for
from pipeline.store.migrate import migrate
from pipeline.store.snapshots import Store

CLI = [sys.executable, "-m", "pipeline"]
T1 = datetime(2026, 11, 27, 6, tzinfo=UTC)
T2 = datetime(2026, 11, 28, 6, tzinfo=UTC)


def _snapshot(root: Path, campaign: str, at: datetime, ids: list[str], *, complete=True):
    """One snapshot file where the old version put it, and its manifest record."""
    sid = snapshot_id_for(campaign, at)
    rel = f"snapshots/campaign_id={campaign}/snapshot_date={at.date()}/{sid}.parquet"
    frame = pl.DataFrame(
        {
            "snapshot_id": sid,
            "snapshot_time": [at] * len(ids),
            "source": "file:x.csv",
            "contact_id": ids,
            "state": "read",
            "raw_state": "WA_READ",
            "legacy": False,
            "created": None,
            "retry_count": None,
            "retry_scheduled": None,
            "phone_hash": None,
        }
    ).select([pl.col(c).cast(t) for c, t in SNAPSHOT_SCHEMA.items()])
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(root / rel)
    meta = SnapshotMeta(
        sid, campaign, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "file:x.csv", rel, len(ids),
        fingerprint=f"fp-{sid}", complete=complete, input="x.csv",
    )  # fmt: skip
    return meta


def old_store(root: Path) -> dict[str, SnapshotMeta]:
    """Campaigns 007 and 7 (two campaigns), an incomplete snapshot, a removed one, a quarantine
    file, and a file that no manifest line lists (a crashed writer's)."""
    a = _snapshot(root, "007", T1, ["1", "2", "3"])
    b = _snapshot(root, "7", T1, ["1", "2"])
    c = _snapshot(root, "7", T2, ["1", "2", "4"], complete=False)
    gone = _snapshot(root, "9", T1, ["5"])
    (root / gone.path).unlink()  # retention deleted its file after the manifest line
    _snapshot(root, "9", T2, ["6"])  # unlisted
    (root / "quarantine/2026-11-27").mkdir(parents=True)
    (root / "quarantine/2026-11-27/x-abc.csv").write_text("source_row,reason\n4,missing\n")
    lines = [
        {"v": 1, "committed_at": "2026-11-27T06:10:00.000000Z", "input": "x.csv",
         "quarantine_file": "quarantine/2026-11-27/x-abc.csv",
         "snapshots": [asdict(a), asdict(b), asdict(gone)]},
        {"v": 1, "committed_at": "2026-11-28T06:10:00.000000Z", "input": "api",
         "quarantine_file": None, "snapshots": [asdict(c)]},
        {"v": 1, "committed_at": "2026-11-29T00:00:00.000000Z", "input": "retention",
         "replaced": [], "removed": [gone.snapshot_id], "removed_quarantine": []},
    ]  # fmt: skip
    (root / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return {m.snapshot_id: m for m in (a, b, c)}


def test_migrate_keeps_every_listed_snapshot_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "data"
    expected = old_store(root)
    with pytest.raises(StoreError, match="campaign-reports migrate"):
        Store(root).published()
    result = migrate(Config(data_dir=root), Console.silent())
    assert (result.complete, result.incomplete, result.quarantine) == (2, 1, 1)
    assert (
        len(result.unlisted) == 1
        and "campaign_id=9/snapshot_date=2026-11-28" in (result.unlisted[0])
    )
    store = Store(root)
    metas = store.published_ids()
    assert set(metas) == set(expected)
    c = next(m for m in metas.values() if not m.complete)
    assert c.path.startswith("snapshots_incomplete/campaign_id=7/")
    assert (root / c.path).exists()
    assert store.quarantine_files() == ["quarantine/2026-11-27/x-abc.csv"]
    # A plain Delta reader: the two complete snapshots, campaign ids as written, as strings.
    rows = pl.read_delta(str(root / "snapshots"))
    assert rows.schema["campaign_id"] == pl.String
    counts = dict(rows.group_by("campaign_id").len().iter_rows())
    assert counts == {"007": 3, "7": 2}
    assert not (root / "manifest.jsonl").exists() and (root / "manifest.jsonl.migrated").exists()
    again = migrate(Config(data_dir=root), Console.silent())
    assert again.status == "already"


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    old_store(root)
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    result = migrate(Config(data_dir=root), Console.silent(), dry_run=True)
    assert result.status == "dry-run" and result.complete == 2
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before


def test_a_migration_killed_after_its_commit_is_finished_by_the_next(tmp_path: Path) -> None:
    root = tmp_path / "data"
    expected = old_store(root)
    env = {**os.environ, "CAMPAIGN_REPORTS_CRASH_AT": "committed"}
    crashed = subprocess.run(
        [*CLI, "--data-dir", str(root), "migrate"], env=env, capture_output=True, text=True
    )
    assert crashed.returncode == -9
    assert (root / "manifest.jsonl").exists()
    done = subprocess.run(
        [*CLI, "--data-dir", str(root), "migrate"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "renamed" in done.stderr
    assert set(Store(root).published_ids()) == set(expected)


def test_a_listed_file_that_is_missing_stops_the_migration(tmp_path: Path) -> None:
    root = tmp_path / "data"
    expected = old_store(root)
    lost = next(iter(expected.values()))
    (root / lost.path).unlink()
    with pytest.raises(StoreError, match="missing"):
        migrate(Config(data_dir=root), Console.silent())
    assert (root / "manifest.jsonl").exists() and not (root / "snapshots/_delta_log").exists()
