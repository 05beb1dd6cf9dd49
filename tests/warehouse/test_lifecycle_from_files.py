"""A file-fed campaign's lifecycle, through the CLI as a user runs it: files say nothing of a
campaign's end, so it is unknown (never a guessed stale) until a _final file or
``ingest --finished`` says it ended; then it is finished, with that reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def cli(data: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_final_file_finishes_a_campaign_and_a_plain_one_stays_unknown(tmp_path: Path) -> None:
    files, data = tmp_path / "in", tmp_path / "data"
    files.mkdir()
    (files / "campaign-77_20261125T060000Z.csv").write_text("contact_id,state\n1,Read\n2,Sent\n")
    (files / "campaign-77_20261126T060000Z_final.csv").write_text(
        "contact_id,state\n1,Read\n2,Read\n"
    )
    (files / "campaign-78_20261126T060000Z.csv").write_text("contact_id,state\n1,Read\n")
    cli(data, "ingest", *sorted(str(p) for p in files.iterdir()))
    cli(data, "build")
    out = cli(
        data,
        "sql",
        "--format",
        "json",
        "SELECT campaign_id, lifecycle, final, reason "
        "FROM campaign_lifecycle(day := DATE '2026-11-28') ORDER BY campaign_id",
    )
    rows = {r["campaign_id"]: r for r in json.loads(out)}
    assert (rows["77"]["lifecycle"], rows["77"]["final"]) == ("finished", True)
    assert "ingest --finished or a _final file" in rows["77"]["reason"]
    # 78: last snapshot 2026-11-26 06:00Z; the end of 2026-11-28 in Prague is 23:00Z:
    # 24 + 24 + 17 = 65 h without a snapshot, more than the 26 h gap, yet files only: unknown
    assert (rows["78"]["lifecycle"], rows["78"]["final"]) == ("unknown", False)
    assert rows["78"]["reason"].endswith("; no snapshot for 65.0 h")
