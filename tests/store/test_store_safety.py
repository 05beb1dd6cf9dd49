"""Crash safety and the single-writer lock, with real processes and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import ingest, store_listing
from wait_helpers import GUARD, Pause

from pipeline.store.snapshots import Store

CLI = [sys.executable, "-m", "pipeline"]
OLD = "campaign-1_20261127T060000Z.csv"


def big_csv(path: Path, n: int) -> Path:
    """Two campaigns (two snapshots) of n rows each, plus 3 rows for quarantine."""
    ids = pl.int_range(1, n + 1, eager=True).cast(pl.String)
    states = pl.Series(["WA_READ", "WA_DELIVERED", "WA_SENT", "Initial"] * (n // 4 + 1))[:n]
    frame = pl.concat(
        [
            pl.DataFrame(
                {
                    "campaign_id": "A",
                    "snapshot_time": "2026-11-28T06:00:00Z",
                    "contact_id": ids,
                    "state": states,
                }
            ),
            pl.DataFrame(
                {
                    "campaign_id": "B",
                    "snapshot_time": "2026-11-28T06:00:00Z",
                    "contact_id": ids,
                    "state": states,
                }
            ),
            pl.DataFrame(
                {
                    "campaign_id": ["A"] * 3,
                    "snapshot_time": ["2026-11-28T06:00:00Z"] * 3,
                    "contact_id": [None, None, None],
                    "state": ["WA_READ"] * 3,
                }
            ),
        ]
    )
    frame.write_csv(path)
    return path


def run_cli(
    args: list[str], data_dir: Path, env: dict[str, str] | None = None, **kw
) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def check_old_or_new(data_dir: Path, old_ids: set[str], new_ids: set[str]) -> str:
    """The store opens and shows exactly the old snapshots or the old and the new ones."""
    store = Store(data_dir)
    ids = {m.snapshot_id for m in store.published()}
    assert ids in (old_ids, old_ids | new_ids), ids
    # every listed snapshot is complete and readable
    for m in store.published():
        assert pl.read_parquet(data_dir / m.path).height == m.rows
    # a plain Delta reader sees the same snapshots, whole, and nothing half-written
    rows = pl.read_delta(str(data_dir / "snapshots")).group_by("snapshot_id").len()
    assert dict(rows.iter_rows()) == {m.snapshot_id: m.rows for m in store.published()}
    return "new" if ids == old_ids | new_ids else "old"


@pytest.fixture
def prepared(tmp_path: Path):
    data_dir = tmp_path / "data"
    old = tmp_path / OLD
    old.write_text("contact_id,state\n1,WA_READ\n2,WA_SENT\n")
    ingest(data_dir, old)
    old_ids = {m.snapshot_id for m in Store(data_dir).published()}
    src = big_csv(tmp_path / "export.csv", 40_000)
    # what the new snapshots are: ingest into a scratch store
    scratch = tmp_path / "scratch"
    ingest(scratch, src)
    new_ids = {m.snapshot_id for m in Store(scratch).published()}
    assert len(new_ids) == 2
    return data_dir, src, old_ids, new_ids


def finish_and_check(data_dir: Path, src: Path, old_ids: set[str], new_ids: set[str]) -> None:
    """A re-run completes the ingest; nothing is left over from the crash."""
    [r] = ingest(data_dir, src)
    assert r.ok, r.error
    store = Store(data_dir)
    assert {m.snapshot_id for m in store.published()} == old_ids | new_ids
    listed = {m.path for m in store.published()}
    on_disk = {
        p.relative_to(data_dir).as_posix()
        for p in (data_dir / "snapshots").rglob("*.parquet")
        if "_delta_log" not in p.parts
    }
    assert on_disk == listed, "orphan files left from the crash"
    assert list((data_dir / ".staging").iterdir()) == []
    quarantine = list((data_dir / "quarantine").rglob("*.csv"))
    assert len(quarantine) == 1
    assert len(pl.read_csv(quarantine[0])) == 3


CRASH_POINTS = [
    "staged-written:1",
    "staged-written:2",
    "pending-written",
    "renamed:1",
    "renamed:2",
    "renamed:3",
    "delta-commit",
    "committed",
]


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_sigkill_at_each_step_of_publication(prepared, crash_at):
    data_dir, src, old_ids, new_ids = prepared
    proc = run_cli(["ingest", str(src)], data_dir, env={"CAMPAIGN_REPORTS_CRASH_AT": crash_at})
    proc.communicate(timeout=GUARD)
    assert proc.returncode == -signal.SIGKILL
    seen = check_old_or_new(data_dir, old_ids, new_ids)
    assert seen == ("new" if crash_at == "committed" else "old")
    finish_and_check(data_dir, src, old_ids, new_ids)


def test_sigkill_at_twenty_moments_in_time(prepared, tmp_path):
    data_dir, src, old_ids, new_ids = prepared
    # How long does a whole ingest take here (a fresh store of the same shape)?
    probe = tmp_path / "probe"
    start = time.perf_counter()
    p = run_cli(["ingest", str(src)], probe)
    p.communicate(timeout=GUARD)
    full = time.perf_counter() - start
    assert p.returncode == 0
    outcomes = []
    base = tmp_path / "base"
    os.rename(data_dir, base)
    for k in range(20):
        work = tmp_path / f"run{k}"
        subprocess.run(["cp", "-a", str(base), str(work)], check=True)
        proc = run_cli(["ingest", str(src)], work)
        time.sleep(full * (0.25 + 0.85 * k / 19))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=GUARD)
        outcomes.append(check_old_or_new(work, old_ids, new_ids))
        finish_and_check(work, src, old_ids, new_ids)
    # Not a timing assertion: the kills happened; report what they caught.
    print("outcomes:", outcomes)


def test_second_ingest_exits_at_once_while_one_runs(prepared, tmp_path):
    data_dir, src, old_ids, _ = prepared
    pause = Pause("staged-written", tmp_path / "paused")  # the first one stays there
    first = run_cli(["ingest", str(src)], data_dir, env=pause.env)
    try:
        pause.wait(first)
        assert list((data_dir / ".staging").glob("*.parquet")), "first ingest did not start"
        before = store_listing(data_dir)
        other = tmp_path / "campaign-9_20261128T060000Z.csv"
        other.write_text("contact_id,state\n1,WA_READ\n")
        second = run_cli(["ingest", str(other)], data_dir)
        # it does not wait for the first one (which never finishes: it is paused until killed)
        _out, err = second.communicate(timeout=GUARD)
        assert second.returncode == 1
        assert (
            "busy" in err and "another job holds its lock" in err and "Nothing was written" in err
        )
        assert f"pid {first.pid}" in err
        assert "Traceback" not in err
        assert store_listing(data_dir) == before
        assert {m.snapshot_id for m in Store(data_dir).published()} == old_ids
        # the refused writer left the holder's note alone (a third one is told who holds it)
        assert f"ingest, pid {first.pid}" in (data_dir / ".lock").read_text()
    finally:
        first.kill()
        first.communicate()
