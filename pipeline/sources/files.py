"""Reading export files (CSV, Parquet, JSON) into one table of text columns with canonical names.

Every reader returns the file's rows as a polars DataFrame whose columns are all text, renamed to
the canonical names in ``ALIASES``, plus ``source_row`` (1-based data row). Parsing and validation
happen afterwards, the same way for every format (``pipeline.normalize``).

Encodings are checked, never guessed: a CSV is decoded strictly with the configured encoding
(UTF-8 with or without a BOM, or cp1250), and bytes that do not decode reject the file with the
line where they are.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import operator
import re
import unicodedata
from pathlib import Path

import polars as pl

from pipeline.core.errors import LONG_NUMBER, MASK, IngestError

#: Canonical column -> accepted names. Names are compared case-insensitively with everything but
#: letters and digits removed, so "Contact ID", "contact_id" and "contactId" are the same.
ALIASES: dict[str, tuple[str, ...]] = {
    "contact_id": (
        "contact_id",
        "contactId",
        "id",
        "identity_id",
        "contact",
        "kontakt",
        "id_kontaktu",
    ),
    "state": ("state", "status", "contact_state", "identity_state", "stav"),
    "campaign_id": ("campaign_id", "campaignId", "campaign", "kampan", "id_kampane"),
    "snapshot_time": (
        "snapshot_time",
        "snapshotTime",
        "snapshot_at",
        "exported_at",
        "export_time",
        "as_of",
    ),
    "created": ("created", "created_at", "createdAt", "created_time", "vytvoreno"),
    "retry_count": ("retry_count", "retryCount", "retries"),
    "retry_scheduled": (
        "retry_scheduled",
        "retryScheduledDate",
        "retry_scheduled_date",
        "retry_scheduled_at",
        "next_retry",
    ),
    "phone": (
        "phone",
        "phone_number",
        "guest_phone",
        "guest_phone_number",
        "oo1_guest_phone",
        "telefon",
        "msisdn",
    ),
}
REQUIRED = ("contact_id", "state")

_FOLD = re.compile(r"[^a-z0-9]")


def fold(name: str) -> str:
    """The matching key of a column name: accents dropped ("Vytvořeno" -> "vytvoreno"), lower
    case, only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", name)
    return _FOLD.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


_LOOKUP = {fold(alias): canon for canon, names in ALIASES.items() for alias in names}

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


def canonical_columns(path: Path, names: list[str]) -> dict[str, str]:
    """Original name -> canonical name. Rejects repeated headers; ignores unknown columns."""
    seen: dict[str, str] = {}
    mapping: dict[str, str] = {}
    for name in names:
        key = fold(name)
        if key in seen:
            raise IngestError(
                str(path),
                f"the header names {seen[key]!r} and {name!r} repeat (the same column twice)",
                line=1,
                column=name,
                hint="Rename or remove one of them.",
            )
        seen[key] = name
        canon = _LOOKUP.get(key)
        if canon is None:
            continue
        clash = [orig for orig, c in mapping.items() if c == canon]
        if clash:
            raise IngestError(
                str(path),
                f"the columns {clash[0]!r} and {name!r} both mean {canon!r}",
                line=1,
                column=name,
                hint="Keep one of them.",
            )
        mapping[name] = canon
    for req in REQUIRED:
        if req not in mapping.values():
            raise IngestError(
                str(path),
                f"the required column {req!r} is missing (columns found: {', '.join(names) or 'none'})",
                column=req,
                hint="Accepted names for it: " + ", ".join(ALIASES[req]) + " (any case).",
            )
    return mapping


def _normalise_encoding(encoding: str) -> str:
    enc = encoding.lower().replace("_", "-")
    return {"utf8": "utf-8", "windows-1250": "cp1250"}.get(enc, enc)


def decode_strict(path: Path, data: bytes, encoding: str) -> str:
    """Decode the whole file or reject it, naming the line of the first bad byte."""
    enc = _normalise_encoding(encoding)
    if enc == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        hint = (
            "Czech Excel exports are usually cp1250: pass --encoding cp1250 "
            "(or set ingest.encoding in the config)."
            if enc == "utf-8"
            else "Check the file's encoding and pass --encoding utf-8 if it is UTF-8."
        )
        raise IngestError(
            str(path), f"bytes {bad} at byte {exc.start} are not valid {enc}", line=line, hint=hint
        ) from None
    if enc == "cp1250" and not text.isascii():
        # cp1250 decodes almost any bytes. Valid UTF-8 with non-ASCII characters read as cp1250
        # would silently turn "č" into "Ä\x8d": refuse instead of guessing.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise IngestError(
                str(path),
                "the file was declared cp1250 but is valid UTF-8 with non-ASCII characters",
                hint="Pass --encoding utf-8 for this file.",
            )
    return text


def _sniff_delimiter(path: Path, header: str, delimiter: str) -> str:
    if delimiter == "tab":
        return "\t"
    if delimiter != "auto":
        return delimiter
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_line_ends(path: Path, text: str) -> None:
    """Reject a file with old Mac line ends (CR only) and one whose last line has no line end:
    a file cut short (a copy or download that stopped) must not load as a complete snapshot."""
    if "\n" not in text and "\r" in text:
        raise IngestError(
            str(path),
            "its lines end with a carriage return only (CR, old Mac line ends)",
            hint="Save it with LF or CRLF line ends.",
        )
    if not text.endswith("\n"):
        raise IngestError(
            str(path),
            "the last line has no line end: the file looks cut short (truncated)",
            line=text.count("\n") + 1,
            hint="Export it again; if it is complete, add a line end after its last line.",
        )


def _header(path: Path, text: str, delimiter: str) -> tuple[str, list[str]]:
    end = text.find("\n")
    first_line = (text if end < 0 else text[:end]).rstrip("\r")
    sep = _sniff_delimiter(path, first_line, delimiter)
    try:
        return sep, next(csv.reader([first_line], delimiter=sep, strict=True))
    except csv.Error as exc:
        raise IngestError(
            str(path), f"the header line cannot be read ({describe_csv_error(exc)})", line=1
        ) from None


def describe_csv_error(exc: csv.Error) -> str:
    """The kind of a ``csv.Error`` without any of the row's text (its messages name only the
    kind, but a row's content must never reach a message or a log: long digits are masked)."""
    return LONG_NUMBER.sub(MASK, str(exc).splitlines()[0] if str(exc) else "csv error")[:120]


def _csv_problem(text: str, sep: str, width: int) -> tuple[int | None, str]:
    """Where and what the first problem of a CSV is that polars refused (its message quotes
    the line, so it is never shown): a line with another number of fields than the header, or
    a quote that is not closed. Line numbers are physical lines, as an editor shows them."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    begins = 1  # the line where the row being read begins (a quoted field may span lines)
    try:
        for row in reader:
            if row and len(row) != width:
                return begins, f"{len(row)} fields where the header has {width}"
            begins = reader.line_num + 1
    except csv.Error as exc:
        return begins, f"the line cannot be split into fields ({describe_csv_error(exc)})"
    return None, "the parser refused it"


def read_csv(path: Path, data: bytes, *, encoding: str, delimiter: str) -> pl.DataFrame:
    text = decode_strict(path, data, encoding)
    if not text.strip():
        raise IngestError(str(path), "the file is empty", hint="An empty file is not a snapshot.")
    _check_line_ends(path, text)
    sep, header = _header(path, text, delimiter)
    mapping = canonical_columns(path, header)
    # polars reads UTF-8: pass the original bytes when they are UTF-8 already (no copy).
    plain_utf8 = _normalise_encoding(encoding) == "utf-8" and not data.startswith(codecs.BOM_UTF8)
    payload = data if plain_utf8 else text.encode("utf-8")
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            separator=sep,
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        line, what = _csv_problem(text, sep, len(header))
        raise IngestError(
            str(path),
            f"the CSV cannot be parsed: {what}",
            line=line,
            hint="Check that every line has as many fields as the header and quotes are closed.",
        ) from None
    if frame.height == 0:
        raise IngestError(
            str(path),
            "the file has a header but no rows",
            line=2,
            hint="An empty file is not a snapshot.",
        )
    if frame.columns != header:  # polars keeps what the line split left, e.g. a stray "\r"
        mapping = canonical_columns(path, frame.columns)
    return _select(frame, mapping)


def read_parquet(path: Path) -> pl.DataFrame:
    try:
        schema = pl.read_parquet_schema(path)
        declared = _parquet_rows(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise IngestError(str(path), f"not a readable Parquet file ({_short(exc)})") from None
    mapping = canonical_columns(path, list(schema))
    for name, canon in mapping.items():
        _check_parquet_type(path, name, canon, schema[name])
    try:
        frame = pl.scan_parquet(path).select(list(mapping)).collect()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise IngestError(str(path), f"the Parquet file cannot be read ({_short(exc)})") from None
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
    return _select(frame, mapping, keep_typed=True)


def _parquet_rows(path: Path) -> int:
    """The row count the file's footer declares."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _short(exc: BaseException) -> str:
    """The first line of an error from a library, masked (it may quote a value)."""
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return LONG_NUMBER.sub(MASK, first)[:160]


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
    return _select(frame, mapping).with_columns(pl.Series(ROW_PROBLEM, problems, pl.String))


def _int_text(values: list[object]) -> pl.Series | list[str | None]:
    """Whole numbers as text, as written: converted by polars in one go (not a Python string
    per value) when they fit in 64 bits."""
    try:
        return pl.Series(values, dtype=pl.Int64, strict=True).cast(pl.String)
    except (OverflowError, TypeError, ValueError, pl.exceptions.PolarsError):
        return [None if v is None else str(v) for v in values]


#: a column some readers add: why a row cannot be loaded, found while reading (null: fine)
ROW_PROBLEM = "row_problem"


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


#: Columns a typed reader (Parquet) keeps in their type: times stay times (converted to UTC by
#: ``pipeline.normalize``, never written out as text and parsed back), retry counts numbers.
_TYPED_TIMES = ("snapshot_time", "created", "retry_scheduled")
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _keeps_type(canon: str, dtype: pl.DataType) -> bool:
    if canon == "retry_count":
        return isinstance(dtype, _INTEGERS)
    return canon in _TYPED_TIMES and isinstance(dtype, pl.Datetime)


def as_text(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A typed time as text, for a quarantine file (ISO-8601, UTC with ``+00:00`` when the time
    has a zone); any other column unchanged."""
    if not isinstance(dtype, pl.Datetime):
        return col
    if dtype.time_zone is None:
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
    return col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")


def _select(
    frame: pl.DataFrame, mapping: dict[str, str], *, keep_typed: bool = False
) -> pl.DataFrame:
    """The canonical columns and ``source_row``: text, except (``keep_typed``) the times and
    retry counts a typed format holds as such."""
    schema = frame.schema
    return frame.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("source_row"),
        *[
            (
                pl.col(orig)
                if keep_typed and _keeps_type(canon, schema[orig])
                else pl.col(orig).cast(pl.String)
            ).alias(canon)
            for orig, canon in mapping.items()
        ],
    )


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
