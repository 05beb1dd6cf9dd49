"""Render report days into an output folder: pages, the data beside them, and the archive index.

Layout (default ``<data_dir>/reports``)::

    index.html                                   the archive: every rendered day, newest first
    <YYYY-MM-DD>/index.html                      the daily overview
    <YYYY-MM-DD>/overview.csv, overview.json     its metrics
    <YYYY-MM-DD>/campaign-<id>.html              a page per campaign
    <YYYY-MM-DD>/campaign-<id>.json, -states.csv its metrics
    <YYYY-MM-DD>/campaign-<id>-failed.csv        drill-downs: contact ids only
    <YYYY-MM-DD>/campaign-<id>-delivered-not-read.csv, campaign-<id>-stuck.csv

Every file is written aside and renamed into place, so a reader never sees half a page.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment

from pipeline import __version__
from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import atomic_write, atomic_write_many
from pipeline.core.errors import PipelineError
from pipeline.report.data import FAILURE_MEANING, DayData, day_bounds, load_day
from pipeline.report.model import (
    FORMULAS,
    ArchiveDay,
    ArchivePage,
    CampaignDay,
    CampaignPage,
    DataFile,
    Finding,
    OverviewPage,
    PageMeta,
)
from pipeline.report.queries import available_days, cache_daily, latest_data
from pipeline.report.render import (
    csv_text,
    frame_csv_text,
    json_text,
    make_environment,
    plain,
    render,
)

REPORTS_DIR = "reports"
TREND_DAYS = 30
DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_DAYS = 366


class ReportError(PipelineError):
    """The reports could not be rendered."""


@dataclass
class RenderResult:
    out_dir: Path
    days: list[date] = field(default_factory=list)
    pages: list[Path] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"

    def overview(self, day: date) -> Path:
        return self.out_dir / day.isoformat() / "index.html"


def default_out_dir(config: Config) -> Path:
    return Path(config.data_dir) / REPORTS_DIR


def rendered_days(out_dir: Path) -> list[date]:
    if not out_dir.is_dir():
        return []
    return sorted(
        date.fromisoformat(p.name)
        for p in out_dir.iterdir()
        if p.is_dir() and DAY_DIR.match(p.name) and (p / "index.html").is_file()
    )


def choose_days(
    available: list[date], day: date | None, start: date | None, end: date | None
) -> list[date]:
    """The days to render: ``day``; or ``start``..``end``; or the latest day with data."""
    if day is not None and (start is not None or end is not None):
        raise ReportError("give either --date or --from/--to, not both")
    if day is not None:
        return [day]
    if start is not None or end is not None:
        if not available and (start is None or end is None):
            raise ReportError("the warehouse has no snapshot yet: give both --from and --to")
        lo = start or available[0]
        hi = end or available[-1]
        if lo > hi:
            raise ReportError(f"--from {lo} is after --to {hi}")
        if (hi - lo).days >= MAX_DAYS:
            raise ReportError(f"{(hi - lo).days + 1} days asked for; render at most {MAX_DAYS}")
        return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
    if not available:
        raise ReportError(
            "the warehouse has no complete snapshot yet: ingest exports and run "
            "`campaign-reports build` first, or give --date"
        )
    return [available[-1]]


def render_reports(
    config: Config,
    console: Console | None = None,
    *,
    day: date | None = None,
    start: date | None = None,
    end: date | None = None,
    out_dir: Path | None = None,
    trend_days: int = TREND_DAYS,
) -> RenderResult:
    """Render the daily reports from the analyst copy of the warehouse.

    Without ``day``/``start``/``end`` the latest day with data is rendered (never the wall
    clock's today). Returns what was written; ``result.overview(day)`` is the day's overview.
    """
    from pipeline.warehouse.build import open_analyst

    console = console or Console.silent()
    out = Path(out_dir) if out_dir is not None else default_out_dir(config)
    began = time.perf_counter()
    env = make_environment(config.timezone)
    catalog = load_catalog()
    result = RenderResult(out_dir=out)
    con = open_analyst(config)
    try:
        days = choose_days(available_days(con, config.timezone), day, start, end)
        cache_daily(con, config.timezone)
        built = latest_data(con)
        known = set(rendered_days(out)) | set(days)
        for d in days:
            data = load_day(
                con,
                day=d,
                tz=config.timezone,
                days=trend_days,
                stuck_minutes=config.stuck_after_minutes,
                catalog=catalog,
            )
            earlier = [k for k in known if k < d]
            later = [k for k in known if k > d]
            d_start, d_end = day_bounds(d, config.timezone)
            meta = PageMeta(
                day=d,
                timezone=config.timezone,
                day_start_utc=d_start,
                day_end_utc=d_end,
                latest_data=built,
                version=__version__,
                stuck_after_minutes=config.stuck_after_minutes,
                previous_day=max(earlier) if earlier else None,
                next_day=min(later) if later else None,
            )
            write_day(env, out / d.isoformat(), meta, data, catalog.legacy_label, result)
            result.days.append(d)
            console.info(
                f"report {d}: {data.totals.campaigns} campaign(s) with a snapshot, "
                f"{data.totals.stale_campaigns} stale -> {out / d.isoformat() / 'index.html'}"
            )
    finally:
        con.close()
    write_archive(env, out, config.timezone)
    result.pages.append(out / "index.html")
    result.seconds = time.perf_counter() - began
    return result


# ------------------------------------------------------------------------------------- writing
_CONTACT_LISTS = (
    ("failed", "failed", "Failed contacts with the reason (CSV)"),
    ("delivered_not_read", "delivered-not-read", "Delivered but not read (CSV)"),
    ("stuck", "stuck", "Stuck contacts (CSV)"),
)
_CONTACT_HEADER = ("contact_id", "state", "reason", "state_since_utc", "minutes_in_state")


def _contact_csvs(contacts: pl.DataFrame | None) -> dict[str, tuple[str, int]]:
    """A campaign's drill-down files, written a list at a time: list -> (CSV text, rows).

    ``contacts`` is the campaign's rows of report_contacts, in its order (kept in each file); the
    reason is the state's label, and for a failure what it means (FAILURE_MEANING).
    """
    if contacts is None or contacts.is_empty():
        return {}
    meaning = pl.col("state").replace_strict(FAILURE_MEANING, default=None, return_dtype=pl.String)
    table = contacts.select(
        "list",
        pl.col("contact_id").alias(_CONTACT_HEADER[0]),
        pl.col("state").alias(_CONTACT_HEADER[1]),
        pl.when(meaning.is_null())
        .then(pl.col("label"))
        .otherwise(pl.concat_str(pl.col("label"), pl.lit(": "), meaning))
        .alias(_CONTACT_HEADER[2]),
        pl.col("state_since").alias(_CONTACT_HEADER[3]),
        pl.col("minutes").alias(_CONTACT_HEADER[4]),
    )
    return {
        str(key[0]): (frame_csv_text(part), part.height)
        for key, part in table.partition_by(
            "list", as_dict=True, include_key=False, maintain_order=True
        ).items()
    }


def _campaign_files(c: CampaignDay, data: DayData) -> tuple[list[DataFile], dict[str, str]]:
    """The files beside a campaign page: name -> content, and the links the page shows."""
    base = f"campaign-{c.campaign_id}"
    files: dict[str, str] = {}
    links: list[DataFile] = []
    state_rows = data.state_rows.get(c.campaign_id, [])
    files[f"{base}-states.csv"] = csv_text(
        ("campaign_id", "snapshot_time_utc", "state", "label", "category", "contacts", "share",
         "change"),
        (
            (c.campaign_id, c.snapshot_time, s["state"], s["label"], s["category"],
             s["contacts"], s["share"], s["change"])
            for s in state_rows
        ),
    )  # fmt: skip
    links.append(DataFile(f"{base}-states.csv", "State counts (CSV)", len(state_rows)))
    links.append(DataFile(f"{base}.json", "All metrics of this page (JSON)", None))
    lists = _contact_csvs(data.contacts.get(c.campaign_id))
    for key, suffix, label in _CONTACT_LISTS:
        text, count = lists.get(key, (csv_text(_CONTACT_HEADER, ()), 0))
        files[f"{base}-{suffix}.csv"] = text
        links.append(DataFile(f"{base}-{suffix}.csv", label, count))
    return links, files


def _overview_csv(data: DayData) -> str:
    header = (
        "campaign_id", "name", "status", "snapshot_time_utc", "contacts", "contacts_change",
        "reached_sent", "reached_delivered", "reached_read", "delivery_rate", "read_rate",
        "read_of_sent", "failed", "sending_failed", "error", "delivery_failed",
        "legacy_as_sent", "stuck",
    )  # fmt: skip
    out = []
    for c in data.campaigns:
        f = c.funnel
        out.append(
            (
                c.campaign_id, c.name or "", "fresh" if c.fresh else "stale", c.snapshot_time,
                c.contacts, c.contacts_change, f.stage("sent").count,
                f.stage("delivered").count, f.stage("read").count,
                f.rate("delivery_rate").value, f.rate("read_rate").value,
                f.rate("read_of_sent").value, c.failed, *(x.count for x in c.failures),
                c.legacy_as_sent, c.stuck_count,
            )
        )  # fmt: skip
    return csv_text(header, out)


def write_day(
    env: Environment,
    folder: Path,
    meta: PageMeta,
    data: DayData,
    legacy_label: str,
    result: RenderResult,
) -> None:
    written: dict[Path, str] = {}

    def put(name: str, text: str, *, page: bool = False) -> None:
        path = folder / name
        written[path] = text
        (result.pages if page else result.data_files).append(path)

    campaigns = []
    for c in data.campaigns:
        links, files = _campaign_files(c, data)
        c = replace(c, files=tuple(links))
        campaigns.append(c)
        for name, text in files.items():
            put(name, text)
        put(
            f"campaign-{c.campaign_id}.json",
            json_text(
                {"day": meta.day, "timezone": meta.timezone, "formulas": FORMULAS, "campaign": c}
            ),
        )
        put(c.page, render(env, "campaign.html", CampaignPage(meta, c, legacy_label)), page=True)

    fresh = tuple(c for c in campaigns if c.fresh)
    stale = tuple(c for c in campaigns if not c.fresh)
    tenant_findings: tuple[Finding, ...] = ()
    if data.other_stale:
        tenant_findings = (
            Finding(
                "info",
                "stale",
                f"{data.other_stale:,} more campaign(s) have had no snapshot for longer than "
                "the report's window; they are not listed.",
                data.other_stale,
            ),
        )
    overview_files = (
        DataFile("overview.csv", "Metrics of every campaign (CSV)", len(campaigns)),
        DataFile("overview.json", "All metrics of this page (JSON)", None),
    )
    page = OverviewPage(
        meta,
        data.totals,
        fresh,
        stale,
        tenant_findings,
        overview_files,
        freshness=tuple(data.freshness),
        export_problems=tuple(data.export_problems),
        runs_recorded=data.runs_recorded,
    )
    put("overview.csv", _overview_csv(data))
    put(
        "overview.json",
        json_text(
            {
                "day": meta.day,
                "timezone": meta.timezone,
                "formulas": FORMULAS,
                "totals": data.totals,
                "campaigns": [_summary(c) for c in campaigns],
                "findings": tenant_findings,
            }
        ),
    )
    put("index.html", render(env, "overview.html", page), page=True)
    # The overview goes last: it links only to files already in place.
    overview_path = folder / "index.html"
    atomic_write_many({p: t for p, t in written.items() if p != overview_path})
    atomic_write(overview_path, written[overview_path])
    # Files of an earlier render of this day that this render did not write (a campaign that
    # is no longer listed) are removed, so the folder matches the overview.
    for old in folder.iterdir():
        if old.is_file() and old not in written and not old.name.startswith("."):
            old.unlink()


def _summary(c: CampaignDay) -> dict[str, Any]:
    d: dict[str, Any] = plain(c)
    d.pop("trend")
    d.pop("stuck")
    return d


def write_archive(env: Environment, out: Path, tz: str) -> None:
    days = []
    for d in sorted(rendered_days(out), reverse=True):
        summary: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            summary = json.loads((out / d.isoformat() / "overview.json").read_text("utf-8"))
        totals = summary.get("totals", {})
        days.append(
            ArchiveDay(
                day=d,
                href=f"{d.isoformat()}/index.html",
                campaigns=int(totals.get("campaigns", 0)),
                stale_campaigns=int(totals.get("stale_campaigns", 0)),
                contacts=int(totals.get("contacts", 0)),
                findings=int(totals.get("findings", 0)),
            )
        )
    page = ArchivePage(timezone=tz, version=__version__, days=tuple(days))
    atomic_write(out / "index.html", render(env, "archive.html", page))


def render_day(config: Config, console: Console | None = None, day: date | None = None) -> Path:
    """Render one day (default: the latest day with data) and return its overview's path.

    The one call the demo and other jobs need after ``warehouse.build``.
    """
    result = render_reports(config, console, day=day)
    return result.overview(result.days[-1])
