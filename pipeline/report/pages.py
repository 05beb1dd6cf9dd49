"""Render report days into an output folder: pages, the data beside them, and the archive index.

Layout (default ``<data_dir>/reports``)::

    index.html                                   the archive: every rendered day, newest first
    campaign-<id>.html                           a campaign's own index: its days, newest first
    <YYYY-MM-DD>/index.html                      the daily overview
    <YYYY-MM-DD>/overview.csv, overview.json     its metrics
    <YYYY-MM-DD>/campaign-<id>.html              a page per campaign
    <YYYY-MM-DD>/campaign-<id>.json, -states.csv its metrics
    <YYYY-MM-DD>/campaign-<id>-failed.csv        drill-downs: contact ids only
    <YYYY-MM-DD>/campaign-<id>-delivered-not-read.csv, campaign-<id>-stuck.csv

A day's folder is written by ``files.write_day``: every file aside and renamed into place, so a
reader never sees half a page.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from pipeline import __version__
from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import remove_stale_temps
from pipeline.core.errors import PipelineError
from pipeline.report.archive import write_archive
from pipeline.report.data import SideCursors, day_bounds, load_day
from pipeline.report.files import write_day
from pipeline.report.model import PageMeta
from pipeline.report.queries import available_days, cache_daily, latest_data
from pipeline.report.render import make_environment

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
    from pipeline.warehouse.analyst import open_analyst

    console = console or Console.silent()
    out = Path(out_dir) if out_dir is not None else default_out_dir(config)
    began = time.perf_counter()
    env = make_environment(config.timezone)
    catalog = load_catalog()
    result = RenderResult(out_dir=out)
    if out.is_dir():
        remove_stale_temps(out, recursive=True)  # what a report that died left
    con = open_analyst(config)
    try:
        available = available_days(con, config.timezone)
        days = choose_days(available, day, start, end)
        cache_daily(con, config.timezone)
        built = latest_data(con)
        known = set(rendered_days(out)) | set(days)
        empty: list[date] = []
        with SideCursors(con) as side:  # (one pair of cursors for every day)
            for d in days:
                data = load_day(
                    con,
                    day=d,
                    tz=config.timezone,
                    days=trend_days,
                    stuck_minutes=config.stuck_after_minutes,
                    catalog=catalog,
                    side=side,
                )
                if not data.campaigns:  # no campaign to show: never a page of zeros
                    empty.append(d)
                    known.discard(d)
                    continue
                meta = _page_meta(config, d, known, built)
                files = write_day(env, out / d.isoformat(), meta, data, catalog.legacy_label)
                result.pages.extend(files.pages)
                result.data_files.extend(files.data_files)
                result.days.append(d)
                console.info(
                    f"report {d}: {data.totals.campaigns} campaign(s) with a snapshot, "
                    f"{data.totals.stale_campaigns} stale -> {out / d.isoformat() / 'index.html'}"
                )
    finally:
        con.close()
    _no_data(empty, days, available, console)
    write_archive(env, out, config.timezone, rendered_days(out))
    result.pages.append(out / "index.html")
    result.seconds = time.perf_counter() - began
    return result


def _no_data(empty: list[date], days: list[date], available: list[date], console: Console) -> None:
    """Days without any campaign to show are not rendered: said on the console for a range, an
    error (exit 1) when that was the only day asked for, or every day of the range."""
    if not empty:
        return
    span = f"days with data: {available[0]} to {available[-1]}" if available else "no data yet"
    if len(empty) == len(days):
        asked = str(days[0]) if len(days) == 1 else f"{days[0]} to {days[-1]}"
        raise ReportError(f"no snapshot of any campaign on {asked}: nothing to report ({span})")
    console.info(f"no snapshot of any campaign, not rendered: {', '.join(map(str, empty))}")


def _page_meta(config: Config, d: date, known: set[date], built: datetime | None) -> PageMeta:
    """What every page of day ``d`` prints: its time zone and bounds, the data's time, the
    version, and its neighbours among the rendered days (``known``)."""
    earlier = [k for k in known if k < d]
    later = [k for k in known if k > d]
    d_start, d_end = day_bounds(d, config.timezone)
    return PageMeta(
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


def render_last_days(config: Config, console: Console | None = None, days: int = 7) -> RenderResult:
    """Render the last ``days`` calendar days up to the latest day with data (the demo's week:
    an archive with rows to compare and day-to-day links to follow)."""
    from pipeline.warehouse.analyst import open_analyst

    con = open_analyst(config)
    try:
        available = available_days(con, config.timezone)
    finally:
        con.close()
    if not available:
        raise ReportError("the warehouse has no complete snapshot yet: nothing to render")
    last = available[-1]
    first = max(available[0], last - timedelta(days=days - 1))
    return render_reports(config, console, start=first, end=last)


def render_day(config: Config, console: Console | None = None, day: date | None = None) -> Path:
    """Render one day (default: the latest day with data) and return its overview's path.

    The one call the demo and other jobs need after ``warehouse.build``.
    """
    result = render_reports(config, console, day=day)
    return result.overview(result.days[-1])
