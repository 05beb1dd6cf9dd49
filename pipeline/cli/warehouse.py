"""The ``build`` and ``sql`` commands (registered in ``pipeline.cli``)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.context import Context, pass_ctx

if TYPE_CHECKING:  # the warehouse loads DuckDB and polars: only when a command runs
    from pipeline.warehouse.analyst import QueryResult


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports build\n  campaign-reports --data-dir /srv/campaigns build --full"
    "\n  campaign-reports build --from-spark spark-out"
)
@click.option(
    "--full",
    is_flag=True,
    help="Rebuild everything from the snapshots instead of adding only new ones "
    "(the result is the same). Example: campaign-reports build --full",
)
@click.option(
    "--from-spark",
    "from_spark",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Start a new warehouse from the results of `campaign-reports spark` in this folder "
    "instead of computing the history and daily tables here, then add what they do not cover "
    "from the store (the result is the same as --full). Example: --from-spark spark-out",
)
@pass_ctx
def build(obj: Context, full: bool, from_spark: Path | None) -> None:
    """Create or refresh the DuckDB warehouse from the snapshot store.

    Processes only snapshots it has not seen yet (or all with --full), keeps a compact state
    history (one row per contact per state change), loads the views and macros of queries/, and
    publishes a read-only analyst copy at <data-dir>/warehouse/analyst.duckdb. With --from-spark
    the history, milestones and daily tables come from a Spark job's results (a tenant computed
    on a cluster), and the reports read them as usual.
    """
    if full and from_spark:
        raise click.UsageError("--full and --from-spark exclude each other")
    from pipeline.warehouse.build import build as build_warehouse

    build_warehouse(obj.config, obj.console, full=full, from_spark=from_spark)


@click.command(
    epilog="Examples:\n\n\b\n"
    '  campaign-reports sql "SELECT * FROM funnel"\n'
    '  campaign-reports sql --format csv "SELECT * FROM campaign_daily" > daily.csv\n'
    '  echo "SELECT * FROM data_quality" | campaign-reports sql --format json -'
)
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format. Example: --format csv",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Print at most this many rows (a note on stderr says when more were cut). "
    "Example: --max-rows 50",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Stop the query after this many seconds. Example: --timeout 300",
)
@click.option(
    "--allow-store-read",
    is_flag=True,
    help="Also let the query read the snapshot table's files (nothing else outside the copy). "
    "Example: --allow-store-read \"SELECT count(*) FROM read_parquet('data/snapshots/**/*.parquet')\"",
)
@pass_ctx
def sql(
    obj: Context, query: str, fmt: str, max_rows: int, timeout: float, allow_store_read: bool
) -> None:
    """Run an SQL query on the analyst copy of the warehouse (read-only).

    QUERY is the SQL text, or - to read it from standard input. Views such as funnel,
    contact_state, state_counts, campaign_daily and data_quality are described in the README
    ("Ad-hoc SQL") and by SELECT * FROM duckdb_views().
    """
    from pipeline.warehouse.analyst import run_query

    text = sys.stdin.read() if query == "-" else query
    result = run_query(
        obj.config, text, max_rows=max_rows, timeout=timeout, allow_store_read=allow_store_read
    )
    out = sys.stdout
    if fmt == "csv":
        write_csv(result, out)
    elif fmt == "json":
        write_json(result, out)
    else:
        out.write(render_table(result))
    if result.truncated:
        obj.console.info(
            f"Note: only the first {max_rows:,} rows are shown; narrow the query or raise "
            "--max-rows"
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def write_csv(result: QueryResult, out: Any) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _text(v) for v in row])


def write_json(result: QueryResult, out: Any) -> None:
    rows = [
        {c: _json_value(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows
    ]
    out.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")


def render_table(result: QueryResult) -> str:
    """A plain text table: right-aligned numbers, NULL shown as an empty cell."""
    if not result.columns:
        return "(no result)\n"
    cells = [[_text(v) for v in row] for row in result.rows]
    numeric = [
        all(isinstance(r[i], int | float | decimal.Decimal) or r[i] is None for r in result.rows)
        for i in range(len(result.columns))
    ]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(result.columns)]

    def line(values: list[str]) -> str:
        return " | ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    lines = [line(result.columns), "-+-".join("-" * w for w in widths)]
    lines += [line(r) for r in cells]
    n = len(result.rows)
    lines.append(f"({n:,} row{'s' if n != 1 else ''}{', truncated' if result.truncated else ''})")
    return "\n".join(lines) + "\n"
