"""What a warehouse was built from, kept in its table ``warehouse_meta``, and when that forces a
full rebuild: a change to the tables or build steps (``queries/tables/``, ``queries/build/``), the
state catalog or the time zone."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipeline.core.catalog import load_catalog
from pipeline.warehouse.db import connect, first_row
from pipeline.warehouse.sql import checked_root, folder_files, query_files, run_sql_file, sql_name


def _digest(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(sql_name(path, root).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def schema_digest(timezone: str, folder: Path | None = None) -> str:
    """Hash of what decides the stored tables' shape and content: queries/tables/,
    queries/build/, the state catalog (milestones use its funnel ranks) and the time zone (the
    daily tables' days). When it changes, the next build is a full rebuild."""
    root = checked_root(folder)
    files = _digest(folder_files(root, ("tables", "build")), root)
    catalog = load_catalog().frame().write_csv()
    return hashlib.sha256("\0".join((files, catalog, timezone)).encode()).hexdigest()


def create_views(
    con: duckdb.DuckDBPyConnection,
    timezone: str,
    folder: Path | None = None,
    *,
    force: bool = True,
) -> bool:
    """(Re)create every table, view and macro of queries/. Unless ``force``, skip it when the
    files are the same as at the last build (their hash is kept in ``warehouse_meta``).
    ``timezone`` is the configured one (part of ``schema_digest``). Returns True if the files
    were run."""
    root = checked_root(folder)
    files = query_files(root)
    digest = _digest(files, root)
    con.execute("CREATE TABLE IF NOT EXISTS warehouse_meta (key VARCHAR, value VARCHAR)")
    row = first_row(con, "SELECT value FROM warehouse_meta WHERE key = 'queries_sha256'")
    if not force and row is not None and row[0] == digest:
        return False
    for path in files:
        run_sql_file(con, sql_name(path, root), folder=root)
    con.execute("DELETE FROM warehouse_meta")
    con.execute(
        "INSERT INTO warehouse_meta VALUES ('queries_sha256', ?), ('schema_sha256', ?)",
        [digest, schema_digest(timezone, root)],
    )
    return True


def schema_changed(path: Path, timezone: str) -> bool:
    """True if the warehouse at ``path`` was built with another schema.sql, build step, catalog
    or time zone."""
    con = connect(path, read_only=True)
    try:
        rows = con.execute(
            "SELECT value FROM duckdb_tables() t, warehouse_meta m "
            "WHERE t.table_name = 'warehouse_meta' AND m.key = 'schema_sha256'"
        ).fetchall()
    except duckdb.Error:
        return True
    finally:
        con.close()
    return not rows or rows[0][0] != schema_digest(timezone)
