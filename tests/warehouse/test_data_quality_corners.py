"""data_quality and report_contacts on the corners their day-sized SQL must get right, against
values worked out by hand from the table below (time zone UTC, so a day is a UTC day).

Campaign Q, five snapshots: T1 11-01 10:00, T2 11-02 10:00, T3 11-02 14:00, T4 11-03 10:00,
T5 11-04 10:00 (UTC, 2026). Raw states per snapshot (- = not listed):

  q1  WA_READ  WA_DELIVERED  WA_SENT       WA_SENT    WA_SENT    backwards twice on 11-02
  q2  WA_READ  -             WA_DELIVERED  WA_DEL..   WA_DEL..   vanishes, back lower (11-02)
  q3  WA_DEL.. WA_DELIVERED  WA_DELIVERED  Delivered  Delivered  raw text only (11-03)
  q4  WA_READ  WA_DELIVERED  WA_DELIVERED  Delivered  Delivered  backwards, then raw text only
  q5  Successfully Submitted x3            WA_SENT    WA_SENT    legacy flag only (11-03)
  q6  WA_SENT  WA_SENT       WA_SENT       -          -          vanishes for good (11-03)

History intervals (state, from, to; history is kept on states, so a change of raw text or of the
legacy flag inside a state is no new interval): q1 read T1-T2, delivered T2-T3, sent T3-; q2 read
T1-T2, delivered T3-; q3 delivered T1-; q4 read T1-T2, delivered T2-; q5 sent (legacy: its first
snapshot's raw text) T1-; q6 sent T1-T4.

went_backwards (an interval starting on the day, in a state ranked below the best earlier one):
  11-01  none: every interval is the contact's first
  11-02  q1 (delivered@T2 after read; sent@T3 after read), q2 (delivered@T3, read before the gap),
         q4 (delivered@T2 after read): 3, example q1 with its first move, read -> delivered
  11-03  none: q3 and q4 only change raw text (WA_DELIVERED -> Delivered), q5 its legacy flag
  11-04  none (nothing changed at T5)
vanished (an interval ending on the day with no interval of the contact starting then):
  11-02  q2 (read ends at T2, back only at T3); q1 and q4 moved at T2/T3: 1, q2
  11-03  q6 (sent ends at T4); q3, q4, q5 continue at T4: 1, q6
legacy_mapped: the contacts whose interval began in the legacy state: q5 on every day (its one
sent interval began with Successfully Submitted). The exact legacy rows of each snapshot are
snapshot_log.legacy_rows (3 at T1..T3, 0 at T4 and T5).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from warehouse_helpers import build_quiet, ingest_snapshot, make_config, query, query_dicts, utc

from pipeline.core.config import Config

T1, T2, T3, T4, T5 = (
    "2026-11-01T10:00:00+00:00",
    "2026-11-02T10:00:00+00:00",
    "2026-11-02T14:00:00+00:00",
    "2026-11-03T10:00:00+00:00",
    "2026-11-04T10:00:00+00:00",
)
CORNERS: dict[str, tuple[str | None, ...]] = {
    "q1": ("WA_READ", "WA_DELIVERED", "WA_SENT", "WA_SENT", "WA_SENT"),
    "q2": ("WA_READ", None, "WA_DELIVERED", "WA_DELIVERED", "WA_DELIVERED"),
    "q3": ("WA_DELIVERED", "WA_DELIVERED", "WA_DELIVERED", "Delivered", "Delivered"),
    "q4": ("WA_READ", "WA_DELIVERED", "WA_DELIVERED", "Delivered", "Delivered"),
    "q5": ("Successfully Submitted",) * 3 + ("WA_SENT", "WA_SENT"),
    "q6": ("WA_SENT", "WA_SENT", "WA_SENT", None, None),
}


@pytest.fixture(scope="module")
def corners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    config = make_config(
        tmp_path_factory.mktemp("corners") / "data", timezone="UTC", stuck_after_minutes=60
    )
    for i, when in enumerate((T1, T2, T3, T4, T5)):
        rows = [(c, states[i]) for c, states in CORNERS.items() if states[i] is not None]
        ingest_snapshot(config, "Q", when, rows)
        if i in (1, 3):  # built in steps, as nightly jobs would
            build_quiet(config)
    build_quiet(config)
    yield config


def findings(config: Config, day: str) -> dict[str, tuple[int, str | None, str]]:
    rows = query_dicts(config, f"SELECT * FROM data_quality(DATE '{day}', tz := 'UTC')")
    assert {r["campaign_id"] for r in rows} <= {"Q"}
    return {r["check_name"]: (r["findings"], r["example_contact_id"], r["detail"]) for r in rows}


def test_history_is_as_worked_out(corners: Config) -> None:
    got = query(
        corners,
        "SELECT contact_id, state, raw_state, valid_from, valid_to FROM state_history "
        "ORDER BY contact_id, valid_from",
    )
    assert [(c, s, f, t) for c, s, _, f, t in got if c in ("q2", "q4")] == [
        ("q2", "read", utc(T1), utc(T2)),
        ("q2", "delivered", utc(T3), None),
        ("q4", "read", utc(T1), utc(T2)),
        ("q4", "delivered", utc(T2), None),
    ]
    # the interval keeps its first snapshot's raw text
    assert [(c, s, r) for c, s, r, _, _ in got if c in ("q3", "q5")] == [
        ("q3", "delivered", "WA_DELIVERED"),
        ("q5", "sent", "Successfully Submitted"),
    ]
    assert query(corners, "SELECT legacy_rows FROM snapshot_log ORDER BY snapshot_time") == [
        (1,),
        (1,),
        (1,),
        (0,),
        (0,),
    ]


def test_first_day_has_nothing_to_compare_with(corners: Config) -> None:
    assert findings(corners, "2026-11-01") == {
        "legacy_mapped": (1, "q5", "Successfully Submitted counted as sent"),
    }


def test_backwards_twice_and_back_after_vanishing(corners: Config) -> None:
    assert findings(corners, "2026-11-02") == {
        "went_backwards": (3, "q1", "e.g. read -> delivered"),
        "vanished": (1, "q2", "listed in a snapshot, missing from the next one"),
        "legacy_mapped": (1, "q5", "Successfully Submitted counted as sent"),
    }


def test_raw_text_and_legacy_flag_changes(corners: Config) -> None:
    assert findings(corners, "2026-11-03") == {
        "vanished": (1, "q6", "listed in a snapshot, missing from the next one"),
        "legacy_mapped": (1, "q5", "Successfully Submitted counted as sent"),
    }


def test_quiet_day_and_default_day(corners: Config) -> None:
    assert findings(corners, "2026-11-04") == {
        "legacy_mapped": (1, "q5", "Successfully Submitted counted as sent"),
    }
    assert query(corners, "SELECT count(*) FROM data_quality") == [(1,)]


def delivered_not_read(config: Config, day: str) -> list[tuple[str, datetime, int]]:
    return [
        (r[0], r[1], r[2])
        for r in query(
            config,
            f"SELECT contact_id, state_since, minutes FROM report_contacts(DATE '{day}', "
            "tz := 'UTC', days := 30, stuck_minutes := 60) WHERE list = 'delivered_not_read'",
        )
    ]


def test_report_contacts_at_the_newest_and_an_older_snapshot(corners: Config) -> None:
    # 11-04: T5 is Q's newest snapshot (the contacts are history_open's)
    # (the raw text Delivered at T4 does not restart the time in state: since T1 and T2)
    assert delivered_not_read(corners, "2026-11-04") == [
        ("q3", utc(T1), 72 * 60),
        ("q4", utc(T2), 48 * 60),
        ("q2", utc(T3), 44 * 60),
    ]
    # 11-02: T3, an older snapshot (read from the whole history)
    assert delivered_not_read(corners, "2026-11-02") == [
        ("q3", utc(T1), 28 * 60),
        ("q4", utc(T2), 4 * 60),
        ("q2", utc(T3), 0),
    ]
