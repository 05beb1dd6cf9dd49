"""When jobs are due: cron expressions in a time zone, and catch-up planned from the run log.

Pure functions of the configuration, the run log's records and the clock (no disk, no wall
clock). ``pipeline.jobs`` runs what ``plan`` returns; ``campaign-reports status`` prints
``next_fire``.

Cron expressions have the five usual fields, ``minute hour day-of-month month day-of-week``
(``*``, ``5``, ``1-5``, ``*/15``, ``8-18/2``, lists ``1,15``, names ``jan``..``dec`` and
``sun``..``sat``, 0 or 7 = Sunday), or one of ``@hourly @daily @midnight @weekly @monthly
@yearly @annually``. As in Vixie cron, when both day fields are restricted a day matches if
either matches. Times are wall-clock times in the job's time zone (default Europe/Prague):

* a time that does not exist because the clocks jump forward (Prague, last Sunday of March,
  02:00-02:59) fires once, shifted forward by the jump (02:30 fires at 03:30 summer time); a
  fire time that lands on one that exists anyway (an hourly job's 02:00 -> 03:00) fires once;
* a time that occurs twice because the clocks go back (Prague, last Sunday of October,
  02:00-02:59) fires once, at its first occurrence, unless the hour field is ``*`` (or ``*/n``):
  a job that runs every hour keeps running every real hour, so it fires at both.

So a daily job fires exactly once on every local day, whatever its time, and an hourly job
fires 23 times on the spring day and 25 times on the autumn day.

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

import calendar
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.clock import iso, parse_iso
from pipeline.core.config import Config, JobConfig
from pipeline.core.errors import ConfigError, PipelineError

KINDS = ("ingest", "export", "build", "report", "retention")
#: How each kind catches up when no ``catch_up`` is configured.
DEFAULT_CATCH_UP = {
    "report": "each",
    "export": "latest",
    "ingest": "latest",
    "build": "latest",
    "retention": "latest",
}
#: A search for the next fire time gives up after this many days (``0 0 30 2 *`` never fires).
SEARCH_DAYS = 366 * 8 + 2


class ScheduleError(PipelineError):
    """A cron expression or a job's settings are wrong, or the scheduler cannot start."""


class CronError(ScheduleError):
    pass


# ------------------------------------------------------------------------------------------ cron
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


def _parse_field(
    text: str, name: str, lo: int, hi: int, names: Mapping[str, int]
) -> frozenset[int]:
    def number(token: str) -> int:
        value = names.get(token.lower()) if names else None
        if value is None:
            if not token.isdigit():
                raise ValueError(f"{token!r} is not a number")
            value = int(token)
        if not lo <= value <= hi:
            raise ValueError(f"{value} is outside {lo}-{hi}")
        return value

    values: set[int] = set()
    for part in text.split(","):
        rng, slash, step_text = part.partition("/")
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"step {step_text!r} must be a whole number above 0")
            step = int(step_text)
        else:
            step = 1
        if rng == "*":
            start, end = lo, hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = number(a), number(b)
            if start > end:
                raise ValueError(f"range {rng!r} runs backwards")
        else:
            start = number(rng)
            end = hi if slash else start  # "5/15" = from 5 to the end, every 15
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpr:
    """A parsed cron expression. ``CronExpr.parse("0 6 * * *")``."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_star: bool  # the day-of-month field starts with *
    weekday_star: bool
    every_hour: bool  # the hour field starts with *: repeated autumn hours fire twice

    @classmethod
    def parse(cls, text: str) -> CronExpr:
        return _parse_cron(text.strip())

    def matches_day(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        in_days = d.day in self.days
        in_weekdays = (d.isoweekday() % 7) in self.weekdays
        if self.day_star or self.weekday_star:
            return in_days and in_weekdays
        return in_days or in_weekdays  # both restricted: either (Vixie cron)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=256)
def _parse_cron(text: str) -> CronExpr:
    expanded = _MACROS.get(text.lower(), text)
    parts = expanded.split()
    if len(parts) != 5:
        raise CronError(
            f"cron expression {text!r} has {len(parts)} field(s); it needs 5 (minute hour "
            "day-of-month month day-of-week), e.g. '0 6 * * *' for 06:00 every day"
        )
    sets = []
    for part, (name, lo, hi, names) in zip(parts, _FIELDS, strict=True):
        try:
            sets.append(_parse_field(part, name, lo, hi, names))
        except ValueError as exc:
            raise CronError(f"cron expression {text!r}, {name} field {part!r}: {exc}") from None
    weekdays = frozenset(d % 7 for d in sets[4])
    return CronExpr(
        text=text,
        minutes=tuple(sorted(sets[0])),
        hours=tuple(sorted(sets[1])),
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        day_star=parts[2].startswith("*"),
        weekday_star=parts[4].startswith("*"),
        every_hour=parts[1].startswith("*"),
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"time zone {name!r} is not a known IANA time zone") from None


def _instants(wall: datetime, tz: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The UTC instants of one wall-clock time: one, two (repeated hour) or one shifted (gap)."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    a = first.astimezone(UTC)
    if first.utcoffset() == second.utcoffset():
        return [a]
    if a.astimezone(tz).replace(tzinfo=None) != wall:
        return [a]  # in the spring gap: fold=0 uses the offset before the jump -> shifted forward
    return [a, second.astimezone(UTC)] if both_folds else [a]


def day_fires(cron: CronExpr, d: date, tz: ZoneInfo) -> list[datetime]:
    """The fire instants (UTC, sorted, distinct) of one local day."""
    if not cron.matches_day(d):
        return []
    midnight = datetime.combine(d, time(0)).replace(tzinfo=tz)
    next_midnight = datetime.combine(d + timedelta(days=1), time(0)).replace(tzinfo=tz)
    if midnight.utcoffset() == next_midnight.utcoffset() and (
        midnight.astimezone(UTC) + timedelta(days=1) == next_midnight.astimezone(UTC)
    ):
        base = midnight.astimezone(UTC)  # no clock change today: plain arithmetic
        return [base + timedelta(hours=h, minutes=m) for h in cron.hours for m in cron.minutes]
    out: set[datetime] = set()
    for h in cron.hours:
        for m in cron.minutes:
            wall = datetime.combine(d, time(h, m))
            out.update(_instants(wall, tz, cron.every_hour))
    return sorted(out)


def next_fire(cron: CronExpr, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first fire instant strictly after ``after`` (UTC), or None if it never fires."""
    after = after.astimezone(UTC)
    d = after.astimezone(tz).date() - timedelta(days=1)
    for _ in range(SEARCH_DAYS):
        for t in day_fires(cron, d, tz):
            if t > after:
                return t
        d += timedelta(days=1)
    return None


def last_fire(cron: CronExpr, at_or_before: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest fire instant at or before ``at_or_before`` (UTC), or None."""
    at_or_before = at_or_before.astimezone(UTC)
    d = at_or_before.astimezone(tz).date() + timedelta(days=1)
    for _ in range(SEARCH_DAYS):
        for t in reversed(day_fires(cron, d, tz)):
            if t <= at_or_before:
                return t
        d -= timedelta(days=1)
    return None


def fires_between(
    cron: CronExpr, start: datetime, end: datetime, tz: ZoneInfo
) -> Iterator[datetime]:
    """Fire instants t with start <= t <= end, in order."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    d = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    while d <= last_day:
        for t in day_fires(cron, d, tz):
            if start <= t <= end:
                yield t
        d += timedelta(days=1)


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
        options={"inbox": jc.inbox, "build_first": jc.build_first},
    )


def policy_of(config: Config) -> Policy:
    s = config.schedule
    return Policy(
        catch_up_days=s.catch_up_days, retry_minutes=s.retry_minutes, max_attempts=s.max_attempts
    )


def validate_jobs(config: Config) -> None:
    """Check ``[schedule]`` and every ``[[jobs]]`` entry; raises ``ConfigError``."""
    s = config.schedule
    if s.timezone:
        try:
            ZoneInfo(s.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"schedule.timezone {s.timezone!r} is not a known IANA time zone"
            ) from None
    if s.catch_up_days < 1:
        raise ConfigError("schedule.catch_up_days must be at least 1")
    if s.retry_minutes <= 0:
        raise ConfigError("schedule.retry_minutes must be above 0")
    if s.max_attempts < 1:
        raise ConfigError("schedule.max_attempts must be at least 1")
    names: set[str] = set()
    for n, jc in enumerate(config.jobs, start=1):
        where = f"job {n} ({jc.name or jc.kind or 'no name'})"
        if jc.kind not in KINDS:
            raise ConfigError(f"{where}: kind {jc.kind!r} is not one of {', '.join(KINDS)}")
        if not jc.cron:
            raise ConfigError(f'{where}: cron is missing, e.g. cron = "0 6 * * *"')
        if jc.name in names:
            raise ConfigError(f"{where}: the name {jc.name!r} is used twice; give each job a name")
        names.add(jc.name)
        if jc.catch_up not in ("", "each", "latest"):
            raise ConfigError(f'{where}: catch_up {jc.catch_up!r} must be "each" or "latest"')
        if jc.day_lag < 0:
            raise ConfigError(f"{where}: day_lag must be 0 or more")
        try:
            resolve_job(jc, config)
        except ScheduleError as exc:
            raise ConfigError(f"{where}: {exc}") from None
