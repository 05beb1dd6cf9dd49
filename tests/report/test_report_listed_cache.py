"""The report computes a day's listed campaigns once (``queries.cache_listed``) and every report
macro reads them through ``listed :=``: the same rows as the macros compute without it.

The tenant is tests/lifecycle_helpers.py (fin final long ago, quiet finished, cxl canceled and
first seen on 2026-12-25, gap stale, live fresh) plus ``odd``: files only, snapshots on 12-24 and
12-25 with raw states the catalog does not know, a contact stuck since 12-24, failures and
Delivered contacts, so that every macro has rows and each day's rows differ.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lifecycle_helpers import CAMPAIGNS, TENANT, TZ
from report_helpers import build_tenant

from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.report import queries as q
from pipeline.report.data import SideCursors, load_day
from pipeline.warehouse.analyst import open_analyst

ODD = {
    "20261224T073000Z": [("o1", "WA_FUTURE_STATE"), ("o2", "CALLING"), ("o3", "WA_SEND_FAILED"),
                         ("o4", "WA_DELIVERED")],
    "20261225T073000Z": [("o1", "WA_FUTURE_STATE"), ("o2", "CALLING"), ("o3", "WA_SEND_FAILED"),
                         ("o4", "WA_DELIVERED"), ("o5", "WA_ANOTHER_STATE"),
                         ("o6", "WA_DELIVERED")],
}  # fmt: skip
EARLIER, LATER = date(2026, 12, 24), date(2026, 12, 25)
#: fin's last snapshot, the day after, gap's only one, the two days of odd
DAYS = [date(2026, 11, 21), date(2026, 11, 22), date(2026, 12, 23), EARLIER, LATER]
WINDOW = 30
STUCK = 60

#: every macro that gained ``listed``, and what it takes after ``daily``
MACROS = {
    "report_campaigns": "",
    "report_totals": "",
    "report_states": "",
    "report_unknown_states": "",
    "report_contact_lists": ", stuck_minutes := ?",
    "report_contacts": ", stuck_minutes := ?",
    "report_list_counts": ", stuck_minutes := ?",
}
#: the macros whose rows come in a defined order (the others are compared as sets)
ORDERED = {"report_states", "report_unknown_states", "report_contacts"}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Config:
    data_dir = Path(tmp_path_factory.mktemp("listed")) / "data"
    data_dir.mkdir(parents=True)
    (data_dir / "campaigns.json").write_text(json.dumps(CAMPAIGNS), encoding="utf-8")
    return build_tenant(data_dir, {**TENANT, "odd": ODD}, config=Config(data_dir, timezone=TZ))


@pytest.fixture
def con(tenant: Config) -> Any:
    con = open_analyst(tenant)
    q.cache_daily(con, TZ)
    yield con
    con.close()


def macro_rows(
    con: duckdb.DuckDBPyConnection, macro: str, day: date, *, listed: bool
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A macro's columns and rows for the day: with listed := the session's cache, or as an
    analyst calls it (no daily, no listed: everything computed)."""
    stuck = [STUCK] if MACROS[macro] else []
    if listed:
        sql = (
            f"SELECT * FROM {macro}(?, tz := ?, days := ?, daily := ?{MACROS[macro]}, listed := ?)"
        )
        args = q.day_args(day, TZ, WINDOW)
        params = [*args[:4], *stuck, args[4]]
    else:
        sql = f"SELECT * FROM {macro}(?, tz := ?, days := ?{MACROS[macro]})"
        params = [day, TZ, WINDOW, *stuck]
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    found = cur.fetchall()
    return names, found if macro in ORDERED else sorted(found, key=repr)


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_every_macro_reads_the_same_rows_from_the_cache(con: Any, day: date) -> None:
    q.cache_listed(con, q.day_args(day, TZ, WINDOW))
    for macro in MACROS:
        assert macro_rows(con, macro, day, listed=True) == macro_rows(
            con, macro, day, listed=False
        ), macro


def test_the_tenant_gives_every_macro_rows(con: Any) -> None:
    # so that the comparison above compares something: the later day has rows everywhere
    for macro in MACROS:
        assert macro_rows(con, macro, LATER, listed=False)[1], macro
    listed = {r[0] for r in macro_rows(con, "report_campaigns", LATER, listed=False)[1]}
    assert listed == {"fin", "quiet", "cxl", "live", "gap", "odd"}


def test_a_cache_of_another_day_gives_other_rows(con: Any) -> None:
    # the comparison can fail: with the earlier day's campaigns in the cache, every macro's rows
    # for the later day differ from the computed ones
    q.cache_listed(con, q.day_args(EARLIER, TZ, WINDOW))
    for macro in MACROS:
        assert macro_rows(con, macro, LATER, listed=True) != macro_rows(
            con, macro, LATER, listed=False
        ), macro


def test_days_of_one_session_each_get_their_own_listed_campaigns(con: Any) -> None:
    # a report of many days loads them one after the other on one connection
    catalog = load_catalog()
    seen: dict[date, set[str]] = {}
    with SideCursors(con) as side:
        for day in (EARLIER, LATER, DAYS[1], EARLIER):
            data = load_day(
                con, day=day, tz=TZ, days=WINDOW, stuck_minutes=STUCK, catalog=catalog, side=side
            )
            seen[day] = {c.campaign_id for c in data.campaigns}
            want = macro_rows(con, "report_campaigns", day, listed=False)[1]
            assert seen[day] == {r[0] for r in want}, day
            (totals,) = macro_rows(con, "report_totals", day, listed=False)[1]
            assert (data.totals.campaigns, data.totals.contacts) == (totals[0], totals[3]), day
    # cxl's first snapshot is on the later day; on 11-22 only fin is left (final)
    assert "cxl" in seen[LATER] and "cxl" not in seen[EARLIER]
    assert seen[DAYS[1]] == {"fin"}


def test_a_rendered_range_lists_each_days_campaigns(tenant: Config) -> None:
    from pipeline.report import render_reports

    result = render_reports(tenant, Console.silent(), start=EARLIER, end=LATER)
    assert result.days == [EARLIER, LATER]
    pages = {
        day: {p.name for p in (result.out_dir / day.isoformat()).glob("campaign-*.html")}
        for day in (EARLIER, LATER)
    }
    assert "campaign-cxl.html" in pages[LATER]
    assert "campaign-cxl.html" not in pages[EARLIER]
    assert pages[LATER] - pages[EARLIER] == {"campaign-cxl.html"}
