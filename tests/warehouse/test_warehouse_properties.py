"""Property tests over random snapshot histories (Hypothesis).

Each example writes a few snapshots of one or two campaigns through the store's writer (random
contacts, random raw states including the legacy state, unknown values and incomplete snapshots,
arriving in random order), builds the warehouse incrementally at random points, and checks the
invariants of the numbers.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_warehouse_build import (
    NO_STORED_DIFFERENCES,
    differences,
    expansion_differences,
    stored_differences,
    warehouse_file,
)
from warehouse_helpers import analyst, make_config, write_snapshot

from pipeline.core.console import Console
from pipeline.warehouse.build import build

RAW_STATES = [
    "Initial",
    "CALLING",
    "RETRY_SCHEDULED",
    "WA_SENT",
    "WA_DELIVERED",
    "WA_READ",
    "WA_DELIVERY_FAILED",
    "WA_SEND_FAILED",
    "FAILING",
    "INVALID_RECORD",
    "REMOVED",
    "CANCELLED_BY_ADMIN",
    "Successfully Submitted",
    "read",  # the same state as WA_READ, other raw text
    "SOMETHING_NEW",
]
CONTACTS = [f"k{i}" for i in range(6)]
BASE = datetime(2026, 10, 24, 18, 0, tzinfo=UTC)

snapshot = st.fixed_dictionaries(
    {
        "campaign": st.sampled_from(["P", "Q"]),
        # half-hour steps over three days, across the DST change of Oct 25
        "slot": st.integers(min_value=0, max_value=140),
        "rows": st.dictionaries(st.sampled_from(CONTACTS), st.sampled_from(RAW_STATES), max_size=6),
        "complete": st.sampled_from([True, True, True, False]),
        "build_after": st.booleans(),
    }
)
histories = st.lists(
    snapshot, min_size=1, max_size=7, unique_by=lambda s: (s["campaign"], s["slot"])
)


@settings(
    max_examples=10,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=histories)
def test_invariants_over_random_histories(history: list[dict]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wh-prop-"))
    try:
        config = make_config(tmp / "data", timezone="Europe/Prague")
        furthest: dict[tuple[str, str], int] = {}
        for snap in history:
            when = BASE + timedelta(minutes=30 * snap["slot"])
            write_snapshot(
                config,
                snap["campaign"],
                when,
                sorted(snap["rows"].items()),
                complete=snap["complete"],
            )
            if snap["build_after"]:
                build(config, Console.silent())
                check_furthest_never_decreases(config, furthest)
        build(config, Console.silent())
        check_furthest_never_decreases(config, furthest)
        check_counts_and_funnel(config)
        assert expansion_differences(config) == (0, 0)
        assert stored_differences(config) == NO_STORED_DIFFERENCES
        incremental = tmp / "incremental.duckdb"
        shutil.copyfile(warehouse_file(config), incremental)
        build(config, Console.silent(), full=True)
        assert differences(incremental, warehouse_file(config)) == {}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rows_of(con, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return con.execute(sql).fetchall()


def dicts_of(con, sql: str) -> list[dict]:  # type: ignore[no-untyped-def]
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def check_counts_and_funnel(config) -> None:  # type: ignore[no-untyped-def]
    con = analyst(config)
    try:
        _check_counts_and_funnel(con)
    finally:
        con.close()


def _check_counts_and_funnel(con) -> None:  # type: ignore[no-untyped-def]
    # counts sum to contacts, for every snapshot
    bad = rows_of(
        con,
        "SELECT s.snapshot_id FROM snapshot_log s JOIN state_counts c USING (snapshot_id) "
        "WHERE s.complete GROUP BY s.snapshot_id, s.contacts "
        "HAVING sum(c.contacts) <> s.contacts OR any_value(c.campaign_contacts) <> s.contacts",
    )
    assert bad == []
    # the funnel as of every snapshot time, and every day
    times = [r[0] for r in rows_of(con, "SELECT DISTINCT snapshot_time FROM snapshot_log")]
    rows = []
    for t in times:
        rows += dicts_of(con, f"SELECT * FROM funnel(TIMESTAMPTZ '{t.isoformat()}')")
    rows += dicts_of(con, "SELECT * FROM campaign_daily")
    # a contact's furthest stage as of later times is never lower
    ranks: dict[tuple[str, str], int] = {}
    for t in sorted(times):
        for campaign, contact, rank in rows_of(
            con,
            "SELECT campaign_id, contact_id, furthest_rank FROM "
            f"contact_state(TIMESTAMPTZ '{t.isoformat()}')",
        ):
            assert rank >= ranks.get((campaign, contact), 0)
            ranks[(campaign, contact)] = rank
    for r in rows:
        assert (
            r["contacts"] >= r["reached_sent"] >= r["reached_delivered"] >= r["reached_read"] >= 0
        )
        for rate in ("delivery_rate", "read_rate", "read_of_sent"):
            assert r[rate] is None or 0 <= r[rate] <= 1
        assert (r["delivery_rate"] is None) == (r["reached_sent"] == 0)
        assert (r["read_rate"] is None) == (r["reached_delivered"] == 0)
    for r in dicts_of(con, "SELECT * FROM campaign_daily"):
        states = [
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
        ]
        assert sum(r[s] for s in states) == r["contacts"]


def check_furthest_never_decreases(config, seen: dict[tuple[str, str], int]) -> None:  # type: ignore[no-untyped-def]
    """As snapshots are added, a contact's furthest stage (as of the latest data) never drops."""
    con = analyst(config)
    try:
        _check_furthest(con, seen)
    finally:
        con.close()


def _check_furthest(con, seen: dict[tuple[str, str], int]) -> None:  # type: ignore[no-untyped-def]
    for campaign, contact, rank in rows_of(
        con,
        "SELECT campaign_id, contact_id, max(c.funnel_rank) FROM state_history h "
        "JOIN catalog c USING (state) GROUP BY ALL",
    ):
        key = (campaign, contact)
        assert rank >= seen.get(key, 0)
        seen[key] = rank
    for campaign, contact, rank in rows_of(
        con, "SELECT campaign_id, contact_id, furthest_rank FROM contact_state"
    ):
        assert rank == seen[(campaign, contact)]
