"""Cron expressions: parsing, fire times, and the DST changes of Europe/Prague."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_helpers import utc

from pipeline.core.cron import CronExpr, fires_between, last_fire, next_fire
from pipeline.core.errors import CronError

PRAGUE = ZoneInfo("Europe/Prague")
SPRING = date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST
AUTUMN = date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET


def local_day_fires(cron: str, day: date, tz: ZoneInfo = PRAGUE) -> list[datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)  # aware arithmetic is wall-clock: the next local midnight
    return [
        t for t in fires_between(CronExpr.parse(cron), start, end, tz) if t < end.astimezone(UTC)
    ]


# ---------------------------------------------------------------------------------- parsing
def test_fields_ranges_steps_lists_and_names():
    c = CronExpr.parse("*/20 8-18/5 1,15 jan-mar mon-fri")
    assert c.minutes == (0, 20, 40)
    assert c.hours == (8, 13, 18)
    assert c.days == {1, 15}
    assert c.months == {1, 2, 3}
    assert c.weekdays == {1, 2, 3, 4, 5}
    assert CronExpr.parse("0 0 * * 7").weekdays == {0}  # 7 is Sunday too
    assert CronExpr.parse("5/20 * * * *").minutes == (5, 25, 45)
    assert CronExpr.parse("@daily") == CronExpr.parse("@daily")
    assert CronExpr.parse("@hourly").minutes == (0,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 6 * *", "has 4 field(s); it needs 5"),
        ("60 * * * *", "minute field '60': 60 is outside 0-59"),
        ("0 24 * * *", "hour field '24'"),
        ("*/0 * * * *", "step '0' must be a whole number above 0"),
        ("0 6 * * moon", "day of week field 'moon': 'moon' is not a number"),
        ("0 18-8 * * *", "runs backwards"),
        ("0 6 0 * *", "day of month field '0': 0 is outside 1-31"),
    ],
)
def test_bad_expressions_say_which_field_is_wrong(text, message):
    with pytest.raises(CronError, match="cron expression") as err:
        CronExpr.parse(text)
    assert message in str(err.value)


def test_day_of_month_and_week_both_restricted_means_either():
    # Vixie cron: the 13th of any month, and every Friday
    cron = CronExpr.parse("0 12 13 * fri")
    days = [t.date() for t in fires_between(cron, utc(2026, 11, 1), utc(2026, 11, 30, 23, 59), UTC)]
    assert days == [date(2026, 11, d) for d in (6, 13, 20, 27)]
    only_fridays = CronExpr.parse("0 12 * * fri")
    assert date(2026, 11, 13) in [
        t.date() for t in fires_between(only_fridays, utc(2026, 11, 1), utc(2026, 11, 30), UTC)
    ]  # the 13th is a Friday in November 2026
    assert [
        t.date()
        for t in fires_between(
            CronExpr.parse("0 12 13 * *"), utc(2026, 11, 1), utc(2026, 11, 30), UTC
        )
    ] == [date(2026, 11, 13)]


def test_a_time_that_never_comes():
    cron = CronExpr.parse("0 0 30 2 *")
    assert next_fire(cron, utc(2026, 1, 1), UTC) is None
    assert last_fire(cron, utc(2026, 1, 1), UTC) is None


# --------------------------------------------------------------------------------------- DST
def test_daily_report_fires_once_on_every_local_day_of_a_year():
    cron = CronExpr.parse("0 6 * * *")
    fires = list(fires_between(cron, utc(2026, 1, 1), utc(2026, 12, 31, 23), PRAGUE))
    days = Counter(t.astimezone(PRAGUE).date() for t in fires)
    assert len(days) == 365 and set(days.values()) == {1}
    assert {t.astimezone(PRAGUE).strftime("%H:%M") for t in fires} == {"06:00"}


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
@pytest.mark.parametrize("at", ["0 6 * * *", "30 2 * * *", "0 2 * * *", "59 23 * * *", "0 0 * * *"])
def test_a_daily_job_fires_exactly_once_on_the_days_the_clocks_change(day, at):
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        assert len(local_day_fires(at, d)) == 1, (d, at)


def test_spring_forward_a_time_in_the_gap_fires_once_shifted_by_the_jump():
    (fire,) = local_day_fires("30 2 * * *", SPRING)
    assert fire == utc(2026, 3, 29, 1, 30)  # 03:30 CEST: 02:30 does not exist
    assert fire.astimezone(PRAGUE).strftime("%H:%M %Z") == "03:30 CEST"
    (six,) = local_day_fires("0 6 * * *", SPRING)
    assert six == utc(2026, 3, 29, 4, 0)  # 06:00 CEST


def test_fall_back_a_repeated_time_fires_at_its_first_occurrence():
    (fire,) = local_day_fires("30 2 * * *", AUTUMN)
    assert fire == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not 02:30 CET an hour later
    (six,) = local_day_fires("0 6 * * *", AUTUMN)
    assert six == utc(2026, 10, 25, 5, 0)  # 06:00 CET


def test_an_hourly_job_fires_every_real_hour_23_and_25_times():
    spring = local_day_fires("0 * * * *", SPRING)
    autumn = local_day_fires("0 * * * *", AUTUMN)
    assert len(spring) == 23 and len(set(spring)) == 23
    assert len(autumn) == 25 and len(set(autumn)) == 25
    for fires in (spring, autumn):  # exactly one hour apart, all day
        assert {b - a for a, b in itertools.pairwise(fires)} == {timedelta(hours=1)}
    # a quarter-hourly job: 92 and 100 distinct times
    assert len(local_day_fires("*/15 * * * *", SPRING)) == 92
    assert len(local_day_fires("*/15 * * * *", AUTUMN)) == 100


def test_a_job_in_the_repeated_hour_with_a_fixed_hour_list_fires_once():
    # hour field not "*": 02:15 fires once in autumn, at the first 02:15
    fires = local_day_fires("15 1,2,3 * * *", AUTUMN)
    assert [t.astimezone(PRAGUE).strftime("%H:%M %Z") for t in fires] == [
        "01:15 CEST",
        "02:15 CEST",
        "03:15 CET",
    ]


def test_next_and_last_fire_across_the_changes():
    cron = CronExpr.parse("0 6 * * *")
    assert next_fire(cron, utc(2026, 3, 28, 5, 0), PRAGUE) == utc(2026, 3, 29, 4, 0)
    assert last_fire(cron, utc(2026, 3, 29, 3, 59), PRAGUE) == utc(2026, 3, 28, 5, 0)
    assert last_fire(cron, utc(2026, 3, 29, 4, 0), PRAGUE) == utc(2026, 3, 29, 4, 0)
    assert next_fire(cron, utc(2026, 10, 25, 4, 0), PRAGUE) == utc(2026, 10, 25, 5, 0)
    hourly = CronExpr.parse("0 * * * *")
    assert next_fire(hourly, utc(2026, 10, 25, 0, 0), PRAGUE) == utc(2026, 10, 25, 1, 0)
    assert next_fire(hourly, utc(2026, 10, 25, 1, 0), PRAGUE) == utc(2026, 10, 25, 2, 0)


# ------------------------------------------------------------------------------- properties
def _field(lo: int, hi: int) -> st.SearchStrategy[str]:
    num = st.integers(lo, hi)
    return st.one_of(
        st.just("*"),
        num.map(str),
        st.tuples(num, num).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.integers(1, 12).map(lambda s: f"*/{s}"),
        st.lists(num, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    )


crons = st.tuples(_field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 6)).map(
    " ".join
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def brute_force_next(cron: CronExpr, after: datetime) -> datetime | None:
    """Every minute of every matching day, in UTC (no DST): the definition of the next fire."""
    d = after.date()
    for _ in range(366 * 8):
        if cron.matches_day(d):
            for h in range(24):
                for m in range(60):
                    t = datetime(d.year, d.month, d.day, h, m, tzinfo=UTC)
                    if t > after and m in cron.minutes and h in cron.hours:
                        return t
        d += timedelta(days=1)
    return None


@settings(max_examples=60, deadline=None)
@given(crons, instants)
def test_next_fire_matches_a_minute_by_minute_search_in_utc(text, after):
    cron = CronExpr.parse(text)
    assert next_fire(cron, after, UTC) == brute_force_next(cron, after)


@settings(max_examples=80, deadline=None)
@given(crons, instants)
def test_in_prague_fires_are_ordered_distinct_and_next_last_agree(text, after):
    cron = CronExpr.parse(text)
    nxt = next_fire(cron, after, PRAGUE)
    if nxt is None:
        return
    assert nxt > after
    assert last_fire(cron, nxt, PRAGUE) == nxt
    prev = last_fire(cron, after, PRAGUE)
    assert prev is None or prev <= after
    # nothing fires strictly between the previous and the next fire time
    if prev is not None and nxt - prev < timedelta(days=40):
        between = list(fires_between(cron, prev, nxt, PRAGUE))
        assert between == [prev, nxt]
    # each fire time is on the schedule: the wall time matches, or it was in the spring gap
    local = nxt.astimezone(PRAGUE)
    in_gap = local.dst() and (local - timedelta(hours=1)).replace(tzinfo=None) != (
        local - timedelta(hours=1)
    ).astimezone(PRAGUE).replace(tzinfo=None)
    assert (local.minute in cron.minutes and local.hour in cron.hours) or in_gap
