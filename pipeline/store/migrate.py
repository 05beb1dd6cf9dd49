"""``campaign-reports migrate``: a store written by an older version (Parquet files listed in
``manifest.jsonl``) becomes the Delta table that this version reads.

The snapshot files stay where they are (the old layout is already the table's); one Delta commit
adds the complete ones and records every snapshot and quarantine file the manifest listed, with
what it knew of them. Incomplete snapshots move beside the table (``snapshots_incomplete/``).
Files that the manifest does not list (left by a crashed writer) are not added: no Delta reader
sees them. Then ``manifest.jsonl`` is renamed ``manifest.jsonl.migrated``.

Idempotent: a store that is already a Delta table is left as it is; a migration stopped after
its commit is finished by running it again. ``--dry-run`` says what it would do, and does
nothing.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.core.clock import iso_utc, now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import JsonlLog, file_lock, fsync_path
from pipeline.core.errors import StoreError, StoreLocked
from pipeline.store import table
from pipeline.store.index import meta_from_dict
from pipeline.store.meta import SnapshotMeta
from pipeline.store.snapshots import INCOMPLETE_DIR, LOCK, MANIFEST

MIGRATED = "manifest.jsonl.migrated"


@dataclass
class MigrateResult:
    status: str  # migrated | finished | already | nothing | dry-run
    complete: int = 0
    incomplete: int = 0
    quarantine: int = 0
    unlisted: list[str] = field(default_factory=list)

    def text(self) -> str:
        if self.status == "already":
            return "The store is already a Delta table; nothing to do."
        if self.status == "nothing":
            return "There is no store to migrate here (no manifest.jsonl); nothing to do."
        if self.status == "finished":
            return "The migration had committed; manifest.jsonl renamed. Done."
        verb = "Would migrate" if self.status == "dry-run" else "Migrated"
        text = (
            f"{verb} {self.complete:,} complete snapshot(s) into the Delta table, "
            f"{self.incomplete:,} incomplete one(s) beside it and {self.quarantine:,} "
            "quarantine file(s)."
        )
        if self.unlisted:
            text += (
                f" {len(self.unlisted):,} file(s) under snapshots/ that the manifest does not "
                "list (left by a crashed writer) are not part of the table; delete them when "
                f"you like, e.g. {self.unlisted[0]}"
            )
        return text


def read_manifest(root: Path) -> tuple[dict[str, SnapshotMeta], dict[str, str]]:
    """The snapshots and quarantine files an old manifest lists (its lines replayed)."""
    try:
        lines = JsonlLog(root / MANIFEST, strict=True).read()
    except ValueError as exc:
        raise StoreError(f"{exc}; the manifest is damaged, so nothing was migrated") from None
    metas: dict[str, SnapshotMeta] = {}
    quarantine: dict[str, str] = {}
    for line in lines:
        for snap in [*line.get("snapshots", []), *line.get("replaced", [])]:
            m = meta_from_dict(snap)
            metas[m.snapshot_id] = m
        for sid in line.get("removed", []):
            metas.pop(sid, None)
        if line.get("quarantine_file"):
            quarantine[line["quarantine_file"]] = line.get("committed_at", "")
        for rel in line.get("removed_quarantine", []):
            quarantine.pop(rel, None)
    return metas, quarantine


def _incomplete_path(meta: SnapshotMeta) -> str:
    return INCOMPLETE_DIR + meta.path.removeprefix(table.TABLE_DIR)


def _old_path(meta: SnapshotMeta) -> str:
    """Where the old version kept a snapshot's file (incomplete ones too, under snapshots/)."""
    return (
        table.TABLE_DIR + meta.path.removeprefix(INCOMPLETE_DIR) if not meta.complete else meta.path
    )


def _unlisted(root: Path, listed: set[str]) -> list[str]:
    folder = table.table_path(root)
    if not folder.exists():
        return []
    return sorted(
        rel
        for p in folder.rglob("*.parquet")
        if "_delta_log" not in p.parts and (rel := p.relative_to(root).as_posix()) not in listed
    )


def _plan(root: Path) -> tuple[list[SnapshotMeta], dict[str, str]]:
    metas, quarantine = read_manifest(root)
    planned = []
    missing = []
    for m in metas.values():
        new = m if m.complete else replace(m, path=_incomplete_path(m))
        if not (root / m.path).exists() and not (root / new.path).exists():
            missing.append(m.path)
        planned.append(new)
    if missing:
        raise StoreError(
            f"{len(missing)} snapshot file(s) that manifest.jsonl lists are missing (the first: "
            f"{missing[0]}); restore them from a backup. Nothing was migrated."
        )
    return planned, quarantine


def _data_file(root: Path, meta: SnapshotMeta) -> table.DataFile:
    rel = meta.path.removeprefix(f"{table.TABLE_DIR}/")
    parts = dict(p.split("=", 1) for p in rel.split("/")[:-1])
    frame = pl.read_parquet(root / meta.path, columns=["snapshot_id", "snapshot_time"])
    return table.DataFile(
        rel, parts["campaign_id"], parts["snapshot_date"], table.statistics(frame)
    )


def migrate(config: Config, console: Console, *, dry_run: bool = False) -> MigrateResult:
    """Turn the old store at ``config.data_dir`` into a Delta table (see the module doc)."""
    root = Path(config.data_dir)
    has_manifest = (root / MANIFEST).exists()
    if table.exists(root):
        if not has_manifest:
            return MigrateResult("already")
        if any(meta.get("op") == "migrate" for _, meta in table.commits_since(root, -1)):
            if not dry_run:
                os.replace(root / MANIFEST, root / MIGRATED)
            return MigrateResult("finished")
        raise StoreError(
            f"{root} has both a Delta table and a manifest.jsonl that was never migrated: "
            "keep the one you trust and move the other away. Nothing was changed."
        )
    if not has_manifest:
        return MigrateResult("nothing")
    planned, quarantine = _plan(root)
    result = MigrateResult(
        "dry-run" if dry_run else "migrated",
        complete=sum(m.complete for m in planned),
        incomplete=sum(not m.complete for m in planned),
        quarantine=len(quarantine),
        unlisted=_unlisted(root, {p for m in planned for p in (m.path, _old_path(m))}),
    )
    if dry_run:
        return result

    def busy(holder: str) -> StoreLocked:
        return StoreLocked(f"the data directory {root} is busy ({holder}); nothing was migrated")

    console.info(f"Migrating {len(planned):,} snapshot(s) of {root} into a Delta table ...")
    with file_lock(root / LOCK, "migrate", busy=busy):
        _commit(root, planned, quarantine)
        os.replace(root / MANIFEST, root / MIGRATED)
        fsync_path(root)
    return result


def _commit(root: Path, planned: list[SnapshotMeta], quarantine: dict[str, str]) -> None:
    for m in planned:
        if not m.complete and not (root / m.path).exists():  # moved by an interrupted run
            old = root / _old_path(m)
            (root / m.path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(old, root / m.path)
    record: dict[str, Any] = {
        "op": "migrate",
        "committed_at": iso_utc(now()),
        "input": "migrate from manifest.jsonl",
        "snapshots": [asdict(m) for m in planned],
        "quarantine": quarantine,
    }
    table.commit(
        root, add=[_data_file(root, m) for m in planned if m.complete], remove=[], metadata=record
    )
