"""File ingest: export files -> validated snapshots in the store, bad rows in quarantine.

For every file: rows read = rows loaded + rows quarantined. A row is quarantined with a reason
(missing contact id, unparsable time, a contact twice with different states, an exact repeat of a
row). The whole file is rejected, and nothing from it written, when its bytes do not decode, a
required column is missing, header names repeat, or more than ``max_invalid_fraction`` of its rows
are invalid, or more than ``max_unknown_fraction`` of its loadable rows are in unknown states
(then it lists them, and the fix: ``[states.aliases]``). Fewer unknown states are loaded as
``other`` and counted.

Here: the run (files prepared a few at a time in threads, ``pipeline.store.prepare``; staged in
their given order; one commit), and the accounting in the load log. What is asked and what
happened to each file: ``pipeline.store.file_report``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

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
from pipeline.core.ordered import in_order
from pipeline.normalize.rows import quarantine_rows, shorten
from pipeline.store.file_report import FileReport, IngestOptions
from pipeline.store.loads import LoadLog, file_identity
from pipeline.store.prepare import Prepared, prepare_file, write_ahead
from pipeline.store.snapshots import SnapshotMeta, Store
from pipeline.store.suppression import suppressed_hashes
from pipeline.store.writer import Pending, SnapshotRows, Staged, Writer

T = TypeVar("T")


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

        for n, prepared in enumerate(in_order(prepare, len(paths), name="ingest"), start=1):
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


def _staged(
    writer: Writer, meta: SnapshotMeta, rows: SnapshotRows | None, written: Staged | None
) -> Staged:
    """The staged file of a snapshot: the one written ahead, or written now."""
    if written is not None:
        return replace(written, meta=meta)
    assert rows is not None  # a snapshot is either written ahead or keeps its rows
    return writer.stage_rows(meta, rows)


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


__all__ = ["FileReport", "IngestOptions", "ingest_files"]
