"""Where the package's data folders are: ``queries/`` (the SQL) and ``reports/`` (the templates).

In a source checkout they are top-level folders beside ``pipeline/``; an installed wheel carries
them inside the package (``pipeline/queries``, ``pipeline/reports``; see ``pyproject.toml``).
This is the one place that knows both.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``queries`` or ``reports``): inside the installed package, else the
    one beside it in a source checkout."""
    inside = _PACKAGE / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name
