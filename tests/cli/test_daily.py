"""``campaign-reports daily``: ingest, build and report in one process, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wait_helpers import GUARD

CLI = [sys.executable, "-m", "pipeline"]


def run(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "--data-dir", str(data), *args], capture_output=True, text=True, timeout=GUARD
    )


def write(folder: Path, name: str, rows: list[tuple[str, str]]) -> Path:
    path = folder / name
    path.write_text("contact_id,state\n" + "".join(f"{c},{s}\n" for c, s in rows))
    return path


def funnel(data: Path) -> str:
    sql = "SELECT contacts, reached_sent, reached_delivered, reached_read FROM funnel"
    result = run(data, "sql", "--format", "csv", sql)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[1]


def test_daily_ingests_builds_and_reports_the_day(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    morning = write(
        inbox,
        "campaign-7_20261127T060000Z.csv",
        [("a1", "WA_SENT"), ("a2", "WA_DELIVERED"), ("a3", "INITIAL"), ("a4", "WA_READ")],
    )
    evening = write(
        inbox,
        "campaign-7_20261127T150000Z.csv",
        [("a1", "WA_DELIVERED"), ("a2", "WA_READ"), ("a3", "WA_SEND_FAILED"), ("a4", "Removed")],
    )
    data = tmp_path / "data"
    result = run(data, "daily", str(morning), str(evening))
    assert result.returncode == 0, result.stderr
    overview = data / "reports" / "2026-11-27" / "index.html"  # 15:00 UTC is the 27th in Prague
    assert result.stdout.strip().splitlines()[-1] == str(overview)
    assert overview.is_file() and (overview.parent / "campaign-7.html").is_file()
    # Latest snapshot (15:00): 4 contacts. Furthest stage: a1 delivered, a2 read, a3 none
    # (Initial, then Sending failed), a4 read (then Removed). Sent: a1 a2 a4 = 3; Delivered:
    # a1 a2 a4 = 3; Read: a2 a4 = 2.
    assert funnel(data) == "4,3,3,2"


def test_a_rejected_file_does_not_stop_the_build_and_report(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = write(inbox, "campaign-8_20261128T090000Z.csv", [("b1", "WA_READ"), ("b2", "WA_SENT")])
    bad = inbox / "campaign-8_20261128T100000Z.csv"
    bad.write_text("contact_id,colour\nb1,blue\n")  # no state column: rejected whole
    data = tmp_path / "data"
    result = run(data, "daily", str(good), str(bad))
    assert result.returncode == 1
    assert "1 of 2 file(s) rejected" in result.stderr
    assert (data / "reports" / "2026-11-28" / "campaign-8.html").is_file()
    # Only the good file counts: b1 read (sent, delivered, read), b2 sent: 2, 2, 1, 1.
    assert funnel(data) == "2,2,1,1"
