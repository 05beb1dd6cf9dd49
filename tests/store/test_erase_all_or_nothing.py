"""Erase is all or nothing from the user's view, with real processes held or killed at fault
points: during a build it refuses before changing anything; killed halfway, the next command
that writes finishes it, and no trace of the contact is left anywhere."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from report_helpers import build_tenant
from test_erase_everywhere import TENANT, VICTIM, decoded_cells, raw_hits
from wait_helpers import GUARD, Pause

from pipeline.core.console import Console
from pipeline.report import render_reports

CLI = [sys.executable, "-m", "pipeline"]
LOCKS = {".lock", ".readers.lock"}


def cli(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "--data-dir", str(data), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=GUARD)
    return proc.returncode, err


def listing(data: Path) -> dict[str, str]:
    """Every file under the data directory (store, suppression list, logs, both DuckDB files,
    reports) with its content hash; lock files aside."""
    return {
        p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file() and p.name not in LOCKS
    }


def tenant(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    cfg = build_tenant(data, TENANT)
    render_reports(cfg, Console.silent(), start=date(2026, 11, 26), end=date(2026, 11, 27))
    assert any(h.startswith("reports/") for h in raw_hits(data))
    return data


def test_erase_during_a_build_refuses_with_nothing_changed(tmp_path: Path) -> None:
    data = tenant(tmp_path)
    before = listing(data)
    pause = Pause("build-reading", tmp_path / "paused")
    build = cli(data, "build", env=pause.env)
    try:
        pause.wait(build)
        code, err = finish(cli(data, "erase", "--contact", VICTIM, "--yes"))
        assert code == 1, err
        assert "busy" in err and "Nothing was changed" in err and "Traceback" not in err
        assert listing(data) == before  # snapshots, suppression list, warehouse, reports
        assert not (data / "suppressed.jsonl").exists()
    finally:
        pause.release()
    assert finish(build)[0] == 0  # and then erase goes through (test_erase_everywhere)


def test_an_erase_killed_halfway_is_finished_by_the_next_writer(tmp_path: Path) -> None:
    data = tenant(tmp_path)
    # killed once the store is clean, before the warehouse and reports are rebuilt
    crash = {"CAMPAIGN_REPORTS_CRASH_AT": "erase-store-done"}
    killed = cli(data, "erase", "--contact", VICTIM, "--yes", env=crash)
    assert finish(killed)[0] == -9
    assert (data / ".erase-pending").exists()
    # the store is clean (its commit came first); the warehouse and reports still hold it
    assert raw_hits(data)
    code, err = finish(cli(data, "build"))
    assert code == 0, err
    assert "Finishing 1 erasure(s) that did not complete" in err
    assert not (data / ".erase-pending").exists()
    assert VICTIM not in decoded_cells(data)
    assert raw_hits(data) == []  # scan files, logs, both DuckDB files, report CSVs, temp files
