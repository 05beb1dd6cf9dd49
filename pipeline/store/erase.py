"""Erasure: one contact removed everywhere, for good.

``erase_contact`` rewrites every snapshot and quarantine file that holds a contact without it and
adds the contact to the suppression list (so that a later file or export does not bring it
back). The warehouse and rendered reports are then rebuilt from the cleaned store
(``pipeline.report.rebuild``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.core.clock import iso_utc, now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import JsonlLog, atomic_write
from pipeline.core.errors import PipelineError
from pipeline.store.loads import LOADS
from pipeline.store.meta import rewritten
from pipeline.store.runlog import RUNS
from pipeline.store.snapshots import Store
from pipeline.store.suppression import add_suppression
from pipeline.store.writer import Writer


class EraseError(PipelineError):
    """An erasure could not be done."""


@dataclass
class EraseResult:
    snapshots_rewritten: int = 0
    rows_removed: int = 0
    quarantine_files_rewritten: int = 0
    log_lines_cleaned: int = 0
    report_files_cleaned: list[str] = field(default_factory=list)


def erase_contact(
    config: Config, console: Console, contact_id: str, *, writer: Writer | None = None
) -> EraseResult:
    """Remove one contact from every snapshot and quarantine file, and suppress it. With
    ``writer``, the caller holds the store's lock (and the right to remove files) already."""
    contact_id = contact_id.strip()
    if not contact_id:
        raise EraseError("the contact id is empty")
    if writer is None:
        with Store(config.data_dir).writer("erase") as own:
            return erase_contact(config, console, contact_id, writer=own)
    store = writer.store
    result = EraseResult()
    tag = hashlib.sha256(f"{contact_id}{iso_utc(now())}".encode()).hexdigest()[:8]
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
    result.log_lines_cleaned = scrub_logs(store, contact_id)
    writer.commit_changes(reason=f"erase {tag}", replaced=staged)
    result.snapshots_rewritten = len(staged)
    console.info(
        f"Erased contact {contact_id} from the store: {result.rows_removed:,} rows removed from "
        f"{result.snapshots_rewritten:,} snapshot(s), {result.quarantine_files_rewritten} "
        f"quarantine file(s) rewritten, {result.log_lines_cleaned} log line(s) cleaned; it is on "
        "the suppression list."
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


#: what stands in a log for an erased contact id
ERASED = "[erased contact]"
#: fields of a log line that identify a file or a record, never row content: kept as they are
_IDENTITY_FIELDS = {"path", "file", "input", "inputs", "load_id", "at", "started", "ended"}


def scrub_logs(store: Store, contact_id: str) -> int:
    """Replace the contact id wherever it stands as a word in the load log and the run log
    (an older version's messages could quote row content), each log rewritten atomically. The
    caller holds the store's lock; the warehouse's ``run_log`` tables are rebuilt from the run
    log afterwards. Returns how many lines changed."""
    word = re.compile(rf"(?<![0-9A-Za-z]){re.escape(contact_id)}(?![0-9A-Za-z])")
    changed = 0
    for rel in (LOADS, RUNS, LOADS.with_name("ingest.jsonl")):
        log = JsonlLog(store.root / rel)
        if not log.path.exists() or contact_id.encode() not in log.path.read_bytes():
            continue
        records = log.read()
        cleaned = [_scrub(r, word) for r in records]
        lines = sum(a != b for a, b in zip(records, cleaned, strict=True))
        if lines:
            log.rewrite(cleaned)
            changed += lines
    return changed


def _scrub(value: Any, word: re.Pattern[str], key: str = "") -> Any:
    if isinstance(value, str):
        return value if key in _IDENTITY_FIELDS else word.sub(ERASED, value)
    if isinstance(value, dict):
        return {word.sub(ERASED, k): _scrub(v, word, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, word, key) for v in value]
    return value
