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
import json
import re
import unicodedata
from pathlib import Path

import polars as pl

from pipeline.core.errors import IngestError

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


def read_csv(path: Path, data: bytes, *, encoding: str, delimiter: str) -> pl.DataFrame:
    text = decode_strict(path, data, encoding)
    if not text.strip():
        raise IngestError(str(path), "the file is empty", hint="An empty file is not a snapshot.")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    sep = _sniff_delimiter(path, first_line, delimiter)
    header = next(csv.reader([first_line], delimiter=sep))
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
    except pl.exceptions.PolarsError as exc:
        raise IngestError(
            str(path),
            f"the CSV cannot be parsed ({str(exc).splitlines()[0]})",
            hint="Check that every line has as many fields as the header and quotes are closed.",
        ) from None
    if frame.height == 0:
        raise IngestError(
            str(path),
            "the file has a header but no rows",
            line=2,
            hint="An empty file is not a snapshot.",
        )
    return _select(frame, mapping)


def read_parquet(path: Path) -> pl.DataFrame:
    try:
        schema = pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(str(path), f"not a readable Parquet file ({exc})") from None
    mapping = canonical_columns(path, list(schema))
    try:
        frame = pl.scan_parquet(path).select(list(mapping)).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(str(path), f"the Parquet file cannot be read ({exc})") from None
    if frame.height == 0:
        raise IngestError(
            str(path), "the file has no rows", hint="An empty file is not a snapshot."
        )
    return _select(_to_text(frame), mapping)


def read_json(path: Path, data: bytes) -> pl.DataFrame:
    """The vendor API's identities array: ``[{"id": 1, "state": "WA_READ", ...}, ...]``
    (or an object with the array under ``identities``)."""
    if not data.strip():
        raise IngestError(str(path), "the file is empty", hint="An empty file is not a snapshot.")
    if data.lstrip().startswith(b"["):
        try:
            frame = pl.read_json(io.BytesIO(data), infer_schema_length=None)
        except pl.exceptions.PolarsError:
            frame = None  # broken JSON or mixed types: the slow path names the problem
        if (
            frame is not None
            and frame.height
            and all(not isinstance(t, pl.List | pl.Struct) for t in frame.schema.values())
        ):
            mapping = canonical_columns(path, frame.columns)
            return _select(_to_text(frame.select(list(mapping))), mapping)
    return _read_json_slow(path, data)


def _read_json_slow(path: Path, data: bytes) -> pl.DataFrame:
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
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            line=exc.lineno,
            hint="The file may be truncated; export it again.",
        ) from None
    if isinstance(doc, dict) and isinstance(doc.get("identities"), list):
        doc = doc["identities"]
    if not isinstance(doc, list) or not all(isinstance(item, dict) for item in doc):
        raise IngestError(
            str(path), "expected a JSON array of objects (the API's identities array)"
        )
    if not doc:
        raise IngestError(str(path), "the array is empty", hint="An empty file is not a snapshot.")
    names = list(dict.fromkeys(key for item in doc for key in item))
    mapping = canonical_columns(path, names)
    frame = pl.DataFrame({name: [item.get(name) for item in doc] for name in mapping}, strict=False)
    return _select(_to_text(frame), mapping)


def _to_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Typed Parquet columns as text in the same forms the CSV parser accepts."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                exprs.append(col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f"))
            else:
                exprs.append(
                    col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
                )
        else:
            exprs.append(col.cast(pl.String))
    return frame.select(exprs)


def _select(frame: pl.DataFrame, mapping: dict[str, str]) -> pl.DataFrame:
    return frame.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("source_row"),
        *[pl.col(orig).cast(pl.String).alias(canon) for orig, canon in mapping.items()],
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
