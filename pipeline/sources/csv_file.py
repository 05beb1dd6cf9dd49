"""CSV export files: decoded strictly (the encoding is checked, never guessed), the delimiter
sniffed from the header, a file cut short refused, and polars' own errors (which quote the line)
replaced by where and what."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import polars as pl

from pipeline.core.encodings import normalise_encoding
from pipeline.core.errors import LONG_NUMBER, MASK, IngestError
from pipeline.sources.columns import canonical_columns, select_columns


def decode_strict(path: Path, data: bytes, encoding: str) -> tuple[str, str]:
    """Decode the whole file or reject it, naming the line of the first bad byte:
    (text, the encoding that decoded it)."""
    enc = normalise_encoding(encoding)
    if enc == "utf-8,cp1250":
        try:
            return decode_strict(path, data, "utf-8")
        except IngestError:
            pass  # not UTF-8: cp1250 (whose check below cannot refuse what is not UTF-8)
        try:
            return decode_strict(path, data, "cp1250")
        except IngestError as exc:
            raise IngestError(
                str(path),
                exc.what.replace("are not valid cp1250", "are neither UTF-8 nor cp1250"),
                line=exc.line,
                hint="Check the file's encoding: only UTF-8 and cp1250 are read.",
            ) from None
    if enc == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4].hex(" ")
        hint = (
            "Czech Excel exports are usually cp1250: pass --encoding cp1250, or --encoding "
            "utf-8,cp1250 for a mix (or set ingest.encoding in the config)."
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
                hint="Pass --encoding utf-8 for this file (or utf-8,cp1250 for a mix).",
            )
    return text, enc


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
    text, used = decode_strict(path, data, encoding)
    if not text.strip():
        raise IngestError(str(path), "the file is empty", hint="An empty file is not a snapshot.")
    _check_line_ends(path, text)
    sep, header = _header(path, text, delimiter)
    mapping = canonical_columns(path, header)
    # polars reads UTF-8: pass the original bytes when they are UTF-8 already (no copy).
    plain_utf8 = used == "utf-8" and not data.startswith(codecs.BOM_UTF8)
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
    return select_columns(frame, mapping)
