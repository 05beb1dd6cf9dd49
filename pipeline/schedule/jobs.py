"""The job kinds: what each scheduled job does, through one small adapter per kind.

Each kind calls its stage, imported lazily (``STAGES``), so that the scheduler works with
whichever stages this installation has:

    ingest     pipeline.store.ingest.ingest_files     new files in the inbox folder
    export     pipeline.store.export.run_export       the mluvii API -> snapshots
    build      pipeline.warehouse.build.build         the DuckDB warehouse and its analyst copy
    report     pipeline.report.render_reports         the daily report of one day
    retention  pipeline.store.retention.apply_retention  old snapshots and quarantine files
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.core.clock import now as wall_now
from pipeline.core.config import Config, JobConfig
from pipeline.core.console import Console
from pipeline.core.errors import DiskFull, PipelineError, ScheduleError, StoreLocked, describe
from pipeline.schedule.plan import Due, Job, resolve_job
from pipeline.store.loads import LoadLog
from pipeline.store.runlog import RunLog
from pipeline.store.snapshots import Store

if TYPE_CHECKING:
    from pipeline.schedule.runner import StopFlag

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


class JobUnavailable(ScheduleError):
    """The stage a job kind needs is not part of this installation."""


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
    clock: Callable[[], datetime] = wall_now  # the scheduler's clock (``run --as-of`` moves it)

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
    rejected: list[str] = []
    for path, key in todo:
        if ctx.stop.requested:
            result.message = f"stopped after {len(result.detail['files'])} of {len(todo)} file(s)"
            break
        try:
            (report,) = ingest_files(
                [path],
                store=Store(ctx.config.data_dir),
                config=ctx.config,
                console=ctx.console,
                options=IngestOptions(source="inbox"),
            )
        except (StoreLocked, DiskFull) as exc:  # the next files would meet it too: they wait
            rejected.append(f"{key[0]}: not ingested, nor the files after it: {exc}")
            break
        except Exception as exc:  # not the file's fault: not logged, so tried again next run
            what = str(exc) if isinstance(exc, PipelineError) else describe(exc)
            rejected.append(f"{key[0]}: publishing it in the store failed ({what})")
            continue
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
            f"{len(rejected)} of {len(todo)} file(s) not ingested (each rejection is listed "
            f"in logs/loads.jsonl); the first: {rejected[0]}"
            + (f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else "")
        )
    return result


def run_export(ctx: JobContext) -> JobResult:
    """Export every WhatsApp campaign; a failed or incomplete campaign fails the run (one
    ``; ``-separated line each in its error), which the scheduler retries."""
    summary = stage("export")(ctx.config, ctx.console, clock=ctx.clock)
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
            "slow_pull": [r.campaign_id for r in published if r.slow_pull],
        },
    )
    if not summary.ok:
        result.error = "; ".join(summary.problems())
        result.detail["problems"] = summary.problems()
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
    result = JobResult(
        rows=0,
        snapshots=built.snapshots if built else 0,
        message=f"report {day}: {len(rendered.pages)} page(s) in {rendered.out_dir}",
        detail={"day": str(day), "out_dir": str(rendered.out_dir), "pages": len(rendered.pages)},
    )
    if ctx.job.option("digest", False):
        _send_digest(ctx, result)
    return result


def _send_digest(ctx: JobContext, result: JobResult) -> None:
    """``digest = true``: send the day's digest (once per day and recipient); a failure fails
    the run, and its retry sends only to the recipients still missing."""
    from pipeline.core.errors import PipelineError
    from pipeline.schedule.digest import send_digest

    try:
        sent = send_digest(ctx.config, ctx.console, day=ctx.due.day, trigger="schedule")
    except PipelineError as exc:
        result.error = f"digest: {exc}"
        return
    result.detail["digest"] = sent.detail()
    result.message += "; " + sent.summary()
    if not sent.ok:
        result.error = sent.summary()


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
