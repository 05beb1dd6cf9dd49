"""The one rule for text cells in the CSV files the project writes (quarantine files, report
drill-downs): a cell that a spreadsheet could read as a formula gets a leading apostrophe
(OWASP "CSV injection"). Numbers stay numbers."""

from __future__ import annotations

from typing import Any

import polars as pl

#: First characters that make a spreadsheet read a cell as a formula (or split it).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def neutralise_cell(value: Any) -> Any:
    """One cell: text that starts like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_expr(text: pl.Expr) -> pl.Expr:
    """The same rule over a text column."""
    return pl.when(text.str.slice(0, 1).is_in(list(FORMULA_START))).then("'" + text).otherwise(text)


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` neutralised."""
    return frame.with_columns(
        neutralise_expr(pl.col(c)).alias(c) for c, t in frame.schema.items() if t == pl.String
    )
