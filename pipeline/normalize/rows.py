"""Raw rows -> validated snapshot rows: the one normaliser for files and the API.

``file_rows`` takes a file's text columns (as ``pipeline.sources.files`` reads them) and gives
every row its parsed times, its state (catalog code, raw text, legacy flag), its phone hash and,
for a row that cannot be loaded, the reason (``reason`` is null for a good row). ``api_rows``
does the same for the API's identities. ``check_invalid_share`` rejects a file that is mostly
invalid. Nothing here touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipeline.core.catalog import OTHER, state_exprs, state_exprs_known
from pipeline.core.clock import iso_utc
from pipeline.core.config import PHONE_KEY_ENV, Config
from pipeline.core.errors import IngestError
from pipeline.core.names import NAME_RE
from pipeline.normalize.phones import hmac_phones, normalise_phone
from pipeline.normalize.times import (
    fill_unparsed,
    parse_time_column,
    parse_time_text,
    quick_time,
    unparsed_rows,
)
from pipeline.sources.columns import ROW_PROBLEM, as_text

#: The one rule for campaign ids (they become part of paths and partition values): the gate's.
CAMPAIGN_ID_RE = NAME_RE
DUPLICATE = "duplicate row (same contact and state as an earlier row)"
UTC_US = pl.Datetime("us", "UTC")
_OPTIONAL = ("created", "retry_count", "retry_scheduled", "phone_hash")
_TIMES = {
    "snapshot_time": "snapshot_time_text",
    "created": "created_text",
    "retry_scheduled": "retry_scheduled_text",
}


def campaign_and_time(
    path: Path,
    frame: pl.DataFrame,
    config: Config,
    *,
    campaign_id: str | None,
    snapshot_time: datetime | None,
) -> tuple[pl.Expr, pl.Expr | datetime]:
    """Where campaign id and snapshot time come from: an option, else a column, else the file
    name (``ingest.filename_pattern``). The time is an expression of text for a column, and the
    time itself from an option or the file name (one for every row)."""
    match = re.search(config.ingest.filename_pattern, path.name)
    groups = match.groupdict() if match else {}
    hint = (
        "Name the file like campaign-1234_20261128T060000Z.csv, add a {col} column, or pass {opt}."
    )
    if campaign_id is not None:
        campaign = pl.lit(campaign_id, pl.String)
    elif "campaign_id" in frame.columns:
        campaign = pl.col("campaign_id").str.strip_chars()
    elif groups.get("campaign_id"):
        campaign = pl.lit(groups["campaign_id"], pl.String)
    else:
        raise IngestError(
            str(path),
            "the campaign is unknown: no campaign_id column, no --campaign option, and the file "
            "name does not match the pattern",
            hint=hint.format(col="campaign_id", opt="--campaign"),
        )
    if snapshot_time is not None:
        return campaign, snapshot_time.astimezone(UTC)
    if "snapshot_time" in frame.columns:
        return campaign, pl.col("snapshot_time")
    if groups.get("snapshot_time"):
        parsed = parse_time_text(groups["snapshot_time"], config.timezone)
        if parsed is None:
            raise IngestError(
                str(path),
                f"the time {groups['snapshot_time']!r} in the file name is not a valid time",
            )
        return campaign, parsed
    raise IngestError(
        str(path),
        "the snapshot time is unknown: no snapshot_time column, no --snapshot-time option, and "
        "the file name does not match the pattern",
        hint=hint.format(col="snapshot_time", opt="--snapshot-time"),
    )


def final_marker(path: Path, config: Config) -> bool:
    """True when the file name says the file is its campaign's final export: the
    ``ingest.filename_pattern``'s optional group ``final`` matched (by default ``_final`` after
    the time: ``campaign-1234_20261128T060000Z_final.csv``)."""
    match = re.search(config.ingest.filename_pattern, path.name)
    return bool(match and match.groupdict().get("final"))


def hash_phones(frame: pl.DataFrame, config: Config, warn: Callable[[str], None]) -> pl.DataFrame:
    """Replace a ``phone`` column by ``phone_hash`` (HMAC-SHA256 with the key from the
    environment), or drop it with a warning when no key is set. A full number is never kept."""
    if "phone" not in frame.columns:
        return frame
    key = config.phone_key()
    if not key:
        warn(
            f"the column with phone numbers was dropped, because {PHONE_KEY_ENV} is not set; "
            "set it to keep a keyed hash (HMAC-SHA256) of each number."
        )
        return frame.drop("phone")
    phones = frame.select(normalise_phone(pl.col("phone"))).to_series()
    return frame.with_columns(hmac_phones(phones, key).alias("phone_hash")).drop("phone")


def _blank(e: pl.Expr) -> pl.Expr:
    return e.is_null() | (e.str.strip_chars() == "")


def _unreadable(frame: pl.DataFrame, source: str, parsed: str) -> pl.Expr:
    """True where ``source`` holds a value that ``parsed`` could not read (blank text is no
    value). False when the column is absent."""
    if source not in frame.columns:
        return pl.lit(False)
    src = pl.col(source)
    given = ~_blank(src) if frame.schema[source] == pl.String else src.is_not_null()
    return pl.col(parsed).is_null() & given


def _reason(frame: pl.DataFrame, max_state_length: int) -> pl.Expr:
    """Why a row cannot be loaded (null for a good row); the first failed check wins."""
    return (
        pl.when(pl.col(ROW_PROBLEM).is_not_null())  # found by the reader (e.g. a float id)
        .then(pl.col(ROW_PROBLEM))
        .when(_blank(pl.col("contact_id")))
        .then(pl.lit("missing contact id"))
        .when(_blank(pl.col("state")))
        .then(pl.lit("missing state"))
        .when(pl.col("state").str.len_chars() > max_state_length)
        .then(pl.lit(f"state text longer than {max_state_length} characters"))
        .when(_blank(pl.col("campaign_id")))
        .then(pl.lit("missing campaign id"))
        .when(~pl.col("campaign_id").str.contains(CAMPAIGN_ID_RE))
        .then(pl.lit("invalid campaign id (letters, digits, _ . - only)"))
        .when(pl.col("snapshot_time").is_null())
        .then(pl.lit("unparsable snapshot time"))
        .when(_unreadable(frame, "created_text", "created"))
        .then(pl.lit("unparsable created time"))
        .when(_unreadable(frame, "retry_scheduled_text", "retry_scheduled"))
        .then(pl.lit("unparsable retry scheduled time"))
        .when(_unreadable(frame, "retry_count_text", "retry_count"))
        .then(pl.lit("retry count is not a whole number"))
        .otherwise(None)
        .alias("reason")
    )


def _retry_count(frame: pl.DataFrame) -> pl.Expr:
    if "retry_count_text" not in frame.columns:
        return pl.lit(None, pl.Int32)
    col = pl.col("retry_count_text")
    if frame.schema["retry_count_text"] == pl.String:
        col = col.str.strip_chars()
    return col.cast(pl.Int32, strict=False)


def _typed_time(source: str, dtype: pl.Datetime, tz: str) -> pl.Expr:
    """A typed time column (Parquet) as UTC: converted as it is (a wall time without a zone is
    in the configured zone, as for text)."""
    col = pl.col(source).cast(pl.Datetime("us", dtype.time_zone))
    if dtype.time_zone is None:
        col = col.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return col.dt.convert_time_zone("UTC")


def file_rows(
    frame: pl.DataFrame,
    *,
    campaign: pl.Expr,
    snapshot_time: pl.Expr | datetime,
    config: Config,
) -> pl.DataFrame:
    """A file's rows (``source_row``, text columns, and typed time and retry count columns as
    Parquet gives them; no ``phone``: see ``hash_phones``) -> normalised rows with ``reason``.
    Keeps each optional column as it came (``<name>_text``) for the quarantine file.

    ``snapshot_time`` is a time (from the file name or an option: one for every row) or an
    expression of text. Few steps, whatever the file's size: one look at the first values of the
    text time columns and the distinct states, one plan that parses and maps every row
    (``quick_time``; the rare rows a quick time parse leaves unread get the careful parse), and
    one that gives each row its reason."""
    tz = config.timezone
    frame = frame.rename({c: f"{c}_text" for c in _OPTIONAL if c in frame.columns})
    if isinstance(snapshot_time, datetime):
        times = {"snapshot_time": pl.lit(snapshot_time).cast(UTC_US)}
        text_time = pl.lit(iso_utc(snapshot_time), pl.String)
    else:
        times, text_time = {}, snapshot_time
    lazy = frame.lazy().with_columns(
        campaign.alias("campaign_id"), text_time.alias("snapshot_time_text")
    )
    if ROW_PROBLEM not in frame.columns:
        lazy = lazy.with_columns(pl.lit(None, pl.String).alias(ROW_PROBLEM))
    schema = lazy.collect_schema()
    text_sources = [
        src
        for dest, src in _TIMES.items()
        if dest not in times and src in schema and not isinstance(schema[src], pl.Datetime)
    ]
    # one look at the data: each text time column's first value, and the distinct states
    look = lazy.select(
        *(pl.col(src).cast(pl.String).drop_nulls().first() for src in text_sources),
        pl.col("state").cast(pl.String).unique().drop_nulls().implode().alias("_states"),
    ).collect()
    inexact: list[tuple[str, str]] = []
    for dest, src in _TIMES.items():
        if dest in times:
            continue
        dtype = schema.get(src)
        if dtype is None:
            times[dest] = pl.lit(None, UTC_US)
        elif isinstance(dtype, pl.Datetime):
            times[dest] = _typed_time(src, dtype, tz)
        else:
            first = look.get_column(src).item()
            text = pl.col(src).cast(pl.String)
            times[dest], exact = quick_time(text, first, tz, frame.height)
            if not exact:
                inexact.append((dest, src))
    state, legacy = state_exprs_known(
        look.get_column("_states").item().to_list(),
        "state",
        legacy_state=config.legacy_state,
        aliases=config.states.aliases,
    )
    phone = "phone_hash_text"
    parsed = lazy.with_columns(
        *(expr.alias(dest) for dest, expr in times.items()),
        pl.col("contact_id").str.strip_chars().alias("contact_id"),
        _retry_count(frame).alias("retry_count"),
        state.alias("state_code"),
        legacy.alias("legacy"),
        (pl.col(phone) if phone in frame.columns else pl.lit(None, pl.String)).alias("phone_hash"),
    ).collect()
    parsed = _fill_unparsed_times(parsed, inexact, tz)
    checked = parsed.lazy().with_columns(_reason(parsed, config.ingest.max_state_length))
    return _mark_repeats(checked.collect())


def _fill_unparsed_times(
    frame: pl.DataFrame, inexact: list[tuple[str, str]], tz: str
) -> pl.DataFrame:
    """The rows whose time a quick parse left unread, parsed the careful way (``parse_time``):
    one check for all the columns, the careful parse only where a column needs it."""
    if not inexact:
        return frame
    todo = frame.select(
        unparsed_rows(pl.col(dest), pl.col(src)).any().alias(dest) for dest, src in inexact
    ).row(0)
    fixes = [
        fill_unparsed(frame.get_column(dest), frame.get_column(src).cast(pl.String), tz)
        for (dest, src), needed in zip(inexact, todo, strict=True)
        if needed
    ]
    return frame.with_columns(fixes) if fixes else frame


def _mark_repeats(checked: pl.DataFrame) -> pl.DataFrame:
    """Among valid rows: a contact twice with different states is a conflict (all its rows are
    quarantined: which one is true is unknown); the same contact and state again is a repeat.
    (Skipped when no contact id repeats in the file: then every group has one row. The ids
    alone are sorted and neighbours compared, cheaper than hashing them.)"""
    ids = checked.get_column("contact_id").sort()
    if checked.height < 2 or not (ids.slice(1) == ids.slice(0, checked.height - 1)).any():
        return checked
    group = ["campaign_id", "snapshot_time", "contact_id", "reason"]
    valid = pl.col("reason").is_null()
    return (
        checked.lazy()
        .with_columns(
            pl.when(valid).then(pl.col("state_code").n_unique().over(group)).alias("_states"),
            pl.when(valid).then(pl.col("source_row").rank("ordinal").over(group)).alias("_nth"),
        )
        .with_columns(
            pl.when(pl.col("reason").is_not_null())
            .then(pl.col("reason"))
            .when(pl.col("_states") > 1)
            .then(pl.lit("contact id appears more than once with different states"))
            .when(pl.col("_nth") > 1)
            .then(pl.lit(DUPLICATE))
            .otherwise(None)
            .alias("reason")
        )
        .drop("_states", "_nth")
        .collect()
    )


def check_invalid_share(bad: pl.DataFrame, rows_read: int, limit: float, name: str) -> None:
    """Reject the file (``IngestError``) when more than ``limit`` of its rows are invalid
    (exact repeats do not count: they lose nothing)."""
    invalid_rows = bad.filter(pl.col("reason") != DUPLICATE)
    invalid = invalid_rows.height
    if invalid <= limit * rows_read:
        return
    examples = "; ".join(
        f"row {r['source_row']}: {r['reason']}" for r in invalid_rows.head(3).iter_rows(named=True)
    )
    raise IngestError(
        name,
        f"{invalid:,} of {rows_read:,} rows ({invalid / rows_read:.1%}) are invalid, "
        f"more than the {limit:.0%} allowed (first: {examples})",
        hint="Fix the export and ingest it again.",
    )


def shorten(text: str, limit: int = 40) -> str:
    """A raw value as messages and pages show it: at most ``limit`` characters, then an ellipsis
    and the full length (a state column can hold anything, megabytes included)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def check_unknown_share(good: pl.DataFrame, limit: float, name: str) -> None:
    """Reject the file (``IngestError``) when more than ``limit`` of its loadable rows are in
    states the catalog does not know: such a file is in labels nobody has mapped yet (a localized
    admin UI, a new API value), and loading it would publish a snapshot with an empty funnel.
    The message lists the distinct unknown values with their counts, and the fix."""
    unknown = good.filter(pl.col("state_code") == OTHER)
    if not good.height or unknown.height <= limit * good.height:
        return
    # Values that differ only in letter case and spaces are one value (shown as first written).
    key = pl.col("state").str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()
    counts = (
        unknown.group_by(key.alias("key"), maintain_order=True)
        .agg(pl.col("state").first(), pl.len())
        .sort(["len", "key"], descending=[True, False])
        .select("state", "len")
    )
    shown = ", ".join(f"{shorten(str(v))!r} ({n:,})" for v, n in counts.head(10).iter_rows())
    more = f" and {counts.height - 10} more" if counts.height > 10 else ""
    first = shorten(str(counts.item(0, "state")))
    raise IngestError(
        name,
        f"{unknown.height:,} of {good.height:,} rows ({unknown.height / good.height:.1%}) have a "
        f"state the catalog does not know, more than the {limit:.0%} allowed "
        f"(ingest.max_unknown_fraction): {counts.height:,} distinct value(s): {shown}{more}",
        hint=(
            "If these are labels of known states, map them in the config, e.g. "
            f'[states.aliases] "{first}" = "delivered", and ingest the file again.'
        ),
    )


#: The columns of a quarantine file, from the normalised rows (text as it came).
QUARANTINE_COLUMNS = {
    "source_row": "source_row",
    "reason": "reason",
    "campaign_id": "campaign_id",
    "snapshot_time_text": "snapshot_time",
    "contact_id": "contact_id",
    "state": "state",
    "created_text": "created",
    "retry_count_text": "retry_count",
    "retry_scheduled_text": "retry_scheduled",
    "phone_hash": "phone_hash",
}


def quarantine_rows(bad: pl.DataFrame) -> pl.DataFrame:
    """The rows of a quarantine file: the input's text (typed values as text) and the reason,
    in input order."""
    return bad.select(
        as_text(pl.col(k), bad.schema[k]).alias(v)
        for k, v in QUARANTINE_COLUMNS.items()
        if k in bad.columns
    ).sort("source_row")


def snapshot_columns(rows: pl.DataFrame, snapshot_id: str, source: str) -> pl.DataFrame:
    """Good normalised rows -> the store's snapshot columns."""
    return rows.select(
        pl.lit(snapshot_id).alias("snapshot_id"),
        "snapshot_time",
        pl.lit(source).alias("source"),
        "contact_id",
        pl.col("state_code").alias("state"),
        pl.col("state").alias("raw_state"),
        "legacy",
        "created",
        "retry_count",
        "retry_scheduled",
        "phone_hash",
    )


def api_rows(
    frame: pl.DataFrame,
    *,
    snapshot_id: str,
    snapshot_time: datetime,
    source: str,
    config: Config,
) -> pl.DataFrame:
    """The API's identities (text columns as ``pipeline.sources.pull`` gives them) -> the store's
    snapshot columns, by the same rules as files (states, times)."""
    state, legacy = state_exprs(
        pl.col("state"), legacy_state=config.legacy_state, aliases=config.states.aliases
    )
    tz = config.timezone
    # Times column by column, as for files (parse_time_column: parse_time's result, faster).
    times = [
        parse_time_column(frame.get_column(src), tz).alias(dest)
        for src, dest in (("created", "created"), ("retryScheduledDate", "retry_scheduled"))
    ]
    return (
        frame.lazy()
        .select(
            pl.lit(snapshot_id).alias("snapshot_id"),
            pl.lit(snapshot_time).cast(UTC_US).alias("snapshot_time"),
            pl.lit(source).alias("source"),
            pl.col("id").alias("contact_id"),
            state.alias("state"),
            pl.col("state").alias("raw_state"),
            legacy.alias("legacy"),
            pl.lit(None, UTC_US).alias("created"),
            pl.col("retryCount").cast(pl.Int32, strict=False).alias("retry_count"),
            pl.lit(None, UTC_US).alias("retry_scheduled"),
            pl.lit(None, pl.String).alias("phone_hash"),
        )
        .collect()
        .with_columns(times)
    )
