"""Erasure: one contact removed everywhere, for good.

``erase_contact`` rewrites every snapshot and quarantine file that holds a contact without it and
adds the contact to the suppression list (so that a later file or export does not bring it
back). The warehouse and rendered reports are then rebuilt from the cleaned store
(``pipeline.report.rebuild``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import polars as pl

from pipeline.core.clock import iso_utc, now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import atomic_write
from pipeline.core.errors import PipelineError
from pipeline.store.snapshots import SnapshotMeta, Store
from pipeline.store.suppression import add_suppression
from pipeline.store.writer import Writer


class EraseError(PipelineError):
    """An erasure could not be done."""


@dataclass
class EraseResult:
    snapshots_rewritten: int = 0
    rows_removed: int = 0
    quarantine_files_rewritten: int = 0
    report_files_cleaned: list[str] = field(default_factory=list)


def rewritten(meta: SnapshotMeta, frame: pl.DataFrame, tag: str) -> SnapshotMeta:
    """The record of a snapshot rewritten with these rows, in a file of its own."""
    base = meta.path.rsplit("/", 1)[0]
    return replace(
        meta,
        path=f"{base}/{meta.snapshot_id}-r{tag}.parquet",
        rows=frame.height,
        other_rows=frame.filter(pl.col("state") == "other").height,
        legacy_rows=frame.filter(pl.col("legacy")).height,
    )


def erase_contact(config: Config, console: Console, contact_id: str) -> EraseResult:
    """Remove one contact from every snapshot and quarantine file, and suppress it."""
    contact_id = contact_id.strip()
    if not contact_id:
        raise EraseError("the contact id is empty")
    store = Store(config.data_dir)
    result = EraseResult()
    tag = hashlib.sha256(f"{contact_id}{iso_utc(now())}".encode()).hexdigest()[:8]
    with store.writer("erase") as writer:
        add_suppression(store, contact_id)
        published = store.published_ids()
        hits = (
            store.scan()
            .filter(pl.col("contact_id") == contact_id)
            .group_by("snapshot_id")
            .len()
            .collect()
        )
        counts = dict(hits.iter_rows())
        touched = [published[sid] for sid in counts]
        staged = []
        for meta in touched + store.sharing_files(touched):
            frame = store.read_snapshot(meta).filter(pl.col("contact_id") != contact_id)
            staged.append(writer.stage_snapshot(rewritten(meta, frame, tag), frame))
            result.rows_removed += counts.get(meta.snapshot_id, 0)
        result.quarantine_files_rewritten = _scrub_quarantine(store, writer, contact_id)
        writer.commit_changes(reason=f"erase {tag}", replaced=staged)
        result.snapshots_rewritten = len(staged)
    console.info(
        f"Erased contact {contact_id}: {result.rows_removed:,} rows removed from "
        f"{result.snapshots_rewritten:,} snapshot(s), {result.quarantine_files_rewritten} "
        "quarantine file(s) rewritten; it is on the suppression list."
    )
    return result


def _scrub_quarantine(store: Store, writer: Writer, contact_id: str) -> int:
    """Rewrite quarantine files that hold the contact, each by an atomic replace."""
    count = 0
    for rel in store.quarantine_files():
        path = store.root / rel
        if not path.exists() or contact_id.encode() not in path.read_bytes():
            continue
        frame = pl.read_csv(path, infer_schema=False)
        if "contact_id" not in frame.columns:
            continue
        ids = pl.col("contact_id").str.strip_chars().str.strip_chars_start("'")
        kept = frame.filter(ids.is_null() | (ids != contact_id))
        if kept.height == frame.height:
            continue
        atomic_write(path, kept.write_csv())
        count += 1
    return count
