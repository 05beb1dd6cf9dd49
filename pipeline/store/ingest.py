"""File ingest: export files -> validated snapshots in the store, bad rows in quarantine.

For every file: rows read = rows loaded + rows quarantined. A row is quarantined with a reason
(missing contact id, unparsable time, a contact twice with different states, an exact repeat of a
row). The whole file is rejected, and nothing from it written, when its bytes do not decode, a
required column is missing, header names repeat, or more than ``max_invalid_fraction`` of its rows
are invalid. Unknown states are loaded as ``other`` and counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.catalog import OTHER, state_exprs_for
from pipeline.core.clock import iso_utc, now
from pipeline.core.config import PHONE_KEY_ENV, Config, Secret
from pipeline.core.console import Console
from pipeline.core.csvsafe import neutralise_frame
from pipeline.core.errors import IngestError, PipelineError
from pipeline.sources.files import read_file
from pipeline.store.retention import drop_suppressed
from pipeline.store.snapshots import (
    SNAPSHOT_SCHEMA,
    CommitResult,
    SnapshotMeta,
    Store,
    Writer,
    snapshot_id_for,
)

CAMPAIGN_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DUPLICATE = "duplicate row (same contact and state as an earlier row)"


@dataclass
class IngestOptions:
    campaign_id: str | None = None
    snapshot_time: datetime | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: str = "file"


@dataclass
class FileReport:
    """What happened to one input file.

    ``rows_read == rows_loaded + rows_quarantined + rows_suppressed`` (the last is only non-zero
    for contacts that were erased).
    """

    path: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_suppressed: int = 0  # rows of erased contacts (``erase``), dropped and not kept anywhere
    reasons: Counter[str] = field(default_factory=Counter)
    unknown_states: Counter[str] = field(default_factory=Counter)
    legacy_rows: int = 0
    published: list[SnapshotMeta] = field(default_factory=list)
    already_present: list[SnapshotMeta] = field(default_factory=list)
    quarantine_file: str | None = None
    error: PipelineError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        if self.error is not None:
            return f"{self.path}: rejected. {self.error}"
        parts = [
            f"{self.path}: {self.rows_read:,} rows read = {self.rows_loaded:,} loaded "
            f"+ {self.rows_quarantined:,} quarantined"
            + (
                f" + {self.rows_suppressed:,} of erased contacts dropped"
                if self.rows_suppressed
                else ""
            )
        ]
        if self.reasons:
            parts.append(
                "  quarantined: "
                + "; ".join(f"{n:,} {r}" for r, n in self.reasons.most_common())
                + (f" (in {self.quarantine_file})" if self.quarantine_file else "")
            )
        if self.published:
            parts.append(
                f"  {len(self.published)} snapshot(s) published: " + _describe(self.published)
            )
        if self.already_present:
            parts.append(
                f"  {len(self.already_present)} snapshot(s) already in the store, nothing added: "
                + _describe(self.already_present)
            )
        if self.unknown_states:
            parts.append(
                f"  {sum(self.unknown_states.values()):,} rows with states the catalog does not know, "
                "loaded as 'other': "
                + ", ".join(f"{raw!r} ({n:,})" for raw, n in self.unknown_states.most_common(10))
            )
        if self.legacy_rows:
            parts.append(
                f"  {self.legacy_rows:,} rows in the legacy state Successfully Submitted, mapped"
            )
        return "\n".join(parts)


def _describe(metas: list[SnapshotMeta]) -> str:
    shown = ", ".join(
        f"campaign {m.campaign_id} at {m.snapshot_time[:19]}Z ({m.rows:,} rows)" for m in metas[:5]
    )
    return shown + (f" and {len(metas) - 5} more" if len(metas) > 5 else "")


# --------------------------------------------------------------------------------------- parsing
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%:z")
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


def parse_time(col: pl.Expr, tz: str) -> pl.Expr:
    """Text -> UTC datetime, or null where unparsable.

    Accepted: ISO-8601 with an offset or Z (``2026-11-28T06:00:00+01:00``), ISO-8601 without an
    offset, and Czech ``28.11.2026 06:00:00``; a time without an offset is in the configured
    time zone (an ambiguous autumn hour takes the earlier one; a spring-gap time is unparsable).
    """
    return _parse_normalised(_time_text(col), tz)


def _time_text(col: pl.Expr) -> pl.Expr:
    return (
        col.str.strip_chars()
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
        .str.replace(r"[Zz]$", "+00:00")
        .str.replace(r" (\d):", " 0${1}:")  # 28.11.2026 6:00 -> 06:00
    )


def _parse_normalised(text: pl.Expr, tz: str) -> pl.Expr:
    with_offset = pl.coalesce(
        [
            text.str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
            for f in _OFFSET_FORMATS
        ]
    )
    naive = (
        pl.coalesce([text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS])
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return pl.coalesce([with_offset, naive])


def _with_format(text: pl.Expr, fmt: str, tz: str) -> pl.Expr:
    """One of ``parse_time``'s formats alone (with the same time zone handling)."""
    if fmt in _OFFSET_FORMATS:
        return text.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
    return (
        text.str.to_datetime(fmt, strict=False, time_unit="us")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )


def _parse_one(text: str, tz: str) -> datetime | None:
    if _ISO_UTC.match(text):  # as iso_utc writes it: no need for polars' nine formats
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    value = pl.DataFrame({"t": [text]}).select(parse_time(pl.col("t"), tz)).item()
    return value.astimezone(UTC) if value is not None else None


def parse_time_column(values: pl.Series, tz: str) -> pl.Series:
    """``parse_time`` over a whole column, with the same results, several times faster.

    ``parse_time`` tries nine formats on every row. Here the format that parses the column's
    first value is tried on every row, and only the rows it does not parse get all nine. (No text
    is accepted by two of the formats with different results, so the order does not matter.)
    """
    if values.null_count() == values.len():  # e.g. no contact has a retry scheduled
        return pl.Series(values.name, [None] * values.len(), dtype=pl.Datetime("us", "UTC"))
    if values[0] is not None and (values == values[0]).fill_null(False).all():
        # One time for every row (from the file name or an option): parse it once.
        one = _parse_one(str(values[0]), tz)
        dtype = pl.Datetime("us", "UTC")
        return pl.repeat(one, values.len(), dtype=dtype, eager=True).alias(values.name)
    if values.len() < 10_000:  # small: trying formats one by one costs more than it saves
        return (
            values.to_frame("t").select(parse_time(pl.col("t"), tz)).to_series().alias(values.name)
        )
    text = values.to_frame("t").select(_time_text(pl.col("t"))).to_series()
    frame = text.to_frame("t")
    sample = text.drop_nulls().head(1).to_frame("t")
    fmt = next(
        (
            f
            for f in (*_OFFSET_FORMATS, *_NAIVE_FORMATS)
            if sample.height and sample.select(_with_format(pl.col("t"), f, tz)).item() is not None
        ),
        None,
    )
    if fmt is None:
        return frame.select(_parse_normalised(pl.col("t"), tz)).to_series().alias(values.name)
    fast = frame.select(_with_format(pl.col("t"), fmt, tz)).to_series()
    todo = fast.is_null() & text.is_not_null()
    if todo.any():
        rows = todo.arg_true()
        fast = fast.scatter(
            rows, frame[rows].select(_parse_normalised(pl.col("t"), tz)).to_series()
        )
    return fast.alias(values.name)


_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?(Z?)$")
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def parse_time_text(text: str, tz: str) -> datetime | None:
    """One time from an option or a file name (same rules, plus compact ``20261128T0600Z``)."""
    m = _COMPACT.match(text.strip())
    if m:
        y, mo, d, h, mi, s, z = m.groups()
        if z:  # UTC: no time zone rules to apply (same result as the general path, faster)
            with contextlib.suppress(ValueError):
                return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=UTC)
        text = f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}" + ("+00:00" if z else "")
    value = pl.DataFrame({"t": [text]}).select(parse_time(pl.col("t"), tz)).item()
    return value.astimezone(UTC) if value is not None else None


def normalise_phone(col: pl.Expr) -> pl.Expr:
    """Digits only, international prefix as '+': '00420 601-234 567' -> '+420601234567'."""
    digits = col.str.replace_all(r"[^0-9+]", "").str.replace(r"^00", "+")
    return pl.when(digits.str.len_chars() > 0).then(digits).otherwise(None)


def hmac_phones(phones: pl.Series, key: Secret) -> pl.Series:
    """HMAC-SHA256 (hex) of each normalised number, computed in DuckDB (no Python row loop)."""
    raw = key.reveal().encode()
    if len(raw) > 64:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in raw).hex()
    opad = bytes(b ^ 0x5C for b in raw).hex()
    con = duckdb.connect()
    try:
        con.register("frame", pl.DataFrame({"phone": phones}).to_arrow())
        table = con.sql(
            "SELECT CASE WHEN phone IS NULL THEN NULL ELSE "
            "sha256(unhex(?) || unhex(sha256(unhex(?) || encode(phone)))) END AS h FROM frame",
            params=[opad, ipad],
        ).to_arrow_table()
    finally:
        con.close()
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out.get_column("h")


def hmac_phone(number: str, key: Secret) -> str:
    """The reference implementation (Python's hmac) of one number's hash, for checks."""
    return hmac.new(key.reveal().encode(), number.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------- ingest
def ingest_files(
    paths: list[Path],
    *,
    store: Store,
    config: Config,
    console: Console,
    options: IngestOptions | None = None,
) -> list[FileReport]:
    """Ingest files one by one under the store's lock. A rejected file does not stop the others."""
    opts = options or IngestOptions()
    reports: list[FileReport] = []
    with store.writer("ingest") as writer:
        # Read the manifest once, not once per file; kept up to date as files are published.
        published = store.published_ids()
        for path in paths:
            report = FileReport(path=str(path))
            try:
                ingest_one(
                    path,
                    writer=writer,
                    config=config,
                    console=console,
                    options=opts,
                    report=report,
                    published=published,
                )
            except PipelineError as exc:
                report.error = exc
            console.info(report.summary())
            _log_report(store, report)
            reports.append(report)
    return reports


def _log_report(store: Store, report: FileReport) -> None:
    """Append the file's accounting to ``logs/ingest.jsonl`` (rejections included)."""
    record = {
        "at": iso_utc(now()),
        "file": report.path,
        "status": "ok" if report.ok else "rejected",
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "quarantine_reasons": dict(report.reasons),
        "unknown_states": dict(report.unknown_states),
        "legacy_rows": report.legacy_rows,
        "published": [m.snapshot_id for m in report.published],
        "already_present": [m.snapshot_id for m in report.already_present],
        "quarantine_file": report.quarantine_file,
        "error": str(report.error) if report.error else None,
    }
    log_dir = store.root / "logs"
    log_dir.mkdir(exist_ok=True)
    with open(log_dir / "ingest.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def ingest_one(
    path: Path,
    *,
    writer: Writer,
    config: Config,
    console: Console,
    options: IngestOptions,
    report: FileReport,
    published: dict[str, SnapshotMeta] | None = None,
) -> None:
    """Ingest one file. ``published`` is the manifest's snapshots by id (read if not given;
    snapshots this file publishes are added to it)."""
    tz = config.timezone
    name = str(path)
    encoding = options.encoding or config.ingest.encoding
    delimiter = options.delimiter or config.ingest.delimiter
    _fmt, frame = read_file(path, encoding=encoding, delimiter=delimiter)
    report.rows_read = frame.height
    fingerprint = _file_sha256(path)

    campaign_col, time_col = _campaign_and_time(path, frame, config, options)
    frame = frame.with_columns(
        campaign_col.alias("campaign_id"), time_col.alias("snapshot_time_text")
    )

    if "phone" in frame.columns:
        key = config.phone_key()
        if key:
            phones = frame.select(normalise_phone(pl.col("phone"))).to_series()
            frame = frame.with_columns(hmac_phones(phones, key).alias("phone_hash")).drop("phone")
        else:
            console.warn(
                f"{name}: the column with phone numbers was dropped, because {PHONE_KEY_ENV} is "
                "not set; set it to keep a keyed hash (HMAC-SHA256) of each number."
            )
            frame = frame.drop("phone")

    optional = ("created", "retry_count", "retry_scheduled", "phone_hash")
    frame = frame.rename({c: f"{c}_text" for c in optional if c in frame.columns})
    text = {
        c: pl.col(f"{c}_text") if f"{c}_text" in frame.columns else pl.lit(None, pl.String)
        for c in optional
    }
    # Times are parsed column by column (parse_time_column: same result as parse_time, faster).
    times = {"snapshot_time": "snapshot_time_text", "created": "created_text"}
    times["retry_scheduled"] = "retry_scheduled_text"
    frame = frame.with_columns(
        parse_time_column(frame.get_column(src), tz).alias(f"_{dest}_parsed")
        if src in frame.columns
        else pl.lit(None, SNAPSHOT_SCHEMA[dest]).alias(f"_{dest}_parsed")
        for dest, src in times.items()
    )
    state, legacy = state_exprs_for(
        frame.get_column("state"), pl.col("state"), legacy_state=config.legacy_state
    )
    blank = lambda e: e.is_null() | (e.str.strip_chars() == "")  # noqa: E731
    parsed = (
        frame.lazy()
        .with_columns(
            pl.col("contact_id").str.strip_chars().alias("contact_id"),
            *[pl.col(f"_{dest}_parsed").alias(dest) for dest in times],
            text["retry_count"].str.strip_chars().cast(pl.Int32, strict=False).alias("retry_count"),
            state.alias("state_code"),
            legacy.alias("legacy"),
            text["phone_hash"].alias("phone_hash"),
        )
        .with_columns(
            pl.when(blank(pl.col("contact_id")))
            .then(pl.lit("missing contact id"))
            .when(blank(pl.col("state")))
            .then(pl.lit("missing state"))
            .when(blank(pl.col("campaign_id")))
            .then(pl.lit("missing campaign id"))
            .when(~pl.col("campaign_id").str.contains(CAMPAIGN_ID_RE))
            .then(pl.lit("invalid campaign id (letters, digits, _ . - only)"))
            .when(pl.col("snapshot_time").is_null())
            .then(pl.lit("unparsable snapshot time"))
            .when(pl.col("created").is_null() & ~blank(text["created"]))
            .then(pl.lit("unparsable created time"))
            .when(pl.col("retry_scheduled").is_null() & ~blank(text["retry_scheduled"]))
            .then(pl.lit("unparsable retry scheduled time"))
            .when(pl.col("retry_count").is_null() & ~blank(text["retry_count"]))
            .then(pl.lit("retry count is not a whole number"))
            .otherwise(None)
            .alias("reason")
        )
    )
    # Among valid rows: a contact twice with different states is a conflict (all its rows are
    # quarantined: which one is true is unknown); the same contact and state again is a repeat.
    # (Skipped when no contact id repeats in the file: then every group has one row.)
    group = ["campaign_id", "snapshot_time", "contact_id", "reason"]
    valid_rows = pl.col("reason").is_null()
    checked = parsed.collect()
    if checked.get_column("contact_id").is_duplicated().any():
        checked = (
            checked.lazy()
            .with_columns(
                pl.when(valid_rows)
                .then(pl.col("state_code").n_unique().over(group))
                .alias("_states"),
                pl.when(valid_rows)
                .then(pl.col("source_row").rank("ordinal").over(group))
                .alias("_nth"),
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

    checked, report.rows_suppressed = drop_suppressed(checked, writer.store)
    bad = checked.filter(pl.col("reason").is_not_null())
    good = checked.filter(pl.col("reason").is_null())
    invalid = bad.filter(pl.col("reason") != DUPLICATE).height
    limit = config.ingest.max_invalid_fraction
    if invalid > limit * report.rows_read:
        examples = "; ".join(
            f"row {r['source_row']}: {r['reason']}"
            for r in bad.filter(pl.col("reason") != DUPLICATE).head(3).iter_rows(named=True)
        )
        raise IngestError(
            name,
            f"{invalid:,} of {report.rows_read:,} rows ({invalid / report.rows_read:.1%}) are invalid, "
            f"more than the {limit:.0%} allowed (first: {examples})",
            hint="Fix the export and ingest it again.",
        )

    report.reasons = Counter(dict(bad.group_by("reason").len().iter_rows()))
    unknown = good.filter(pl.col("state_code") == OTHER).group_by("state").len()
    report.unknown_states = Counter(dict(unknown.iter_rows()))
    report.legacy_rows = int(good.get_column("legacy").sum())

    if published is None:
        published = writer.store.published_ids()
    staged = []
    keys = ["campaign_id", "snapshot_time"]
    if good.height and good.select(pl.col(k).n_unique() == 1 for k in keys).row(0) == (True, True):
        # The usual file: one campaign at one time (a copy-free shortcut of partition_by).
        groups = {good.select(pl.col(k).first() for k in keys).row(0): good}
    else:
        groups = good.partition_by(keys, as_dict=True, maintain_order=True)
    for (campaign_id, snapshot_time), rows in groups.items():
        assert isinstance(snapshot_time, datetime) and isinstance(campaign_id, str)
        sid = snapshot_id_for(campaign_id, snapshot_time)
        quarantined_here = bad.filter(
            (pl.col("campaign_id") == campaign_id) & (pl.col("snapshot_time") == snapshot_time)
        )
        meta = SnapshotMeta(
            snapshot_id=sid,
            campaign_id=campaign_id,
            snapshot_time=iso_utc(snapshot_time),
            source=f"{options.source}:{path.name}",
            path=writer.store.relative_path(campaign_id, snapshot_time, sid),
            rows=rows.height,
            fingerprint=hashlib.sha256(f"{fingerprint}\x1f{sid}".encode()).hexdigest(),
            other_rows=rows.filter(pl.col("state_code") == OTHER).height,
            legacy_rows=int(rows.get_column("legacy").sum()),
            duplicate_rows=quarantined_here.filter(pl.col("reason") == DUPLICATE).height,
            quarantined_rows=quarantined_here.height,
            input=path.name,
        )
        if not writer.check(meta, published):
            report.already_present.append(published[sid])
            continue
        out = rows.select(
            pl.lit(sid).alias("snapshot_id"),
            "snapshot_time",
            pl.lit(meta.source).alias("source"),
            "contact_id",
            pl.col("state_code").alias("state"),
            pl.col("state").alias("raw_state"),
            "legacy",
            "created",
            "retry_count",
            "retry_scheduled",
            "phone_hash",
        )
        staged.append(writer.stage_snapshot(meta, out))

    if report.already_present and not staged:
        # The same input again: nothing new, and its quarantined rows are already on file.
        report.rows_loaded = good.height
        report.rows_quarantined = bad.height
        return
    quarantine = None
    if bad.height:
        keep = {
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
        q = bad.select(pl.col(k).alias(v) for k, v in keep.items() if k in bad.columns).sort(
            "source_row"
        )
        quarantine = writer.stage_quarantine(neutralise_frame(q))
    result: CommitResult = writer.commit(staged, input_name=name, quarantine=quarantine)
    report.published = result.published
    published.update((m.snapshot_id, m) for m in result.published)
    report.quarantine_file = result.quarantine_file
    report.rows_loaded = good.height
    report.rows_quarantined = bad.height


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _campaign_and_time(
    path: Path, frame: pl.DataFrame, config: Config, options: IngestOptions
) -> tuple[pl.Expr, pl.Expr]:
    """Where campaign id and snapshot time come from: an option, else a column, else the file name."""
    match = re.search(config.ingest.filename_pattern, path.name)
    groups = match.groupdict() if match else {}

    if options.campaign_id is not None:
        campaign = pl.lit(options.campaign_id, pl.String)
    elif "campaign_id" in frame.columns:
        campaign = pl.col("campaign_id").str.strip_chars()
    elif groups.get("campaign_id"):
        campaign = pl.lit(groups["campaign_id"], pl.String)
    else:
        raise IngestError(
            str(path),
            "the campaign is unknown: no campaign_id column, no --campaign option, and the file "
            "name does not match the pattern",
            hint="Name the file like campaign-1234_20261128T060000Z.csv, add a campaign_id "
            "column, or pass --campaign.",
        )

    if options.snapshot_time is not None:
        time_col = pl.lit(iso_utc(options.snapshot_time), pl.String)
    elif "snapshot_time" in frame.columns:
        time_col = pl.col("snapshot_time")
    elif groups.get("snapshot_time"):
        parsed = parse_time_text(groups["snapshot_time"], config.timezone)
        if parsed is None:
            raise IngestError(
                str(path),
                f"the time {groups['snapshot_time']!r} in the file name is not a valid time",
            )
        time_col = pl.lit(iso_utc(parsed), pl.String)
    else:
        raise IngestError(
            str(path),
            "the snapshot time is unknown: no snapshot_time column, no --snapshot-time option, and "
            "the file name does not match the pattern",
            hint="Name the file like campaign-1234_20261128T060000Z.csv, add a snapshot_time "
            "column, or pass --snapshot-time.",
        )
    return campaign, time_col


__all__ = [
    "SNAPSHOT_SCHEMA",
    "FileReport",
    "IngestOptions",
    "ingest_files",
    "parse_time",
    "parse_time_text",
]
