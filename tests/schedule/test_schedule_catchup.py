"""Due runs and catch-up, planned from the run log, with a fake clock (no real waiting)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schedule_helpers import (
    FakeClock,
    Recorder,
    config,
    job,
    records,
    scheduler,
    serve_until,
    utc,
)

from pipeline.core.cron import CronExpr, fires_between, last_fire, next_fire
from pipeline.schedule.plan import attempts_of, gave_up

PRAGUE = ZoneInfo("Europe/Prague")


def test_first_start_runs_each_job_once_and_the_report_of_yesterday(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 9, 10))  # 10:10 Prague
    rec = Recorder(clock)
    s = scheduler(config(data_dir), clock, rec)
    s.run_due()
    assert [(c.kind, c.key) for c in rec.calls] == [
        ("export", "2026-11-28T09:00:00Z"),
        ("build", "2026-11-28T08:30:00Z"),
        ("report", "2026-11-27"),
    ]
    assert [r.status for r in records(data_dir)] == ["ok", "ok", "ok"]
    s.run_due()  # nothing more is due until the next fire time
    assert len(rec.calls) == 3


def test_after_three_days_down_one_start_renders_three_reports_and_one_export(data_dir):
    clock = FakeClock(utc(2026, 11, 20, 5, 30))  # 06:30 Prague, 20 November
    rec = Recorder(clock)
    cfg = config(data_dir)
    serve_until(scheduler(cfg, clock, rec), clock, utc(2026, 11, 21, 9, 0))
    reports = [c.key for c in rec.of("report")]
    assert reports == ["2026-11-19", "2026-11-20"]
    exports_before = len(rec.of("export"))

    clock.advance(days=3)  # the machine was off: 24 November 09:00 UTC
    rec.calls.clear()
    scheduler(cfg, clock, rec).run_due()  # one start (`campaign-reports run`)

    assert [c.key for c in rec.of("report")] == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert [c.day for c in rec.of("report")] == [date(2026, 11, d) for d in (21, 22, 23)]
    (export,) = rec.of("export")
    assert export.key == "2026-11-24T09:00:00Z"
    log = [r for r in records(data_dir) if r.kind == "export"][-1]
    assert log.reason == "catch-up" and log.missed == 72  # 09:00 on the 21st .. 08:00 today
    assert log.missed_since == "2026-11-21T09:00:00Z"
    assert len(rec.of("build")) == 1
    assert exports_before > 20
    runs = records(data_dir)
    assert [r.reason for r in runs if r.kind == "report"][-3:] == [
        "catch-up",
        "catch-up",
        "scheduled",
    ]


def test_a_week_of_scheduling_across_spring_forward(data_dir):
    clock = FakeClock(utc(2026, 3, 26, 12, 0))
    rec = Recorder(clock, seconds=5)
    jobs = (job("export", "0 * * * *"), job("report", "0 6 * * *"), job("retention", "30 2 * * *"))
    serve_until(scheduler(config(data_dir, jobs), clock, rec), clock, utc(2026, 4, 1, 12, 0))

    reports = [c.key for c in rec.of("report")]
    assert reports == [f"2026-03-{d}" for d in range(25, 32)]  # once per day, none skipped
    assert [c.at.astimezone(PRAGUE).strftime("%H:%M") for c in rec.of("report")[1:]] == [
        "06:00"
    ] * 6
    exports = [c.key for c in rec.of("export")]
    assert len(exports) == len(set(exports))
    per_day = Counter(c.at.astimezone(PRAGUE).date() for c in rec.of("export"))
    assert per_day[date(2026, 3, 29)] == 23  # one per real hour
    assert per_day[date(2026, 3, 28)] == per_day[date(2026, 3, 30)] == 24
    night = [c.at.astimezone(PRAGUE) for c in rec.of("retention")]
    assert [t.strftime("%m-%d %H:%M") for t in night[1:]] == [
        "03-27 02:30",
        "03-28 02:30",
        "03-29 03:30",  # 02:30 does not exist that night: once, when it would have been
        "03-30 02:30",
        "03-31 02:30",
        "04-01 02:30",
    ]


def test_a_week_of_scheduling_across_fall_back(data_dir):
    clock = FakeClock(utc(2026, 10, 22, 12, 0))
    rec = Recorder(clock, seconds=5)
    jobs = (job("export", "0 * * * *"), job("report", "0 6 * * *"), job("retention", "30 2 * * *"))
    serve_until(scheduler(config(data_dir, jobs), clock, rec), clock, utc(2026, 10, 28, 12, 0))

    assert [c.key for c in rec.of("report")] == [f"2026-10-{d}" for d in range(21, 28)]
    per_day = Counter(c.at.astimezone(PRAGUE).date() for c in rec.of("export"))
    assert per_day[date(2026, 10, 25)] == 25
    nights = Counter(c.at.astimezone(PRAGUE).date() for c in rec.of("retention"))
    assert nights[date(2026, 10, 25)] == 1  # 02:30 happens twice; the job runs once


def test_a_failed_run_is_retried_with_backoff_then_left_for_a_person(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 5, 0))  # 06:00 Prague
    rec = Recorder(clock, seconds=1)
    rec.failing = {"report"}
    cfg = config(data_dir, (job("report", "0 6 * * *"),), retry_minutes=10, max_attempts=3)
    s = scheduler(cfg, clock, rec)
    s.run_due()
    assert len(rec.of("report")) == 1
    clock.advance(minutes=9)
    s.run_due()
    assert len(rec.of("report")) == 1  # not before 10 minutes
    clock.advance(minutes=2)
    s.run_due()
    assert len(rec.of("report")) == 2
    clock.advance(minutes=19)
    s.run_due()
    assert len(rec.of("report")) == 2  # then 20 minutes
    clock.advance(minutes=2)
    s.run_due()
    assert len(rec.of("report")) == 3
    clock.advance(hours=5)
    s.run_due()
    assert len(rec.of("report")) == 3  # three failures: it gives up on 27 November
    assert [r.attempt for r in records(data_dir)] == [1, 2, 3]
    assert [r.reason for r in records(data_dir)] == ["scheduled", "retry", "retry"]

    rec.failing = set()  # fixed; the next morning renders the new day, not the failed one
    clock.t = utc(2026, 11, 29, 5, 0)
    s.run_due()
    assert [c.key for c in rec.of("report")][-1] == "2026-11-28"
    (stuck,) = gave_up(s.jobs, attempts_of(s.runlog.records()), clock(), s.policy)
    assert stuck[1] == "2026-11-27"


def test_a_failed_export_is_retried_and_a_new_hour_runs_anyway(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    rec = Recorder(clock, seconds=1)
    rec.failing = {"export"}
    cfg = config(data_dir, (job("export", "0 * * * *"),), retry_minutes=30, max_attempts=1)
    s = scheduler(cfg, clock, rec)
    s.run_due()
    clock.advance(minutes=40)
    s.run_due()
    assert len(rec.of("export")) == 1  # max_attempts = 1: no retry of 09:00
    clock.advance(minutes=20)
    s.run_due()
    assert [c.key for c in rec.of("export")] == ["2026-11-28T09:00:00Z", "2026-11-28T10:00:00Z"]


def test_an_abandoned_run_is_due_again_at_once(data_dir):
    from pipeline.store.runlog import RunLog, RunRecord

    clock = FakeClock(utc(2026, 11, 28, 5, 10))
    RunLog(data_dir).append(
        RunRecord(
            job="report",
            kind="report",
            key="2026-11-27",
            day="2026-11-27",
            scheduled_for="2026-11-28T05:00:00Z",
            started="2026-11-28T05:00:00Z",
            ended="2026-11-28T05:01:00Z",
            status="abandoned",
        )
    )
    rec = Recorder(clock)
    scheduler(config(data_dir, (job("report", "0 6 * * *"),)), clock, rec).run_due()
    assert [c.key for c in rec.of("report")] == ["2026-11-27"]


def test_catch_up_is_bounded_by_catch_up_days(data_dir):
    clock = FakeClock(utc(2026, 11, 1, 6, 0))
    rec = Recorder(clock, seconds=1)
    cfg = config(data_dir, (job("report", "0 6 * * *"),), catch_up_days=5)
    scheduler(cfg, clock, rec).run_due()
    clock.advance(days=30)
    rec.calls.clear()
    scheduler(cfg, clock, rec).run_due()
    assert [c.key for c in rec.of("report")] == [f"2026-11-{d:02d}" for d in range(26, 31)]


def test_day_lag_zero_reports_on_the_day_of_the_run(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 22, 30))  # 23:30 Prague
    rec = Recorder(clock)
    scheduler(config(data_dir, (job("report", "0 23 * * *", day_lag=0),)), clock, rec).run_due()
    assert [c.key for c in rec.of("report")] == ["2026-11-28"]


def test_a_job_in_another_time_zone(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 12, 0))
    rec = Recorder(clock)
    cfg = config(data_dir, (job("report", "0 6 * * *", timezone="America/New_York"),))
    s = scheduler(cfg, clock, rec)
    s.run_due()
    (call,) = rec.of("report")
    assert call.key == "2026-11-27"
    assert s.due() == []
    assert next_fire(s.jobs[0].cron, clock(), s.jobs[0].tz) == utc(2026, 11, 29, 11, 0)


def test_jobs_run_in_config_order_and_replanning_picks_up_new_fire_times(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 5, 59))
    rec = Recorder(clock, seconds=120)  # each run takes two minutes
    cfg = config(data_dir, (job("export", "0 * * * *"), job("report", "0 6 * * *")))
    scheduler(cfg, clock, rec).run_due()
    # 05:00 UTC export; the clock passes 06:00 UTC meanwhile, and the plan is made again after
    # each run: the 06:00 export comes first (config order), then the report
    assert [(c.kind, c.key) for c in rec.calls] == [
        ("export", "2026-11-28T05:00:00Z"),
        ("export", "2026-11-28T06:00:00Z"),
        ("report", "2026-11-27"),
    ]
    assert clock() - utc(2026, 11, 28, 5, 59) == timedelta(minutes=6)


# ------------------------------------------------------------------------------ property


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.datetimes(
        min_value=utc(2026, 3, 20).replace(tzinfo=None),
        max_value=utc(2026, 11, 1).replace(tzinfo=None),
    ),
    segments=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 80)), min_size=1, max_size=4),
)
def test_up_and_down_any_way_every_day_is_reported_once_and_no_export_twice(
    tmp_path_factory, start, segments
):
    """However the machine goes up and down, each day from the first report on is rendered
    exactly once (none skipped, none doubled, DST or not), and no export hour runs twice."""
    data_dir = tmp_path_factory.mktemp("data")
    clock = FakeClock(start.replace(tzinfo=PRAGUE).astimezone(utc(2026, 1, 1).tzinfo))
    rec = Recorder(clock, seconds=20)
    cfg = config(data_dir, (job("export", "0 * * * *"), job("report", "0 6 * * *")))
    six = CronExpr.parse("0 6 * * *")
    first_due = last_fire(six, clock(), PRAGUE)
    assert first_due is not None

    def reported() -> list[str]:
        return [r.day for r in records(data_dir) if r.kind == "report"]

    for up, down in segments:
        started = clock()
        serve_until(scheduler(cfg, clock, rec), clock, started + timedelta(hours=up))
        # every day whose 06:00 had come when the scheduler started is rendered by now
        owed = {
            (t.astimezone(PRAGUE).date() - timedelta(days=1)).isoformat()
            for t in fires_between(six, first_due, started, PRAGUE)
        }
        assert owed <= set(reported())
        clock.advance(hours=down)

    runs = records(data_dir)
    reports = reported()
    assert all(r.status == "ok" for r in runs)
    assert len(reports) == len(set(reports))  # none twice
    days = [date.fromisoformat(d) for d in reports]
    assert all((b - a).days == 1 for a, b in itertools.pairwise(days))  # in order, no gap
    exports = [r.key for r in runs if r.kind == "export"]
    assert len(exports) == len(set(exports))  # no hour exported twice
    # each start made at most one catch-up export
    assert sum(1 for r in runs if r.kind == "export" and r.missed) <= len(segments)
