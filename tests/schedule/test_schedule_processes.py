"""Real processes: one scheduler per data directory, and SIGTERM during a job.

Subprocesses of the real CLI. A job is held in the middle of its work with the fault point
``CAMPAIGN_REPORTS_PAUSE_AT=staged-written`` (a snapshot written aside, the store's lock held),
or by a slow fake job (``schedule_helpers.SLOW``); both stay there until the test lets them go.
Every step waits for the event it needs (a line on stderr, a file): never for a time.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import polars as pl
from conftest import store_listing
from schedule_helpers import (
    SLOW,
    SLOW_FINISHED,
    SLOW_RELEASE,
    SLOW_STARTED,
    Watched,
    lock_text,
    records,
    start,
    wait_for,
    write_config,
    write_export,
)
from wait_helpers import GUARD, Pause

from pipeline.store.snapshots import Store

#: Due once (its latest fire time is long past), then not again for a year: no test races a
#: new fire time.
ONCE_A_YEAR = "0 0 1 1 *"


def finish(proc: subprocess.Popen[str], timeout: float = GUARD) -> tuple[int, str, str]:
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
        wait_for(lambda: len(records(data)) == 1, what="the first scheduler's ingest", proc=first)
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
    pause = Pause("staged-written", tmp_path / "paused")  # held there until abandoned
    first = Watched(start(["run"], data, cfg, env=pause.env))
    try:
        pause.wait(first.proc)
        assert staged(data)
        assert "ingest" in lock_text(data, ".lock")  # the store's lock, held by the job

        for args in (["run"], ["schedule"]):
            code, _, err = finish(start(args, data, cfg))
            assert code == 1, err
            assert f"(run, pid {first.pid}" in err
        assert Store(data).published() == []
    finally:
        first.proc.send_signal(signal.SIGTERM)  # the first: finish the job, then stop
        first.wait_for_text("stopping once", what="the first signal's message")
        first.proc.send_signal(signal.SIGTERM)  # the second abandons the job (still paused)
        try:
            code, err = first.wait()
        finally:
            first.kill()
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
    proc = Watched(start(["schedule"], data, cfg, program=SLOW))
    try:
        wait_for(lambda: (data / SLOW_STARTED).exists(), what="the slow job", proc=proc.proc)
        proc.proc.send_signal(signal.SIGTERM)
        proc.wait_for_text("SIGTERM: stopping once build")  # the job still runs ...
        (data / SLOW_RELEASE).touch()  # ... until now
        code, err = proc.wait()
    finally:
        proc.kill()
    assert code == 0, err
    assert "SIGTERM: stopping once build" in err
    assert (data / SLOW_FINISHED).exists()  # the job ran to its end
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
    # The real CLI, but its scheduler naps up to an hour at a time instead of a minute: had the
    # signal not woken it, it would not exit before the guard below runs out.
    proc = Watched(
        start(["schedule"], data, cfg, env={"SCHEDULER_MAX_SLEEP": "3600"}, program=SLOW)
    )
    try:
        proc.wait_for_text("Next: ", what="the scheduler going to sleep")
        assert len(records(data)) == 1  # the retention run
        assert "schedule" in lock_text(data, ".scheduler.lock")
        proc.proc.send_signal(signal.SIGINT)
        code, err = proc.wait()
    finally:
        proc.kill()
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
