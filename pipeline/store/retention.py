"""Retention and erasure: old raw data removed, and one contact removed everywhere.

* ``apply_retention`` removes snapshots older than ``retention.snapshots_days`` and quarantine
  files older than ``retention.quarantine_days`` (a manifest line records the removal; the files
  are deleted after it is durable).
* ``erase_contact`` rewrites every snapshot and quarantine file that holds a contact without it,
  adds the contact to the suppression list (so that a later file or export does not bring it
  back), and leaves the warehouse and rendered reports to be rebuilt from the cleaned store.

The suppression list (``suppressed.jsonl``) holds a SHA-256 of each contact id, not the id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.clock import iso_utc, now, parse_iso
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import fsync_path
from pipeline.core.errors import PipelineError
from pipeline.store.snapshots import SnapshotMeta, Store, Writer

SUPPRESSED = "suppressed.jsonl"


class EraseError(PipelineError):
    """An erasure could not be done."""


# ------------------------------------------------------------------------------------ suppression
def contact_hash(contact_id: str) -> str:
    return hashlib.sha256(f"campaign-reports:contact:{contact_id.strip()}".encode()).hexdigest()


def suppressed_hashes(store: Store) -> set[str]:
    try:
        lines = (store.root / SUPPRESSED).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return set()
    out = set()
    for line in lines:
        try:
            out.add(json.loads(line)["hash"])
        except (json.JSONDecodeError, KeyError):
            continue  # a torn last line: the writer appends it again on the next erase
    return out


def drop_suppressed(
    frame: pl.DataFrame, store: Store, column: str = "contact_id"
) -> tuple[pl.DataFrame, int]:
    """Drop the rows of erased contacts. Returns the kept rows and how many were dropped."""
    hashes = suppressed_hashes(store)
    if not hashes or frame.height == 0:
        return frame, 0
    con = duckdb.connect()
    try:
        con.register("ids", frame.select(pl.col(column).alias("contact_id")).unique().to_arrow())
        con.register("sup", pl.DataFrame({"h": sorted(hashes)}).to_arrow())
        hit = con.sql(
            "SELECT contact_id FROM ids WHERE sha256('campaign-reports:contact:' || trim(contact_id)) "
            "IN (SELECT h FROM sup)"
        ).fetchall()
    finally:
        con.close()
    if not hit:
        return frame, 0
    erased = [row[0] for row in hit]
    kept = frame.filter(~pl.col(column).is_in(erased))
    return kept, frame.height - kept.height


def _add_suppression(store: Store, contact_id: str) -> None:
    h = contact_hash(contact_id)
    if h in suppressed_hashes(store):
        return
    path = store.root / SUPPRESSED
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"hash": h, "at": iso_utc(now())}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# ---------------------------------------------------------------------------------------- erasure
@dataclass
class EraseResult:
    snapshots_rewritten: int = 0
    rows_removed: int = 0
    quarantine_files_rewritten: int = 0
    report_files_cleaned: list[str] = field(default_factory=list)


def _rewrite_name(meta: SnapshotMeta, tag: str) -> str:
    base = meta.path.rsplit("/", 1)[0]
    return f"{base}/{meta.snapshot_id}-r{tag}.parquet"


def erase_contact(config: Config, console: Console, contact_id: str) -> EraseResult:
    """Remove one contact from every snapshot and quarantine file, and suppress it."""
    contact_id = contact_id.strip()
    if not contact_id:
        raise EraseError("the contact id is empty")
    store = Store(config.data_dir)
    result = EraseResult()
    tag = hashlib.sha256(f"{contact_id}{iso_utc(now())}".encode()).hexdigest()[:8]
    with store.writer("erase") as writer:
        _add_suppression(store, contact_id)
        published = store.published_ids()
        hits = (
            store.scan()
            .filter(pl.col("contact_id") == contact_id)
            .group_by("snapshot_id")
            .len()
            .collect()
        )
        staged = []
        for sid, n in hits.iter_rows():
            meta = published[sid]
            frame = pl.read_parquet(store.root / meta.path).filter(
                pl.col("contact_id") != contact_id
            )
            new = SnapshotMeta(
                **{
                    **meta.__dict__,
                    "path": _rewrite_name(meta, tag),
                    "rows": frame.height,
                    "other_rows": frame.filter(pl.col("state") == "other").height,
                    "legacy_rows": frame.filter(pl.col("legacy")).height,
                }
            )
            staged.append(writer.stage_snapshot(new, frame))
            result.rows_removed += n
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
        staged = writer.staging / "quarantine-rewrite.csv"
        kept.write_csv(staged)
        fsync_path(staged)
        os.replace(staged, path)
        count += 1
    return count


# -------------------------------------------------------------------------------------- retention
@dataclass
class RetentionResult:
    snapshots_removed: int = 0
    quarantine_files_removed: int = 0


def apply_retention(
    config: Config, console: Console, as_of: datetime | None = None
) -> RetentionResult:
    """Remove snapshots and quarantine files older than the configured limits."""
    as_of = as_of or now()
    store = Store(config.data_dir)
    result = RetentionResult()
    with store.writer("retention") as writer:
        removed: list[SnapshotMeta] = []
        if config.retention.snapshots_days > 0:
            cutoff = as_of - timedelta(days=config.retention.snapshots_days)
            removed = [m for m in store.published() if m.time < cutoff]
        old_quarantine: list[str] = []
        if config.retention.quarantine_days > 0:
            q_cutoff = as_of - timedelta(days=config.retention.quarantine_days)
            committed = {
                c["quarantine_file"]: parse_iso(c["committed_at"])
                for c in store.commits()
                if c.get("quarantine_file")
            }
            old_quarantine = [
                rel for rel in store.quarantine_files() if committed.get(rel, as_of) < q_cutoff
            ]
        writer.commit_changes(
            reason="retention", removed=removed, removed_quarantine=old_quarantine
        )
        _remove_empty_dirs(store.root / "snapshots")
        _remove_empty_dirs(store.root / "quarantine")
    result.snapshots_removed = len(removed)
    result.quarantine_files_removed = len(old_quarantine)
    console.info(
        f"Retention: {result.snapshots_removed:,} snapshot(s) older than "
        f"{config.retention.snapshots_days} days and {result.quarantine_files_removed:,} quarantine "
        f"file(s) older than {config.retention.quarantine_days} days removed."
    )
    return result


def _remove_empty_dirs(root: Path) -> None:
    if not root.exists():
        return
    for path in sorted(
        (p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
    ):
        with contextlib.suppress(OSError):  # not empty
            path.rmdir()
