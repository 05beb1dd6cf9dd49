"""`build` holds the store's readers' lock (shared): retention and erasure cannot remove the
snapshot files a build is reading; ingest, which only adds files, goes on beside it. Real
processes, held at a fault point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ingest
from wait_helpers import GUARD, Pause

from pipeline.store.snapshots import Store

CLI = [sys.executable, "-m", "pipeline"]


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def csv(path: Path, rows: int) -> Path:
    path.write_text(
        "contact_id,state\n" + "".join(f"{i},WA_READ\n" for i in range(1, rows + 1)),
        encoding="utf-8",
    )
    return path


def test_retention_refuses_while_a_build_reads_and_the_build_succeeds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # two snapshots of campaign 1: 2025-01-01 (old) and 2026-11-27 (recent)
    ingest(data, csv(tmp_path / "campaign-1_20250101T060000Z.csv", 5))
    ingest(data, csv(tmp_path / "campaign-1_20261127T060000Z.csv", 3))
    before = {m.snapshot_id for m in Store(data).published()}
    pause = Pause("build-reading", tmp_path / "paused")
    build = cli(data, "build", "--full", env=pause.env)
    try:
        pause.wait(build)
        # as of 2026-11-28 with 400 days kept, the 2025-01-01 snapshot is due for removal
        retention = subprocess.run(
            [*CLI, "--data-dir", str(data), "retention", "--as-of", "2026-11-28T00:00:00Z"],
            capture_output=True,
            text=True,
            timeout=GUARD,
        )
        assert retention.returncode == 1, retention.stderr
        assert "a build is reading the snapshot files" in retention.stderr
        assert "Nothing was changed" in retention.stderr
        assert "Traceback" not in retention.stderr
        assert {m.snapshot_id for m in Store(data).published()} == before
        # an ingest only adds files: it goes on beside the build
        added = subprocess.run(
            [
                *CLI,
                "--data-dir",
                str(data),
                "ingest",
                str(csv(tmp_path / "campaign-2_20261127T060000Z.csv", 2)),
            ],
            capture_output=True,
            text=True,
            timeout=GUARD,
        )
        assert added.returncode == 0, added.stderr
    finally:
        pause.release()
    _, err = build.communicate(timeout=GUARD)
    assert build.returncode == 0, err
    # once the build is done, retention removes the old snapshot
    retention = subprocess.run(
        [*CLI, "--data-dir", str(data), "retention", "--as-of", "2026-11-28T00:00:00Z"],
        capture_output=True,
        text=True,
        timeout=GUARD,
    )
    assert retention.returncode == 0, retention.stderr
    left = sorted((m.campaign_id, m.rows) for m in Store(data).published())
    assert left == [("1", 3), ("2", 2)]
