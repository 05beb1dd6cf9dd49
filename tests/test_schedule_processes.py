"""Real processes: one scheduler per data directory, and SIGTERM during a job.

Subprocesses of the real CLI. A job is held in the middle of its work with the fault point
``CAMPAIGN_REPORTS_PAUSE_AT=staged-written`` (a snapshot written aside, the store's lock held),
or by a slow fake job (``schedule_helpers.SLOW``).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import polars as pl
from conftest import store_listing
from schedule_helpers import (
    SLOW,
    Watched,
    lock_text,
    records,
    start,
    wait_for,
    write_config,
    write_export,
)

from pipeline.store.snapshots import Store

#: Due once (its latest fire time is long past), then not again for a year: no test races a
#: new fire time.
ONCE_A_YEAR = "0 0 1 1 *"


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def staged(data_dir: Path) -> bool:
    return any((data_dir / ".staging").glob("*.parquet"))


def test_a_second_scheduler_or_a_run_exits_with_a_message_and_writes_nothing(tmp_path):
    data = tmp_path / "data"
    write_export(data / "inbox", "5", "20261128T060000Z")
    cfg = write_config(tmp_path / "c.toml", f'[[jobs]]\nkind = "ingest"\ncron = "{ONCE_A_YEAR}"\n')
    first = start(["schedule"], data, cfg)
    try:
        wait_for(lambda: len(records(data)) == 1, what="the first scheduler's ingest")
        write_export(data / "inbox", "6", "20261128T060000Z")  # work a second one could do
        before = store_listing(data)

        code, _, err = finish(start(["schedule"], data, cfg))
        assert code == 1
        assert "Error: another scheduler is working on the data directory" in err
        assert f"schedule, pid {first.pid}" in err
        assert "Traceback" not in err

        code, _, err = finish(start(["run"], data, cfg))
        assert code == 1 and f"(schedule, pid {first.pid}" in err
        assert "Use --wait SECONDS to wait for it." in err

        code, _, err = finish(start(["run", "--wait", "0.5"], data, cfg))
        assert code == 1 and "Waiting up to 0.5 s for the scheduler" in err

        assert store_listing(data) == before  # nothing written twice, nothing at all
        code, out, _ = finish(start(["status"], data, cfg))
        assert code == 0 and f"Scheduler: running (schedule, pid {first.pid}, since" in out
        assert len(records(data)) == 1
        assert first.poll() is None  # the first one is still serving
    finally:
        first.send_signal(signal.SIGTERM)
        code, _, err = finish(first)
    assert code == 0, err
    assert "Stopped by SIGTERM" in err


def test_a_run_while_another_run_is_mid_job_exits_and_nothing_is_written_twice(tmp_path):
    data = tmp_path / "data"
    write_export(data / "inbox", "5", "20261128T060000Z", n=200)
    cfg = write_config(tmp_path / "c.toml", f'[[jobs]]\nkind = "ingest"\ncron = "{ONCE_A_YEAR}"\n')
    first = Watched(start(["run"], data, cfg, env={"CAMPAIGN_REPORTS_PAUSE_AT": "staged-written"}))
    try:
        wait_for(lambda: staged(data), what="the first run to hold a staged snapshot")
        assert "ingest" in lock_text(data, ".lock")  # the store's lock, held by the job

        for args in (["run"], ["schedule"]):
            code, _, err = finish(start(args, data, cfg))
            assert code == 1, err
            assert f"(run, pid {first.pid}" in err
        assert Store(data).published() == []
    finally:
        first.proc.send_signal(signal.SIGTERM)  # the first: finish the job, then stop
        wait_for(lambda: "stopping once" in first.stderr(), what="the first signal's message")
        first.proc.send_signal(signal.SIGTERM)  # the second abandons the job (paused a minute)
        code, err = first.wait()
    assert code == 0, err
    assert "SIGTERM: stopping once ingest" in err
    assert "ingest: abandoned" in err
    assert [r.status for r in records(data)] == ["abandoned"]
    assert Store(data).published() == []  # nothing half-written is visible

    code, _, err = finish(start(["run"], data, cfg))  # the next run finishes the work
    assert code == 0, err
    (snap,) = Store(data).published()
    assert snap.campaign_id == "5" and snap.rows == 200
    assert pl.read_parquet(data / snap.path).height == 200
    assert not staged(data)
    assert [r.status for r in records(data)] == ["abandoned", "ok"]
    assert records(data)[-1].snapshots == 1

    code, _, err = finish(start(["run"], data, cfg))
    assert code == 0 and "Nothing is due." in err
    assert len(Store(data).published()) == 1


def test_sigterm_during_a_job_lets_it_finish_then_the_scheduler_exits(tmp_path):
    data = tmp_path / "data"
    cfg = write_config(
        tmp_path / "c.toml",
        f'[[jobs]]\nkind = "build"\ncron = "{ONCE_A_YEAR}"\n'
        f'[[jobs]]\nkind = "retention"\ncron = "{ONCE_A_YEAR}"\n',
    )
    proc = start(["schedule"], data, cfg, env={"SLOW_SECONDS": "2"}, program=SLOW)
    wait_for(lambda: (data / "slow-started").exists(), what="the slow job")
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 0, err
    assert "SIGTERM: stopping once build" in err
    assert (data / "slow-finished").exists()  # the job ran to its end
    assert [(r.job, r.status) for r in records(data)] == [("build", "ok")]  # retention: not begun
    assert "Stopped by SIGTERM" in err

    code, _, err = finish(start(["run"], data, cfg))  # the next run does what is left
    assert code == 0, err
    assert [(r.job, r.status) for r in records(data)] == [("build", "ok"), ("retention", "ok")]


def test_sigterm_while_the_scheduler_sleeps_exits_at_once(tmp_path):
    data = tmp_path / "data"
    cfg = write_config(
        tmp_path / "c.toml", f'[[jobs]]\nkind = "retention"\ncron = "{ONCE_A_YEAR}"\n'
    )
    proc = start(["schedule"], data, cfg)
    wait_for(lambda: len(records(data)) == 1, what="the retention run")
    wait_for(lambda: "schedule" in lock_text(data, ".scheduler.lock"), what="the lock")
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc, timeout=10)
    assert code == 0, err
    assert "Next: " in err and "Stopped by SIGINT" in err
    assert lock_text(data, ".scheduler.lock") == ""


def test_a_job_killed_outright_leaves_no_run_line_and_the_next_run_does_it(tmp_path):
    data = tmp_path / "data"
    write_export(data / "inbox", "5", "20261128T060000Z", n=100)
    cfg = write_config(tmp_path / "c.toml", f'[[jobs]]\nkind = "ingest"\ncron = "{ONCE_A_YEAR}"\n')
    env = {"CAMPAIGN_REPORTS_CRASH_AT": "renamed"}  # SIGKILL after a file was renamed in
    code, _, _ = finish(start(["run"], data, cfg, env=env))
    assert code == -signal.SIGKILL
    assert records(data) == [] and Store(data).published() == []

    code, _, err = finish(start(["run"], data, cfg))
    assert code == 0, err
    (snap,) = Store(data).published()
    assert snap.rows == 100 and pl.read_parquet(data / snap.path).height == 100
    assert [r.status for r in records(data)] == ["ok"]
