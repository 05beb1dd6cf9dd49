"""Where the package's data folders are: ``queries/`` (the SQL) and ``reports/`` (the templates).

In a source checkout they are top-level folders beside ``pipeline/``; an installed wheel carries
them inside the package (``pipeline/queries``, ``pipeline/reports``; see ``pyproject.toml``).
This is the one place that knows both.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Names another queries/ folder (a copy to try SQL changes on, tests).
QUERIES_ENV = "CAMPAIGN_REPORTS_QUERIES_DIR"

_PACKAGE = Path(__file__).resolve().parents[1]


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``queries`` or ``reports``): inside the installed package, else the
    one beside it in a source checkout."""
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name


def queries_dir() -> Path:
    """The queries/ folder: ``$CAMPAIGN_REPORTS_QUERIES_DIR``, else the one the package ships.
    The warehouse (``pipeline.warehouse.sql``) and the Spark job read their SQL from it."""
    env = os.environ.get(QUERIES_ENV)
    if env:
        return Path(env)
    return resource_dir("queries")
