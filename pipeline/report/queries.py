"""The warehouse calls behind a report day: one function per query family.

Each function calls a table macro of ``queries/report_*.sql`` (or ``data_quality``,
``state_transitions``, ``run_log``) and hands its rows back as they came, grouped by campaign
where the page needs them so. Turning them into page objects is ``data.load_day``'s job.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from pipeline.core.errors import QueryError

#: The session's temporary copy of campaign_daily (see report_base.sql).
DAILY_CACHE = "report_daily_cache"
#: The session's temporary copy of one day's report_campaigns (see report_campaigns.sql).
LISTED_CACHE = "report_listed_cache"

Row = dict[str, Any]
#: The arguments of the report macros for one day: day, time zone, window in days, daily cache,
#: listed cache (the macros that read report_campaigns take it as ``listed``).
Args = list[Any]


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[Row]:
    """Run a call of a warehouse macro; the error names the call."""
    try:
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    except duckdb.Error as exc:
        raise _query_error(sql, exc) from exc


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pl.DataFrame:
    """``rows``, as a polars frame: for the large results (no Python object per value)."""
    try:
        rel = con.sql(sql, params=params)
        return rel.pl() if rel is not None else pl.DataFrame()
    except duckdb.Error as exc:
        raise _query_error(sql, exc) from exc


def _query_error(sql: str, exc: duckdb.Error) -> QueryError:
    return QueryError(
        f"the report query {sql.split('(')[0].split()[-1]}(...) failed: {exc}. If a macro is "
        "missing, the warehouse predates this version: run `campaign-reports build`."
    )


def by_campaign(found: list[Row]) -> dict[str, list[Row]]:
    """Rows grouped by ``campaign_id``, each group in the query's order."""
    out: dict[str, list[Row]] = defaultdict(list)
    for r in found:
        out[r["campaign_id"]].append(r)
    return dict(out)


# ----------------------------------------------------------------------------- the session
def cache_daily(con: duckdb.DuckDBPyConnection, tz: str) -> None:
    """Compute campaign_daily once for this session (a temporary table; the warehouse stays
    read-only) and let every report macro read it (their ``daily`` parameter)."""
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {DAILY_CACHE} AS SELECT * FROM campaign_daily(tz := ?)",
            [tz],
        )
    except duckdb.Error as exc:
        raise QueryError(f"campaign_daily(tz := {tz!r}) failed: {exc}") from exc


def cache_listed(con: duckdb.DuckDBPyConnection, args: Args) -> None:
    """Compute the day's report_campaigns once (a temporary table, replaced for each day) and
    let the report macros of that day read it (their ``listed`` parameter, ``args``' last)."""
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {LISTED_CACHE} AS "
            "SELECT * FROM report_campaigns(?, tz := ?, days := ?, daily := ?)",
            args[:4],
        )
    except duckdb.Error as exc:
        raise QueryError(
            f"report_campaigns({args[0]}, tz := {args[1]!r}, days := {args[2]}) failed: {exc}"
        ) from exc


def available_days(con: duckdb.DuckDBPyConnection, tz: str) -> list[date]:
    return [r["day"] for r in rows(con, "SELECT day FROM report_days(tz := ?)", [tz])]


def latest_data(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest snapshot the warehouse knows (the data's own time, not the wall clock)."""
    out = rows(con, "SELECT latest_data_time() AS t", [])
    return out[0]["t"] if out else None


def campaign_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Display names from a ``campaigns`` table or view (campaign_id, name), if the warehouse
    has one; otherwise no names and pages show the campaign ids."""
    found = rows(
        con,
        "SELECT count(*) AS n FROM duckdb_columns() WHERE table_name = 'campaigns' "
        "AND column_name IN ('campaign_id', 'name')",
        [],
    )
    if not found or found[0]["n"] < 2:
        return {}
    return {
        r["campaign_id"]: r["name"]
        for r in rows(con, "SELECT campaign_id, name FROM campaigns WHERE name IS NOT NULL", [])
    }


def day_args(day: date, tz: str, days: int) -> Args:
    """The arguments of the report macros for one day (the listed cache must be made for it:
    ``cache_listed``)."""
    return [day, tz, days, DAILY_CACHE, LISTED_CACHE]


# --------------------------------------------------------------------------- query families
def campaign_rows(con: duckdb.DuckDBPyConnection, args: Args) -> list[Row]:
    """The listed campaigns (report_campaigns): those in the day's totals first (fresh, then
    final), then the largest."""
    return rows(
        con,
        "SELECT * FROM report_campaigns(?, tz := ?, days := ?, daily := ?, listed := ?) "
        "ORDER BY in_totals DESC, fresh DESC, contacts DESC, campaign_id",
        args,
    )


def totals_row(con: duckdb.DuckDBPyConnection, args: Args) -> Row:
    """The day's totals: all fresh campaigns together (report_totals: one row)."""
    return rows(
        con, "SELECT * FROM report_totals(?, tz := ?, days := ?, daily := ?, listed := ?)", args
    )[0]


def state_rows(con: duckdb.DuckDBPyConnection, args: Args) -> dict[str, list[Row]]:
    """campaign -> its state counts (report_states), in catalog order."""
    return by_campaign(
        rows(
            con, "SELECT * FROM report_states(?, tz := ?, days := ?, daily := ?, listed := ?)", args
        )
    )


def trend_rows(con: duckdb.DuckDBPyConnection, args: Args) -> dict[str, dict[date, Row]]:
    """campaign -> day -> that day's last snapshot (report_trend, which does not read
    report_campaigns); days without one are absent."""
    out: dict[str, dict[date, Row]] = defaultdict(dict)
    for r in rows(con, "SELECT * FROM report_trend(?, tz := ?, days := ?, daily := ?)", args[:4]):
        out[r["campaign_id"]][r["day"]] = r
    return dict(out)


def contact_frames(
    con: duckdb.DuckDBPyConnection, args: Args, stuck_minutes: int
) -> dict[str, pl.DataFrame]:
    """campaign -> its drill-down rows (report_contacts: list, contact_id, state, label,
    state_since, minutes), in the macro's order."""
    contacts = frame(
        con, "SELECT * FROM report_contacts(?, tz := ?, days := ?, daily := ?, listed := ?, "
             "stuck_minutes := ?)",
        [*args, stuck_minutes],
    )  # fmt: skip
    return {
        str(key[0]): part
        for key, part in contacts.partition_by(
            "campaign_id", as_dict=True, maintain_order=True
        ).items()
    }


def unknown_state_rows(con: duckdb.DuckDBPyConnection, args: Args) -> dict[str, list[Row]]:
    """campaign -> the raw states the catalog does not know (report_unknown_states)."""
    return by_campaign(
        rows(
            con,
            "SELECT * FROM report_unknown_states(?, tz := ?, days := ?, daily := ?, listed := ?)",
            args,
        )
    )


def quality_rows(con: duckdb.DuckDBPyConnection, day: date, tz: str) -> list[Row]:
    """The day's data-quality findings (data_quality), by campaign and check."""
    return rows(
        con,
        "SELECT * FROM data_quality(day := ?, tz := ?) ORDER BY campaign_id, check_name",
        [day, tz],
    )


def transition_rows(con: duckdb.DuckDBPyConnection, day: date, tz: str) -> dict[str, list[Row]]:
    """campaign -> the day's state changes with both labels (state_transitions), largest first."""
    return by_campaign(
        rows(
            con,
            "SELECT t.*, cf.label AS from_label, ct.label AS to_label "
            "FROM state_transitions(tz := ?) AS t "
            "JOIN catalog AS cf ON cf.state = t.from_state "
            "JOIN catalog AS ct ON ct.state = t.to_state "
            "WHERE t.day = ? ORDER BY t.campaign_id, t.contacts DESC, cf.sort_order, ct.sort_order",
            [tz, day],
        )
    )


def freshness_rows(con: duckdb.DuckDBPyConnection, day: date, tz: str, days: int) -> list[Row]:
    """Per campaign, the latest complete snapshot before the day's end, its age and the day's
    incomplete snapshots (report_freshness)."""
    return rows(con, "SELECT * FROM report_freshness(?, tz := ?, days := ?)", [day, tz, days])


def runs_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the run log has any run (else the page says nothing is recorded yet)."""
    return bool(rows(con, "SELECT 1 AS x FROM run_log LIMIT 1", []))


def export_problem_rows(con: duckdb.DuckDBPyConnection, day: date) -> list[Row]:
    """Export runs that failed or caught up missed hours (report_export_problems)."""
    return rows(con, "SELECT * FROM report_export_problems(?)", [day])
