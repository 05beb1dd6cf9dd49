"""The ``daily`` command: ingest, build and report in one process (registered in ``pipeline.cli``).

The three stages are the same functions ``ingest``, ``build`` and ``report`` call; run together
they pay the start-up (Python, polars, DuckDB, Jinja) once instead of three times. The stages
load only when the command runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from pipeline.cli.context import Context, delimiter_option, encoding_option, pass_ctx
from pipeline.core.errors import PipelineError


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports daily inbox/campaign-1234_20261128T*.csv\n"
    "  campaign-reports daily --date 2026-11-27 exports/*.json\n"
    "  campaign-reports daily --encoding utf-8,cp1250 exports/*.csv   # Excel and API CSVs\n"
    "  campaign-reports daily            # no files: build and report what the store has"
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@encoding_option
@delimiter_option
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to report, in the configured time zone (default: the latest day with data). "
    "Example: --date 2026-11-27",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (default: <data-dir>/reports). Example: --out /srv/www/campaigns",
)
@pass_ctx
def daily(
    obj: Context,
    files: tuple[Path, ...],
    encoding: str | None,
    delimiter: str | None,
    day: datetime | None,
    out_dir: Path | None,
) -> None:
    """Ingest the day's export files, build the warehouse and render the day's report, at once.

    The same as `ingest FILES`, then `build`, then `report --date DAY`, in one process. A rejected
    file does not stop the build and the report (the other files are in them), but the exit code
    is then 1. Without files it builds and reports what the store already has.
    """
    from pipeline.report import render_reports
    from pipeline.store.ingest import IngestOptions, ingest_files
    from pipeline.store.snapshots import Store
    from pipeline.warehouse.build import build

    rejected = 0
    if files:
        options = IngestOptions(encoding=encoding, delimiter=delimiter)
        reports = ingest_files(
            list(files),
            store=Store(obj.config.data_dir),
            config=obj.config,
            console=obj.console,
            options=options,
        )
        rejected = sum(not r.ok for r in reports)
    build(obj.config, obj.console)
    result = render_reports(
        obj.config, obj.console, day=day.date() if day is not None else None, out_dir=out_dir
    )
    obj.console.info(
        f"rendered {len(result.pages)} page(s) in {result.seconds:.1f} s; archive: {result.index}"
    )
    click.echo(str(result.overview(result.days[-1])))
    if rejected:
        raise PipelineError(
            f"{rejected} of {len(files)} file(s) rejected (see above); the others are in the "
            "warehouse and the report"
        )


COMMANDS = (daily,)
