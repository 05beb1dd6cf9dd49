"""The columns of an export file: canonical names for the names sources use, and the one table
every reader (``csv_file``, ``json_file``, ``parquet_file``) returns: the canonical columns as
text (a typed format keeps its times and retry counts typed) plus ``source_row``."""

from __future__ import annotations

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


#: a column some readers add: why a row cannot be loaded, found while reading (null: fine)
ROW_PROBLEM = "row_problem"


def short_error(exc: BaseException) -> str:
    """The first line of an error from a library, masked (it may quote a value)."""
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return LONG_NUMBER.sub(MASK, first)[:160]


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


def select_columns(
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
