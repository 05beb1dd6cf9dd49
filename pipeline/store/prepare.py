"""One input file made ready to publish, with no writer: read, checked, normalised, counted and
its snapshots' rows made (``prepare_file``), then written aside (``write_ahead``). Thread-safe:
ingest prepares several files at once (``pipeline.store.ingest``)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.core.catalog import OTHER
from pipeline.core.clock import iso_utc
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.normalize.rows import (
    DUPLICATE,
    campaign_and_time,
    check_invalid_share,
    check_unknown_share,
    file_rows,
    final_marker,
    hash_phones,
    snapshot_columns,
)
from pipeline.normalize.suppression import drop_suppressed
from pipeline.sources.files import read_file
from pipeline.store.file_report import FileReport, IngestOptions
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for
from pipeline.store.writer import SnapshotRows, Staged, Writer, snapshot_rows


@dataclass
class Prepared:
    """One file read, checked and normalised, its snapshots' rows ready to write: everything of
    its ingest that needs no writer (``prepare_file``, thread-safe). ``written`` are the staged
    files ``write_ahead`` wrote already (by snapshot id); their rows are not kept."""

    path: Path
    report: FileReport
    snapshots: list[tuple[SnapshotMeta, SnapshotRows | None]]
    bad: pl.DataFrame
    written: dict[str, Staged] = field(default_factory=dict)


def prepare_file(
    path: Path,
    *,
    store: Store,
    config: Config,
    console: Console,
    options: IngestOptions,
    report: FileReport,
    suppressed: set[str],
) -> Prepared:
    """Read, check and normalise one file, and make its snapshots' rows (fills ``report``'s
    counts; raises ``PipelineError`` when the file is rejected). Writes nothing."""
    name = str(path)
    encoding = options.encoding or config.ingest.encoding
    delimiter = options.delimiter or config.ingest.delimiter
    _fmt, frame = read_file(path, encoding=encoding, delimiter=delimiter)
    report.rows_read = frame.height
    campaign, snapshot_time = campaign_and_time(
        path, frame, config, campaign_id=options.campaign_id, snapshot_time=options.snapshot_time
    )
    frame = hash_phones(frame, config, lambda message: console.warn(f"{name}: {message}"))
    checked = file_rows(frame, campaign=campaign, snapshot_time=snapshot_time, config=config)
    checked, report.rows_suppressed = drop_suppressed(checked, suppressed)
    counts = _FileCounts.of(checked)
    if counts.bad:
        bad = checked.filter(pl.col("reason").is_not_null())
        good = checked.filter(pl.col("reason").is_null())
    else:
        bad, good = checked.clear(), checked
    invalid_limit = config.ingest.max_invalid_fraction
    if counts.invalid > invalid_limit * report.rows_read:
        check_invalid_share(bad, report.rows_read, invalid_limit, name)
    if counts.unknown > config.ingest.max_unknown_fraction * good.height:
        check_unknown_share(good, config.ingest.max_unknown_fraction, name)
    if counts.bad:
        report.reasons = Counter(dict(bad.group_by("reason").len().iter_rows()))
    if counts.unknown:
        unknown = good.filter(pl.col("state_code") == OTHER).group_by("state").len()
        report.unknown_states = Counter(dict(unknown.iter_rows()))
    report.legacy_rows = counts.legacy
    if options.finished or final_marker(path, config):
        last = good.group_by("campaign_id").agg(pl.col("snapshot_time").max())
        report.finished = {c: iso_utc(t) for c, t in last.iter_rows()}
    report.rows_loaded = good.height
    report.rows_quarantined = bad.height
    return Prepared(path, report, _snapshots(path, good, bad, counts, store, options), bad)


@dataclass(frozen=True)
class _FileCounts:
    """A file's checked rows counted in one pass: quarantined (``bad``), invalid (quarantined
    for more than being an exact repeat), and among the good rows those in a state the catalog
    does not know and those in the legacy state; ``single`` is the (campaign, time) of every
    good row when they all have the same (the usual file), else None."""

    bad: int
    invalid: int
    unknown: int
    legacy: int
    single: tuple[str, datetime] | None

    @classmethod
    def of(cls, checked: pl.DataFrame) -> _FileCounts:
        good = pl.col("reason").is_null()
        keys = [pl.col(k).filter(good) for k in ("campaign_id", "snapshot_time")]
        row = checked.select(
            (~good).sum().alias("bad"),
            (~good & (pl.col("reason") != DUPLICATE)).sum().alias("invalid"),
            (good & (pl.col("state_code") == OTHER)).sum().alias("unknown"),
            (good & pl.col("legacy")).sum().alias("legacy"),
            *(k.first().alias(f"first_{i}") for i, k in enumerate(keys)),
            *(k.eq_missing(k.first()).all().alias(f"same_{i}") for i, k in enumerate(keys)),
        ).row(0, named=True)
        single = (
            (row["first_0"], row["first_1"])
            if row["first_0"] is not None and row["same_0"] and row["same_1"]
            else None
        )
        return cls(row["bad"], row["invalid"], row["unknown"], int(row["legacy"] or 0), single)


def write_ahead(
    prepared: Prepared, writer: Writer, before: Mapping[str, SnapshotMeta], *, tag: str
) -> Prepared:
    """Write a prepared file's snapshots aside now (in the worker thread that prepared it), each
    under a name of its own (``tag``: the file's place in the ingest); ``stage_prepared`` then
    only decides which to keep. Not those already published from this same input when the
    ingest began: they will be found present (their rows are kept in case they are not)."""
    kept: list[tuple[SnapshotMeta, SnapshotRows | None]] = []
    for meta, rows in prepared.snapshots:
        old = before.get(meta.snapshot_id)
        if rows is None or (old is not None and old.fingerprint == meta.fingerprint):
            kept.append((meta, rows))
            continue
        prepared.written[meta.snapshot_id] = writer.stage_rows(meta, rows, tag=tag)
        kept.append((meta, None))
    prepared.snapshots = kept
    return prepared


def _snapshots(
    path: Path,
    good: pl.DataFrame,
    bad: pl.DataFrame,
    counts: _FileCounts,
    store: Store,
    options: IngestOptions,
) -> list[tuple[SnapshotMeta, SnapshotRows | None]]:
    """One snapshot per campaign and time in the file: its metadata and rows."""
    fingerprint = _file_sha256(path)
    keys = ["campaign_id", "snapshot_time"]
    if counts.single is not None:
        # The usual file: one campaign at one time (a copy-free shortcut of partition_by).
        groups = {counts.single: good}
    else:
        groups = good.partition_by(keys, as_dict=True, maintain_order=True)
    out: list[tuple[SnapshotMeta, SnapshotRows | None]] = []
    for (campaign_id, snapshot_time), rows in groups.items():
        assert isinstance(snapshot_time, datetime) and isinstance(campaign_id, str)
        sid = snapshot_id_for(campaign_id, snapshot_time)
        here = (
            bad.filter(
                (pl.col("campaign_id") == campaign_id) & (pl.col("snapshot_time") == snapshot_time)
            )
            if bad.height
            else bad
        )
        if counts.single is not None:
            other, legacy = counts.unknown, counts.legacy
        else:
            other, legacy = rows.select(
                (pl.col("state_code") == OTHER).sum(), pl.col("legacy").sum()
            ).row(0)
        source = f"{options.source}:{path.name}"
        meta = SnapshotMeta(
            snapshot_id=sid,
            campaign_id=campaign_id,
            snapshot_time=iso_utc(snapshot_time),
            source=source,
            path=store.relative_path(campaign_id, snapshot_time, sid),
            rows=rows.height,
            fingerprint=hashlib.sha256(f"{fingerprint}\x1f{sid}".encode()).hexdigest(),
            other_rows=int(other),
            legacy_rows=int(legacy),
            duplicate_rows=here.filter(pl.col("reason") == DUPLICATE).height if here.height else 0,
            quarantined_rows=here.height,
            input=path.name,
        )
        out.append((meta, snapshot_rows(meta, snapshot_columns(rows, sid, source))))
    return out


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
