"""Every temporary file of a run killed with SIGKILL (at a fault point, CAMPAIGN_REPORTS_CRASH_AT)
is removed by the next run of a writer: the analyst copy's ``.analyst.duckdb.<pid>.*.tmp``, a
full rebuild's ``warehouse.duckdb.full-tmp`` and its WAL, the report's staged ``.tmp`` files and
the store's staging folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ingest
from wait_helpers import GUARD

from pipeline.core.durable import remove_stale_temps

CLI = [sys.executable, "-m", "pipeline"]


def run(data: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"CAMPAIGN_REPORTS_CRASH_AT": crash} if crash else {})}
    return subprocess.run(
        [*CLI, "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=GUARD,
        env=env,
    )


def leftovers(data: Path) -> list[str]:
    return sorted(
        p.relative_to(data).as_posix()
        for p in data.rglob("*")
        if p.is_file()
        and (p.name.endswith((".tmp", ".full-tmp", ".full-tmp.wal")) or ".staging" in p.parts)
    )


def csv(path: Path, rows: int) -> Path:
    path.write_text(
        "contact_id,state\n" + "".join(f"{i},WA_READ\n" for i in range(1, rows + 1)),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("crash-temps")
    data = base / "data"
    data.mkdir()
    ingest(data, csv(base / "campaign-1_20261127T060000Z.csv", 3))
    assert run(data, "build").returncode == 0
    assert run(data, "report").returncode == 0
    return data


@pytest.mark.parametrize(
    ("command", "point", "left", "next_writer"),
    [
        # killed while the analyst copy is copied aside (the warehouse itself is renamed)
        (["build"], "temp-written", ".analyst.duckdb.", ["build"]),
        # killed after a full rebuild's new file is checkpointed, before its rename
        (["build", "--full"], "build-checkpointed", "warehouse.duckdb.full-tmp", ["build"]),
        # killed with the report's files staged beside their targets
        (["report"], "temp-written", "reports/", ["report"]),
        # killed with a snapshot staged
        (["ingest", "NEW"], "staged-written", ".staging/", ["ingest", "NEW2"]),
    ],
)
def test_the_next_writer_removes_what_a_killed_run_left(
    built: Path, tmp_path: Path, command: list[str], point: str, left: str, next_writer: list[str]
) -> None:
    data = built
    files = {
        "NEW": str(csv(tmp_path / "campaign-2_20261127T060000Z.csv", 2)),
        "NEW2": str(csv(tmp_path / "campaign-3_20261127T060000Z.csv", 2)),
    }
    killed = run(data, *[files.get(a, a) for a in command], crash=point)
    assert killed.returncode == -9, killed.stderr
    assert any(left in f for f in leftovers(data)), leftovers(data)
    done = run(data, *[files.get(a, a) for a in next_writer])
    assert done.returncode == 0, done.stderr
    assert leftovers(data) == []


def test_a_live_runs_temp_file_is_kept(tmp_path: Path) -> None:
    """Only a dead owner's temp files go: one named with a live pid (this test's) stays."""
    live = tmp_path / f".x.json.{os.getpid()}.abc.tmp"
    live.write_text("{}", encoding="utf-8")
    dead = tmp_path / ".x.json.999999999.abc.tmp"  # no process has this pid (above pid_max)
    dead.write_text("{}", encoding="utf-8")
    assert remove_stale_temps(tmp_path) == 1
    assert live.exists() and not dead.exists()
