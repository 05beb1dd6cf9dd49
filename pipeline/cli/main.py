"""The ``campaign-reports`` command line. Errors become messages here and nowhere else."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from pipeline import __version__
from pipeline.cli.context import AsOf, Context, pass_ctx
from pipeline.core.config import load_config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: campaign-reports --data-dir data ingest exports/*.csv",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the snapshot store, warehouse and reports live (default: data_dir from the "
    "config, else ./data). Example: --data-dir /srv/campaigns",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (default: ./campaign-reports.toml if it exists). "
    "Example: --config /etc/campaign-reports.toml",
)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(__version__, prog_name="campaign-reports")
@click.pass_context
def cli(
    ctx: click.Context, data_dir: Path | None, config_path: Path | None, quiet: bool, debug: bool
) -> None:
    """Campaign state reports for mluvii WhatsApp campaigns.

    Ingest contact-state exports into an immutable snapshot store, build the DuckDB warehouse,
    and render daily HTML reports. Run any command with --help for its options.
    """
    if debug:
        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
    config = load_config(config_path, overrides={"data_dir": data_dir})
    ctx.obj = Context(config=config, console=Console(quiet=quiet), debug=debug)


@cli.command(
    epilog="Examples:\n\n\b\n  campaign-reports ingest inbox/campaign-1234_20261128T060000Z.csv\n"
    "  campaign-reports ingest --campaign 1234 --snapshot-time 2026-11-28T06:00:00+01:00 export.csv\n"
    "  campaign-reports ingest --encoding cp1250 excel-export.csv"
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--campaign",
    "campaign_id",
    help="Campaign id for every row (beats a column and the file name).",
)
@click.option(
    "--snapshot-time",
    type=AsOf(),
    help="Snapshot time for every row, ISO-8601 (without an offset: UTC).",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp1250"]),
    help="CSV encoding (default: ingest.encoding, utf-8).",
)
@click.option(
    "--delimiter",
    type=click.Choice([",", ";", "tab", "auto"]),
    help="CSV delimiter (default: auto, from the header line).",
)
@pass_ctx
def ingest(
    obj: Context,
    files: tuple[Path, ...],
    campaign_id: str | None,
    snapshot_time: Any,
    encoding: str | None,
    delimiter: str | None,
) -> None:
    """Load export files (CSV, Parquet, JSON) into the snapshot store.

    Each file is accounted for: rows read = rows loaded + rows quarantined. Bad rows go to
    quarantine/ with a reason; a file that cannot be trusted as a whole is rejected and nothing
    from it is written. Ingesting the same file twice adds nothing. Exit code 1 if any file was
    rejected.
    """
    from pipeline.store.ingest import IngestOptions, ingest_files
    from pipeline.store.snapshots import Store

    options = IngestOptions(
        campaign_id=campaign_id, snapshot_time=snapshot_time, encoding=encoding, delimiter=delimiter
    )
    reports = ingest_files(
        list(files),
        store=Store(obj.config.data_dir),
        config=obj.config,
        console=obj.console,
        options=options,
    )
    rejected = [r for r in reports if not r.ok]
    if rejected:
        raise PipelineError(f"{len(rejected)} of {len(reports)} file(s) rejected (see above)")


@cli.command(epilog="Example: campaign-reports --data-dir demo-data demo --scale 0.1")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic tenant.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    help="Multiply every campaign's size (0.1 for a quick look).",
)
@click.option(
    "--as-of",
    type=AsOf(),
    default="2026-11-27T22:00:00Z",
    show_default=True,
    help="The end of the demo's history (the last report day is this day in the time zone).",
)
@pass_ctx
def demo(obj: Context, seed: int, scale: float, as_of: Any) -> None:
    """Build a synthetic tenant and run the whole pipeline on it.

    Writes export files for several campaigns into <data-dir>/demo-exports, ingests them through the
    normal ingest path, builds the warehouse and renders the reports of the last day. Deterministic
    for a given seed; running it again on the same data directory adds nothing.
    """
    from pipeline.demo.tenant import run_demo
    from pipeline.report import render_day
    from pipeline.warehouse.build import build

    run_demo(obj.config, obj.console, seed=seed, scale=scale, as_of=as_of)
    result = build(obj.config, obj.console)
    overview = render_day(obj.config, obj.console)
    obj.console.info(f"Analyst copy of the warehouse: {result.analyst}")
    obj.console.info(f"The report is ready: {overview}")
    obj.console.info(f"Open it in a browser: file://{overview.resolve()}")


@cli.command(
    epilog="Examples:\n\n\b\n  campaign-reports erase --contact 123456\n"
    "  campaign-reports erase --contact 123456 --yes"
)
@click.option(
    "--contact", "contact_id", required=True, help="The contact id to erase, e.g. --contact 123456."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def erase(obj: Context, contact_id: str, yes: bool) -> None:
    """Remove one contact everywhere, for good.

    Rewrites every snapshot and quarantine file that holds the contact without it, rebuilds the
    warehouse and the rendered reports from the cleaned store, and keeps the contact on a
    suppression list so that a later file or export does not bring it back.
    """
    from pipeline.store.erase import erase_contact

    if not yes:
        click.confirm(
            f"Erase contact {contact_id} from {obj.config.data_dir} for good?", abort=True
        )
    erase_contact(obj.config, obj.console, contact_id)
    _rebuild_after_erase(obj)


def _rebuild_after_erase(obj: Context) -> None:
    """Derived data (warehouse, reports) is rebuilt from the cleaned store."""
    from pipeline.report.rebuild import rebuild_derived

    rebuild_derived(obj.config, obj.console)


@cli.command(epilog="Example: campaign-reports retention --as-of 2026-11-28T06:00:00Z")
@click.option("--as-of", type=AsOf(), help="The time that ages are measured from (default: now).")
@pass_ctx
def retention(obj: Context, as_of: Any) -> None:
    """Remove raw snapshots and quarantine files older than the configured limits.

    Limits are retention.snapshots_days (default 400) and retention.quarantine_days (default 90);
    0 keeps data for ever. Removals are recorded in the manifest.
    """
    from pipeline.store.retention import apply_retention

    apply_retention(obj.config, obj.console, as_of)


# Commands defined in their stage's module are registered here, one line each.
# (register further commands below this line)
from pipeline.cli.schedule import run as _run_command  # noqa: E402
from pipeline.cli.schedule import schedule as _schedule_command  # noqa: E402
from pipeline.cli.schedule import status as _status_command  # noqa: E402

cli.add_command(_schedule_command)
cli.add_command(_run_command)
cli.add_command(_status_command)
from pipeline.cli.report import report as _report_command  # noqa: E402

cli.add_command(_report_command)
from pipeline.cli.export import export, fake_api  # noqa: E402

cli.add_command(export)
cli.add_command(fake_api)
from pipeline.cli.warehouse import build, sql  # noqa: E402

cli.add_command(build)
cli.add_command(sql)
from pipeline.cli.spark import spark  # noqa: E402

cli.add_command(spark)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="campaign-reports", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PipelineError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
