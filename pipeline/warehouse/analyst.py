"""The analysts' read-only copy of the warehouse: publishing it, opening it, ad-hoc SQL on it.

After each build the warehouse is checkpointed and copied to a temporary file beside the analyst
copy, fsynced, and renamed over it. An analyst who holds the old copy open keeps reading the old
file (its inode lives on) and sees the new data on reconnect; the build never opens the analyst
copy, so an open session cannot make it fail.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.config import Config
from pipeline.core.durable import atomic_copy
from pipeline.core.errors import QueryError, WarehouseError
from pipeline.store.table import TABLE_DIR
from pipeline.warehouse.db import connect, warehouse_paths


class NoWarehouse(WarehouseError):
    """No analyst copy has been built yet."""


class QueryTimeout(QueryError):
    """An ad-hoc query ran longer than its time limit."""


def publish_analyst_copy(warehouse: Path, analyst: Path) -> None:
    """Copy the (checkpointed, closed) warehouse aside, fsync it, and rename it over the copy."""
    try:
        atomic_copy(warehouse, analyst, mode=0o444)
    except OSError as exc:
        raise WarehouseError(
            f"the analyst copy {analyst} could not be published: {exc}. The warehouse itself "
            "is built; the next build publishes again."
        ) from exc


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    seconds: float


def open_analyst(config: Config) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the analyst copy."""
    _, analyst = warehouse_paths(config)
    if not analyst.exists():
        raise NoWarehouse(
            f"there is no warehouse in {analyst.parent} yet: run `campaign-reports build` first"
        )
    return connect(analyst, read_only=True, memory_limit=config.memory_limit)


def open_sandboxed(config: Config, *, allow_store_read: bool = False) -> duckdb.DuckDBPyConnection:
    """The analyst copy for ad-hoc SQL, read-only in fact: no file is read or written outside
    the copy (no ``COPY ... TO``, ``read_csv('/etc/passwd')``, ``ATTACH`` or ``EXPORT``), no
    extension is installed or loaded, and the configuration is locked so that no statement can
    undo this. With ``allow_store_read`` the snapshot table's folder may be read (e.g.
    ``read_parquet``), and nothing else."""
    con = open_analyst(config)
    try:
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        if allow_store_read:
            store = (Path(config.data_dir) / TABLE_DIR).resolve()
            con.execute("SET allowed_directories = ?", [[f"{store}/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def run_query(
    config: Config,
    sql: str,
    *,
    max_rows: int = 1000,
    timeout: float | None = 60.0,
    allow_store_read: bool = False,
) -> QueryResult:
    """Run one ad-hoc query on the analyst copy, read-only (``open_sandboxed``), with a time
    limit and a row cap."""
    if not sql.strip():
        raise QueryError("the query is empty")
    con = open_sandboxed(config, allow_store_read=allow_store_read)
    timer: threading.Timer | None = None
    timed_out = threading.Event()
    finished = threading.Event()

    def stop() -> None:
        timed_out.set()
        # Again and again until the query is over: an interrupt that comes before DuckDB has
        # begun to execute (the machine is busy, the limit tiny) would otherwise be lost.
        while not finished.is_set():
            con.interrupt()
            finished.wait(0.05)

    start = time.perf_counter()
    try:
        if timeout:
            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
        try:
            cur = con.execute(sql)
            description = cur.description or []
            rows = cur.fetchmany(max_rows + 1) if description else []
        except (duckdb.Error, RuntimeError) as exc:
            if timed_out.is_set():
                raise QueryTimeout(
                    f"the query ran longer than {timeout:g} s and was stopped; "
                    "narrow it down or raise --timeout"
                ) from exc
            raise QueryError(f"the query failed: {exc}") from exc
    finally:
        finished.set()
        if timer is not None:
            timer.cancel()
            timer.join()
        con.close()
    truncated = len(rows) > max_rows
    return QueryResult(
        columns=[d[0] for d in description],
        types=[str(d[1]) for d in description],
        rows=rows[:max_rows],
        truncated=truncated,
        seconds=time.perf_counter() - start,
    )
