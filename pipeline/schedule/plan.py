"""When jobs are due: cron expressions in a time zone, and catch-up planned from the run log.

Pure functions of the configuration, the run log's records and the clock (no disk, no wall
clock). ``pipeline.schedule.runner`` runs what ``plan`` returns; ``campaign-reports status`` prints
``next_fire``.

Cron expressions and their time zone rules: ``pipeline.core.cron``.

Catch-up (like SQLMesh, which fills missing intervals): each fire time defines an interval,
identified by a key. A ``report`` job's key is the day it reports on (the fire time's local day
minus ``day_lag``, by default yesterday); the other kinds' key is the fire time itself.

* ``catch_up = "each"`` (default for report): every interval since the job's first recorded
  run (at most ``catch_up_days`` back) that has no successful run is due, oldest first: a report
  for every missed day. A job never run before is due for its latest interval only.
* ``catch_up = "latest"`` (default for export, ingest, build, retention): only the latest fire
  time is due, once; the run records how many earlier fire times it stands in for (``missed``).

A failed interval is retried after ``retry_minutes`` (doubled after each failure) until it has
failed ``max_attempts`` times; then it waits for a newer interval ("latest") or a person
("each": ``status`` lists it). A run abandoned on shutdown, or cut off by a crash, is not an
attempt: it is due again at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.core.clock import iso, parse_iso
from pipeline.core.config import Config, JobConfig
from pipeline.core.cron import CronExpr, fires_between, last_fire, next_fire, zone

#: How each kind catches up when no ``catch_up`` is configured.
DEFAULT_CATCH_UP = {
    "report": "each",
    "export": "latest",
    "ingest": "latest",
    "build": "latest",
    "retention": "latest",
}


# ------------------------------------------------------------------------------------------ jobs
@dataclass(frozen=True)
class Job:
    """A job as the scheduler sees it: its configuration resolved (time zone, catch-up mode)."""

    name: str
    kind: str
    cron: CronExpr
    tz: ZoneInfo
    catch_up: str  # each | latest
    day_lag: int = 1
    options: Mapping[str, Any] | None = None  # kind-specific settings (inbox, build_first)

    def key_for(self, fire: datetime) -> str:
        if self.kind == "report":
            return self.day_for(fire).isoformat()
        return iso(fire)

    def day_for(self, fire: datetime) -> date:
        """The day a report fired at ``fire`` reports on."""
        return fire.astimezone(self.tz).date() - timedelta(days=self.day_lag)

    def option(self, name: str, default: Any = None) -> Any:
        return (self.options or {}).get(name, default)


@dataclass(frozen=True)
class Attempt:
    """What the run log says about one run of a job (see ``pipeline.runlog``)."""

    job: str
    key: str
    scheduled_for: datetime
    status: str  # ok | failed | abandoned
    ended: datetime

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Attempt | None:
        try:
            return cls(
                job=str(record["job"]),
                key=str(record["key"]),
                scheduled_for=parse_iso(str(record["scheduled_for"])),
                status=str(record["status"]),
                ended=parse_iso(str(record["ended"])),
            )
        except (KeyError, ValueError, TypeError):
            return None


def attempts_of(records: Iterable[Any]) -> list[Attempt]:
    """The run log's records (``RunRecord``) as the attempts the planner reads."""
    out = []
    for r in records:
        a = Attempt.from_record(r.__dict__)
        if a is not None:
            out.append(a)
    return out


@dataclass(frozen=True)
class Policy:
    catch_up_days: int = 31
    retry_minutes: float = 10.0
    max_attempts: int = 3


@dataclass(frozen=True)
class Due:
    """One run to do now."""

    job: Job
    key: str
    scheduled_for: datetime  # the fire time this run is for (UTC)
    reason: str  # scheduled | catch-up | retry
    attempt: int  # 1 for the first try of this interval
    missed: int = 0  # "latest": earlier fire times since the last run that this one stands for
    missed_since: datetime | None = None

    @property
    def day(self) -> date | None:
        return self.job.day_for(self.scheduled_for) if self.job.kind == "report" else None

    def describe(self) -> str:
        what = f"{self.job.name} ({self.job.kind}"
        what += f", day {self.key})" if self.job.kind == "report" else ")"
        notes = []
        if self.reason == "catch-up":
            notes.append(f"catching up: was due {iso(self.scheduled_for)}")
        if self.missed:
            notes.append(
                f"stands for {self.missed} missed run(s) since {iso(self.missed_since)}"
                if self.missed_since
                else f"stands for {self.missed} missed run(s)"
            )
        if self.reason == "retry":
            notes.append(f"attempt {self.attempt}")
        return what + (": " + "; ".join(notes) if notes else "")


@dataclass
class JobState:
    """A job's history, condensed from the run log."""

    ok_keys: set[str]
    failures: dict[str, list[Attempt]]  # key -> failed attempts, oldest first
    first_scheduled: datetime | None
    last_scheduled: datetime | None  # of any ok or failed run


def job_states(attempts: Iterable[Attempt]) -> dict[str, JobState]:
    states: dict[str, JobState] = {}
    for a in attempts:
        if a.status == "abandoned":
            continue  # not an attempt: due again at once
        st = states.setdefault(a.job, JobState(set(), {}, None, None))
        if a.status == "ok":
            st.ok_keys.add(a.key)
        else:
            st.failures.setdefault(a.key, []).append(a)
        if st.first_scheduled is None or a.scheduled_for < st.first_scheduled:
            st.first_scheduled = a.scheduled_for
        if st.last_scheduled is None or a.scheduled_for > st.last_scheduled:
            st.last_scheduled = a.scheduled_for
    return states


def retry_at(failures: list[Attempt], policy: Policy) -> datetime | None:
    """When a failed interval may be tried again; None: it has failed too often."""
    if len(failures) >= policy.max_attempts:
        return None
    last = max(f.ended for f in failures)
    return last + timedelta(minutes=policy.retry_minutes * 2 ** (len(failures) - 1))


def _interval(
    job: Job, st: JobState, key: str, fire: datetime, now: datetime, policy: Policy, reason: str
) -> Due | None:
    if key in st.ok_keys:
        return None
    failed = st.failures.get(key, [])
    if not failed:
        return Due(job, key, fire, reason, 1)
    when = retry_at(failed, policy)
    if when is None or when > now:
        return None
    return Due(job, key, fire, "retry", len(failed) + 1)


def plan_job(job: Job, st: JobState | None, now: datetime, policy: Policy) -> list[Due]:
    """The runs of one job that are due at ``now``, oldest first."""
    latest = last_fire(job.cron, now, job.tz)
    if latest is None:
        return []
    st = st or JobState(set(), {}, None, None)
    horizon = now - timedelta(days=policy.catch_up_days)
    if job.catch_up == "each":
        if st.first_scheduled is None:
            fires = [latest]
        else:
            fires = list(fires_between(job.cron, max(st.first_scheduled, horizon), now, job.tz))
        out: list[Due] = []
        seen: set[str] = set()
        for fire in fires:
            key = job.key_for(fire)
            if key in seen:
                continue
            seen.add(key)
            due = _interval(
                job, st, key, fire, now, policy, "scheduled" if fire == latest else "catch-up"
            )
            if due is not None:
                out.append(due)
        return out
    due = _interval(job, st, job.key_for(latest), latest, now, policy, "scheduled")
    if due is None or due.reason == "retry" or st.last_scheduled is None:
        return [due] if due else []
    since = max(st.last_scheduled, horizon)
    missed = sum(1 for t in fires_between(job.cron, since, latest, job.tz) if since < t < latest)
    if missed:
        due = Due(
            job,
            due.key,
            latest,
            "catch-up",
            1,
            missed=missed,
            missed_since=next_fire(job.cron, since, job.tz),
        )
    return [due]


def plan(
    jobs: Iterable[Job], attempts: Iterable[Attempt], now: datetime, policy: Policy | None = None
) -> list[Due]:
    """Everything due at ``now``: jobs in their configured order, each job's intervals oldest
    first."""
    policy = policy or Policy()
    states = job_states(attempts)
    out: list[Due] = []
    for job in jobs:
        out.extend(plan_job(job, states.get(job.name), now, policy))
    return out


def next_wakeup(
    jobs: Iterable[Job], attempts: Iterable[Attempt], now: datetime, policy: Policy | None = None
) -> datetime | None:
    """The next moment something may become due: a fire time or a retry."""
    policy = policy or Policy()
    states = job_states(attempts)
    times: list[datetime] = []
    for job in jobs:
        t = next_fire(job.cron, now, job.tz)
        if t is not None:
            times.append(t)
        st = states.get(job.name)
        if st is None:
            continue
        horizon = now - timedelta(days=policy.catch_up_days)
        for key, failed in st.failures.items():
            if key in st.ok_keys or max(f.scheduled_for for f in failed) < horizon:
                continue
            when = retry_at(failed, policy)
            if when is not None and when > now:
                times.append(when)
    return min(times) if times else None


def gave_up(
    jobs: Iterable[Job], attempts: Iterable[Attempt], now: datetime, policy: Policy | None = None
) -> list[tuple[Job, str, list[Attempt]]]:
    """Intervals that failed ``max_attempts`` times and will not be retried by themselves
    (within the catch-up window; for "latest" jobs only the latest fire time counts)."""
    policy = policy or Policy()
    states = job_states(attempts)
    horizon = now - timedelta(days=policy.catch_up_days)
    out = []
    for job in jobs:
        st = states.get(job.name)
        if st is None:
            continue
        latest = last_fire(job.cron, now, job.tz)
        for key, failed in sorted(st.failures.items()):
            if key in st.ok_keys or len(failed) < policy.max_attempts:
                continue
            if max(f.scheduled_for for f in failed) < horizon:
                continue
            if job.catch_up == "latest" and (latest is None or key != job.key_for(latest)):
                continue
            out.append((job, key, failed))
    return out


# ------------------------------------------------------------------------------------ from config
def resolve_job(jc: JobConfig, config: Config) -> Job:
    """A ``[[jobs]]`` entry with its defaults filled in."""
    tz_name = jc.timezone or config.schedule.timezone or config.timezone
    return Job(
        name=jc.name or jc.kind,
        kind=jc.kind,
        cron=CronExpr.parse(jc.cron),
        tz=zone(tz_name),
        catch_up=jc.catch_up or DEFAULT_CATCH_UP.get(jc.kind, "latest"),
        day_lag=jc.day_lag,
        options={"inbox": jc.inbox, "build_first": jc.build_first, "digest": jc.digest},
    )


def policy_of(config: Config) -> Policy:
    s = config.schedule
    return Policy(
        catch_up_days=s.catch_up_days, retry_minutes=s.retry_minutes, max_attempts=s.max_attempts
    )
