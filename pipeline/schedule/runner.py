"""Running scheduled jobs: the scheduler lock, signals, and the loop. What each job kind does
is in ``pipeline.schedule.jobs``.

Locking. ``campaign-reports schedule`` holds ``<data_dir>/.scheduler.lock`` for its whole life
and ``campaign-reports run`` for its pass, so a data directory has one scheduler at a time: a
second one exits at once with a message naming the first (``run --wait`` waits for it). Jobs run
one after another, never two at once and never two runs of one job; each stage takes the store's
own lock when it writes, so a manual ``ingest`` at the same moment makes the job fail with "busy"
and the run is retried (``[schedule] retry_minutes``).

Signals. The first SIGTERM or SIGINT lets the running job finish (a job that works in steps,
like ingest, stops after its current file) and starts no other; the process then exits 0. A
second signal abandons the running job at once: every stage publishes atomically (write aside,
rename, then one commit of the snapshot table), so nothing half-written becomes visible, and the next writer
clears what was left aside. An abandoned run is logged as ``abandoned`` and is due again at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pipeline.core.durable as durable
import pipeline.core.faults as faults
from pipeline.core.clock import iso, iso_ms
from pipeline.core.clock import now as wall_now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError, ScheduleError, describe, stage_of
from pipeline.schedule.jobs import (
    ADAPTERS,
    Adapter,
    JobContext,
    JobResult,
    JobUnavailable,
    configured_jobs,
)
from pipeline.schedule.plan import (
    Due,
    Job,
    attempts_of,
    next_wakeup,
    plan,
    policy_of,
)
from pipeline.store.runlog import RunLog, RunRecord

SCHEDULER_LOCK = ".scheduler.lock"
#: The scheduler sleeps at most this long at a time, so that a clock jump is noticed.
MAX_SLEEP = 60.0


class SchedulerBusy(ScheduleError):
    """Another scheduler or run holds the data directory's scheduler lock."""


class Abandon(BaseException):
    """A second SIGTERM/SIGINT while a job runs: stop it where it is."""


# ------------------------------------------------------------------------------------- the lock
def lock_holder(data_dir: Path) -> str | None:
    """Who holds the scheduler lock ("schedule, pid 42, since …"), or None if nobody does."""
    return durable.lock_holder(Path(data_dir) / SCHEDULER_LOCK)


@contextlib.contextmanager
def scheduler_lock(
    data_dir: Path, what: str, *, wait: float = 0.0, console: Console | None = None
) -> Iterator[None]:
    """Hold ``<data_dir>/.scheduler.lock``; ``SchedulerBusy`` at once, or after ``wait`` s."""
    root = Path(data_dir)

    def busy(holder: str) -> SchedulerBusy:
        return SchedulerBusy(
            f"another scheduler is working on the data directory {root} ({holder}). "
            "Nothing was done: only one `campaign-reports schedule` or `run` works on "
            "a data directory at a time, and it does the due jobs itself."
            + (" Use --wait SECONDS to wait for it." if what == "run" else "")
        )

    def waiting(holder: str) -> None:
        if console is not None:
            console.info(f"Waiting up to {wait:g} s for the scheduler ({holder}) ...")

    with durable.file_lock(root / SCHEDULER_LOCK, what, busy=busy, wait=wait, on_wait=waiting):
        yield


# ---------------------------------------------------------------------------------- the signals
class StopFlag:
    """Set by the first SIGTERM/SIGINT; a second one while a job runs abandons it."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None
        self.running: str | None = None  # the job running now, if any

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, name: str = "stop") -> None:
        self.signal_name = self.signal_name or name
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True at once when a stop is requested."""
        return self._event.wait(max(0.0, seconds))


@contextlib.contextmanager
def handle_signals(stop: StopFlag, console: Console) -> Iterator[None]:
    """SIGTERM and SIGINT: the first sets ``stop``; a second one during a job raises Abandon."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.requested and stop.running:
            raise Abandon(name)
        first = not stop.requested
        stop.request(name)
        if first and stop.running:
            with contextlib.suppress(RuntimeError):  # a print interrupted by the signal
                console.info(
                    f"{name}: stopping once {stop.running} has finished (send it again to "
                    "abandon the job now; nothing half-written is kept)."
                )

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# ------------------------------------------------------------------------------------ the runner
class Scheduler:
    """Plans from the run log, runs what is due one job at a time, and logs each run.

    ``clock`` and ``sleep`` are parameters: tests pass a fake clock and a sleep that advances
    it, and never wait for a cron time."""

    def __init__(
        self,
        config: Config,
        console: Console,
        *,
        trigger: str = "schedule",
        clock: Callable[[], datetime] = wall_now,
        sleep: Callable[[float], object] | None = None,
        stop: StopFlag | None = None,
        adapters: Mapping[str, Adapter] | None = None,
        jobs: list[Job] | None = None,
        debug: bool = False,
    ) -> None:
        self.config = config
        self.console = console
        self.trigger = trigger
        self.clock = clock
        self.stop = stop or StopFlag()
        self.sleep = sleep or self.stop.wait
        self.adapters = dict(ADAPTERS if adapters is None else adapters)
        if jobs is None:
            jobs, self.left_out = configured_jobs(config)
        else:
            self.left_out = []
        self.jobs = jobs
        self.policy = policy_of(config)
        self.runlog = RunLog(config.data_dir)
        self.session: dict[str, Any] = {}
        self.debug = debug

    def due(self) -> list[Due]:
        return plan(self.jobs, attempts_of(self.runlog.records()), self.clock(), self.policy)

    def run_due(self) -> list[RunRecord]:
        """Run everything that is due, re-planning after each run (a run takes time, and new
        fire times may pass meanwhile), until nothing is due or a stop is requested."""
        records: list[RunRecord] = []
        done: set[tuple[str, str, int]] = set()
        while not self.stop.requested:
            todo = [d for d in self.due() if (d.job.name, d.key, d.attempt) not in done]
            if not todo:
                break
            due = todo[0]
            done.add((due.job.name, due.key, due.attempt))
            records.append(self.run_one(due))
        return records

    def run_one(self, due: Due) -> RunRecord:
        started = self.clock()
        self.console.info(f"{iso(started)} {due.describe()} ...")
        status, error, result, abandoned = self._execute(due, started)
        if result.store_changed:
            self.session["store_changed"] = True
        record = RunRecord(
            job=due.job.name,
            kind=due.job.kind,
            key=due.key,
            day=due.day.isoformat() if due.day else None,
            scheduled_for=iso(due.scheduled_for),
            started=iso_ms(started),
            ended=iso_ms(self.clock()),
            status=status,
            rows=result.rows,
            snapshots=result.snapshots,
            error=error,
            reason=due.reason,
            attempt=due.attempt,
            missed=due.missed,
            missed_since=iso(due.missed_since) if due.missed_since else None,
            trigger=self.trigger,
            detail=result.detail,
        )
        self.runlog.append(record)
        self._announce(record, result)
        if abandoned is not None:
            raise abandoned
        return record

    def _execute(
        self, due: Due, started: datetime
    ) -> tuple[str, str | None, JobResult, Abandon | None]:
        """Run the job's adapter: (status, error, result, the Abandon to re-raise or None)."""
        ctx = JobContext(
            config=self.config,
            console=self.console,
            due=due,
            now=started,
            stop=self.stop,
            runlog=self.runlog,
            session=self.session,
            clock=self.clock,
        )
        status, error, result = "ok", None, JobResult()
        self.stop.running = f"{due.job.name} ({due.key})"
        abandoned: Abandon | None = None
        try:
            faults.point("job-started")
            adapter = self.adapters.get(due.job.kind)
            if adapter is None:
                raise JobUnavailable(f"no adapter for job kind {due.job.kind!r}")
            result = adapter(ctx)
            if result.error:
                status, error = "failed", result.error
        except Abandon as exc:
            status, error, abandoned = "abandoned", f"abandoned on {exc}", exc
        except PipelineError as exc:
            status, error = "failed", str(exc)
        except Exception as exc:  # a bug in a stage must not stop the scheduler
            # (described as the CLI does: no row content reaches the run log)
            status, error = "failed", f"internal error in {stage_of(exc)}: {describe(exc)}"
            if self.debug:
                traceback.print_exc()
        finally:
            self.stop.running = None
        return status, error, result, abandoned

    def _announce(self, record: RunRecord, result: JobResult) -> None:
        took = f"{record.duration_s:.1f} s"
        if record.status == "ok":
            self.console.info(
                f"{record.job}: ok in {took}"
                + (f", {record.rows:,} rows" if record.rows else "")
                + (f", {record.snapshots:,} snapshot(s)" if record.snapshots else "")
                + (f". {result.message}" if result.message else "")
            )
        elif record.status == "abandoned":
            self.console.info(
                f"{record.job}: abandoned after {took}; nothing of it was published. It runs "
                "again on the next start."
            )
        else:
            self.console.warn(f"{record.job} failed after {took}: {record.error}")

    def serve(self, *, max_sleep: float = MAX_SLEEP) -> None:
        """Run due jobs, sleep until the next fire time, and so on, until stopped."""
        if not self.jobs:
            raise ScheduleError("no jobs to schedule: add [[jobs]] to the config file")
        announced: datetime | None = None
        while not self.stop.requested:
            self.run_due()
            if self.stop.requested:
                break
            current = self.clock()
            wake = next_wakeup(self.jobs, attempts_of(self.runlog.records()), current, self.policy)
            if wake is None:
                raise ScheduleError("none of the jobs' cron expressions will ever fire again")
            seconds = (wake - current).total_seconds()
            if seconds > 0 and wake != announced:
                self.console.info(f"Next: {iso(wake)} ({_in(seconds)}).")
                announced = wake
            # Sleep in slices (a suspended machine's clock jumps), planning again only at the
            # wake-up time: the plan reads the run log.
            while seconds > 0 and not self.stop.requested:
                self.sleep(min(seconds, max_sleep))
                seconds = (wake - self.clock()).total_seconds()


def _in(seconds: float) -> str:
    return "in " + str(timedelta(seconds=round(seconds)))
