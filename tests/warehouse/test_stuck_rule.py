"""Stuck, to the second: In progress or Retry scheduled for strictly longer than the threshold, in
real elapsed time from the first snapshot of the contact's current run in that state.

Campaign S (threshold 60 min = 3600 s), 2026-11-02 (UTC): T0 10:00:00, T1 10:59:59 (3599 s after
T0), T2 11:00:01 (3601 s), T3 11:00:11 (3611 s: 60 min 11 s, which whole minutes would call 60).
  s1  CALL_IN_PROGRESS, CALLING, In Progress, in progress   -> In progress since T0
  s2  RETRY_SCHEDULED, retry scheduled, Retry Scheduled, RETRY_SCHEDULED  -> since T0
  s3  CALLING, WA_SENT, CALLING, CALLING                    -> In progress again since T2
  stuck: T0 0, T1 0 (3599 s), T2 s1 + s2 (3601 s), T3 s1 + s2 (3611 s); s3 at T3: 10 s.
  A threshold of 3601 s (60 + 1/60 min) is not passed at T2: exactly the threshold is not stuck.

Campaign D across the night the clocks go back in Europe/Prague (Sunday 2026-10-25, 03:00 CEST
-> 02:00 CET), threshold 90 min = 5400 s:
  D1 2026-10-24T23:30Z = 01:30 CEST, D2 00:30Z = 02:30 CEST, D3 01:30Z = 02:30 CET (the same
  wall time again). d1 In progress (CALLING, call_in_progress, CALLING) since D1: at D2 3600 s,
  at D3 7200 s of real time (wall clocks say 60 min): stuck at D3 only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from warehouse_helpers import analyst, build_quiet, ingest_snapshot, make_config, query, utc

from pipeline.core.config import Config

T = (
    "2026-11-02T10:00:00+00:00",
    "2026-11-02T10:59:59+00:00",
    "2026-11-02T11:00:01+00:00",
    "2026-11-02T11:00:11+00:00",
)
S_RAW = {
    "s1": ("CALL_IN_PROGRESS", "CALLING", "In Progress", "in progress"),
    "s2": ("RETRY_SCHEDULED", "retry scheduled", "Retry Scheduled", "RETRY_SCHEDULED"),
    "s3": ("CALLING", "WA_SENT", "CALLING", "CALLING"),
}
D = ("2026-10-24T23:30:00+00:00", "2026-10-25T00:30:00+00:00", "2026-10-25T01:30:00+00:00")
D_RAW = ("CALLING", "call_in_progress", "CALLING")


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    config = make_config(
        tmp_path_factory.mktemp("stuck") / "data",
        timezone="Europe/Prague",
        stuck_after_minutes=60,
    )
    for i, when in enumerate(T):
        ingest_snapshot(config, "S", when, [(c, raw[i]) for c, raw in S_RAW.items()])
    for i, when in enumerate(D):
        ingest_snapshot(config, "D", when, [("d1", D_RAW[i])])
    build_quiet(config)
    yield config


def counts(config: Config, campaign: str, threshold: float | None = None) -> list[tuple]:
    return query(
        config,
        "SELECT snapshot_time, in_progress, retry_scheduled, stuck "
        "FROM stuck_counts(threshold_minutes := ?) WHERE campaign_id = ? ORDER BY snapshot_time",
        [threshold, campaign],
    )


def test_one_second_below_and_above_the_threshold(tenant: Config) -> None:
    assert counts(tenant, "S") == [
        (utc(T[0]), 0, 0, 0),
        (utc(T[1]), 0, 0, 0),  # 3599 s
        (utc(T[2]), 1, 1, 2),  # 3601 s
        (utc(T[3]), 1, 1, 2),  # 3611 s = 60 min 11 s: stuck, no truncation to minutes
    ]
    # the configured threshold is the view's
    assert query(tenant, "SELECT stuck FROM stuck_counts WHERE campaign_id = 'S' ORDER BY 1") == [
        (0,),
        (0,),
        (2,),
        (2,),
    ]


def test_exactly_the_threshold_is_not_stuck(tenant: Config) -> None:
    assert [r[3] for r in counts(tenant, "S", 60 + 1 / 60)] == [0, 0, 0, 2]  # 3601 s; 3611 s


def test_stuck_contacts_measure_seconds_from_the_first_snapshot_of_the_run(tenant: Config) -> None:
    got = query(
        tenant,
        "SELECT contact_id, state, in_state_since, seconds_in_state FROM stuck_contacts "
        "WHERE campaign_id = 'S' ORDER BY contact_id",
    )
    assert got == [
        ("s1", "in_progress", utc(T[0]), 3611),
        ("s2", "retry_scheduled", utc(T[0]), 3611),
    ]


def test_across_the_night_the_clocks_go_back(tenant: Config) -> None:
    expected = [(utc(D[0]), 0, 0, 0), (utc(D[1]), 0, 0, 0), (utc(D[2]), 1, 0, 1)]
    assert counts(tenant, "D", 90) == expected
    # the same in a session that shows local time: elapsed time is real time, not wall time
    con = analyst(tenant)
    try:
        con.execute("SET TimeZone = 'Europe/Prague'")
        got = con.execute(
            "SELECT snapshot_time, in_progress, retry_scheduled, stuck FROM "
            "stuck_counts(threshold_minutes := 90) WHERE campaign_id = 'D' ORDER BY 1"
        ).fetchall()
        seconds = con.execute(
            "SELECT seconds_in_state FROM stuck_contacts(as_of := ?, threshold_minutes := 90)",
            [utc(D[2])],
        ).fetchall()
    finally:
        con.close()
    assert [r[1:] for r in got] == [r[1:] for r in expected]
    assert seconds == [(7200,)]


def test_the_report_lists_the_same_stuck_contacts(tenant: Config) -> None:
    # the report of 2026-11-02 shows S at T3: the stuck list is stuck_at's
    got = query(
        tenant,
        "SELECT contact_id, minutes, seconds FROM report_contacts(DATE '2026-11-02', "
        "tz := 'Europe/Prague', stuck_minutes := 60) WHERE campaign_id = 'S' AND list = 'stuck' "
        "ORDER BY contact_id",
    )
    assert got == [("s1", 60, 3611), ("s2", 60, 3611)]
