"""Every file of queries/ on the tiny tenant (tests/warehouse_helpers.py), against expected values
worked out by hand from the tenant's table, not from the code's output.

Contacts of campaign A in S1..S4 (see TINY_A):
  a1 Initial, Sent, Read, Read                     skips Delivered
  a2 Sent, Delivery failed x3                      delivery failed counts as sent
  a3 Successfully Submitted (legacy), Delivered x2, Read
  a4 FOO (other) x2, Sending failed x2
  a5 In progress x3, Retry scheduled
  a6 Read, Delivered, -, -                         goes backwards, then vanishes
  a7 -, -, Removed, Removed
  a8 Initial x2, Sent x2
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from warehouse_helpers import (
    B1,
    C1,
    S1,
    S2,
    S3,
    S4,
    build_tiny_tenant,
    query,
    query_dicts,
    utc,
)

from pipeline.core.config import Config


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    yield build_tiny_tenant(tmp_path_factory.mktemp("tiny") / "data")


def by(rows: list[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def approx(value: float | None) -> object:
    return None if value is None else pytest.approx(value)


# --------------------------------------------------------------------------------- state_history
def test_state_history_has_one_row_per_state_change(tenant: Config) -> None:
    rows = query(
        tenant,
        "SELECT contact_id, state, legacy, valid_from, valid_to FROM state_history "
        "WHERE campaign_id = 'A' ORDER BY contact_id, valid_from",
    )
    s1, s2, s3, s4 = utc(S1), utc(S2), utc(S3), utc(S4)
    assert rows == [
        ("a1", "initial", False, s1, s2),
        ("a1", "sent", False, s2, s3),
        ("a1", "read", False, s3, None),
        ("a2", "sent", False, s1, s2),
        ("a2", "delivery_failed", False, s2, None),
        ("a3", "sent", True, s1, s2),
        ("a3", "delivered", False, s2, s4),
        ("a3", "read", False, s4, None),
        ("a4", "other", False, s1, s3),
        ("a4", "sending_failed", False, s3, None),
        ("a5", "in_progress", False, s1, s4),
        ("a5", "retry_scheduled", False, s4, None),
        ("a6", "read", False, s1, s2),
        ("a6", "delivered", False, s2, s3),  # vanished at S3: the interval is closed there
        ("a7", "removed", False, s3, None),
        ("a8", "initial", False, s1, s3),
        ("a8", "sent", False, s3, None),
    ]
    # the incomplete snapshot of C (c1 Read) is not in the history
    assert query(
        tenant, "SELECT count(*) FROM state_history WHERE state = 'read' AND campaign_id = 'C'"
    ) == [(0,)]


# ------------------------------------------------------------------------------------- snapshots
def test_snapshots_lists_published_complete_rows_with_the_catalog(tenant: Config) -> None:
    per_snapshot = query(
        tenant,
        "SELECT campaign_id, snapshot_time, count(*) FROM snapshots GROUP BY ALL ORDER BY 1, 2",
    )
    assert per_snapshot == [
        ("A", utc(S1), 7),
        ("A", utc(S2), 7),
        ("A", utc(S3), 7),  # the repeated a2 row was quarantined at ingest
        ("A", utc(S4), 7),
        ("C", utc(C1), 2),
    ]  # B's snapshot is empty; C's incomplete one is not listed
    row = query_dicts(
        tenant,
        f"SELECT * FROM snapshots WHERE contact_id = 'a3' AND snapshot_time = '{S1}'",
    )
    assert row == [
        {
            "campaign_id": "A",
            "snapshot_id": row[0]["snapshot_id"],
            "snapshot_time": utc(S1),
            "contact_id": "a3",
            "state": "sent",
            "raw_state": "Successfully Submitted",
            "legacy": True,
            "label": "Sent",
            "category": "in_funnel",
            "funnel_stage": "sent",
            "funnel_rank": 1,
        }
    ]
    other = query(
        tenant,
        "SELECT DISTINCT state, raw_state, label FROM snapshots WHERE contact_id = 'a4' ORDER BY 1",
    )
    assert other == [
        ("other", "FOO", "Other"),
        ("sending_failed", "WA_SEND_FAILED", "Sending failed"),
    ]


# ---------------------------------------------------------------------------------- state_counts
def test_state_counts_are_exclusive_and_sum_to_contacts(tenant: Config) -> None:
    rows = query_dicts(tenant, "SELECT * FROM state_counts ORDER BY snapshot_time, sort_order")
    snapshots = {(r["campaign_id"], r["snapshot_time"]) for r in rows}
    assert len(rows) == 13 * len(snapshots)  # 12 states + other, zeros included
    nonzero = {(r["campaign_id"], r["snapshot_time"].isoformat()): {} for r in rows}
    for r in rows:
        if r["contacts"]:
            nonzero[(r["campaign_id"], r["snapshot_time"].isoformat())][r["state"]] = r["contacts"]
    assert nonzero == {
        ("A", S1): {"initial": 2, "in_progress": 1, "sent": 2, "read": 1, "other": 1},
        ("A", S2): {
            "initial": 1,
            "in_progress": 1,
            "sent": 1,
            "delivered": 2,
            "delivery_failed": 1,
            "other": 1,
        },
        ("A", S3): {
            "in_progress": 1,
            "sent": 1,
            "delivered": 1,
            "read": 1,
            "delivery_failed": 1,
            "sending_failed": 1,
            "removed": 1,
        },
        ("A", S4): {
            "retry_scheduled": 1,
            "sent": 1,
            "read": 2,
            "delivery_failed": 1,
            "sending_failed": 1,
            "removed": 1,
        },
        ("B", B1): {},  # the empty campaign: 13 zeros
        ("C", C1): {"initial": 1, "invalid_record": 1},
    }
    totals = {
        (r["campaign_id"], r["snapshot_time"].isoformat()): r["campaign_contacts"] for r in rows
    }
    assert totals == {
        ("A", S1): 7,
        ("A", S2): 7,
        ("A", S3): 7,
        ("A", S4): 7,
        ("B", B1): 0,
        ("C", C1): 2,
    }


# --------------------------------------------------------------------------------- contact_state
def test_contact_state_as_of_a_time(tenant: Config) -> None:
    rows = by(
        query_dicts(tenant, "SELECT * FROM contact_state('2026-10-25T12:00:00+01:00')"),
        "campaign_id",
        "contact_id",
    )
    # A's latest snapshot at 11:00Z on Oct 25 is S2; C's is C1 (its incomplete one is ignored)
    assert sorted(rows) == [("A", c) for c in ("a1", "a2", "a3", "a4", "a5", "a6", "a8")] + [
        ("C", "c1"),
        ("C", "c2"),
    ]
    a6 = rows[("A", "a6")]
    assert (a6["state"], a6["funnel_rank"], a6["furthest_rank"], a6["furthest_stage"]) == (
        "delivered",
        2,
        3,
        "read",
    )
    assert a6["snapshot_time"] == utc(S2)
    assert rows[("A", "a3")]["furthest_stage"] == "delivered"
    assert rows[("A", "a2")]["furthest_stage"] == "sent"  # delivery failed
    assert rows[("A", "a8")]["furthest_stage"] is None
    assert rows[("C", "c1")]["state"] == "initial"


def test_contact_state_latest_view(tenant: Config) -> None:
    rows = by(
        query_dicts(tenant, "SELECT * FROM contact_state WHERE campaign_id = 'A'"), "contact_id"
    )
    assert sorted(rows) == ["a1", "a2", "a3", "a4", "a5", "a7", "a8"]  # a6 vanished
    assert {c: r["furthest_stage"] for c, r in rows.items()} == {
        "a1": "read",  # skipped Delivered
        "a2": "sent",
        "a3": "read",
        "a4": None,
        "a5": None,
        "a7": None,
        "a8": "sent",
    }
    assert rows["a1"]["state_since"] == utc(S3)
    assert rows["a7"]["label"] == "Removed"


# ---------------------------------------------------------------------------------------- funnel
FUNNEL_KEYS = (
    "contacts",
    "reached_sent",
    "reached_delivered",
    "reached_read",
    "delivery_rate",
    "read_rate",
    "read_of_sent",
    "failed",
    "sending_failed",
    "error",
    "delivery_failed",
    "pending",
    "excluded",
    "other",
    "legacy_mapped",
)


def funnel_rows(config: Config, sql: str) -> dict[str, dict]:
    return {r["campaign_id"]: {k: r[k] for k in FUNNEL_KEYS} for r in query_dicts(config, sql)}


def expect(*values: float | None) -> dict:
    return {
        k: approx(v) if isinstance(v, float) else v
        for k, v in zip(FUNNEL_KEYS, values, strict=True)
    }


def test_funnel_latest(tenant: Config) -> None:
    rows = funnel_rows(tenant, "SELECT * FROM funnel")
    assert rows == {
        # sent: a1 a2 a3 a8; delivered: a1 (read without delivered) a3; read: a1 a3
        "A": expect(7, 4, 2, 2, 0.5, 1.0, 0.5, 2, 1, 0, 1, 1, 1, 0, 0),
        # the empty campaign: every rate is NULL
        "B": expect(0, 0, 0, 0, None, None, None, 0, 0, 0, 0, 0, 0, 0, 0),
        # nobody reached Sent: zero denominators give NULL; the incomplete snapshot is ignored
        "C": expect(2, 0, 0, 0, None, None, None, 0, 0, 0, 0, 1, 1, 0, 0),
    }


def test_funnel_as_of(tenant: Config) -> None:
    rows = funnel_rows(tenant, "SELECT * FROM funnel('2026-10-25T12:00:00+01:00')")
    assert rows == {
        # at S2: sent a1 a2 a3 a6; delivered a3 a6 (a6 read earlier, now delivered); read a6
        "A": expect(7, 4, 2, 1, 0.5, 0.5, 0.25, 1, 0, 0, 1, 2, 0, 1, 0),
        "B": expect(0, 0, 0, 0, None, None, None, 0, 0, 0, 0, 0, 0, 0, 0),
        "C": expect(2, 0, 0, 0, None, None, None, 0, 0, 0, 0, 1, 1, 0, 0),
    }
    at_s1 = funnel_rows(tenant, f"SELECT * FROM funnel(TIMESTAMPTZ '{S1}')")
    # at S1 (inclusive): sent a2 a3 (legacy) a6; B has no snapshot yet
    assert at_s1 == {
        "A": expect(7, 3, 1, 1, 1 / 3, 1.0, 1 / 3, 0, 0, 0, 0, 3, 0, 1, 1),
        "C": expect(2, 0, 0, 0, None, None, None, 0, 0, 0, 0, 1, 1, 0, 0),
    }
    assert funnel_rows(tenant, "SELECT * FROM funnel(TIMESTAMPTZ '2026-10-24 19:59:59+00')") == {}


# -------------------------------------------------------------------------------- campaign_daily
STATE_COLS = (
    "initial",
    "in_progress",
    "retry_scheduled",
    "sent",
    "delivered",
    "read",
    "delivery_failed",
    "sending_failed",
    "error",
    "invalid_record",
    "removed",
    "canceled_by_admin",
    "other",
)


def nonzero_states(row: dict) -> dict:
    return {s: row[s] for s in STATE_COLS if row[s]}


def test_campaign_daily_uses_local_days_across_dst(tenant: Config) -> None:
    rows = by(query_dicts(tenant, "SELECT * FROM campaign_daily"), "campaign_id", "day")
    assert sorted(rows) == [
        ("A", date(2026, 10, 24)),
        ("A", date(2026, 10, 25)),
        ("A", date(2026, 10, 26)),
        ("B", date(2026, 10, 25)),
        ("C", date(2026, 10, 24)),
    ]
    d24, d25, d26 = (rows[("A", date(2026, 10, d))] for d in (24, 25, 26))
    # Oct 24 ends at 22:00Z (CEST): only S1. Oct 25 lasts 25 hours: S2 and S3, its last is S3.
    assert [d24["snapshot_time"], d25["snapshot_time"], d26["snapshot_time"]] == [
        utc(S1),
        utc(S3),
        utc(S4),
    ]
    assert nonzero_states(d24) == {"initial": 2, "in_progress": 1, "sent": 2, "read": 1, "other": 1}
    assert nonzero_states(d25) == {
        "in_progress": 1,
        "sent": 1,
        "delivered": 1,
        "read": 1,
        "delivery_failed": 1,
        "sending_failed": 1,
        "removed": 1,
    }
    funnel = (
        "contacts",
        "reached_sent",
        "reached_delivered",
        "reached_read",
        "failed",
        "pending",
        "excluded",
        "legacy_mapped",
    )
    assert [d24[k] for k in funnel] == [7, 3, 1, 1, 0, 3, 0, 1]
    assert [d25[k] for k in funnel] == [7, 4, 2, 1, 2, 1, 1, 0]
    assert [d26[k] for k in funnel] == [7, 4, 2, 2, 2, 1, 1, 0]
    assert (d24["delivery_rate"], d24["read_rate"], d24["read_of_sent"]) == (
        pytest.approx(1 / 3),
        pytest.approx(1.0),
        pytest.approx(1 / 3),
    )
    assert (d25["delivery_rate"], d25["read_rate"], d25["read_of_sent"]) == (0.5, 0.5, 0.25)
    assert (d26["delivery_rate"], d26["read_rate"], d26["read_of_sent"]) == (0.5, 1.0, 0.5)


def test_campaign_daily_change_against_the_day_before(tenant: Config) -> None:
    rows = by(query_dicts(tenant, "SELECT * FROM campaign_daily WHERE campaign_id = 'A'"), "day")
    d24, d25, d26 = rows[date(2026, 10, 24)], rows[date(2026, 10, 25)], rows[date(2026, 10, 26)]
    assert d24["previous_day"] is None
    assert all(v is None for k, v in d24.items() if k.endswith("_change"))

    def changes(r: dict) -> dict:
        return {k[: -len("_change")]: v for k, v in r.items() if k.endswith("_change") and v}

    assert d25["previous_day"] == date(2026, 10, 24)
    assert changes(d25) == {
        "initial": -2,
        "sent": -1,
        "delivered": 1,
        "delivery_failed": 1,
        "sending_failed": 1,
        "removed": 1,
        "other": -1,
        "reached_sent": 1,
        "reached_delivered": 1,
    }
    assert changes(d26) == {
        "in_progress": -1,
        "retry_scheduled": 1,
        "delivered": -1,
        "read": 1,
        "reached_read": 1,
    }


def test_campaign_daily_empty_and_zero_denominators(tenant: Config) -> None:
    rows = by(query_dicts(tenant, "SELECT * FROM campaign_daily"), "campaign_id", "day")
    b = rows[("B", date(2026, 10, 25))]
    assert (b["contacts"], b["delivery_rate"], b["read_rate"], b["read_of_sent"]) == (
        0,
        None,
        None,
        None,
    )
    assert nonzero_states(b) == {}
    c = rows[("C", date(2026, 10, 24))]
    assert nonzero_states(c) == {"initial": 1, "invalid_record": 1}
    assert (c["reached_sent"], c["delivery_rate"], c["pending"], c["excluded"]) == (0, None, 1, 1)


def test_campaign_daily_in_utc(tenant: Config) -> None:
    rows = by(
        query_dicts(tenant, "SELECT * FROM campaign_daily('UTC') WHERE campaign_id = 'A'"), "day"
    )
    # in UTC, S1 and S2 fall on Oct 24, S3 and S4 on Oct 25
    assert {d: r["snapshot_time"] for d, r in rows.items()} == {
        date(2026, 10, 24): utc(S2),
        date(2026, 10, 25): utc(S4),
    }


# ----------------------------------------------------------------------------- state_transitions
def test_state_transitions(tenant: Config) -> None:
    rows = query(
        tenant,
        "SELECT day, from_state, to_state, contacts, median_minutes_in_from_state "
        "FROM state_transitions WHERE campaign_id = 'A' ORDER BY ALL",
    )
    oct25, oct26 = date(2026, 10, 25), date(2026, 10, 26)
    assert rows == sorted(
        [
            # a1 after 150 min (S1 -> S2), a8 after 1590 min (S1 -> S3 across the extra hour)
            (oct25, "initial", "sent", 2, 870.0),
            (oct25, "sent", "read", 1, 1440.0),  # a1 skips Delivered
            (oct25, "sent", "delivery_failed", 1, 150.0),  # a2
            (oct25, "sent", "delivered", 1, 150.0),  # a3, legacy sent
            (oct25, "other", "sending_failed", 1, 1590.0),  # a4
            (oct25, "read", "delivered", 1, 150.0),  # a6 goes backwards
            (oct26, "delivered", "read", 1, 1500.0),  # a3
            (oct26, "in_progress", "retry_scheduled", 1, 1650.0),  # a5
        ]
    )
    # a6 vanishing and a7 appearing are not moves; B and C have none
    assert query(tenant, "SELECT count(*) FROM state_transitions WHERE campaign_id <> 'A'") == [
        (0,)
    ]


# -------------------------------------------------------------------------------- stuck_contacts
def test_stuck_contacts(tenant: Config) -> None:
    # latest data (S4): a5 has just moved to Retry scheduled: 0 minutes, not stuck
    assert query(tenant, "SELECT * FROM stuck_contacts") == []
    at_s3 = query_dicts(tenant, f"SELECT * FROM stuck_contacts(TIMESTAMPTZ '{S3}')")
    assert at_s3 == [
        {
            "campaign_id": "A",
            "contact_id": "a5",
            "state": "in_progress",
            "label": "In progress",
            "in_state_since": utc(S1),
            "last_seen_at": utc(S3),
            "minutes_in_state": 1590.0,
            "seconds_in_state": 1590 * 60,
        }
    ]
    # exactly the threshold is not "longer than" it
    at_60 = "TIMESTAMPTZ '2026-10-24 21:00:00+00'"
    assert query(tenant, f"SELECT * FROM stuck_contacts({at_60})") == []
    assert query(
        tenant, f"SELECT contact_id, minutes_in_state FROM stuck_contacts({at_60}, 59)"
    ) == [("a5", 60.0)]
    later = query(
        tenant,
        "SELECT contact_id, state, minutes_in_state FROM "
        "stuck_contacts(as_of := '2026-10-26T01:00:00Z', threshold_minutes := 60)",
    )
    assert later == [("a5", "retry_scheduled", 90.0)]


# ---------------------------------------------------------------------------------- data_quality
def findings(config: Config, sql: str) -> set[tuple]:
    return {
        (r["campaign_id"], r["check_name"], r["findings"], r["example_contact_id"])
        for r in query_dicts(config, sql)
    }


def test_data_quality_on_the_dst_day(tenant: Config) -> None:
    assert findings(tenant, "SELECT * FROM data_quality(DATE '2026-10-25')") == {
        ("A", "unknown_state", 1, "a4"),
        ("A", "went_backwards", 1, "a6"),
        ("A", "vanished", 1, "a6"),
        ("A", "duplicate_rows", 1, None),
        ("C", "incomplete_snapshot", 1, None),
        ("C", "stale", 1, None),
    }
    detail = by(
        query_dicts(tenant, "SELECT * FROM data_quality('2026-10-25')"), "campaign_id", "check_name"
    )
    assert detail[("A", "unknown_state")]["detail"] == "raw values: FOO"
    assert detail[("A", "went_backwards")]["detail"] == "e.g. read -> delivered"
    assert "2026-10-24 22:00 Europe/Prague" in detail[("C", "stale")]["detail"]
    assert {r["day"] for r in detail.values()} == {date(2026, 10, 25)}


def test_data_quality_other_days(tenant: Config) -> None:
    assert findings(tenant, "SELECT * FROM data_quality('2026-10-24')") == {
        ("A", "unknown_state", 1, "a4"),
        ("A", "legacy_mapped", 1, "a3"),
    }
    # default: the latest day with data (Oct 26 in Prague): B and C are stale, A is clean
    assert findings(tenant, "SELECT * FROM data_quality") == {
        ("B", "stale", 1, None),
        ("C", "stale", 1, None),
    }
    assert query(tenant, "SELECT DISTINCT day FROM data_quality") == [(date(2026, 10, 26),)]


# ------------------------------------------------------------------------------ self-description
def test_views_and_columns_carry_comments(tenant: Config) -> None:
    views = dict(query(tenant, "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal"))
    for name in (
        "snapshots",
        "state_history",
        "contact_state",
        "state_counts",
        "funnel",
        "campaign_daily",
        "state_transitions",
        "stuck_contacts",
        "data_quality",
        "contact_milestones",
    ):
        assert views.get(name), f"view {name} has no comment"
    missing = query(
        tenant,
        "SELECT table_name, column_name FROM duckdb_columns() c "
        "JOIN duckdb_views() v ON v.view_name = c.table_name AND NOT v.internal "
        "WHERE c.comment IS NULL AND table_name IN ('snapshots', 'state_history', 'contact_state', "
        "'state_counts', 'funnel', 'state_transitions', 'stuck_contacts', 'data_quality')",
    )
    assert missing == []
    macros = dict(
        query(
            tenant,
            "SELECT function_name, comment FROM duckdb_functions() WHERE function_type = 'table_macro' "
            "AND function_name IN ('funnel', 'contact_state', 'campaign_daily', 'stuck_contacts', "
            "'data_quality', 'state_transitions')",
        )
    )
    assert len(macros) == 6 and all(macros.values())


def test_every_query_file_has_a_header(tenant: Config) -> None:
    from pipeline.warehouse.sql import BUILD_FOLDER, folder_files, queries_dir, query_files

    for path in query_files() + folder_files(queries_dir(), (BUILD_FOLDER,)):
        head = path.read_text().lstrip()
        assert head.startswith(f"-- {path.stem}:"), f"{path.name} has no header naming it"
        lines = head.splitlines()
        header = " ".join(lines[: next(i for i, t in enumerate(lines) if not t.startswith("--"))])
        assert "one row" in header.lower(), f"{path.name}: its header does not say what a row is"


def test_no_wall_clock_in_sql() -> None:
    from pipeline.warehouse.sql import BUILD_FOLDER, folder_files, queries_dir, query_files

    files = query_files() + folder_files(queries_dir(), (BUILD_FOLDER,))
    for path in files:
        text = path.read_text().lower()
        for word in ("current_date", "now()", "current_timestamp", "get_current_time"):
            assert word not in text, f"{path.name} uses {word}"
