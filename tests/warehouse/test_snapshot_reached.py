"""The stored funnel ever per snapshot (snapshot_reached, what campaign_age reads) and the hours
the stages were first reached in (reach_hours, what the attention list reads) on the tiny
tenant, worked out by hand from tests/warehouse_helpers.py's TINY_A.

The tiny tenant is built as a nightly job would: S1 alone, then S2 and S3 in one build (one
history step with two snapshots, a contact vanishing between them), then S4 alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_helpers import (
    B1,
    C1,
    S1,
    S2,
    S3,
    S4,
    analyst,
    build_quiet,
    build_tiny_tenant,
    query,
    utc,
)

from pipeline.core.config import Config


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return build_tiny_tenant(tmp_path_factory.mktemp("tiny") / "data")


def reached(config: Config) -> dict[tuple[str, object], tuple[int, int, int]]:
    return {
        (c, t): (s, d, r)
        for c, t, s, d, r in query(
            config,
            "SELECT campaign_id, snapshot_time, reached_sent, reached_delivered, reached_read "
            "FROM snapshot_reached",
        )
    }


def test_the_funnel_ever_at_each_snapshot_by_hand(tiny: Config) -> None:
    got = reached(tiny)
    assert got == {
        # S1: Sent a2, legacy a3 (mapped to sent), Read a6 (which reaches every stage)
        ("A", utc(S1)): (3, 1, 1),
        # S2: + a1 Sent; a3 Delivered; a6 back in Delivered still counts as Read
        ("A", utc(S2)): (4, 2, 1),
        # S3: a6 vanished (not listed: not counted); a8 Sent, a1 Read; a2 Delivery failed is
        # Sent; a4 Sending failed and a7 Removed never reached Sent
        ("A", utc(S3)): (4, 2, 1),
        # S4: a3 Read
        ("A", utc(S4)): (4, 2, 2),
        # B's snapshot is empty; C's complete one has Initial and Invalid record only (its
        # incomplete snapshot is never counted: no row)
        ("B", utc(B1)): (0, 0, 0),
        ("C", utc(C1)): (0, 0, 0),
    }


def test_a_full_rebuild_counts_the_same(tiny: Config, tmp_path: Path) -> None:
    config = build_tiny_tenant(tmp_path / "again", builds=False)
    build_quiet(config, full=True)
    assert reached(config) == reached(tiny)


def test_the_hours_each_stage_was_first_reached_by_hand(tiny: Config) -> None:
    got = query(tiny, "SELECT campaign_id, stage, hour, contacts FROM reach_hours ORDER BY ALL")
    # A's first complete snapshot is S1 (10-24 20:00Z); S2 is 2.5 h later (hour 2), S3 26.5 h
    # (hour 26), S4 27.5 h (hour 27). First reached: Sent at S1 by a2, a3 (legacy) and a6
    # (Read), at S2 by a1, at S3 by a8; Delivered at S1 by a6, at S2 by a3, at S3 by a1 (Read);
    # Read at S1 by a6, at S3 by a1, at S4 by a3. B (empty) and C (Initial, Invalid record; its
    # Read is in an incomplete snapshot) reached nothing.
    assert got == [
        ("A", "delivered", 0, 1),
        ("A", "delivered", 2, 1),
        ("A", "delivered", 26, 1),
        ("A", "read", 0, 1),
        ("A", "read", 26, 1),
        ("A", "read", 27, 1),
        ("A", "sent", 0, 3),
        ("A", "sent", 2, 1),
        ("A", "sent", 26, 1),
    ]


STATES = (
    "initial", "in_progress", "retry_scheduled", "sent", "delivered", "read", "delivery_failed",
    "sending_failed", "error", "invalid_record", "removed", "canceled_by_admin", "other",
)  # fmt: skip


def test_the_state_counts_equal_the_view_and_the_changes_are_as_by_hand(tiny: Config) -> None:
    # the counts per state: as the view state_counts counts them from the history (checked by
    # hand in test_warehouse_queries.py), zeros included
    wide = query(
        tiny,
        f"SELECT campaign_id, snapshot_time, {', '.join(STATES)}, contacts FROM snapshot_states",
    )
    stored = {
        (r[0], r[1], state): n for r in wide for state, n in zip(STATES, r[2:15], strict=True)
    }
    view = query(tiny, "SELECT campaign_id, snapshot_time, state, contacts FROM state_counts")
    assert stored == {(c, t, state): n for c, t, state, n in view}
    assert {(r[0], r[1]): r[15] for r in wide} == {
        ("A", utc(S1)): 7, ("A", utc(S2)): 7, ("A", utc(S3)): 7, ("A", utc(S4)): 7,
        ("B", utc(B1)): 0, ("C", utc(C1)): 2,
    }  # fmt: skip
    changed = dict(
        ((c, t), n)
        for c, t, n in query(
            tiny, "SELECT campaign_id, snapshot_time, changed FROM snapshot_states"
        )
    )
    assert changed == {
        # S1: every contact appears: 7 intervals begin
        ("A", utc(S1)): 7,
        # S2: a1, a2, a3 and a6 change state (an interval ends and one begins: 2 each)
        ("A", utc(S2)): 8,
        # S3: a1, a4, a8 change (2 each), a6 vanishes (1), a7 appears (1)
        ("A", utc(S3)): 8,
        # S4: a3 Read, a5 Retry scheduled
        ("A", utc(S4)): 4,
        ("B", utc(B1)): 0,  # empty: nothing begins or ends
        ("C", utc(C1)): 2,
    }


def test_counts_go_on_from_a_base_of_stored_counts(tiny: Config) -> None:
    # What each history step does: the counts of A's later snapshots (S3, S4) from the stored
    # counts up to S2 (the base) and only the intervals that begin or end after S2; an interval
    # open since before S2 and still open steps nothing after it.
    con = analyst(tiny)
    try:
        con.execute("SET VARIABLE s2 = ?", [utc(S2)])
        for name, sql in {
            "upto_reached": "FROM snapshot_reached WHERE snapshot_time <= getvariable('s2')",
            "upto_states": "FROM snapshot_states WHERE snapshot_time <= getvariable('s2')",
            "later": "SELECT campaign_id, snapshot_id, snapshot_time FROM snapshot_log "
            "WHERE complete AND campaign_id = 'A' AND snapshot_time > getvariable('s2')",
            "after": "FROM state_history WHERE valid_from > getvariable('s2') "
            "OR valid_to > getvariable('s2')",
        }.items():
            con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        got = con.execute(
            "SELECT snapshot_time, reached_sent, reached_delivered, reached_read FROM "
            "reached_of('after', snaps := 'later', base := 'upto_reached') ORDER BY 1"
        ).fetchall()
        states = con.execute(
            "SELECT snapshot_time, contacts, sent, read, removed, changed FROM "
            "states_of('after', snaps := 'later', base := 'upto_states') ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    # as in the tests above, by hand: S3 (4, 2, 1), S4 (4, 2, 2)
    assert got == [(utc(S3), 4, 2, 1), (utc(S4), 4, 2, 2)]
    # S3 lists 7 contacts (a6 vanished, a7 appeared): Sent a8 alone (a2 is in Delivery failed),
    # Read a1, Removed a7; 8 intervals begin or end at it (as above). S4: the same 7, Read a1
    # and a3; a3 and a5 change (2 intervals each)
    assert states == [(utc(S3), 7, 1, 1, 1, 8), (utc(S4), 7, 1, 2, 1, 4)]
