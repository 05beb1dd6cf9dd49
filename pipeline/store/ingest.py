"""File ingest: export files -> validated snapshots in the store, bad rows in quarantine.

For every file: rows read = rows loaded + rows quarantined. A row is quarantined with a reason
(missing contact id, unparsable time, a contact twice with different states, an exact repeat of a
row). The whole file is rejected, and nothing from it written, when its bytes do not decode, a
required column is missing, header names repeat, or more than ``max_invalid_fraction`` of its rows
are invalid, or more than ``max_unknown_fraction`` of its loadable rows are in unknown states
(then it lists them, and the fix: ``[states.aliases]``). Fewer unknown states are loaded as
``other`` and counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import polars as pl

from pipeline.core.catalog import OTHER
from pipeline.core.clock import iso_utc
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.csvsafe import neutralise_frame
from pipeline.core.errors import (
    DiskFull,
    IngestError,
    PipelineError,
    SnapshotConflict,
    describe,
)
from pipeline.normalize.rows import (
    DUPLICATE,
    campaign_and_time,
    check_invalid_share,
    check_unknown_share,
    file_rows,
    final_marker,
    hash_phones,
    quarantine_rows,
    shorten,
    snapshot_columns,
)
from pipeline.normalize.suppression import drop_suppressed
from pipeline.sources.files import read_file
from pipeline.store.loads import LoadLog, file_identity
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for
from pipeline.store.suppression import suppressed_hashes
from pipeline.store.writer import (
    Pending,
    SnapshotRows,
    Staged,
    Writer,
    snapshot_rows,
)

T = TypeVar("T")


@dataclass
class IngestOptions:
    campaign_id: str | None = None
    snapshot_time: datetime | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: str = "file"
    finished: bool = False  # the files are their campaigns' final exports (``--finished``)
    #: publish a file's snapshots in place of published ones with the same campaign and time
    #: (``--replace``), instead of refusing the file
    replace: bool = False


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
    replaced: list[SnapshotMeta] = field(default_factory=list)  # published in place of others
    quarantine_file: str | None = None
    error: PipelineError | None = None
    #: campaign id -> its last snapshot time in the file, when the file is a final export
    #: (``ingest --finished``, or ``final`` in the file name)
    finished: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def status_word(self) -> str:
        """A few words of progress while the files are checked (before the commit)."""
        if self.error is not None:
            return "rejected"
        return f"{self.rows_read:,} rows checked"

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
        if self.replaced:
            parts.append(
                f"  {len(self.replaced)} snapshot(s) replaced (--replace): "
                + _describe(self.replaced)
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
                + ", ".join(
                    f"{shorten(raw)!r} ({n:,})" for raw, n in self.unknown_states.most_common(10)
                )
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


# ---------------------------------------------------------------------------------------- ingest
def ingest_files(
    paths: list[Path],
    *,
    store: Store,
    config: Config,
    console: Console,
    options: IngestOptions | None = None,
) -> list[FileReport]:
    """Ingest files under the store's lock, and publish what they all staged as one Delta commit
    at the end (all of it or, after a crash, none). A rejected file does not stop the others.

    Files are read, checked and normalised a few at a time in worker threads (polars and the
    file reads release the interpreter), and staged in their given order on this thread, so the
    result is the same as one by one: the first of two files with the same snapshot stages it."""
    opts = options or IngestOptions()
    reports = [FileReport(path=str(path)) for path in paths]
    pending: list[tuple[FileReport, Pending]] = []
    with store.writer("ingest") as writer:
        # Read the index once, not once per file; kept up to date as files are staged.
        published = store.published_ids()
        suppressed = suppressed_hashes(store)
        before = dict(published)  # what the workers compare with (``published`` grows)

        def prepare(i: int) -> Prepared | None:
            def work() -> Prepared:
                prepared = prepare_file(
                    paths[i],
                    store=store,
                    config=config,
                    console=console,
                    options=opts,
                    report=reports[i],
                    suppressed=suppressed,
                )
                return write_ahead(prepared, writer, before, tag=str(i))

            return _guarded(reports[i], work)

        for n, prepared in enumerate(_in_order(prepare, len(paths)), start=1):
            report = reports[n - 1]
            if prepared is not None:
                staged = _guarded(
                    report, partial(stage_prepared, prepared, writer, opts, published)
                )
                if staged is not None:
                    pending.append((report, staged))
            if len(paths) > 1:
                console.info(f"  [{n}/{len(paths)}] {paths[n - 1]}: {report.status_word()}")
        results = writer.commit_inputs([p for _, p in pending])
        for (report, _), result in zip(pending, results, strict=True):
            report.published = result.published
            report.replaced = result.replaced
            report.quarantine_file = result.quarantine_file
        _record_finished(writer, reports)
        for path, report in zip(paths, reports, strict=True):
            console.info(report.summary())
            _log_report(store, report, path, opts.source)
    return reports


def _workers() -> int:
    """Threads that prepare files: two per core the process may use (a thread often waits, for
    the disk or for the interpreter), at most 4; one on a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if (cores or 1) < 2 else min(4, 2 * (cores or 1))


def _in_order(work: Callable[[int], T], count: int) -> Iterator[T]:
    """``work(0)``, ..., ``work(count - 1)``, in order, computed a few ahead in worker threads
    (at most twice the workers at once, so that memory stays bounded however many files)."""
    workers = _workers()
    if count < 2 or workers < 2:
        yield from (work(i) for i in range(count))
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="ingest") as pool:
        ahead: deque[Future[T]] = deque()
        try:
            for i in range(count):
                ahead.append(pool.submit(work, i))
                if len(ahead) >= 2 * workers:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:  # an error or a stop: the files not started are not read
            for future in ahead:
                future.cancel()


def _guarded(report: FileReport, step: Callable[[], T]) -> T | None:
    """``step()``, with the file's failure recorded as its error (a full disk stops the run)."""
    try:
        return step()
    except DiskFull:
        raise  # not this file's fault: the run stops, nothing it staged is kept
    except PipelineError as exc:
        report.error = exc
    except Exception as exc:  # one file's failure is that file's error, never a stop
        report.error = IngestError(
            report.path,
            f"it could not be read ({describe(exc)})",
            hint="Nothing from it was loaded; the other files go on. Please report it.",
        )
    return None


def _shortened(counts: Counter[str]) -> dict[str, int]:
    """Counts by raw value, each value cut to a short prefix (logs never hold a huge value)."""
    out: Counter[str] = Counter()
    for raw, n in counts.items():
        out[shorten(raw)] += n
    return dict(out)


def _record_finished(writer: Writer, reports: list[FileReport]) -> None:
    """Record the campaigns of final exports as finished (at their last snapshot time in those
    files) in ``campaigns.json``, as the exporter records the API's ``finished``: the warehouse
    then shows them as finished, with their final numbers."""
    known = writer.store.campaigns()
    finished: dict[str, str] = {}
    for report in reports:
        for cid, when in report.finished.items() if report.ok else ():
            finished[cid] = max(when, finished.get(cid, when))
    info = {
        cid: {"finished": when, "finished_from": "ingest"}
        for cid, when in finished.items()
        if str(known.get(cid, {}).get("finished") or "") < when
    }
    writer.record_campaigns(info)


def _log_report(store: Store, report: FileReport, path: Path, source: str) -> None:
    """Record the file's accounting in the load log (rejections included)."""
    identity: dict[str, object] = {}
    with contextlib.suppress(OSError):
        identity = file_identity(path)
    record = {
        "source": source,
        "file": report.path,
        **identity,
        "status": "ok" if report.ok else "rejected",
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "quarantine_reasons": dict(report.reasons),
        "unknown_states": _shortened(report.unknown_states),
        "legacy_rows": report.legacy_rows,
        "published": [m.snapshot_id for m in report.published],
        "replaced": [m.snapshot_id for m in report.replaced],
        "already_present": [m.snapshot_id for m in report.already_present],
        "quarantine_file": report.quarantine_file,
        "error": str(report.error) if report.error else None,
    }
    LoadLog(store.root).append(record)


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


def stage_prepared(
    prepared: Prepared,
    writer: Writer,
    options: IngestOptions,
    published: dict[str, SnapshotMeta],
) -> Pending | None:
    """Stage a prepared file's snapshots (those not already published; with ``--replace``,
    those published from other input too) and its quarantined rows. Snapshots staged are added
    to ``published``, so later files see them. None when the same input is already published."""
    report_ = prepared.report
    staged: list[Staged] = []
    replacing: list[Staged] = []
    written: Staged | None = None
    try:
        for meta, rows in prepared.snapshots:
            written = prepared.written.pop(meta.snapshot_id, None)
            if options.replace and _replaces(published.get(meta.snapshot_id), meta):
                # a file of its own (the old one is deleted after the commit)
                suffix = f"-r{meta.fingerprint[:8]}.parquet"
                meta = replace(meta, path=meta.path.removesuffix(".parquet") + suffix)
                replacing.append(_staged(writer, meta, rows, written))
            elif writer.check(meta, published):
                staged.append(_staged(writer, meta, rows, written))
            else:
                report_.already_present.append(published[meta.snapshot_id])
                if written is not None:
                    written.staged_path.unlink(missing_ok=True)
    except BaseException:  # the file is refused (a conflict): nothing of it stays staged
        left = [written] if written is not None else []
        for one in [*staged, *replacing, *left, *prepared.written.values()]:
            one.staged_path.unlink(missing_ok=True)
        raise
    if report_.already_present and not staged and not replacing:
        return None  # the same input again: nothing new, its quarantined rows are on file
    bad = prepared.bad
    quarantine = (
        writer.stage_quarantine(neutralise_frame(quarantine_rows(bad))) if bad.height else None
    )
    published.update((s.meta.snapshot_id, s.meta) for s in staged + replacing)
    return Pending(str(prepared.path), staged, quarantine, replacing)


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


def _staged(
    writer: Writer, meta: SnapshotMeta, rows: SnapshotRows | None, written: Staged | None
) -> Staged:
    """The staged file of a snapshot: the one written ahead, or written now."""
    if written is not None:
        return replace(written, meta=meta)
    assert rows is not None  # a snapshot is either written ahead or keeps its rows
    return writer.stage_rows(meta, rows)


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


def _replaces(old: SnapshotMeta | None, meta: SnapshotMeta) -> bool:
    """True if ``meta`` is to take the place of the published ``old`` (``--replace``)."""
    if old is None or old.fingerprint == meta.fingerprint:
        return False
    if not old.published_at:
        raise SnapshotConflict(
            f"campaign {meta.campaign_id} at {meta.snapshot_time}: {meta.input!r} and "
            f"{old.input!r} of this same ingest both have it, with different content. Nothing "
            "was written from the second; ingest the one you mean on its own."
        )
    return True


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["FileReport", "IngestOptions", "ingest_files"]
