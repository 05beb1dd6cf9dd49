"""Parquet export files: the footer's row count checked against what can be read, and column
types checked (ids are text or whole numbers: a float, date or time id would come out
rewritten)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.core.errors import IngestError
from pipeline.sources.columns import canonical_columns, select_columns, short_error


def read_parquet(path: Path) -> pl.DataFrame:
    try:
        schema = pl.read_parquet_schema(path)
        declared = _parquet_rows(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise IngestError(str(path), f"not a readable Parquet file ({short_error(exc)})") from None
    mapping = canonical_columns(path, list(schema))
    for name, canon in mapping.items():
        _check_parquet_type(path, name, canon, schema[name])
    try:
        frame = pl.scan_parquet(path).select(list(mapping)).collect()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise IngestError(
            str(path), f"the Parquet file cannot be read ({short_error(exc)})"
        ) from None
    if frame.height != declared:
        raise IngestError(
            str(path),
            f"its footer says {declared:,} rows but {frame.height:,} could be read: the file is "
            "damaged or cut short",
            hint="Export it again.",
        )
    if frame.height == 0:
        raise IngestError(
            str(path), "the file has no rows", hint="An empty file is not a snapshot."
        )
    return select_columns(frame, mapping, keep_typed=True)


def _parquet_rows(path: Path) -> int:
    """The row count the file's footer declares."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


#: Parquet types read as text; contact ids only from text or whole numbers (ids are text as
#: written: a float, date or time id would come out rewritten)
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum, pl.Null)
_ID_TYPES = (*_TEXT_TYPES, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16,
             pl.UInt32, pl.UInt64)  # fmt: skip
_VALUE_TYPES = (*_ID_TYPES, pl.Float32, pl.Float64, pl.Decimal, pl.Boolean, pl.Date, pl.Datetime)


def _check_parquet_type(path: Path, name: str, canon: str, dtype: pl.DataType) -> None:
    allowed = _ID_TYPES if canon == "contact_id" else _VALUE_TYPES
    if not isinstance(dtype, allowed):
        what = "text or whole numbers" if canon == "contact_id" else "text, a number or a time"
        raise IngestError(
            str(path),
            f"the column has the Parquet type {dtype}, which cannot be read as {what}",
            column=name,
            hint="Export it with a plain column type.",
        )
