"""Reading export files (CSV, Parquet, JSON) into one table of text columns with canonical names.

One module per format (``csv_file``, ``json_file``, ``parquet_file``); ``columns`` holds what
they share. Every reader returns the file's rows as a polars DataFrame whose columns are all text
(a typed format keeps its times typed), renamed to the canonical names in ``ALIASES``, plus
``source_row`` (1-based data row). Parsing and validation happen afterwards, the same way for
every format (``pipeline.normalize``).

Encodings are checked, never guessed: a CSV is decoded strictly with the configured encoding
(UTF-8 with or without a BOM, or cp1250), and bytes that do not decode reject the file with the
line where they are.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.core.errors import IngestError
from pipeline.sources.columns import ALIASES, ROW_PROBLEM, as_text
from pipeline.sources.csv_file import read_csv
from pipeline.sources.json_file import read_json
from pipeline.sources.parquet_file import read_parquet

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
}


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            str(path),
            f"unknown file type {path.suffix or '(no extension)'!r}",
            hint="Accepted: .csv, .tsv, .txt (CSV), .parquet, .json.",
        )
    return fmt


def read_file(path: Path, *, encoding: str, delimiter: str) -> tuple[str, pl.DataFrame]:
    """Read any supported file: (format, table of text columns)."""
    fmt = detect_format(path)
    if fmt == "parquet":
        return fmt, read_parquet(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot be read ({exc.strerror})") from None
    if not data:
        raise IngestError(
            str(path), "the file is empty (0 bytes)", hint="An empty file is not a snapshot."
        )
    if fmt == "json":
        return fmt, read_json(path, data)
    return fmt, read_csv(path, data, encoding=encoding, delimiter=delimiter)


__all__ = ["ALIASES", "FORMATS", "ROW_PROBLEM", "as_text", "detect_format", "read_file"]
