"""Retention: old raw data removed.

``apply_retention`` removes snapshots older than ``retention.snapshots_days`` and quarantine
files older than ``retention.quarantine_days`` (one commit of the snapshot table records the
removal; the files are deleted after it is durable), then compacts the files of closed campaign
days (``pipeline.store.compact``).
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.core.clock import now, parse_iso
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.store.compact import compact
from pipeline.store.meta import rewritten
from pipeline.store.snapshots import INCOMPLETE_DIR, SnapshotMeta, Store


# -------------------------------------------------------------------------------------- retention
@dataclass
class RetentionResult:
    snapshots_removed: int = 0
    quarantine_files_removed: int = 0
    days_compacted: int = 0
    files_compacted: int = 0


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
            old_quarantine = [
                rel
                for rel, committed in store.quarantine_times().items()
                if parse_iso(committed) < q_cutoff
            ]
        # A kept snapshot that shares a file with removed ones (a compacted day) gets its own.
        tag = hashlib.sha256(f"retention{as_of.isoformat()}".encode()).hexdigest()[:8]
        kept = []
        for m in store.sharing_files(removed):
            frame = store.read_snapshot(m)
            kept.append(writer.stage_snapshot(rewritten(m, frame, tag), frame))
        writer.commit_changes(
            reason="retention", replaced=kept, removed=removed, removed_quarantine=old_quarantine
        )
        if config.retention.compact:
            result.days_compacted, result.files_compacted = compact(store, writer, as_of)
        for folder in ("snapshots", INCOMPLETE_DIR):
            _remove_empty_dirs(store.root / folder)
        _remove_empty_dirs(store.root / "quarantine")
    result.snapshots_removed = len(removed)
    result.quarantine_files_removed = len(old_quarantine)
    console.info(
        f"Retention: {result.snapshots_removed:,} snapshot(s) older than "
        f"{config.retention.snapshots_days} days and {result.quarantine_files_removed:,} quarantine "
        f"file(s) older than {config.retention.quarantine_days} days removed"
        + (
            f"; {result.files_compacted:,} files of {result.days_compacted:,} closed campaign "
            "day(s) compacted."
            if result.days_compacted
            else "."
        )
    )
    return result


def _remove_empty_dirs(root: Path) -> None:
    if not root.exists():
        return
    for path in sorted(
        (p for p in root.rglob("*") if p.is_dir() and "_delta_log" not in p.parts),
        key=lambda p: len(p.parts),
        reverse=True,
    ):
        with contextlib.suppress(OSError):  # not empty
            path.rmdir()
