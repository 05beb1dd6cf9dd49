"""The ``schedule``, ``run`` and ``status`` commands (registered in ``pipeline.cli``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from pipeline.cli.context import AsOf, Context, pass_ctx
from pipeline.core.clock import now as wall_now
from pipeline.core.clock import parse_iso
from pipeline.core.cron import next_fire
from pipeline.core.errors import PipelineError
from pipeline.schedule.plan import attempts_of, gave_up, plan, policy_of

if TYPE_CHECKING:  # the runner, the run log and the store load polars: only when a command runs
    from pipeline.schedule.runner import Scheduler
    from pipeline.store.runlog import RunLog, RunRecord
    from pipeline.store.snapshots import Store


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports schedule\n"
    "  campaign-reports --config /etc/campaign-reports.toml --data-dir /srv/campaigns schedule\n"
    "  systemctl stop campaign-reports   # SIGTERM: the running job finishes first"
)
@pass_ctx
def schedule(obj: Context) -> None:
    """Run the configured jobs on their cron schedule, until stopped.

    On start, and after any downtime, it first catches up what it missed: a daily report for
    every missed day, and one export (not one per missed hour). Only one scheduler works on a
    data directory at a time; a second one exits with a message. SIGTERM or Ctrl-C lets the
    running job finish and exits 0; a second one abandons the job, and nothing half-written is
    kept. Jobs come from [[jobs]] in the config file (see the README, "Running on a schedule").
    """
    from pipeline.schedule.runner import (
        Abandon,
        Scheduler,
        StopFlag,
        handle_signals,
        scheduler_lock,
    )

    stop = StopFlag()
    scheduler = Scheduler(obj.config, obj.console, stop=stop, debug=obj.debug)
    with scheduler_lock(obj.config.data_dir, "schedule"), handle_signals(stop, obj.console):
        _announce(scheduler)
        try:
            scheduler.serve()
        except Abandon as exc:
            obj.console.info(f"Stopped by {exc}.")
            return
    obj.console.info(
        f"Stopped by {stop.signal_name or 'request'}; what is still due runs on the next start."
    )


@click.command(
    "run",
    epilog="Examples:\n\n\b\n  campaign-reports run\n"
    "  campaign-reports run --dry-run\n"
    "  campaign-reports run --job report --job build\n"
    "  campaign-reports run --wait 600\n"
    "  */5 * * * * campaign-reports --data-dir /srv/campaigns run   # crontab",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what is due (and what it catches up) without running it. "
    "Example: campaign-reports run --dry-run",
)
@click.option(
    "--job",
    "only",
    multiple=True,
    metavar="NAME",
    help="Run only this job (repeat for several); the others wait for their turn. "
    "Example: --job report",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    default=0.0,
    show_default=True,
    help="When a scheduler or another run is working on the data directory, wait this many "
    "seconds for it instead of exiting. Example: --wait 600",
)
@click.option(
    "--as-of",
    type=AsOf(),
    help="Run (or with --dry-run, plan) as if the clock said this time (ISO-8601); it moves "
    "on with the real time, to replay a schedule. Example: --as-of 2026-11-29T06:00:00+01:00",
)
@pass_ctx
def run(
    obj: Context, dry_run: bool, only: tuple[str, ...], wait: float, as_of: datetime | None
) -> None:
    """Do whatever is due or missing, once, and exit.

    The same catch-up as `schedule`, for cron, systemd timers or an orchestrator: every missed
    daily report, one export for however many missed hours, failed runs whose retry time has
    come. Exits 1 if a job failed, or if a scheduler is already working on the data directory
    (it does the work itself; --wait waits for it). SIGTERM lets the running job finish.
    """
    from pipeline.core.clock import moving_clock
    from pipeline.schedule.runner import Abandon, Scheduler, handle_signals, scheduler_lock

    scheduler = Scheduler(obj.config, obj.console, trigger="run", debug=obj.debug)
    if as_of is not None:
        scheduler.clock = moving_clock(as_of)
    names = {j.name for j in scheduler.jobs}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise click.UsageError(
            f"no job named {', '.join(unknown)}; the jobs are: {', '.join(sorted(names)) or 'none'}"
        )
    if only:
        scheduler.jobs = [j for j in scheduler.jobs if j.name in only]
    if dry_run:
        due = scheduler.due()
        for d in due:
            click.echo(f"due: {d.describe()}")
        if not due:
            click.echo("nothing is due")
        return
    stop = scheduler.stop
    with (
        scheduler_lock(obj.config.data_dir, "run", wait=wait, console=obj.console),
        handle_signals(stop, obj.console),
    ):
        try:
            records = scheduler.run_due()
        except Abandon as exc:
            obj.console.info(f"Stopped by {exc}; the next run does what is left.")
            return
    if stop.requested:
        obj.console.info(f"Stopped by {stop.signal_name}; the next run does what is left.")
        return
    failed = [r for r in records if r.status == "failed"]
    if not records:
        obj.console.info("Nothing is due.")
    elif failed:
        # one line per problem (each failed or incomplete campaign of an export gets its own),
        # so that `run --quiet` under cron says what went wrong, and nothing else
        lines = [
            f"{_what(r)} failed: {problem}"
            for r in failed
            for problem in (r.detail.get("problems") or [r.error or "no detail"])
        ]
        raise PipelineError(
            "\n".join(lines) + f" ({len(failed)} of {len(records)} run(s) failed; retried later)"
        )
    else:
        obj.console.info(f"{len(records)} run(s), all ok.")


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports status\n  campaign-reports status --runs 30\n"
    "  campaign-reports sql \"SELECT * FROM runs WHERE status = 'failed'\"   # the same log in SQL"
)
@click.option(
    "--runs",
    "last",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the latest runs to list. Example: --runs 30",
)
@click.option(
    "--as-of",
    type=AsOf(),
    help="Show ages, due jobs and next times as of this time (ISO-8601; default: now). "
    "Example: --as-of 2026-11-29T06:00:00+01:00",
)
@pass_ctx
def status(obj: Context, last: int, as_of: datetime | None) -> None:
    """Print the jobs' last runs, what is due, the data's freshness and the next run times.

    Reads the run log (logs/runs.jsonl) and the store's snapshot index; changes nothing, and works
    while a scheduler runs.
    """
    for line in status_lines(obj, last=last, as_of=as_of or wall_now()):
        click.echo(line)


# ----------------------------------------------------------------------------------- helpers
def _announce(scheduler: Scheduler) -> None:
    names = ", ".join(f"{j.name} ({j.cron})" for j in scheduler.jobs)
    scheduler.console.info(f"Scheduler started on {scheduler.config.data_dir}: {names}.")
    for name, reason in scheduler.left_out:
        scheduler.console.info(f"Not scheduled: {name}: {reason}.")


def _what(r: RunRecord) -> str:
    return f"{r.job} ({r.day})" if r.day else r.job


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    if value is None:
        return "-"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def age(delta: timedelta) -> str:
    """A short duration: '45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    s = int(delta.total_seconds())
    if s < 0:
        return "in the future"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [list(map(str, headers))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    ]


def status_lines(obj: Context, *, last: int, as_of: datetime) -> list[str]:
    """The report of ``campaign-reports status``: the header, then the jobs, the latest runs
    and the data's freshness."""
    from pipeline.schedule.runner import lock_holder
    from pipeline.store.loads import LoadLog
    from pipeline.store.runlog import RunLog
    from pipeline.store.snapshots import Store

    config = obj.config
    tz = ZoneInfo(config.schedule.timezone or config.timezone)
    runlog = RunLog(config.data_dir)
    records = runlog.records()
    holder = lock_holder(config.data_dir)

    out = [f"Data directory: {config.data_dir}"]
    out.append(f"Scheduler: {'running (' + holder + ')' if holder else 'not running'}")
    out.append(f"Times in {tz.key}; now {_local(as_of, tz)}.")
    if runlog.damaged:
        out.append(f"Warning: {runlog.damaged} damaged line(s) in {runlog.path} were skipped.")
    out += ["", "Jobs", *_job_lines(obj, runlog, records, as_of, tz)]
    if last:
        out += ["", f"Last {min(last, len(records))} run(s)", *_run_lines(records[-last:], tz)]
    problems = LoadLog(config.data_dir).export_problems()
    store = Store(config.data_dir)
    names = campaign_names(store)
    out += [
        "",
        f"Problems ({len(problems)}: campaigns whose latest export failed or is incomplete)",
    ]
    out += [
        f"  PROBLEM campaign {c}: {what} (at {_local(parse_iso(at), tz)}{_named(names, c)})"
        for c, at, what in problems
    ]
    out += _digest_lines(config.data_dir, tz)
    out += ["", "Data freshness (latest complete snapshot of each campaign)"]
    out += _freshness_lines(freshness(store), names, as_of, tz)
    return out


def _digest_lines(data_dir: Path, tz: ZoneInfo) -> list[str]:
    """Digest sends that failed and have not gone out since (only once a digest was sent)."""
    from pipeline.schedule.digest import DigestLog

    log = DigestLog(data_dir)
    if not log.path.exists():
        return []
    problems = log.problems()
    out = ["", f"Digest ({len(problems)} problem(s): recipients the digest has not reached)"]
    return out + [
        f"  PROBLEM digest {p.get('day')} to {p.get('recipient')}: {p.get('error')} "
        f"(at {_local(parse_iso(str(p.get('at'))), tz)})"
        for p in problems
    ]


def _job_lines(
    obj: Context, runlog: RunLog, records: list[RunRecord], as_of: datetime, tz: ZoneInfo
) -> list[str]:
    """Each job's last run and next time, then what is due, given up and the last failure."""
    from pipeline.schedule.jobs import configured_jobs

    jobs, left_out = configured_jobs(obj.config)
    attempts = attempts_of(records)
    policy = policy_of(obj.config)
    rows = []
    for job in jobs:
        mine = [r for r in records if r.job == job.name]
        latest = mine[-1] if mine else None
        rows.append(
            [
                job.name,
                job.kind,
                job.cron.text,
                _run_when(latest, as_of, tz),
                latest.status if latest else "never run",
                f"{latest.duration_s:.1f} s" if latest else "-",
                f"{latest.rows:,}" if latest else "-",
                f"{latest.snapshots:,}" if latest else "-",
                _local(next_fire(job.cron, as_of, job.tz), tz),
            ]
        )
    out = table(
        ["job", "kind", "cron", "last run", "status", "took", "rows", "snapshots", "next run"],
        rows,
    )
    for name, reason in left_out:
        out.append(f"  not scheduled: {name}: {reason}")
    due = plan(jobs, attempts, as_of, policy)
    if due:
        out.append("  due now: " + "; ".join(d.describe() for d in due))
    for job, key, failed in gave_up(jobs, attempts, as_of, policy):
        out.append(
            f"  gave up: {job.name} ({key}) failed {len(failed)} time(s); it is not retried by "
            f"itself. Last error: {_last_error(records, job.name, key)}"
        )
    failures = [r for r in records if r.status == "failed"]
    if failures:
        f = failures[-1]
        out.append(f"  last failure: {_what(f)} at {_local(parse_iso(f.started), tz)}: {f.error}")
    return out


def _run_lines(records: list[RunRecord], tz: ZoneInfo) -> list[str]:
    if not records:
        return ["  none yet"]
    return table(
        ["started", "job", "for", "status", "took", "rows", "snapshots", "note"],
        [
            [
                _local(parse_iso(r.started), tz),
                r.job,
                r.day or _local(parse_iso(r.scheduled_for), tz),
                r.status,
                f"{r.duration_s:.1f} s",
                f"{r.rows:,}",
                f"{r.snapshots:,}",
                _note(r),
            ]
            for r in records
        ],
    )


def _freshness_lines(
    fresh: dict[str, tuple[datetime, int]], names: dict[str, str], as_of: datetime, tz: ZoneInfo
) -> list[str]:
    if not fresh:
        return ["  no snapshots yet"]
    return table(
        ["campaign", "name", "latest snapshot", "age", "snapshots"],
        [
            [c, names.get(c, "-"), _local(t, tz), age(as_of - t), f"{n:,}"]
            for c, (t, n) in sorted(fresh.items(), key=lambda kv: kv[1][0])
        ],
    )


#: A name is printed on one line, at most this many characters (it comes from the API).
NAME_WIDTH = 40


def campaign_names(store: Store) -> dict[str, str]:
    """Each campaign's display name from ``campaigns.json`` (where the store knows one), on
    one line and at most ``NAME_WIDTH`` characters."""
    out = {}
    for cid, info in store.campaigns().items():
        name = info.get("name")
        if isinstance(name, str) and name.strip():
            flat = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
            out[cid] = flat if len(flat) <= NAME_WIDTH else flat[: NAME_WIDTH - 1] + "…"
    return out


def _named(names: dict[str, str], campaign_id: str) -> str:
    return f"; name: {names[campaign_id]}" if campaign_id in names else ""


def freshness(store: Store) -> dict[str, tuple[datetime, int]]:
    """Each campaign's latest complete snapshot time and its number of complete snapshots."""
    out: dict[str, tuple[datetime, int]] = {}
    for m in store.published():
        if not m.complete:
            continue
        t, n = out.get(m.campaign_id, (m.time, 0))
        out[m.campaign_id] = (max(t, m.time), n + 1)
    return out


def _run_when(r: RunRecord | None, as_of: datetime, tz: ZoneInfo) -> str:
    if r is None:
        return "-"
    ended = parse_iso(r.ended)
    return f"{_local(ended, tz)} ({age(as_of - ended)} ago)"


def _note(r: RunRecord) -> str:
    parts = []
    if r.reason != "scheduled":
        parts.append(r.reason + (f" #{r.attempt}" if r.reason == "retry" else ""))
    if r.missed:
        parts.append(f"for {r.missed} missed")
    if r.error:
        parts.append(r.error if len(r.error) <= 100 else r.error[:97] + "...")
    return "; ".join(parts)


def _last_error(records: list[RunRecord], job: str, key: str) -> str:
    for r in reversed(records):
        if r.job == job and r.key == key and r.error:
            return r.error
    return "-"


COMMANDS = (schedule, run, status)
