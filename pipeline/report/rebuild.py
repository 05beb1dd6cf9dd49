"""After an erasure: the warehouse and every rendered report rebuilt from the cleaned store."""

from __future__ import annotations

import shutil

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.report.archive import write_archive
from pipeline.report.pages import (
    ReportError,
    default_out_dir,
    render_reports,
    rendered_days,
)
from pipeline.report.render import make_environment
from pipeline.warehouse.build import build
from pipeline.warehouse.db import warehouse_paths


def rebuild_derived(config: Config, console: Console) -> None:
    """After an erasure: rebuild the warehouse from scratch (a new file, so that no bytes of the
    contact remain in free pages; the analyst copy is replaced the same way) and render again
    every report day found in the default report folder (its drill-down files list contact ids).
    A day that can no longer be rendered (its data is gone) is deleted."""
    target, _ = warehouse_paths(config)
    if not target.exists():
        return
    build(config, console, full=True)
    out = default_out_dir(config)
    days = rendered_days(out)
    if not days:
        return
    try:
        kept = render_reports(config, console, start=days[0], end=days[-1]).days
    except ReportError:  # not one of the days has data left
        kept = []
    for gone in sorted(set(days) - set(kept)):
        shutil.rmtree(out / gone.isoformat())
        console.info(f"report {gone} deleted: it can no longer be rendered without the contact")
    write_archive(make_environment(config.timezone), out, config.timezone, rendered_days(out))
