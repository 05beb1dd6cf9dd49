"""Compaction by the retention job: the files of a campaign's closed day become one, the same
rows for every reader, no warehouse rebuild; erasure and retention still work on merged files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from conftest import ingest

from pipeline.core.config import Config, RetentionConfig
from pipeline.core.console import Console
from pipeline.store.erase import erase_contact
from pipeline.store.retention import apply_retention
from pipeline.store.snapshots import Store
from pipeline.warehouse.build import build

AS_OF = datetime(2026, 11, 30, 12, tzinfo=UTC)  # closed days: up to 2026-11-28


def hourly(tmp_path: Path, data: Path, campaign: str, day: str, hours: list[int]) -> None:
    """Snapshots of one campaign at the given hours of a day, a contact moving on each hour."""
    for h in hours:
        f = tmp_path / f"campaign-{campaign}_{day.replace('-', '')}T{h:02d}0000Z.csv"
        state = ["WA_SENT", "WA_DELIVERED", "WA_READ"][h % 3]
        f.write_text(f"contact_id,state\n1,{state}\n2,WA_SENT\n3,Initial\n")
        [r] = ingest(data, f)
        assert r.ok, r.error


def table_files(data: Path) -> list[str]:
    return sorted(
        p.relative_to(data).as_posix()
        for p in (data / "snapshots").rglob("*.parquet")
        if "_delta_log" not in p.parts
    )


def delta_rows(data: Path) -> pl.DataFrame:
    cols = ["campaign_id", "snapshot_id", "contact_id", "state"]
    return pl.read_delta(str(data / "snapshots")).select(cols).sort(cols)


def store(tmp_path: Path) -> tuple[Path, Config]:
    data = tmp_path / "data"
    hourly(tmp_path, data, "1", "2026-11-27", [6, 7, 8])
    hourly(tmp_path, data, "1", "2026-11-29", [6, 7])  # not closed yet on AS_OF
    hourly(tmp_path, data, "2", "2026-11-28", [6])  # one file: nothing to merge
    return data, Config(data_dir=data, retention=RetentionConfig(snapshots_days=0))


def test_a_closed_day_becomes_one_file_with_the_same_rows(tmp_path: Path) -> None:
    data, config = store(tmp_path)
    before_rows, before_index = delta_rows(data), Store(data).published_ids()
    assert len(table_files(data)) == 6
    result = apply_retention(config, Console.silent(), AS_OF)
    assert (result.days_compacted, result.files_compacted) == (1, 3)
    files = table_files(data)
    assert len(files) == 4  # 3 files of campaign 1's 2026-11-27 became 1
    assert sum("campaign_id=1/snapshot_date=2026-11-27" in f for f in files) == 1
    assert delta_rows(data).equals(before_rows)
    after = Store(data).published_ids()
    assert set(after) == set(before_index)
    assert {a.rows for a in after.values()} == {b.rows for b in before_index.values()}
    again = apply_retention(config, Console.silent(), AS_OF)  # nothing left to merge
    assert again.days_compacted == 0 and table_files(data) == files


def test_the_warehouse_sees_a_compaction_as_no_change(tmp_path: Path) -> None:
    _, config = store(tmp_path)
    build(config, Console.silent())
    apply_retention(config, Console.silent(), AS_OF)
    result = build(config, Console.silent())
    assert result.campaigns_rebuilt == [] and result.snapshots_new == 0 and not result.full


def test_erase_on_a_merged_file_keeps_the_other_snapshots(tmp_path: Path) -> None:
    data, config = store(tmp_path)
    apply_retention(config, Console.silent(), AS_OF)
    erase_contact(config, Console.silent(), "3")
    rows = delta_rows(data)
    assert "3" not in rows["contact_id"].to_list()
    assert rows.height == 6 * 2  # every snapshot kept its two other contacts
    assert Store(data).published_ids().keys() == set(rows["snapshot_id"].to_list())


def test_retention_inside_a_merged_day_keeps_its_later_snapshots(tmp_path: Path) -> None:
    data, config = store(tmp_path)
    apply_retention(config, Console.silent(), AS_OF)
    assert sum("snapshot_date=2026-11-27" in f for f in table_files(data)) == 1
    # a cutoff at 2026-11-27 06:30: of the merged day, 06:00 goes, 07:00 and 08:00 stay
    cut = Config(data_dir=data, retention=RetentionConfig(snapshots_days=3, compact=False))
    apply_retention(cut, Console.silent(), datetime(2026, 11, 30, 6, 30, tzinfo=UTC))
    times = pl.read_delta(str(data / "snapshots"))["snapshot_time"].unique().sort().to_list()
    assert [t.strftime("%d %H") for t in times] == ["27 07", "27 08", "28 06", "29 06", "29 07"]


def test_a_compaction_killed_at_its_commit_leaves_the_old_files_or_the_new(
    tmp_path: Path,
) -> None:
    for point in ("delta-commit", "changes-committed"):
        (tmp_path / point).mkdir()
        data, _ = store(tmp_path / point)
        before = delta_rows(data)
        env = {**os.environ, "CAMPAIGN_REPORTS_CRASH_AT": point}
        cmd = [sys.executable, "-m", "pipeline", "--data-dir", str(data), "retention"]
        crashed = subprocess.run(
            [*cmd, "--as-of", "2026-11-30T12:00:00Z"], env=env, capture_output=True
        )
        assert crashed.returncode == -signal.SIGKILL
        assert delta_rows(data).equals(before)  # old or new files: the same rows either way
        assert len(table_files(data)) in (6, 7)  # the merged file is there, or not yet
        done = subprocess.run([*cmd, "--as-of", "2026-11-30T12:00:00Z"], capture_output=True)
        assert done.returncode == 0
        assert delta_rows(data).equals(before) and len(table_files(data)) == 4
