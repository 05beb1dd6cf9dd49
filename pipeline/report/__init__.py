"""Daily HTML reports: the report stage.

``render_day(config, console, day=None) -> Path`` renders one day (default: the latest day with
data) and returns its overview's path; ``render_reports`` also renders ranges and ``render_last_days`` the
last week. Both read the analyst copy of the warehouse and writes
the daily overview, a page per campaign, the data beside them and the archive index.
"""

from __future__ import annotations

from pipeline.report.pages import (
    RenderResult,
    ReportError,
    default_out_dir,
    render_day,
    render_last_days,
    render_reports,
)

__all__ = [
    "RenderResult",
    "ReportError",
    "default_out_dir",
    "render_day",
    "render_last_days",
    "render_reports",
]
