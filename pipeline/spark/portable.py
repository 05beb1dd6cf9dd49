"""The portable metrics: the SQL of ``queries/portable/``, each metric defined once for two engines.

Each file is one ``SELECT`` in DuckDB's dialect over the input relations ``snapshots`` (the rows
of the store's complete snapshot files, with ``campaign_id`` and ``snapshot_date`` from the path
and ``file``, the file each row came from), ``catalog`` (the state catalog) and ``params`` (one
row: ``timezone``, ``stuck_minutes``, ``day_from``, ``day_to``), and over the files before it in
``FILES``. Its result is the relation named after the file. DuckDB runs the files as they are
(``run_duckdb``); the Spark job (``pipeline.spark.job``) runs them transpiled by SQLGlot
(``spark_sql``). ``OUTPUTS`` are what the Spark job writes, one Parquet folder each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.errors import ConfigError, QueryError, SparkJobError
from pipeline.core.resources import queries_dir

FOLDER = "portable"
#: Every file of queries/portable/, in the order they run (each reads only those before it).
FILES = (
    "snapshot_list",
    "contact_steps",
    "snapshot_counts",
    "state_counts",
    "funnel",
    "campaign_daily",
    "state_transitions",
    "stuck_counts",
    "state_history",
    "milestones",
)
#: Steps that only feed the others (not written by the job).
INTERMEDIATE = ("contact_steps", "snapshot_counts")
#: What the job writes (``<out>/<name>/``), in this order.
OUTPUTS = tuple(name for name in FILES if name not in INTERMEDIATE)
#: Outputs over the whole history up to ``day_to`` (the others hold the days of the range).
WHOLE_HISTORY = ("snapshot_list", "state_history", "milestones")
#: The catalog's columns the SQL may use.
CATALOG_COLUMNS = ("state", "label", "category", "funnel_rank", "sort_order")
#: The schema of ``catalog``, in Spark's DDL.
CATALOG_DDL = "state STRING, label STRING, category STRING, funnel_rank INT, sort_order INT"


@dataclass(frozen=True)
class Params:
    """The one row of the relation ``params``."""

    timezone: str = "Europe/Prague"
    stuck_minutes: float = 60.0
    day_from: date | None = None
    day_to: date | None = None

    def row(self) -> tuple[str, float, date | None, date | None]:
        return (self.timezone, float(self.stuck_minutes), self.day_from, self.day_to)

    @classmethod
    def of(cls, config: Config, day_from: date | None, day_to: date | None) -> Params:
        """The configured time zone and stuck threshold, and a range of local days (None: no
        bound)."""
        if day_from and day_to and day_from > day_to:
            raise ConfigError(
                f"the range of days is empty: --from {day_from} is after --to {day_to}"
            )
        return cls(config.timezone, float(config.stuck_after_minutes), day_from, day_to)


#: The schema of ``params``, in Spark's DDL.
PARAMS_DDL = "timezone STRING, stuck_minutes DOUBLE, day_from DATE, day_to DATE"


def sql_path(name: str, folder: Path | None = None) -> Path:
    return (folder or queries_dir()) / FOLDER / f"{name}.sql"


def read_sql(name: str, folder: Path | None = None) -> str:
    """The text of ``queries/portable/<name>.sql`` (DuckDB's dialect)."""
    path = sql_path(name, folder)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"cannot read the SQL file {path}: {exc}") from exc


@cache
def _transpiled(text: str) -> str:
    try:
        import sqlglot
        from sqlglot.errors import ErrorLevel, SqlglotError
    except ImportError:
        raise SparkJobError(
            "the Spark job needs the spark extra: pip install 'campaign-state-reports[spark]' "
            "(sqlglot is missing)"
        ) from None

    try:
        out = sqlglot.transpile(
            text, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
        )
    except SqlglotError as exc:
        raise QueryError(f"SQLGlot cannot transpile it to Spark SQL: {exc}") from exc
    if len(out) != 1:
        raise QueryError(f"it holds {len(out)} statements; a portable file is one SELECT")
    return out[0]


def spark_sql(name: str, folder: Path | None = None) -> str:
    """``queries/portable/<name>.sql`` in Spark SQL (transpiled by SQLGlot from DuckDB's
    dialect). Errors name the file."""
    try:
        return _transpiled(read_sql(name, folder))
    except QueryError as exc:
        raise QueryError(f"{sql_path(name, folder)}: {exc}") from exc


def catalog_rows() -> list[tuple[Any, ...]]:
    """The rows of the relation ``catalog`` (``CATALOG_COLUMNS``)."""
    return load_catalog().frame().select(CATALOG_COLUMNS).rows()


def run_duckdb(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    params: Params,
    folder: Path | None = None,
) -> tuple[str, ...]:
    """Run every portable file on DuckDB over the Parquet ``files`` (the store's complete files),
    each into a temporary table named after it, on ``con``. Returns the names of the outputs
    (``OUTPUTS``): the same relations the Spark job writes."""
    if not files:
        raise QueryError("there are no complete snapshot files to compute the metrics from")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET VARIABLE portable_files = ?", [[str(p) for p in files]])
    con.execute(
        "CREATE OR REPLACE TEMP VIEW snapshots AS "
        "SELECT * EXCLUDE (filename), filename AS file FROM read_parquet("
        "getvariable('portable_files'), hive_partitioning = true, "
        "hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE}, filename = true)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE catalog (state VARCHAR, label VARCHAR, category VARCHAR, "
        "funnel_rank TINYINT, sort_order SMALLINT)"
    )
    con.executemany("INSERT INTO catalog VALUES (?, ?, ?, ?, ?)", catalog_rows())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE params (timezone VARCHAR, stuck_minutes DOUBLE, "
        "day_from DATE, day_to DATE)"
    )
    con.execute("INSERT INTO params VALUES (?, ?, ?, ?)", list(params.row()))
    for name in FILES:
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {read_sql(name, folder)}")
        except duckdb.Error as exc:
            raise QueryError(f"{sql_path(name, folder)}: {exc}") from exc
    return OUTPUTS
