"""Read a report day from the warehouse into the page dataclasses.

Every number comes from a table macro in ``queries/`` (``report_*.sql`` over ``campaign_daily``,
``data_quality`` and ``state_transitions``). This module only calls them with the day, the time
zone and the window, and moves the values into ``model`` objects: no arithmetic on metrics.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from pipeline.core.catalog import Catalog
from pipeline.core.errors import QueryError
from pipeline.report.model import (
    FORMULAS,
    CampaignDay,
    ExportProblem,
    Failure,
    Finding,
    Freshness,
    Funnel,
    Rate,
    RawState,
    Stage,
    StateCount,
    StuckContact,
    Totals,
    Transition,
    TrendPoint,
)

#: What each failure state means for an analyst (the vendor's notes, in short).
FAILURE_MEANING = {
    "sending_failed": "Not sent: the phone number has no WhatsApp account.",
    "error": "Not sent: platform trouble (mluvii app or WhatsApp API unavailable).",
    "delivery_failed": "Sent, but not delivered to the phone.",
}
#: How many stuck contacts a page lists (all of them are in the CSV).
STUCK_SHOWN = 50
#: The session's temporary copy of campaign_daily (see report_base.sql).
DAILY_CACHE = "report_daily_cache"

Row = dict[str, Any]


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


@dataclass
class DayData:
    """Everything the warehouse says about one report day."""

    day: date
    campaigns: list[CampaignDay]
    totals: Totals
    other_stale: int  # campaigns with data but none in the window (data_quality: stale)
    #: campaign -> its drill-down rows (report_contacts: list, contact_id, state, label,
    #: state_since, minutes), in the macro's order
    contacts: dict[str, pl.DataFrame] = field(default_factory=dict)
    state_rows: dict[str, list[Row]] = field(default_factory=dict)
    quality_rows: list[Row] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)
    export_problems: list[ExportProblem] = field(default_factory=list)
    runs_recorded: bool = False


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


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def _funnel(r: Row, *, prefix_change: bool = True) -> Funnel:
    stages = (
        Stage("contacts", "Contacts", r["contacts"], 1.0 if r["contacts"] else None,
              r["contacts_change"]),
        Stage("sent", "reached Sent", r["reached_sent"], r["reached_sent_share"],
              r["reached_sent_change"]),
        Stage("delivered", "reached Delivered", r["reached_delivered"],
              r["reached_delivered_share"], r["reached_delivered_change"]),
        Stage("read", "reached Read", r["reached_read"], r["reached_read_share"],
              r["reached_read_change"]),
    )  # fmt: skip
    num_den = {
        "delivery_rate": ("reached_delivered", "reached_sent"),
        "read_rate": ("reached_read", "reached_delivered"),
        "read_of_sent": ("reached_read", "reached_sent"),
    }
    rates = tuple(
        Rate(
            f.key,
            f.label,
            r[num_den[f.key][0]],
            r[num_den[f.key][1]],
            r[f.key],
            r[f"previous_{f.key}"],
            r[f"{f.key}_change"],
        )
        for f in FORMULAS
    )
    return Funnel(stages, rates)


FINDING_TEXT = {
    "unknown_state": "{n} contact(s) in a state the catalog does not know (counted as Other); {detail}",
    "legacy_mapped": "{n} contact(s) in the legacy Successfully Submitted state: {detail}",
    "went_backwards": "{n} contact(s) went backwards in the funnel on this day ({detail}); the "
    "funnel still counts the furthest stage they reached",
    "vanished": "{n} contact(s) {detail} (example {example})",
    "duplicate_rows": "{n} duplicate row(s): {detail} (example {example})",
    "incomplete_snapshot": "{n} {detail}",
    "stale": "stale: {detail}",
    "stuck": "{n} contact(s) stuck in In progress or Retry scheduled for more than {minutes} "
    "minutes (see Stuck contacts)",
}


def _finding(r: Row, *, minutes: int = 0) -> Finding:
    text = FINDING_TEXT.get(r["check_name"], "{n} finding(s): {detail}").format(
        n=f"{r['findings']:,}",
        detail=r.get("detail") or "",
        example=r.get("example_contact_id") or "n/a",
        minutes=minutes,
    )
    return Finding(r["severity"], r["check_name"], text, r["findings"])


def load_day(
    con: duckdb.DuckDBPyConnection,
    *,
    day: date,
    tz: str,
    days: int,
    stuck_minutes: int,
    catalog: Catalog,
) -> DayData:
    """Read one report day: the listed campaigns with everything their pages show."""
    args = [day, tz, days, DAILY_CACHE]
    names = campaign_names(con)
    camp_rows = rows(
        con,
        "SELECT * FROM report_campaigns(?, tz := ?, days := ?, daily := ?) "
        "ORDER BY fresh DESC, contacts DESC, campaign_id",
        args,
    )
    totals_row = rows(con, "SELECT * FROM report_totals(?, tz := ?, days := ?, daily := ?)", args)[
        0
    ]
    state_rows: dict[str, list[Row]] = defaultdict(list)
    for r in rows(con, "SELECT * FROM report_states(?, tz := ?, days := ?, daily := ?)", args):
        state_rows[r["campaign_id"]].append(r)
    trend_rows: dict[str, dict[date, Row]] = defaultdict(dict)
    for r in rows(con, "SELECT * FROM report_trend(?, tz := ?, days := ?, daily := ?)", args):
        trend_rows[r["campaign_id"]][r["day"]] = r
    list_counts: dict[str | None, dict[str, int]] = defaultdict(dict)
    for r in rows(
        con, "SELECT * FROM report_list_counts(?, tz := ?, days := ?, daily := ?, stuck_minutes := ?)",
        [*args, stuck_minutes],
    ):  # fmt: skip
        list_counts[r["campaign_id"]][r["list"]] = r["contacts"]
    contacts = frame(
        con, "SELECT * FROM report_contacts(?, tz := ?, days := ?, daily := ?, stuck_minutes := ?)",
        [*args, stuck_minutes],
    )  # fmt: skip
    contact_frames = {
        str(key[0]): part
        for key, part in contacts.partition_by(
            "campaign_id", as_dict=True, maintain_order=True
        ).items()
    }
    unknown: dict[str, list[Row]] = defaultdict(list)
    for r in rows(
        con, "SELECT * FROM report_unknown_states(?, tz := ?, days := ?, daily := ?)", args
    ):
        unknown[r["campaign_id"]].append(r)
    quality = rows(
        con,
        "SELECT * FROM data_quality(day := ?, tz := ?) ORDER BY campaign_id, check_name",
        [day, tz],
    )
    quality_by: dict[str, list[Row]] = defaultdict(list)
    for r in quality:
        quality_by[r["campaign_id"]].append(r)
    transitions: dict[str, list[Row]] = defaultdict(list)
    for r in rows(
        con,
        "SELECT t.*, cf.label AS from_label, ct.label AS to_label "
        "FROM state_transitions(tz := ?) AS t "
        "JOIN catalog AS cf ON cf.state = t.from_state JOIN catalog AS ct ON ct.state = t.to_state "
        "WHERE t.day = ? ORDER BY t.campaign_id, t.contacts DESC, cf.sort_order, ct.sort_order",
        [tz, day],
    ):
        transitions[r["campaign_id"]].append(r)

    window = [day - timedelta(days=days - 1 - i) for i in range(days)]
    campaigns = []
    listed = set()
    for r in camp_rows:
        cid = r["campaign_id"]
        listed.add(cid)
        states = tuple(
            StateCount(
                s["state"], s["label"], s["category"], s["description"], s["notes"],
                s["contacts"], s["share"], s["change"],
            )
            for s in state_rows[cid]
        )  # fmt: skip
        trend = tuple(_trend_point(d, trend_rows[cid].get(d), catalog) for d in window)
        findings = [
            _finding(q, minutes=stuck_minutes)
            for q in quality_by.get(cid, [])
            if q["check_name"] != "stale"
        ]
        stuck_count = list_counts[cid].get("stuck", 0)
        if stuck_count:
            findings.append(
                _finding(
                    {"check_name": "stuck", "severity": "warning", "findings": stuck_count},
                    minutes=stuck_minutes,
                )
            )
        failures = tuple(
            Failure(code, catalog.state(code).label, FAILURE_MEANING[code], r[code],
                    r[f"{code}_share"])
            for code in ("sending_failed", "error", "delivery_failed")
        )  # fmt: skip
        campaigns.append(
            CampaignDay(
                campaign_id=cid,
                name=names.get(cid),
                fresh=r["fresh"],
                snapshot_time=r["snapshot_time"],
                snapshot_id=r["snapshot_id"],
                snapshots_on_day=r["snapshots_on_day"] if r["fresh"] else 0,
                previous_snapshot_time=r["previous_snapshot_time"],
                previous_day=r["previous_day"],
                contacts=r["contacts"],
                contacts_change=r["contacts_change"],
                states=states,
                funnel=_funnel(r),
                trend=trend,
                findings=tuple(findings),
                legacy_as_sent=r["legacy_mapped"],
                unknown_states=tuple(
                    RawState(u["raw_state"], u["contacts"]) for u in unknown.get(cid, [])
                ),
                failed=r["failed"],
                failures=failures,
                transitions=tuple(
                    Transition(t["from_state"], t["from_label"], t["to_state"], t["to_label"],
                               t["contacts"])
                    for t in transitions.get(cid, [])
                ) if r["fresh"] else (),
                stuck=_stuck_shown(contact_frames.get(cid)),
                stuck_count=stuck_count,
            )
        )  # fmt: skip
    t = totals_row
    totals = Totals(
        campaigns=t["campaigns"],
        stale_campaigns=t["stale_campaigns"],
        contacts=t["contacts"],
        contacts_change=t["contacts_change"],
        funnel=_funnel(t),
        failed=t["failed"],
        stuck=list_counts[None].get("stuck", 0),
        findings=sum(len(c.findings) for c in campaigns),
    )
    other_stale = sum(
        1 for q in quality if q["check_name"] == "stale" and q["campaign_id"] not in listed
    )
    freshness = [
        Freshness(
            r["campaign_id"],
            names.get(r["campaign_id"]) or r["campaign_id"],
            r["latest_complete"],
            r["age_hours"],
            r["incomplete_on_day"],
        )
        for r in rows(con, "SELECT * FROM report_freshness(?, tz := ?, days := ?)", [day, tz, days])
    ]
    runs_recorded = bool(rows(con, "SELECT 1 AS x FROM run_log LIMIT 1", []))
    problems = [
        ExportProblem(r["job"], r["problem"], r["started"], r["missed"], r["error"])
        for r in rows(con, "SELECT * FROM report_export_problems(?)", [day])
    ]
    return DayData(
        day=day,
        campaigns=campaigns,
        totals=totals,
        other_stale=other_stale,
        contacts=contact_frames,
        state_rows=dict(state_rows),
        quality_rows=quality,
        freshness=freshness,
        export_problems=problems,
        runs_recorded=runs_recorded,
    )


def _stuck_shown(contacts: pl.DataFrame | None) -> tuple[StuckContact, ...]:
    """The first STUCK_SHOWN rows of a campaign's stuck list (the page's table)."""
    if contacts is None:
        return ()
    shown = contacts.filter(pl.col("list") == "stuck").head(STUCK_SHOWN)
    return tuple(
        StuckContact(x["contact_id"], x["label"], x["state_since"], x["minutes"])
        for x in shown.iter_rows(named=True)
    )


def _trend_point(day: date, r: Row | None, catalog: Catalog) -> TrendPoint:
    if r is None:
        return TrendPoint(day, None, None, None, None, None, None)
    return TrendPoint(
        day=day,
        snapshot_time=r["snapshot_time"],
        contacts=r["contacts"],
        reached_sent=r["reached_sent"],
        reached_delivered=r["reached_delivered"],
        reached_read=r["reached_read"],
        read_of_sent=r["read_of_sent"],
        states={s.code: r[s.code] for s in (*catalog.states, catalog.other)},
    )
