"""A full disk, for real: a small tmpfs holds the data directory, a file fills it up, and each
command that writes (ingest, build, report) ends in one line naming the path it could not write,
exit 1, nothing half-written kept, and the same command works once space is freed.

Mounting needs root (or CAP_SYS_ADMIN): without it these tests are skipped with that reason.
"""

from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import store_listing

from pipeline.core.durable import JsonlLog
from pipeline.core.errors import DiskFull

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"Error: the disk is full: could not write (?P<path>/\S+) \((?P<free>[\d.]+ (bytes|KB|MB)) "
    r"free on that filesystem(, about (?P<needed>[\d.]+ (bytes|KB|MB)) needed)?\)\. Nothing was "
    r"half-written: free some space and run the command again\."
)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs mounted for the test (unmounted after)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def export_file(folder: Path, campaign: int, rows: int, seed: int = 1) -> Path:
    """An export with random 11-digit contact ids (they do not compress: ~5 bytes a row)."""
    rng = random.Random(seed)
    path = folder / f"campaign-{campaign}_20261127T070000Z.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "state"])
        w.writerows((str(rng.randrange(10**10, 10**11)), "WA_READ") for _ in range(rows))
    return path


def fill(mnt: Path, leave: int) -> Path:
    """Fill the file system up to ``leave`` bytes free."""
    filler = mnt / "filler"
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def full_line(done: subprocess.CompletedProcess[str]) -> re.Match[str]:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line: no traceback
    match = LINE.fullmatch(lines[0])
    assert match, lines[0]
    return match


def temps(data_dir: Path) -> list[str]:
    """Files a writer left aside: temporaries, staged files, a full rebuild's new file."""
    return sorted(
        p.relative_to(data_dir).as_posix()
        for p in data_dir.rglob("*")
        if p.is_file()
        and (p.name.endswith((".tmp", ".full-tmp", ".full-tmp.wal")) or ".staging" in p.parts)
    )


def test_ingest_on_a_full_disk_says_so_and_keeps_the_store(small_fs: Path, tmp_path: Path) -> None:
    data = small_fs / "data"
    small = export_file(tmp_path, 5, 200)
    assert cli(data, "ingest", str(small)).returncode == 0
    before = store_listing(data)
    log_before = (data / "logs" / "loads.jsonl").read_bytes()
    # 40,000 random ids are ~200 KB of Parquet: they do not fit in 64 KB
    big = export_file(tmp_path, 6, 40_000, seed=2)
    filler = fill(small_fs, 64 * 1024)
    match = full_line(cli(data, "ingest", str(big)))
    assert match["path"].startswith(f"{data}/")
    assert store_listing(data) == before  # no snapshot, no manifest change
    assert (data / "logs" / "loads.jsonl").read_bytes() == log_before
    assert temps(data) == []
    # space freed, the same command loads it: nothing was recorded as done
    filler.unlink()
    done = cli(data, "ingest", str(big))
    assert done.returncode == 0, done.stderr
    assert len(store_listing(data)) == len(before) + 2  # its Parquet file and a Delta commit


def test_build_on_a_full_disk_names_the_warehouse(small_fs: Path, tmp_path: Path) -> None:
    data = small_fs / "data"
    assert cli(data, "ingest", str(export_file(tmp_path, 5, 200))).returncode == 0
    filler = fill(small_fs, 8 * 1024)
    match = full_line(cli(data, "build"))
    assert match["path"] == str(data / "warehouse" / "warehouse.duckdb")
    assert temps(data) == []
    assert sorted(p.name for p in (data / "warehouse").iterdir()) == [".lock"]
    filler.unlink()
    done = cli(data, "build")
    assert done.returncode == 0, done.stderr


def test_report_on_a_full_disk_keeps_no_part(small_fs: Path, tmp_path: Path) -> None:
    data = small_fs / "data"
    assert cli(data, "ingest", str(export_file(tmp_path, 5, 200))).returncode == 0
    assert cli(data, "build").returncode == 0
    filler = fill(small_fs, 8 * 1024)
    match = full_line(cli(data, "report"))
    assert match["path"].startswith(f"{data}/reports/")
    assert match["needed"]  # the report's files are in memory: their size is known
    assert [p for p in (data / "reports").rglob("*") if p.is_file()] == []
    assert temps(data) == []
    filler.unlink()
    done = cli(data, "report")
    assert done.returncode == 0, done.stderr
    assert list((data / "reports").rglob("*.html"))


def test_a_log_line_that_does_not_fit_is_not_kept(small_fs: Path) -> None:
    log = JsonlLog(small_fs / "log.jsonl")
    log.append({"n": 1})
    before = log.path.read_bytes()
    fill(small_fs, 0)
    # 20,000 characters do not fit in what is left (less than a 4 KB page)
    with pytest.raises(DiskFull) as caught:
        log.append({"n": 2, "text": "x" * 20_000})
    assert str(caught.value).startswith(f"the disk is full: could not write {log.path} (")
    assert "about 19.5 KB needed" in str(caught.value)  # 20,000 + '{"n":2,"text":""}\n' = 20,018
    assert log.path.read_bytes() == before
