"""Cron expressions in a time zone: when a job fires. Pure functions (no disk, no clock).

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

Why not a library: cronsim 2.8 was tried against these rules (tests/schedule/test_schedule_cron.py)
and breaks two of them: it fires a spring-gap time at the gap's end (``30 2 * * *`` at 03:00,
not 03:30), and ``30 2,3 * * *`` twice on the spring day. The parser below is kept.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.errors import CronError, ScheduleError

#: A search for the next fire time gives up after this many days (``0 0 30 2 *`` never fires).
SEARCH_DAYS = 366 * 8 + 2


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
