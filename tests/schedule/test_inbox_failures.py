"""The inbox job as the scheduler runs it, with real files in the inbox: a file that fails is
named in the run's error and the good files after it are still ingested and logged; a failure
of the commit or a held lock is the run's error, naming the file and what it was doing."""

from __future__ import annotations

from pathlib import Path

import pytest
from schedule_helpers import FakeClock, config, job, scheduler, utc, write_export

import pipeline.core.faults as faults
from pipeline.core.durable import file_lock
from pipeline.store.loads import LoadLog
from pipeline.store.snapshots import Store


def inbox_run(data_dir: Path) -> tuple[object, FakeClock]:
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    return scheduler(config(data_dir, (job("ingest", "*/15 * * * *"),)), clock), clock


def good_broken_good(data_dir: Path) -> list[Path]:
    inbox = data_dir / "inbox"
    first = write_export(inbox, "1", "20261128T060000Z", n=10)
    broken = write_export(inbox, "2", "20261128T060000Z", n=10)
    broken.write_bytes(broken.read_bytes()[:-5])  # cut inside its last line: no line end
    third = write_export(inbox, "3", "20261128T060000Z", n=30)
    return [first, broken, third]


def logged(data_dir: Path) -> dict[str, str]:
    """File name -> status in the load log."""
    return {Path(r["file"]).name: r["status"] for r in LoadLog(data_dir).records()}


def test_a_broken_file_is_named_and_the_good_one_after_it_is_ingested(data_dir: Path) -> None:
    first, broken, third = good_broken_good(data_dir)
    s, _ = inbox_run(data_dir)
    (run,) = s.run_due()  # type: ignore[attr-defined]
    assert run.status == "failed"
    assert run.error.startswith("1 of 3 file(s) not ingested")
    assert f"the first: {broken.name}: " in run.error
    assert run.snapshots == 2 and run.rows == 40  # 10 + 30: the files around the broken one
    assert logged(data_dir) == {first.name: "ok", broken.name: "rejected", third.name: "ok"}
    assert sorted(m.campaign_id for m in Store(data_dir).published()) == ["1", "3"]


def test_a_failed_commit_names_the_file_and_the_next_file_goes_on(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = data_dir / "inbox"
    first = write_export(inbox, "1", "20261128T060000Z", n=10)
    second = write_export(inbox, "2", "20261128T060000Z", n=20)
    third = write_export(inbox, "3", "20261128T060000Z", n=30)
    # the second Delta commit of this process fails with an I/O error: the second file's
    monkeypatch.setattr(faults, "_seen", {})
    monkeypatch.setenv("CAMPAIGN_REPORTS_FAIL_AT", "delta-commit:2")
    s, clock = inbox_run(data_dir)
    (run,) = s.run_due()  # type: ignore[attr-defined]
    assert run.status == "failed"
    assert run.error.startswith(
        f"1 of 3 file(s) not ingested (each rejection is listed in logs/loads.jsonl); the "
        f"first: {second.name}: publishing it in the store failed (OSError: EIO: "
    )
    assert "injected fault at delta-commit" in run.error
    assert run.snapshots == 2 and run.rows == 40  # 10 + 30
    # not the file's fault: not logged as rejected, so the next run takes it
    assert logged(data_dir) == {first.name: "ok", third.name: "ok"}
    monkeypatch.delenv("CAMPAIGN_REPORTS_FAIL_AT")
    clock.advance(minutes=15)
    (again,) = s.run_due()  # type: ignore[attr-defined]
    assert again.status == "ok" and again.snapshots == 1 and again.rows == 20
    assert sorted(m.campaign_id for m in Store(data_dir).published()) == ["1", "2", "3"]


def test_a_held_lock_is_the_runs_error_and_the_files_wait(data_dir: Path) -> None:
    inbox = data_dir / "inbox"
    files = [write_export(inbox, str(i), "20261128T060000Z", n=5) for i in (1, 2)]
    s, clock = inbox_run(data_dir)
    with file_lock(data_dir / ".lock", "erase", busy=RuntimeError):
        (run,) = s.run_due()  # type: ignore[attr-defined]
    assert run.status == "failed"
    assert run.error.startswith(
        f"1 of 2 file(s) not ingested (each rejection is listed in logs/loads.jsonl); the "
        f"first: {files[0].name}: not ingested, nor the files after it: the data directory "
    )
    assert "is busy: another job holds its lock (erase, pid " in run.error
    assert logged(data_dir) == {} and run.snapshots == 0
    clock.advance(minutes=15)
    (again,) = s.run_due()  # type: ignore[attr-defined]
    assert again.status == "ok" and again.snapshots == 2
