"""The SQL files of queries/: where they are, the order they load in, reading and running one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.errors import QueryError
from pipeline.core.resources import resource_dir

QUERIES_ENV = "CAMPAIGN_REPORTS_QUERIES_DIR"

#: Files in queries/ that must be loaded before the others (the others follow in name order).
#: schema.sql creates the tables; the views and macros come after in dependency order.
QUERY_ORDER = (
    "schema.sql",
    "params.sql",
    "state_history.sql",
    "snapshots.sql",
    "latest_snapshots.sql",
    "contact_milestones.sql",
    "contact_state.sql",
    "state_counts.sql",
    "funnel.sql",
    "campaign_daily.sql",
    "state_transitions.sql",
    "stuck_contacts.sql",
    "data_quality.sql",
    "runs.sql",
    "report_base.sql",  # the other report_*.sql macros call it: it loads first
)


def queries_dir() -> Path:
    """The queries/ folder: ``$CAMPAIGN_REPORTS_QUERIES_DIR``, else the one beside ``pipeline/``."""
    env = os.environ.get(QUERIES_ENV)
    if env:
        return Path(env)
    return resource_dir("queries")


def query_files(folder: Path | None = None) -> list[Path]:
    """The view and macro files of queries/, in load order (build steps in queries/build/ aside)."""
    root = folder or queries_dir()
    if not root.is_dir():
        raise QueryError(
            f"the SQL folder {root} does not exist; set {QUERIES_ENV} to the queries/ folder"
        )
    present = {p.name: p for p in root.glob("*.sql")}
    ordered = [present[n] for n in QUERY_ORDER if n in present]
    missing = [n for n in QUERY_ORDER if n not in present]
    if missing:
        raise QueryError(f"{root}: SQL files missing: {', '.join(missing)}")
    ordered += sorted(p for n, p in present.items() if n not in QUERY_ORDER)
    return ordered


def read_query(name: str, folder: Path | None = None) -> tuple[Path, str]:
    path = (folder or queries_dir()) / name
    try:
        return path, path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"cannot read the SQL file {path}: {exc}") from exc


def run_sql_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: list[Any] | None = None,
    folder: Path | None = None,
) -> None:
    """Run one file of queries/ (may hold several statements); errors name the file."""
    path, sql = read_query(name, folder)
    try:
        if params is None:
            con.execute(sql)
        else:
            con.execute(sql, params)
    except duckdb.Error as exc:
        raise QueryError(f"{path}: {exc}".strip()) from exc
