"""Running scheduled jobs: the adapter table, the scheduler lock, signals, and the loop.

Each job kind calls its stage through one small adapter (``ADAPTERS``), imported lazily, so that
the scheduler works with whichever stages this installation has:

    ingest     pipeline.ingest.ingest_files       new files in the inbox folder
    export     pipeline.export.run_export         the mluvii API -> snapshots
    build      pipeline.warehouse.build           the DuckDB warehouse and its analyst copy
    report     pipeline.report.render_reports     the daily report of one day
    retention  pipeline.retention.apply_retention old snapshots and quarantine files

Locking. ``campaign-reports schedule`` holds ``<data_dir>/.scheduler.lock`` for its whole life
and ``campaign-reports run`` for its pass, so a data directory has one scheduler at a time: a
second one exits at once with a message naming the first (``run --wait`` waits for it). Jobs run
one after another, never two at once and never two runs of one job; each stage takes the store's
own lock when it writes, so a manual ``ingest`` at the same moment makes the job fail with "busy"
and the run is retried (``[schedule] retry_minutes``).

Signals. The first SIGTERM or SIGINT lets the running job finish (a job that works in steps,
like ingest, stops after its current file) and starts no other; the process then exits 0. A
second signal abandons the running job at once: every stage publishes atomically (write aside,
rename, then one manifest line), so nothing half-written becomes visible, and the next writer
clears what was left aside. An abandoned run is logged as ``abandoned`` and is due again at once.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pipeline.core.durable as durable
import pipeline.core.faults as faults
from pipeline.core.clock import iso, iso_ms
from pipeline.core.clock import now as wall_now
from pipeline.core.config import Config, JobConfig
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError, ScheduleError
from pipeline.schedule.plan import (
    Due,
    Job,
    attempts_of,
    next_wakeup,
    plan,
    policy_of,
    resolve_job,
)
from pipeline.store.loads import LoadLog
from pipeline.store.runlog import RunLog, RunRecord
from pipeline.store.snapshots import Store

SCHEDULER_LOCK = ".scheduler.lock"
#: The scheduler sleeps at most this long at a time, so that a clock jump is noticed.
MAX_SLEEP = 60.0

#: The jobs of a tenant that configures none: files from the inbox every 15 minutes, the API
#: hourly (when it is configured), the warehouse at half past, the report of yesterday at 06:00
#: and retention at 03:30 (outside the hour that repeats in autumn), all in Europe/Prague.
DEFAULT_JOBS: tuple[JobConfig, ...] = (
    JobConfig(name="ingest", kind="ingest", cron="*/15 * * * *"),
    JobConfig(name="export", kind="export", cron="0 * * * *"),
    JobConfig(name="build", kind="build", cron="30 * * * *"),
    JobConfig(name="report", kind="report", cron="0 6 * * *"),
    JobConfig(name="retention", kind="retention", cron="30 3 * * *"),
)


class SchedulerBusy(ScheduleError):
    """Another scheduler or run holds the data directory's scheduler lock."""


class JobUnavailable(ScheduleError):
    """The stage a job kind needs is not part of this installation."""


class Abandon(BaseException):
    """A second SIGTERM/SIGINT while a job runs: stop it where it is."""


# --------------------------------------------------------------------------------- the adapters
@dataclass
class JobContext:
    """What an adapter gets: the run's job and interval, and the scheduler's shared state."""

    config: Config
    console: Console
    due: Due
    now: datetime  # when the run started
    stop: StopFlag
    runlog: RunLog
    session: dict[str, Any]  # shared by the runs of one scheduler process

    @property
    def job(self) -> Job:
        return self.due.job


@dataclass
class JobResult:
    rows: int = 0
    snapshots: int = 0
    message: str = ""
    error: str | None = None  # a partial failure (the run is logged as failed, with detail)
    detail: dict[str, Any] = field(default_factory=dict)
    store_changed: bool = False


Adapter = Callable[[JobContext], JobResult]

#: kind -> (module, function) of the stage it calls.
STAGES: dict[str, tuple[str, str]] = {
    "ingest": ("pipeline.store.ingest", "ingest_files"),
    "export": ("pipeline.store.export", "run_export"),
    "build": ("pipeline.warehouse.build", "build"),
    "report": ("pipeline.report", "render_reports"),
    "retention": ("pipeline.store.retention", "apply_retention"),
}


def stage(kind: str) -> Callable[..., Any]:
    """The stage function of a kind, imported now; ``JobUnavailable`` if it is missing."""
    module_name, func = STAGES[kind]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, func)
    except (ImportError, AttributeError):
        raise JobUnavailable(
            f"the {kind} stage ({module_name}.{func}) is not available yet in this version of "
            "campaign-reports; remove the job from [[jobs]] or upgrade"
        ) from None


def unavailable_reason(kind: str, config: Config) -> str | None:
    """Why a kind cannot run in this installation and configuration, or None."""
    try:
        stage(kind)
    except JobUnavailable as exc:
        return str(exc)
    if kind == "export" and not config.api.client_id:
        return "the API is not configured ([api] client_id, or CAMPAIGN_REPORTS_API_CLIENT_ID)"
    return None


def inbox_path(config: Config, job: Job) -> Path:
    inbox = Path(str(job.option("inbox") or "inbox")).expanduser()
    return inbox if inbox.is_absolute() else Path(config.data_dir) / inbox


def _inbox_files(inbox: Path) -> list[Path]:
    from pipeline.sources.files import FORMATS

    out = []
    for p in sorted(inbox.rglob("*")):
        rel = p.relative_to(inbox)
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue  # hidden files, and files being copied in as .name or _name
        if p.suffix.lower() in FORMATS and p.is_file():
            out.append(p)
    return out


def run_ingest(ctx: JobContext) -> JobResult:
    """Ingest the inbox's new files, one by one, stopping after the current file when asked to.

    New: the load log (``pipeline.store.loads``) has no record of this version of it (path, size
    and modification time), so files that ``campaign-reports ingest`` or the demo loaded are not
    read again. A rejected file is logged and not tried again until it changes."""
    ingest_files = stage("ingest")
    from pipeline.store.ingest import IngestOptions

    inbox = inbox_path(ctx.config, ctx.job)
    inbox.mkdir(parents=True, exist_ok=True)
    loads = LoadLog(ctx.config.data_dir)
    seen = loads.loaded_files()
    todo = []
    for p in _inbox_files(inbox):
        if not loads.is_new(p, seen):
            continue
        st = p.stat()
        todo.append((p, (p.relative_to(inbox).as_posix(), st.st_size, st.st_mtime_ns)))
    result = JobResult(detail={"inbox": str(inbox), "files": []})
    rejected = []
    for path, key in todo:
        if ctx.stop.requested:
            result.message = f"stopped after {len(result.detail['files'])} of {len(todo)} file(s)"
            break
        (report,) = ingest_files(
            [path],
            store=Store(ctx.config.data_dir),
            config=ctx.config,
            console=ctx.console,
            options=IngestOptions(source="inbox"),
        )
        result.detail["files"].append(list(key))
        result.rows += sum(m.rows for m in report.published)
        result.snapshots += len(report.published)
        result.store_changed |= bool(report.published)
        if not report.ok:
            rejected.append(f"{key[0]}: {report.error}")
    if not todo:
        result.message = f"no new files in {inbox}"
    if rejected:
        result.error = (
            f"{len(rejected)} of {len(todo)} file(s) rejected (each listed in logs/loads.jsonl); "
            f"the first: {rejected[0]}"
            + (f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else "")
        )
    return result


def run_export(ctx: JobContext) -> JobResult:
    summary = stage("export")(ctx.config, ctx.console)
    published = [r for r in summary.results if r.status == "published"]
    result = JobResult(
        rows=sum(r.contacts for r in published),
        snapshots=len(published),
        message=summary.text(),
        store_changed=bool(published),
        detail={
            "campaigns": len(summary.results),
            "failed": [r.campaign_id for r in summary.results if r.status == "failed"],
            "incomplete": [r.campaign_id for r in published if not r.complete],
        },
    )
    if not summary.ok:
        result.error = "; ".join(r.line() for r in summary.results if r.status == "failed")
    return result


def run_build(ctx: JobContext) -> JobResult:
    built = stage("build")(ctx.config, ctx.console)
    ctx.session["store_changed"] = False
    return JobResult(rows=built.rows_read, snapshots=built.snapshots_new, message=built.summary())


def run_report(ctx: JobContext) -> JobResult:
    """Render the report of the run's day; first bring the warehouse up to date (an incremental
    build, once per scheduler process and again after a job that changed the store)."""
    render_reports = stage("report")
    built = None
    if ctx.job.option("build_first", True) and ctx.session.get("store_changed", True):
        built = run_build(ctx)
    day = ctx.due.day
    rendered = render_reports(ctx.config, ctx.console, day=day)
    return JobResult(
        rows=0,
        snapshots=built.snapshots if built else 0,
        message=f"report {day}: {len(rendered.pages)} page(s) in {rendered.out_dir}",
        detail={"day": str(day), "out_dir": str(rendered.out_dir), "pages": len(rendered.pages)},
    )


def run_retention(ctx: JobContext) -> JobResult:
    done = stage("retention")(ctx.config, ctx.console, ctx.now)
    removed = int(getattr(done, "snapshots_removed", 0))
    return JobResult(
        snapshots=removed,
        store_changed=removed > 0,
        detail={"quarantine_files_removed": int(getattr(done, "quarantine_files_removed", 0))},
    )


ADAPTERS: dict[str, Adapter] = {
    "ingest": run_ingest,
    "export": run_export,
    "build": run_build,
    "report": run_report,
    "retention": run_retention,
}


def configured_jobs(config: Config) -> tuple[list[Job], list[tuple[str, str]]]:
    """The jobs to schedule, and the default jobs left out with the reason.

    With ``[[jobs]]`` in the config, exactly those that are enabled (a kind this installation
    lacks fails when it runs, with a clear error). Without, ``DEFAULT_JOBS`` minus the kinds that
    cannot run here (export without an API configuration, a stage that is not installed)."""
    if config.jobs:
        return [resolve_job(jc, config) for jc in config.jobs if jc.enabled], []
    jobs, left_out = [], []
    for jc in DEFAULT_JOBS:
        reason = unavailable_reason(jc.kind, config)
        if reason is None:
            jobs.append(resolve_job(jc, config))
        else:
            left_out.append((jc.name, reason))
    return jobs, left_out


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
        ctx = JobContext(
            config=self.config,
            console=self.console,
            due=due,
            now=started,
            stop=self.stop,
            runlog=self.runlog,
            session=self.session,
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
            status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            if self.debug:
                traceback.print_exc()
        finally:
            self.stop.running = None
        if result.store_changed:
            self.session["store_changed"] = True
        ended = self.clock()
        record = RunRecord(
            job=due.job.name,
            kind=due.job.kind,
            key=due.key,
            day=due.day.isoformat() if due.day else None,
            scheduled_for=iso(due.scheduled_for),
            started=iso_ms(started),
            ended=iso_ms(ended),
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
        took = f"{record.duration_s:.1f} s"
        if status == "ok":
            self.console.info(
                f"{due.job.name}: ok in {took}"
                + (f", {record.rows:,} rows" if record.rows else "")
                + (f", {record.snapshots:,} snapshot(s)" if record.snapshots else "")
                + (f". {result.message}" if result.message else "")
            )
        elif status == "abandoned":
            self.console.info(
                f"{due.job.name}: abandoned after {took}; nothing of it was published. It runs "
                "again on the next start."
            )
        else:
            self.console.warn(f"{due.job.name} failed after {took}: {error}")
        if abandoned is not None:
            raise abandoned
        return record

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
