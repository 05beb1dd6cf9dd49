"""A day without any data is said so, on the console and in the exit code, never rendered as a
page of zeros; a range renders its days with data and names the others."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from report_helpers import build_tenant

ROOT = Path(__file__).resolve().parents[2]


def report(data_dir: Path, *args: str) -> tuple[int, str]:
    """The real command in a subprocess: its exit code and what it printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_a_day_without_snapshots_is_an_error_not_a_page_of_zeros(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    build_tenant(data_dir)  # its snapshots are from 2026-11-26 and 2026-11-27 (Prague)
    code, out = report(data_dir, "--date", "2026-10-01")  # weeks before the first snapshot
    assert code == 1, out
    assert "no snapshot of any campaign on 2026-10-01" in out
    assert "2026-11-27" in out  # it says which days have data
    assert not (data_dir / "reports" / "2026-10-01").exists()
    # a range: the days with data are rendered, the empty ones named; exit 0
    code, out = report(data_dir, "--from", "2026-10-01", "--to", "2026-11-27")
    assert code == 0, out
    assert "not rendered: 2026-10-01" in out
    rendered = sorted(p.name for p in (data_dir / "reports").iterdir() if p.is_dir())
    assert "2026-10-01" not in rendered and "2026-11-27" in rendered
