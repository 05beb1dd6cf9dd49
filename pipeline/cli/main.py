"""The ``campaign-reports`` command line. Errors become messages here and nowhere else.

The group and its global options live here; each command lives in its stage's module
(``cli/store.py``, ``cli/warehouse.py``...). Start-up stays light: a command module imports only
click and ``pipeline.core``'s light modules at import time; polars, DuckDB, pyarrow, httpx and
Jinja load inside the command that uses them, so ``--help`` and ``--version`` never pay for them
(``tests/test_cli_startup.py`` keeps it so).

Exit codes (README, "Exit codes"): 0 ok; 1 a ``PipelineError`` (bad input, a failed job, a
full disk);
2 misuse (click's usage errors and our own ``click.UsageError``); 70 an internal error (any other
exception: one masked line, the traceback only with ``--debug``); 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click

from pipeline import __version__
from pipeline.cli.context import Context
from pipeline.cli.daily import daily
from pipeline.cli.demo import demo
from pipeline.cli.digest import digest
from pipeline.cli.export import export, fake_api
from pipeline.cli.report import report
from pipeline.cli.schedule import run, schedule, status
from pipeline.cli.spark import spark
from pipeline.cli.store import erase, ingest, migrate, retention
from pipeline.cli.warehouse import build, sql
from pipeline.core.config import load_config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError, describe, disk_full, is_disk_full, stage_of

#: sysexits.h EX_SOFTWARE: an exception that is not a ``PipelineError`` reached the edge
INTERNAL_ERROR = 70
INTERRUPTED = 130


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
@click.option(
    "-q", "--quiet", is_flag=True, help="Print errors only. Example: campaign-reports -q build"
)
@click.option(
    "--debug",
    is_flag=True,
    help="Show tracebacks and debug logging. Example: campaign-reports --debug build",
)
@click.version_option(
    __version__,
    prog_name="campaign-reports",
    help="Show the version and exit. Example: campaign-reports --version",
)
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
    _RUNNING["data_dir"] = Path(config.data_dir)
    ctx.obj = Context(config=config, console=Console(quiet=quiet), debug=debug)
    if (
        ctx.invoked_subcommand in FINISH_ERASURES_FIRST
        and (config.data_dir / ".erase-pending").exists()
    ):
        # an erasure that a crash or an error left unfinished is finished before anything else
        from pipeline.report.rebuild import finish_pending_erasures

        finish_pending_erasures(config, ctx.obj.console)


#: the data directory of the command running (for a full disk that DuckDB reports)
_RUNNING: dict[str, Path] = {}

#: the commands that write, before which an unfinished erasure is finished
FINISH_ERASURES_FIRST = ("ingest", "retention", "export", "build", "report", "run")


# Each command is defined in its stage's module and registered here, one line each.
cli.add_command(ingest)
cli.add_command(erase)
cli.add_command(retention)
cli.add_command(migrate)
cli.add_command(export)
cli.add_command(fake_api)
cli.add_command(build)
cli.add_command(sql)
cli.add_command(spark)
cli.add_command(report)
cli.add_command(digest)
cli.add_command(schedule)
cli.add_command(run)
cli.add_command(status)
cli.add_command(demo)
cli.add_command(daily)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; the only place where exceptions become messages and exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="campaign-reports", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(INTERRUPTED)
    except click.ClickException as exc:  # misuse: exit 2 (UsageError, BadParameter...)
        exc.show()
        sys.exit(exc.exit_code)
    except PipelineError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(INTERRUPTED)
    except Exception as exc:  # a bug, an OSError, a DuckDB or polars error
        if debug:
            traceback.print_exc()
        if is_disk_full(exc):
            click.echo(f"Error: {disk_full(exc, _unnamed_write(exc))}", err=True)
            sys.exit(PipelineError.exit_code)
        click.echo(internal_error_line(exc, debug=debug), err=True)
        sys.exit(INTERNAL_ERROR)


def _unnamed_write(exc: BaseException) -> Path:
    """What a full disk that names no file was writing: DuckDB writes the warehouse; anything
    else, the data directory."""
    data_dir = _RUNNING.get("data_dir", Path.cwd())
    if type(exc).__module__.split(".")[0].lstrip("_") == "duckdb":
        from pipeline.warehouse.db import WAREHOUSE_DIR, WAREHOUSE_FILE

        return data_dir / WAREHOUSE_DIR / WAREHOUSE_FILE
    return data_dir


# ------------------------------------------------------------------------- internal errors
def internal_error_line(exc: BaseException, *, debug: bool = False) -> str:
    """``Error: internal error in <stage>: <what>`` and, without ``--debug``, how to see more."""
    line = f"Error: internal error in {stage_of(exc)}: {describe(exc)}"
    return line if debug else line + "; rerun with --debug for the traceback"
