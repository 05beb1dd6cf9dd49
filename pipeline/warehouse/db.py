"""Where the warehouse files are, and the one way to open them.

Layout under the data directory::

    warehouse/warehouse.duckdb   written by `campaign-reports build` only (one job at a time)
    warehouse/analyst.duckdb     the analysts' copy, replaced atomically after every build
    warehouse/.lock              held by the build at work
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.config import Config
from pipeline.core.errors import WarehouseError

WAREHOUSE_DIR = "warehouse"
WAREHOUSE_FILE = "warehouse.duckdb"
ANALYST_FILE = "analyst.duckdb"
LOCK_FILE = ".lock"
#: The oldest DuckDB release that must be able to open the analyst copy (the DuckDB CLI).
STORAGE_COMPATIBILITY = "v1.5.0"


def warehouse_paths(config: Config) -> tuple[Path, Path]:
    """The warehouse file the build writes, and the analysts' copy beside it."""
    folder = Path(config.data_dir) / WAREHOUSE_DIR
    return folder / WAREHOUSE_FILE, folder / ANALYST_FILE


def connect(
    path: Path | str, *, read_only: bool = False, memory_limit: str = ""
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session settings every warehouse connection uses.

    Files are written in a storage format that older DuckDB releases read too (the DuckDB CLI
    from the ``duckdb-cli`` package may be older than the Python library). With
    ``memory_limit`` (the configured one, for jobs) DuckDB keeps to it and spills what does not
    fit to ``.tmp`` beside the file."""
    config: dict[str, str | bool | int | float | list[str]] = (
        {} if read_only else {"storage_compatibility_version": STORAGE_COMPATIBILITY}
    )
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the DuckDB file {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    # the commands say their own progress; DuckDB's bar (carriage returns, on queries over 2 s)
    # would garble their output and the scheduler's logs
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET temp_directory = ?", [str(Path(path).parent / ".tmp")])
    return con


def first_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query, with the result read to its end (DuckDB refuses the next
    statement on a connection whose last result was not finished)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None
