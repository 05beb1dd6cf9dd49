"""The ``campaign-reports report`` command (registered in ``pipeline.cli``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from pipeline.cli.context import Context, pass_ctx


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports report\n"
    "  campaign-reports report --date 2026-11-27\n"
    "  campaign-reports report --from 2026-11-01 --to 2026-11-27\n"
    "  campaign-reports report --out /srv/www/campaigns"
)
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to render, in the configured time zone (default: the latest day with data in "
    "the warehouse). Example: --date 2026-11-27",
)
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of a range to render (default with --to: the first day with data). "
    "Example: --from 2026-11-01",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of a range to render (default with --from: the latest day with data). "
    "Example: --to 2026-11-27",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: <data-dir>/reports). Example: --out /srv/www/campaigns",
)
@click.option(
    "--trend-days",
    type=click.IntRange(2, 92),
    default=30,
    show_default=True,
    help="Days of history in the trends; a campaign without a snapshot in them is not listed. "
    "Example: --trend-days 14",
)
@pass_ctx
def report(
    obj: Context,
    day: datetime | None,
    start: datetime | None,
    end: datetime | None,
    out_dir: Path | None,
    trend_days: int,
) -> None:
    """Render the daily HTML reports from the warehouse.

    Writes the daily overview, a page per campaign with the data beside it (CSV/JSON metrics and
    drill-down CSVs of contact ids), and the archive index, then prints the overview's path.
    Run `campaign-reports build` first: the numbers come from the warehouse's analyst copy.
    """
    from pipeline.report import render_reports

    if day is not None and (start is not None or end is not None):
        raise click.UsageError("--date cannot be combined with --from/--to: give one or the other")
    if start is not None and end is not None and start > end:
        raise click.BadParameter(
            f"{start:%Y-%m-%d} is after --to {end:%Y-%m-%d}", param_hint="--from"
        )

    def as_day(value: datetime | None) -> date | None:
        return value.date() if value is not None else None

    result = render_reports(
        obj.config,
        obj.console,
        day=as_day(day),
        start=as_day(start),
        end=as_day(end),
        out_dir=out_dir,
        trend_days=trend_days,
    )
    obj.console.info(
        f"rendered {len(result.days)} day(s), {len(result.pages)} page(s) in "
        f"{result.seconds:.1f} s; archive: {result.index}"
    )
    click.echo(str(result.overview(result.days[-1])))
