"""Read a report day from the warehouse into the page dataclasses.

Every number comes from a table macro in ``queries/`` (``report_*.sql`` over ``campaign_daily``,
``data_quality`` and ``state_transitions``). ``queries.py`` calls them with the day, the time
zone and the window, one function per query family; this module moves the values into ``model``
objects: no arithmetic on metrics.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from pipeline.core.catalog import Catalog
from pipeline.report import queries as q
from pipeline.report.attention import incomplete_exports, load_attention
from pipeline.report.by_age import AgeData, load_by_age
from pipeline.report.model import (
    FORMULAS,
    Attention,
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
from pipeline.report.queries import Row

#: What each failure state means for an analyst (the vendor's notes, in short).
FAILURE_MEANING = {
    "sending_failed": "Not sent: the phone number has no WhatsApp account.",
    "error": "Not sent: platform trouble (mluvii app or WhatsApp API unavailable).",
    "delivery_failed": "Sent, but not delivered to the phone.",
}
#: How many stuck contacts a page lists (all of them are in the CSV).
STUCK_SHOWN = 50


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
    attention: list[Attention] = field(default_factory=list)  # the attention view's day, ranked
    by_age: AgeData = field(default_factory=AgeData)


@dataclass
class _DayRows:
    """One day's rows of the query families the campaigns and totals are built from, as
    ``queries`` returns them."""

    campaigns: list[Row]
    totals: Row
    states: dict[str, list[Row]]
    trend: dict[str, dict[date, Row]]
    contacts: dict[str, pl.DataFrame]
    unknown: dict[str, list[Row]]
    quality: list[Row]
    transitions: dict[str, list[Row]]

    def stuck_count(self, campaign_id: str | None) -> int:
        """Contacts on the stuck list of a campaign (None: of all fresh campaigns), counted in
        its drill-down rows (report_contacts; the same as report_list_counts)."""
        if campaign_id is None:
            fresh = (r["campaign_id"] for r in self.campaigns if r["fresh"])
            return sum(self.stuck_count(cid) for cid in fresh)
        rows = self.contacts.get(campaign_id)
        return 0 if rows is None else int((rows.get_column("list") == "stuck").sum())


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


class SideCursors:
    """Two more cursors of the report's connection: the curves by age and the attention list
    (the heaviest queries over the whole history) run on them in threads while the day's other
    queries run on the connection itself; DuckDB runs the three side by side. Made once for a
    report of many days (the curves' table is made once, on its cursor). A cursor is a session
    of its own: it gets the connection's session setting (the time zone UTC)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.ages = con.cursor()
        self.attention = con.cursor()
        for cur in (self.ages, self.attention):
            cur.execute("SET TimeZone = 'UTC'")

    def close(self) -> None:
        for cur in (self.ages, self.attention):
            cur.close()

    def __enter__(self) -> SideCursors:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_day(
    con: duckdb.DuckDBPyConnection,
    *,
    day: date,
    tz: str,
    days: int,
    stuck_minutes: int,
    catalog: Catalog,
    side: SideCursors | None = None,
) -> DayData:
    """Read one report day: the listed campaigns with everything their pages show (``side``:
    the cursors of a report of many days; made for this day if not given)."""
    if side is None:
        with SideCursors(con) as own:
            return load_day(
                con, day=day, tz=tz, days=days, stuck_minutes=stuck_minutes, catalog=catalog,
                side=own,
            )  # fmt: skip
    names = q.campaign_names(con)
    with ThreadPoolExecutor(2, thread_name_prefix="report-query") as pool:
        ages_later = pool.submit(load_by_age, side.ages, day, tz, names)
        attention_later = pool.submit(load_attention, side.attention, day, tz)
        raw = _query_day(con, day=day, tz=tz, days=days, stuck_minutes=stuck_minutes)
        by_age = ages_later.result()
        attention = attention_later.result()
    window = [day - timedelta(days=days - 1 - i) for i in range(days)]
    quality_by = q.by_campaign(raw.quality)
    campaigns = [
        _campaign_day(
            r,
            raw,
            name=names.get(r["campaign_id"]),
            quality=quality_by.get(r["campaign_id"], []),
            window=_own_days(window, by_age, r["campaign_id"]),
            stuck_minutes=stuck_minutes,
            catalog=catalog,
        )
        for r in raw.campaigns
    ]
    per_campaign = Counter(a.campaign_id for a in attention)
    campaigns = [replace(c, attention_count=per_campaign[c.campaign_id]) for c in campaigns]
    totals = replace(_totals(raw, campaigns), attention=len(attention))
    freshness = _freshness(q.freshness_rows(con, day, tz, days), names)
    runs_recorded = q.runs_recorded(con)
    problems = _export_problems(q.export_problem_rows(con, day))
    problems += incomplete_exports(con, day, tz, names)
    return DayData(
        day=day,
        campaigns=campaigns,
        totals=totals,
        other_stale=_other_stale(raw),
        contacts=raw.contacts,
        state_rows=raw.states,
        quality_rows=raw.quality,
        freshness=freshness,
        export_problems=problems,
        runs_recorded=runs_recorded,
        attention=attention,
        by_age=by_age,
    )


def _own_days(window: list[date], by_age: AgeData, campaign_id: str) -> list[date]:
    """The days of the window from the campaign's start on: its time axis fits its life."""
    series = by_age.of(campaign_id)
    own = [d for d in window if series is None or d >= series.start_day]
    return own or window[-1:]


def _query_day(
    con: duckdb.DuckDBPyConnection, *, day: date, tz: str, days: int, stuck_minutes: int
) -> _DayRows:
    """Run the query families of ``_DayRows`` for one day, one after the other as listed, after
    computing the day's listed campaigns once (the cache they read; replaced for each day)."""
    args = q.day_args(day, tz, days)
    q.cache_listed(con, args)
    return _DayRows(
        campaigns=q.campaign_rows(con, args),
        totals=q.totals_row(con, args),
        states=q.state_rows(con, args),
        trend=q.trend_rows(con, args),
        contacts=q.contact_frames(con, args, stuck_minutes),
        unknown=q.unknown_state_rows(con, args),
        quality=q.quality_rows(con, day, tz),
        transitions=q.transition_rows(con, day, tz),
    )


# ------------------------------------------------------------------------- one campaign's page
def _campaign_day(
    r: Row,
    raw: _DayRows,
    *,
    name: str | None,
    quality: list[Row],
    window: list[date],
    stuck_minutes: int,
    catalog: Catalog,
) -> CampaignDay:
    """A campaign's page data: its report_campaigns row ``r`` and its rows of the other
    query families."""
    cid = r["campaign_id"]
    stuck_count = raw.stuck_count(cid)
    trend = raw.trend.get(cid, {})
    return CampaignDay(
        campaign_id=cid,
        name=name,
        fresh=r["fresh"],
        snapshot_time=r["snapshot_time"],
        snapshot_id=r["snapshot_id"],
        snapshots_on_day=r["snapshots_on_day"] if r["fresh"] else 0,
        previous_snapshot_time=r["previous_snapshot_time"],
        previous_day=r["previous_day"],
        contacts=r["contacts"],
        contacts_change=r["contacts_change"],
        states=_states(raw.states.get(cid, [])),
        funnel=_funnel(r),
        trend=tuple(_trend_point(d, trend.get(d), catalog) for d in window),
        findings=_findings(quality, stuck_count, stuck_minutes),
        legacy_as_sent=r["legacy_mapped"],
        unknown_states=tuple(
            RawState(u["raw_state"], u["contacts"]) for u in raw.unknown.get(cid, [])
        ),
        failed=r["failed"],
        failed_share=r["failed_share"],
        failures=_failures(r, catalog),
        transitions=_transitions(raw.transitions.get(cid, [])) if r["fresh"] else (),
        stuck=_stuck_shown(raw.contacts.get(cid)),
        stuck_count=stuck_count,
        lifecycle=r["lifecycle"],
        final=r["final"],
        lifecycle_reason=r["lifecycle_reason"],
        hours_since_snapshot=r["hours_since_snapshot"],
    )


def _states(state_rows: list[Row]) -> tuple[StateCount, ...]:
    return tuple(
        StateCount(
            s["state"], s["label"], s["category"], s["description"], s["notes"],
            s["contacts"], s["share"], s["change"],
        )
        for s in state_rows
    )  # fmt: skip


def _findings(quality: list[Row], stuck_count: int, stuck_minutes: int) -> tuple[Finding, ...]:
    """A campaign's data-quality findings (stale is shown apart), then its stuck contacts."""
    findings = [_finding(x, minutes=stuck_minutes) for x in quality if x["check_name"] != "stale"]
    if stuck_count:
        findings.append(
            _finding(
                {"check_name": "stuck", "severity": "warning", "findings": stuck_count},
                minutes=stuck_minutes,
            )
        )
    return tuple(findings)


def _failures(r: Row, catalog: Catalog) -> tuple[Failure, ...]:
    return tuple(
        Failure(code, catalog.state(code).label, FAILURE_MEANING[code], r[code],
                r[f"{code}_share"])
        for code in ("sending_failed", "error", "delivery_failed")
    )  # fmt: skip


def _transitions(transition_rows: list[Row]) -> tuple[Transition, ...]:
    return tuple(
        Transition(t["from_state"], t["from_label"], t["to_state"], t["to_label"], t["contacts"])
        for t in transition_rows
    )


# ---------------------------------------------------------------------------- the whole day
def _totals(raw: _DayRows, campaigns: list[CampaignDay]) -> Totals:
    t = raw.totals
    return Totals(
        campaigns=t["campaigns"],
        stale_campaigns=t["stale_campaigns"],
        contacts=t["contacts"],
        contacts_change=t["contacts_change"],
        funnel=_funnel(t),
        failed=t["failed"],
        failed_share=t["failed_share"],
        stuck=raw.stuck_count(None),
        findings=sum(len(c.findings) for c in campaigns),
        final_campaigns=t["final_campaigns"],
    )


def _other_stale(raw: _DayRows) -> int:
    """Campaigns flagged stale by data_quality that the report does not list."""
    listed = {r["campaign_id"] for r in raw.campaigns}
    return sum(
        1 for x in raw.quality if x["check_name"] == "stale" and x["campaign_id"] not in listed
    )


def _freshness(freshness_rows: list[Row], names: dict[str, str]) -> list[Freshness]:
    return [
        Freshness(
            r["campaign_id"],
            names.get(r["campaign_id"]) or r["campaign_id"],
            r["latest_complete"],
            r["age_hours"],
            r["incomplete_on_day"],
        )
        for r in freshness_rows
    ]


def _export_problems(problem_rows: list[Row]) -> list[ExportProblem]:
    return [
        ExportProblem(r["job"], r["problem"], r["started"], r["missed"], r["error"])
        for r in problem_rows
    ]


# ------------------------------------------------------------------------------ row to model
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


#: What the pages call each check (never the internal code).
FINDING_LABELS = {
    "unknown_state": "Unknown state value",
    "legacy_mapped": "Legacy state mapped",
    "went_backwards": "Went backwards",
    "vanished": "Vanished contacts",
    "duplicate_rows": "Duplicate rows",
    "incomplete_snapshot": "Incomplete snapshot",
    "quarantined_rows": "Rows quarantined",
    "stale": "Stale data",
    "stuck": "Stuck contacts",
}

FINDING_TEXT = {
    "unknown_state": "{n} contact(s) in a state the catalog does not know (counted as Other); {detail}",
    "legacy_mapped": "{n} contact(s) in the legacy Successfully Submitted state: {detail}",
    "went_backwards": "{n} contact(s) went backwards in the funnel on this day ({detail}); the "
    "funnel still counts the furthest stage they reached",
    "vanished": "{n} contact(s) {detail} (example {example})",
    "duplicate_rows": "{n} duplicate row(s): {detail} (example {example})",
    "incomplete_snapshot": "{n} {detail}",
    "quarantined_rows": "{n} row(s) quarantined at ingest: {detail}",
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
    kind = str(r["check_name"])
    return Finding(r["severity"], kind, text, r["findings"], FINDING_LABELS.get(kind, kind))


def _stuck_shown(contacts: pl.DataFrame | None) -> tuple[StuckContact, ...]:
    """The first STUCK_SHOWN rows of a campaign's stuck list (the page's table)."""
    if contacts is None:
        return ()
    shown = contacts.filter(pl.col("list") == "stuck").head(STUCK_SHOWN)
    return tuple(
        StuckContact(x["contact_id"], x["label"], x["state_since"], x["minutes"], x["seconds"])
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
