"""An ingest of many files is one publication: one Delta commit for all of them (cheap per file,
and all or nothing after a crash); a rejected file still loses nothing of the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
from conftest import ingest

from pipeline.core.errors import SnapshotConflict
from pipeline.store import table
from pipeline.store.snapshots import Store

CLI = [sys.executable, "-m", "pipeline"]


def csv(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body)
    return path


def files(tmp_path: Path) -> list[Path]:
    return [
        csv(
            tmp_path, "campaign-1_20261127T060000Z.csv", "contact_id,state\n1,WA_READ\n2,WA_SENT\n"
        ),
        csv(  # an exact repeat of a row: quarantined, the file loaded
            tmp_path,
            "campaign-2_20261127T060000Z.csv",
            "contact_id,state\n1,WA_READ\n1,WA_READ\n2,WA_SENT\n",
        ),
        csv(tmp_path, "broken_20261127T060000Z.csv", "nothing,useful\n1,2\n"),
        csv(tmp_path, "campaign-3_20261127T060000Z.csv", "contact_id,state\n7,Initial\n"),
    ]


def test_many_files_one_commit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    reports = ingest(data, *files(tmp_path))
    assert [r.ok for r in reports] == [True, True, False, True]
    assert [len(r.published) for r in reports] == [1, 1, 0, 1]
    assert reports[1].quarantine_file and reports[1].rows_quarantined == 1
    commits = Store(data).commits()
    assert len(commits) == 1 and len(commits[0]["snapshots"]) == 3
    assert table.open_table(data).version() == 1  # the table's creation, then one commit
    assert Store(data).quarantine_files() == [reports[1].quarantine_file]


def test_the_same_snapshot_twice_in_one_call_is_published_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    a = csv(tmp_path, "campaign-1_20261127T060000Z.csv", "contact_id,state\n1,WA_READ\n")
    b = tmp_path / "copy"
    b.mkdir()
    b = csv(b, a.name, a.read_text())
    first, second = ingest(data, a, b)
    assert len(first.published) == 1 and not second.published
    assert [m.snapshot_id for m in second.already_present] == [first.published[0].snapshot_id]
    assert len(Store(data).published()) == 1


def test_a_crash_at_the_commit_publishes_none_of_the_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    paths = [str(p) for p in files(tmp_path)]
    env = {**os.environ, "CAMPAIGN_REPORTS_CRASH_AT": "delta-commit"}
    crashed = subprocess.run([*CLI, "--data-dir", str(data), "ingest", *paths], env=env)
    assert crashed.returncode == -signal.SIGKILL
    assert Store(data).published() == [] and Store(data).quarantine_files() == []
    again = subprocess.run([*CLI, "--data-dir", str(data), "ingest", *paths])
    assert again.returncode == 1  # the broken file is rejected; the other three are published
    assert len(Store(data).published()) == 3


def test_files_read_ahead_in_parallel_are_judged_in_their_given_order(tmp_path: Path) -> None:
    # Files are read and checked a few at a time in worker threads, then staged in the order
    # given: of two files with one campaign and time, the first one given is published and the
    # later one refused, however far apart they are and whichever was read first.
    data = tmp_path / "data"
    names = [f"campaign-{i}_20261127T060000Z.csv" for i in range(1, 13)]
    paths = [csv(tmp_path, n, f"contact_id,state\n{i},WA_READ\n") for i, n in enumerate(names)]
    later = tmp_path / "later"
    later.mkdir()
    # campaign 2 again, with other content, after ten files; and a broken file in between
    paths.insert(10, csv(later, names[1], "contact_id,state\n5,WA_SENT\n"))
    paths.insert(5, csv(later, "broken_20261127T060000Z.csv", "nothing,useful\n1,2\n"))
    reports = ingest(data, *paths)
    assert [r.path for r in reports] == [str(p) for p in paths]
    assert [r.ok for r in reports] == [True] * 5 + [False] + [True] * 5 + [False] + [True] * 2
    assert isinstance(reports[11].error, SnapshotConflict)
    assert "campaign 2" in str(reports[11].error) and not reports[11].published
    published = {m.campaign_id: m for m in Store(data).published()}
    assert sorted(published, key=int) == [str(i) for i in range(1, 13)]
    assert published["2"].input == names[1] and published["2"].rows == 1
    two = Store(data).scan().filter(pl.col("campaign_id") == "2").collect()
    assert two["contact_id"].to_list() == ["1"]


def test_a_refused_file_leaves_nothing_staged(tmp_path: Path) -> None:
    # files are written aside as they are read; one refused (a conflict with an earlier file of
    # the same ingest) has its staged file removed, and only the first is published
    data = tmp_path / "data"
    a = csv(tmp_path, "campaign-1_20261127T060000Z.csv", "contact_id,state\n1,WA_READ\n")
    other = tmp_path / "other"
    other.mkdir()
    b = csv(other, a.name, "contact_id,state\n1,WA_SENT\n")
    first, second = ingest(data, a, b)
    assert first.ok and isinstance(second.error, SnapshotConflict)
    assert list((data / ".staging").glob("*.parquet")) == []
    assert [m.input for m in Store(data).published()] == [a.name]
