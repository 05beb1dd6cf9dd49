"""JSON export files: the vendor API's identities array, every value kept as written."""

from __future__ import annotations

import itertools
import json
import operator
from pathlib import Path

import polars as pl

from pipeline.core.errors import IngestError
from pipeline.sources.columns import ROW_PROBLEM, canonical_columns, select_columns


def read_json(path: Path, data: bytes) -> pl.DataFrame:
    """The vendor API's identities array: ``[{"id": 1, "state": "WA_READ", ...}, ...]``
    (or an object with the array under ``identities``). Every value is kept as written: polars'
    own JSON reader would turn ``true`` into 1, or every id into a float when one id is, so the
    document is parsed by the standard library and each column converted by its value types."""
    if data.isspace():  # (not data.strip(): that copies the whole file)
        raise IngestError(str(path), "the file is empty", hint="An empty file is not a snapshot.")
    return _read_json_values(path, data)


def _json_doc(path: Path, data: bytes) -> list[dict[str, object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IngestError(
            str(path), f"bytes at {exc.start} are not valid UTF-8 (JSON must be UTF-8)", line=line
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(
            str(path),
            f"not valid JSON to its end: {exc.msg} (column {exc.colno})",
            line=exc.lineno,
            hint="The file may be truncated; export it again.",
        ) from None
    except RecursionError:
        raise IngestError(str(path), "the JSON is nested too deeply to be an export") from None
    if isinstance(doc, dict) and isinstance(doc.get("identities"), list):
        doc = doc["identities"]
    if not isinstance(doc, list) or not set(map(type, doc)) <= {dict}:
        raise IngestError(
            str(path), "expected a JSON array of objects (the API's identities array)"
        )
    if not doc:
        raise IngestError(str(path), "the array is empty", hint="An empty file is not a snapshot.")
    return doc


def _read_json_values(path: Path, data: bytes) -> pl.DataFrame:
    """Every value as text, as written; a value that cannot be one (an object, a list, a float
    id) leaves the text empty and names the problem in ``row_problem`` (the row goes to
    quarantine with it). Columns of only text or only whole numbers take the quick way."""
    doc = _json_doc(path, data)
    first = doc[0].keys()
    # The usual export: every object has the same keys (compared and read without a Python loop)
    uniform = all(map(first.__eq__, map(dict.keys, doc)))
    names = list(first) if uniform else list(dict.fromkeys(itertools.chain.from_iterable(doc)))
    mapping = canonical_columns(path, names)
    columns: dict[str, list[str | None] | pl.Series] = {}
    problems: list[str | None] = [None] * len(doc)
    for name, canon in mapping.items():
        if uniform:
            values = list(map(operator.itemgetter(name), doc))
        else:
            values = [item.get(name) for item in doc]
        kinds = set(map(type, values)) - {type(None)}
        if kinds <= {str}:
            columns[name] = values
        elif kinds <= {int}:  # exactly int: bool is its own type
            columns[name] = _int_text(values)
        else:
            texts: list[str | None] = []
            for n, value in enumerate(values):
                text, why = json_value_text(value, canon)
                texts.append(text)
                if why and problems[n] is None:
                    problems[n] = f"{canon.replace('_', ' ')} is {why}"
            columns[name] = texts
    frame = pl.DataFrame(columns, schema=dict.fromkeys(mapping, pl.String))
    return select_columns(frame, mapping).with_columns(pl.Series(ROW_PROBLEM, problems, pl.String))


def _int_text(values: list[object]) -> pl.Series | list[str | None]:
    """Whole numbers as text, as written: converted by polars in one go (not a Python string
    per value) when they fit in 64 bits."""
    try:
        return pl.Series(values, dtype=pl.Int64, strict=True).cast(pl.String)
    except (OverflowError, TypeError, ValueError, pl.exceptions.PolarsError):
        return [None if v is None else str(v) for v in values]


def json_value_text(value: object, canon: str) -> tuple[str | None, str | None]:
    """A JSON value as text, as written, and the problem if it cannot be one."""
    if value is None or isinstance(value, str):
        return value, None
    if isinstance(value, bool):
        return ("true" if value else "false"), ("true/false" if canon == "contact_id" else None)
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, "not a number (NaN or infinite)"
        if canon == "contact_id":
            return None, "a number with a decimal point, not an id as written"
        return repr(value), None
    return None, "a JSON object" if isinstance(value, dict) else "a JSON list"
