"""Shared by the Spark tests (marker ``spark``): the awkward small tenant, and each portable metric
three ways, row for row: the Spark job's Parquet output, the same SQL on DuckDB
(``pipeline.spark.portable.run_duckdb``) and the DuckDB warehouse's own views and macros.

Rows are tuples in a fixed column order, sorted; floats are rounded to 9 places (Spark and DuckDB
may differ in the last bits of a division).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from warehouse_helpers import analyst, build_quiet, ingest_snapshot, make_config, write_snapshot

from pipeline.core.config import Config
from pipeline.spark.portable import OUTPUTS, Params, run_duckdb
from pipeline.store.snapshots import Store

#: The columns compared per output, and the key its rows are sorted by.
COLUMNS: dict[str, tuple[str, ...]] = {
    # (not other_rows and legacy_rows: the warehouse has the manifest's)
    "snapshot_list": ("campaign_id", "snapshot_id", "snapshot_time", "day", "rows"),
    "state_counts": (
        "campaign_id",
        "snapshot_id",
        "snapshot_time",
        "state",
        "contacts",
        "campaign_contacts",
    ),
    "funnel": (
        "campaign_id",
        "snapshot_id",
        "snapshot_time",
        "contacts",
        "now_reached_sent",
        "now_reached_delivered",
        "now_reached_read",
        "reached_sent",
        "reached_delivered",
        "reached_read",
        "delivery_rate",
        "read_rate",
        "read_of_sent",
        "now_delivery_rate",
        "now_read_rate",
        "now_read_of_sent",
        "failed",
        "sending_failed",
        "error",
        "delivery_failed",
        "pending",
        "excluded",
        "other",
        "legacy_mapped",
    ),
    "campaign_daily": (
        "campaign_id",
        "day",
        "snapshot_id",
        "snapshot_time",
        "contacts",
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
        "reached_sent",
        "reached_delivered",
        "reached_read",
        "legacy_mapped",
        "delivery_rate",
        "read_rate",
        "read_of_sent",
        "now_reached_sent",
        "now_reached_delivered",
        "now_reached_read",
        "now_delivery_rate",
        "now_read_rate",
        "now_read_of_sent",
    ),
    "state_transitions": (
        "campaign_id",
        "day",
        "from_state",
        "to_state",
        "contacts",
        "median_minutes_in_from_state",
    ),
    "stuck_counts": (
        "campaign_id",
        "snapshot_id",
        "snapshot_time",
        "in_progress",
        "retry_scheduled",
    ),
    "state_history": (
        "campaign_id",
        "contact_id",
        "state",
        "raw_state",
        "legacy",
        "valid_from",
        "valid_to",
    ),
    "milestones": (
        "campaign_id",
        "contact_id",
        "first_seen",
        "first_sent_at",
        "first_delivered_at",
        "first_read_at",
    ),
}
Rows = list[tuple[Any, ...]]


def clean(rows: list[tuple[Any, ...]]) -> Rows:
    out = [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]
    return sorted(out, key=lambda r: tuple((v is None, str(v)) for v in r))


def spark_rows(out: Path, name: str) -> Rows:
    """An output of the Spark job, read from its Parquet folder."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        cols = ", ".join(COLUMNS[name])
        return clean(
            con.execute(f"SELECT {cols} FROM read_parquet('{out / name}/*.parquet')").fetchall()
        )
    finally:
        con.close()


def portable_rows(config: Config, params: Params) -> dict[str, Rows]:
    """Every output of the portable SQL run by DuckDB over the store's complete files."""
    con = duckdb.connect()
    try:
        run_duckdb(con, Store(config.data_dir).complete_files(), params)
        return {
            name: clean(con.execute(f"SELECT {', '.join(COLUMNS[name])} FROM {name}").fetchall())
            for name in OUTPUTS
        }
    finally:
        con.close()


def warehouse_rows(config: Config, params: Params) -> dict[str, Rows]:
    """The same numbers from the warehouse's views and macros (built from the same store), for
    the days of the range (``params``; its time zone must be the configured one, its stuck
    threshold is passed to stuck_contacts). Per-snapshot figures come from the as-of macros
    (funnel, contact_state, stuck_contacts) called at each snapshot's time."""
    assert params.timezone == config.timezone
    con = analyst(config)
    lo = params.day_from or date.min
    hi = params.day_to or date.max
    try:
        day = "local_day(snapshot_time, configured_timezone())"
        in_range = f"{day} BETWEEN DATE '{lo}' AND DATE '{hi}'"
        out: dict[str, Rows] = {}
        out["snapshot_list"] = con.execute(
            f"SELECT campaign_id, snapshot_id, snapshot_time, {day}, rows "
            f"FROM snapshot_log WHERE complete AND rows > 0 AND {day} <= DATE '{hi}'"
        ).fetchall()
        out["state_counts"] = con.execute(
            "SELECT campaign_id, snapshot_id, snapshot_time, state, contacts, campaign_contacts "
            f"FROM state_counts WHERE campaign_contacts > 0 AND {in_range}"
        ).fetchall()
        times = [
            t
            for (t,) in con.execute(
                f"SELECT DISTINCT snapshot_time FROM snapshot_log WHERE complete AND rows > 0 "
                f"AND {in_range} ORDER BY 1"
            ).fetchall()
        ]
        funnel: Rows = []
        stuck: dict[tuple[str, str], list[Any]] = {}
        funnel_cols = ", ".join(COLUMNS["funnel"])
        for t in times:
            for r in con.execute(
                f"SELECT {funnel_cols} FROM funnel(as_of := ?) "
                "WHERE snapshot_time = ? AND contacts > 0",
                [t, t],
            ).fetchall():
                funnel.append(r)
                stuck[(r[0], r[1])] = [r[0], r[1], r[2], 0, 0]
            for campaign, sid, state, n in con.execute(
                "SELECT s.campaign_id, l.snapshot_id, s.state, count(*) "
                "FROM stuck_contacts(as_of := ?, threshold_minutes := ?) AS s "
                "JOIN snapshot_log AS l ON l.campaign_id = s.campaign_id "
                "AND l.snapshot_time = s.last_seen_at AND l.complete "
                "WHERE s.last_seen_at = ? GROUP BY ALL",
                [t, params.stuck_minutes, t],
            ).fetchall():
                stuck[(campaign, sid)][3 if state == "in_progress" else 4] = n
        out["funnel"] = funnel
        out["stuck_counts"] = [tuple(v) for v in stuck.values()]
        cols = ", ".join(COLUMNS["campaign_daily"])
        out["campaign_daily"] = con.execute(
            f"SELECT {cols} FROM campaign_daily WHERE contacts > 0 "
            f"AND day BETWEEN DATE '{lo}' AND DATE '{hi}'"
        ).fetchall()
        cols = ", ".join(COLUMNS["state_transitions"])
        out["state_transitions"] = con.execute(
            f"SELECT {cols} FROM state_transitions WHERE day BETWEEN DATE '{lo}' AND DATE '{hi}'"
        ).fetchall()
        out["state_history"] = con.execute(
            f"SELECT {', '.join(COLUMNS['state_history'])} FROM state_history"
        ).fetchall()
        out["milestones"] = con.execute(
            f"SELECT {', '.join(COLUMNS['milestones'])} FROM contact_milestones"
        ).fetchall()
        return {name: clean(rows) for name, rows in out.items()}
    finally:
        con.close()


# ---------------------------------------------------------------------------- the awkward tenant
# Campaign "007", around the end of summer time in Europe/Prague (Sunday 2026-10-25: 03:00 CEST
# -> 02:00 CET, a 25-hour local day), with snapshot times to the microsecond:
#   T1 2026-10-24 21:30:00.9Z = Oct 24 23:30 CEST     local day Oct 24
#   T2 2026-10-24 22:30:01.1Z = Oct 25 00:30 CEST     local day Oct 25 (UTC day Oct 24)
#   T3 2026-10-25 00:30Z      = Oct 25 02:30 CEST
#   T4 2026-10-25 01:30Z      = Oct 25 02:30 CET      (the same wall time again)
#   T5 2026-10-25 22:30Z      = Oct 25 23:30 CET      local day Oct 25 (its last snapshot)
#   T6 2026-10-25 23:30Z      = Oct 26 00:30 CET      local day Oct 26 (UTC day Oct 25)
# Campaign "7" (another campaign: ids are text) with the same contact ids; its snapshot U2 arrives
# after U3 was built (a late snapshot: the warehouse rebuilds the campaign). Campaign "C": an
# incomplete snapshot, never counted.
T = (
    "2026-10-24T21:30:00.900000+00:00",
    "2026-10-24T22:30:01.100000+00:00",
    "2026-10-25T00:30:00+00:00",
    "2026-10-25T01:30:00+00:00",
    "2026-10-25T22:30:00+00:00",
    "2026-10-25T23:30:00+00:00",
)
U = (
    "2026-10-24T08:00:00+00:00",
    "2026-10-24T12:00:00+00:00",
    "2026-10-24T20:00:00+00:00",
    "2026-10-25T08:00:00+00:00",
)
#: contact -> raw state in T1..T6 (None: not listed)
AWKWARD_007: dict[str, tuple[str | None, ...]] = {
    # In progress from T1 to T2: 60 min 0.2 s, which is 3601 whole seconds apart (stuck at 60);
    # a second API value of the same state (not a move), then Sent, Delivered, Read
    "p1": ("CALLING", "CALLING", "CALL_IN_PROGRESS", "WA_SENT", "WA_DELIVERED", "WA_READ"),
    # Retry scheduled for a day (stuck), then Sending failed
    "p2": (
        "INITIAL",
        "INITIAL",
        "RETRY_SCHEDULED",
        "RETRY_SCHEDULED",
        "RETRY_SCHEDULED",
        "WA_SEND_FAILED",
    ),
    # Read, back to Delivered (backwards), Read, vanishes, back (not a move), Removed
    "p3": ("WA_READ", "WA_DELIVERED", "WA_READ", None, "WA_READ", "REMOVED"),
    # legacy Successfully Submitted, then Sent (raw text and legacy flag change: no move)
    "p4": (
        "Successfully Submitted",
        "WA_SENT",
        "WA_DELIVERY_FAILED",
        "WA_DELIVERY_FAILED",
        "WA_DELIVERY_FAILED",
        "WA_DELIVERY_FAILED",
    ),
    # appears late with an unknown value, then Initial, then cancelled
    "p5": (None, None, "WA_SOMETHING_NEW", "INITIAL", "INITIAL", "CANCELLED_BY_ADMIN"),
    # In progress, vanishes, In progress again (a new run: measured from T3)
    "p6": ("CALLING", None, "CALLING", "CALLING", "CALLING", "CALLING"),
    # Delivered straight away, Read; an invalid record beside
    "p7": ("WA_DELIVERED", "WA_DELIVERED", "WA_READ", "WA_READ", "WA_READ", "WA_READ"),
    "p8": ("INVALID_RECORD",) * 6,
}
AWKWARD_7: dict[str, tuple[str | None, ...]] = {
    "p1": ("WA_SENT", "WA_READ", "WA_DELIVERED", "WA_READ"),  # read -> delivered at U3
    "p2": ("INITIAL", "CALLING", "CALLING", "WA_SENT"),
    "p3": ("WA_DELIVERED", "WA_DELIVERED", "WA_DELIVERED", "FAILING"),
}


def rows_at(history: dict[str, tuple[str | None, ...]], i: int) -> list[tuple[str, str]]:
    return [(c, states[i]) for c, states in history.items() if states[i] is not None]


def build_awkward_tenant(data_dir: Path, *, stuck_after_minutes: int = 60) -> Config:
    """The awkward tenant, built by the warehouse step by step as the snapshots arrive."""
    config = make_config(
        data_dir, timezone="Europe/Prague", stuck_after_minutes=stuck_after_minutes
    )
    for i in (0, 1, 2):
        write_snapshot(config, "007", T[i], rows_at(AWKWARD_007, i))
    ingest_snapshot(config, "7", U[0], rows_at(AWKWARD_7, 0))
    ingest_snapshot(config, "7", U[2], rows_at(AWKWARD_7, 2))
    build_quiet(config)
    ingest_snapshot(config, "7", U[1], rows_at(AWKWARD_7, 1))  # late: older than U3
    write_snapshot(config, "C", U[0], [("c1", "INITIAL")])
    write_snapshot(config, "C", U[1], [("c1", "WA_READ")], complete=False)
    for i in (3, 4):
        write_snapshot(config, "007", T[i], rows_at(AWKWARD_007, i))
    build_quiet(config)
    write_snapshot(config, "007", T[5], rows_at(AWKWARD_007, 5))
    ingest_snapshot(config, "7", U[3], rows_at(AWKWARD_7, 3))
    build_quiet(config)
    return config


def assert_same(
    got: dict[str, Rows], want: dict[str, Rows], what: str, names: tuple[str, ...] = OUTPUTS
) -> None:
    """These outputs (default: all) equal, row for row, with the first difference named."""
    for name in names:
        a, b = got[name], want[name]
        if a != b:
            only_a = [r for r in a if r not in b][:3]
            only_b = [r for r in b if r not in a][:3]
            raise AssertionError(
                f"{name}: {len(a)} rows vs {len(b)} in {what}; only in the first: {only_a}; "
                f"only in {what}: {only_b}"
            )
        assert a, f"{name} is empty: the comparison would prove nothing"


def stored_tables_differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Rows of each table a build writes (``RESULT_TABLES``) in one warehouse file and not the
    other, both ways (the median of daily_moves rounded: two engines' doubles)."""
    from pipeline.warehouse.steps import RESULT_TABLES

    con = duckdb.connect()
    con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
    con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
    out = {}
    try:
        for table in RESULT_TABLES:
            cols = "*"
            if table == "daily_moves":
                cols = (
                    "campaign_id, day, from_state, to_state, contacts, "
                    "round(median_minutes_in_from_state, 9)"
                )
            a, b = (
                con.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{table} "
                    f"EXCEPT ALL SELECT {cols} FROM {y}.{table})"
                ).fetchall()[0][0]
                for x, y in (("l", "r"), ("r", "l"))
            )
            if a or b:
                out[table] = (a, b)
    finally:
        con.close()
    return out
