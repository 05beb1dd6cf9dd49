"""The day's "Needs attention" list (the view ``attention``, queries/views/attention.sql) and the
incomplete exports the overview's export problems must show.

Each finding comes from the ``attention(day, tz)`` macro: ranked, with its rule's title, one
sentence of detail, since when it holds and a link to the drill-down. No rule is computed here.
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.report import queries as q
from pipeline.report.model import Attention, ExportProblem


def load_attention(con: duckdb.DuckDBPyConnection, day: date, tz: str) -> list[Attention]:
    """The findings of ``day`` in rank order."""
    found = q.rows(con, "SELECT * FROM attention(day := ?, tz := ?) ORDER BY rank", [day, tz])
    return [
        Attention(
            rank=r["rank"],
            campaign_id=r["campaign_id"],
            campaign_name=r["campaign_name"],
            rule=r["rule"],
            title=r["title"],
            detail=r["detail"],
            severity=r["severity"],
            since=r["since"],
            link=r["link"],
            repeats=r["since"] is not None and r["since"] < day,
            value=r["value"],
            threshold=r["threshold"],
        )
        for r in found
    ]


def of_campaign(found: list[Attention], campaign_id: str) -> tuple[Attention, ...]:
    """A campaign's own findings, in the day's rank order."""
    return tuple(a for a in found if a.campaign_id == campaign_id)


def incomplete_exports(
    con: duckdb.DuckDBPyConnection, day: date, tz: str, names: dict[str, str]
) -> list[ExportProblem]:
    """The snapshots of ``day`` published incomplete (quality_incomplete), as export problems:
    the campaign, the reason, and the last complete snapshot before each and its age."""
    found = q.rows(
        con,
        "SELECT campaign_id, snapshot_time, reason, last_complete_time, last_complete_age_hours, "
        "strftime(timezone(?, last_complete_time), '%Y-%m-%d %H:%M') AS last_local "
        "FROM quality_incomplete(tz := ?) WHERE day = ? ORDER BY snapshot_time, campaign_id",
        [tz, tz, day],
    )
    problems = []
    for r in found:
        before = (
            f"the last complete snapshot before it is from {r['last_local']} {tz}, "
            f"{r['last_complete_age_hours']} h older"
            if r["last_complete_time"] is not None
            else "there is no complete snapshot before it"
        )
        problems.append(
            ExportProblem(
                job=names.get(r["campaign_id"]) or r["campaign_id"],
                problem="published incomplete (left out of every number)",
                started=r["snapshot_time"],
                missed=None,
                error=f"{r['reason']}; {before}",
            )
        )
    return problems
