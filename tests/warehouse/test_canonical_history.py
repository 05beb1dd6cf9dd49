"""History is kept on states, not on raw text: a change of raw text inside one state (letter case,
spaces, CALLING <-> CALL_IN_PROGRESS, WA_SENT <-> legacy SUCCESS) opens no interval, makes no
transition and no backward move, and does not restart the stuck clock.

Campaign K (time zone Europe/Prague, stuck after 60 minutes), snapshots on 2026-11-02 (UTC):
S1 10:00, S2 10:30, S3 11:00, S4 11:30. Raw states (CSV export files):

  k1  CALL_IN_PROGRESS  CALLING                  In Progress   IN PROGRESS  in_progress all along
  k2  WA_SENT           Successfully Submitted   WA_SENT       sent         sent all along
  k3  WA_READ           WA_DELIVERED             Delivered     DELIVERED    read, then delivered
  k4  CALLING           WA_SENT                  CALL_IN_PROGRESS  calling  in_progress, sent,
                                                                            in_progress again

Worked out by hand:
  history  k1 in_progress S1- (raw CALL_IN_PROGRESS); k2 sent S1- (raw WA_SENT, not legacy);
           k3 read S1-S2, delivered S2- (raw WA_DELIVERED); k4 in_progress S1-S2 (CALLING),
           sent S2-S3 (WA_SENT), in_progress S3- (CALL_IN_PROGRESS)   -> 6 rows
  moves    on 2026-11-02: read -> delivered 1 (k3), in_progress -> sent 1, sent -> in_progress 1
           (k4); nothing for k1 and k2
  backward k3 once (read -> delivered); k4 in_progress after sent is rank 0 < 1: a second one
  stuck    at S4 (11:30): k1 in In progress since S1, 90 min = 5400 s > 3600: stuck;
           k4 since S3, 30 min: not. At S3: k1 60 min = 3600 s, not strictly longer: not stuck.
  legacy   the snapshot S2 has one legacy row (k2); S1, S3, S4 none
The same rows come out of a build in steps (after S2, then after S4: the open intervals carry
on with other raw text) and of one build of all four snapshots (k4's gap inside one batch).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from warehouse_helpers import build_quiet, ingest_snapshot, make_config, query, utc

from pipeline.core.config import Config

S1, S2, S3, S4 = (
    "2026-11-02T10:00:00+00:00",
    "2026-11-02T10:30:00+00:00",
    "2026-11-02T11:00:00+00:00",
    "2026-11-02T11:30:00+00:00",
)
RAW: dict[str, tuple[str, str, str, str]] = {
    "k1": ("CALL_IN_PROGRESS", "CALLING", "In Progress", "IN PROGRESS"),
    "k2": ("WA_SENT", "Successfully Submitted", "WA_SENT", "sent"),
    "k3": ("WA_READ", "WA_DELIVERED", "Delivered", "DELIVERED"),
    "k4": ("CALLING", "WA_SENT", "CALL_IN_PROGRESS", "calling"),
}
HISTORY = [
    ("k1", "in_progress", "CALL_IN_PROGRESS", False, utc(S1), None),
    ("k2", "sent", "WA_SENT", False, utc(S1), None),
    ("k3", "read", "WA_READ", False, utc(S1), utc(S2)),
    ("k3", "delivered", "WA_DELIVERED", False, utc(S2), None),
    ("k4", "in_progress", "CALLING", False, utc(S1), utc(S2)),
    ("k4", "sent", "WA_SENT", False, utc(S2), utc(S3)),
    ("k4", "in_progress", "CALL_IN_PROGRESS", False, utc(S3), None),
]


def load(data_dir: Path, *, steps: bool) -> Config:
    config = make_config(data_dir, timezone="Europe/Prague", stuck_after_minutes=60)
    for i, when in enumerate((S1, S2, S3, S4)):
        ingest_snapshot(config, "K", when, [(c, raw[i]) for c, raw in RAW.items()])
        if steps and i == 1:
            build_quiet(config)
    build_quiet(config)
    return config


@pytest.fixture(scope="module", params=["in steps", "at once"])
def tenant(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Config]:
    yield load(tmp_path_factory.mktemp("canon") / "data", steps=request.param == "in steps")


def test_a_change_of_raw_text_opens_no_interval(tenant: Config) -> None:
    got = query(
        tenant,
        "SELECT contact_id, state, raw_state, legacy, valid_from, valid_to FROM state_history "
        "ORDER BY contact_id, valid_from",
    )
    assert got == HISTORY


def test_only_state_changes_are_transitions(tenant: Config) -> None:
    got = query(
        tenant,
        "SELECT day, from_state, to_state, contacts FROM state_transitions ORDER BY ALL",
    )
    day = date(2026, 11, 2)
    assert got == [
        (day, "in_progress", "sent", 1),
        (day, "read", "delivered", 1),
        (day, "sent", "in_progress", 1),
    ]


def test_no_backward_move_for_a_new_spelling(tenant: Config) -> None:
    got = query(
        tenant,
        "SELECT findings, example_contact_id FROM data_quality(DATE '2026-11-02') "
        "WHERE check_name = 'went_backwards'",
    )
    # k3 (read -> delivered) and k4 (sent -> in_progress); k1, k2 and k3's Delivered are not
    assert got == [(2, "k3")]


def test_the_stuck_clock_runs_on_through_new_spellings(tenant: Config) -> None:
    got = query(
        tenant,
        "SELECT snapshot_time, in_progress, retry_scheduled, stuck FROM stuck_counts "
        "ORDER BY snapshot_time",
    )
    assert got == [
        (utc(S1), 0, 0, 0),
        (utc(S2), 0, 0, 0),
        (utc(S3), 0, 0, 0),  # k1: 3600 s, not strictly longer than 60 min
        (utc(S4), 1, 0, 1),  # k1: 5400 s
    ]
    assert query(
        tenant, "SELECT contact_id, in_state_since, seconds_in_state FROM stuck_contacts"
    ) == [("k1", utc(S1), 5400)]


def test_legacy_rows_are_counted_per_snapshot(tenant: Config) -> None:
    got = [
        query(tenant, "SELECT legacy_mapped FROM funnel(as_of := ?)", [utc(when)])[0][0]
        for when in (S1, S2, S3, S4)
    ]
    assert got == [0, 1, 0, 0]
    assert query(tenant, "SELECT legacy_mapped FROM campaign_daily") == [(0,)]  # S4 ends the day


def test_open_intervals_without_raw_text_or_legacy_flag_lose_no_contact(tmp_path: Path) -> None:
    # A warehouse whose open intervals have no raw state and no legacy flag (NULL: both columns
    # allow it, e.g. from another engine's results) goes on as before: the contacts that stay in
    # their state keep their interval, k3 moves on, and nothing is dropped.
    import duckdb

    from pipeline.warehouse.db import warehouse_paths

    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    ingest_snapshot(config, "K", S1, [(k, raw[0]) for k, raw in RAW.items()])
    build_quiet(config)
    con = duckdb.connect(str(warehouse_paths(config)[0]))
    try:
        con.execute("UPDATE history_open SET raw_state = NULL, legacy = NULL")
    finally:
        con.close()
    ingest_snapshot(config, "K", S2, [(k, raw[1]) for k, raw in RAW.items()])
    build_quiet(config)
    got = query(
        config,
        "SELECT contact_id, state, raw_state, legacy, valid_from, valid_to FROM state_history "
        "ORDER BY ALL",
    )
    # by hand: k1 in_progress and k2 sent from S1 on, unchanged (their intervals keep the NULLs);
    # k3 read S1-S2 then delivered; k4 in_progress S1-S2 then sent
    assert got == [
        ("k1", "in_progress", None, None, utc(S1), None),
        ("k2", "sent", None, None, utc(S1), None),
        ("k3", "delivered", "WA_DELIVERED", False, utc(S2), None),
        ("k3", "read", None, None, utc(S1), utc(S2)),
        ("k4", "in_progress", None, None, utc(S1), utc(S2)),
        ("k4", "sent", "WA_SENT", False, utc(S2), None),
    ]
    assert query(config, "SELECT contacts FROM snapshot_states ORDER BY snapshot_time") == [
        (4,),
        (4,),
    ]


@pytest.mark.parametrize("steps", [True, False], ids=["in steps", "at once"])
def test_a_move_out_of_two_unknown_values_counts_from_the_first(
    tmp_path: Path, steps: bool
) -> None:
    # Two values the catalog does not know in a row are two intervals but one stretch of other
    # (no move between them); a move out of it counts its time from the first. By hand, with
    # S1-S4 half an hour apart:
    #   x  FOO, BAR, WA_SENT, WA_SENT    other from S1, sent at S3: other -> sent, 60 minutes
    #   y  Initial, FOO, BAR, WA_READ    initial -> other at S2 (30 minutes), other -> read at
    #                                    S4 (from S2: 60 minutes)
    #   p1-p3  Initial all along (they keep each file's share of unknown values under half)
    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    raw = {
        "x": ("FOO", "BAR", "WA_SENT", "WA_SENT"),
        "y": ("Initial", "FOO", "BAR", "WA_READ"),
        **{f"p{n}": ("Initial",) * 4 for n in (1, 2, 3)},
    }
    for i, when in enumerate((S1, S2, S3, S4)):
        ingest_snapshot(config, "K", when, [(c, states[i]) for c, states in raw.items()])
        if steps or i == 3:
            build_quiet(config)
    moves = query(
        config,
        "SELECT day, from_state, to_state, contacts, median_minutes_in_from_state "
        "FROM state_transitions ORDER BY ALL",
    )
    assert moves == [
        (date(2026, 11, 2), "initial", "other", 1, 30.0),
        (date(2026, 11, 2), "other", "read", 1, 60.0),
        (date(2026, 11, 2), "other", "sent", 1, 60.0),
    ]
    # the same from the formula (another zone than the stored one)
    assert query(
        config,
        "SELECT from_state, to_state, contacts, median_minutes_in_from_state "
        "FROM transitions_of(tz := 'UTC') ORDER BY ALL",
    ) == [(m[1], m[2], m[3], m[4]) for m in moves]
