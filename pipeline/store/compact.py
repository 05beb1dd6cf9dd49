"""Compaction (Delta's OPTIMIZE, done by the retention job): the snapshot files of one campaign's
closed UTC day, one per snapshot as they were published, become one file.

Hourly exports give each campaign 24 small files a day; readers that list and open files pay for
each. A day is closed once it is two days old (no snapshot of it can still arrive on time; a
late one is published in a file of its own and merged on the next run). The new file holds the
same rows, sorted by snapshot time and contact; the commit removes the old files and adds the
new one with ``dataChange = false`` (streaming readers skip it), and its metadata moves the
day's snapshots to the new file. One commit for the whole run: a crash leaves every day as it
was, or every day compacted.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

import polars as pl

from pipeline.store.meta import SnapshotMeta
from pipeline.store.snapshots import Store
from pipeline.store.writer import Staged, Writer

#: A day is compacted once it is this many days before the as-of day (UTC).
CLOSED_AFTER_DAYS = 2


def _day_of(meta: SnapshotMeta) -> str:
    return meta.path.split("snapshot_date=", 1)[1].split("/", 1)[0]


def compaction_groups(store: Store, as_of: datetime) -> list[list[SnapshotMeta]]:
    """The complete snapshots of each campaign's closed day whose rows are in two or more
    files."""
    last_closed = (as_of.date() - timedelta(days=CLOSED_AFTER_DAYS)).isoformat()
    days: dict[tuple[str, str], list[SnapshotMeta]] = {}
    for m in store.published():
        if m.complete and _day_of(m) <= last_closed:
            days.setdefault((m.campaign_id, _day_of(m)), []).append(m)
    return [metas for metas in days.values() if len({m.path for m in metas}) > 1]


def compact(store: Store, writer: Writer, as_of: datetime) -> tuple[int, int]:
    """Merge the files of every closed campaign day (one commit). Returns (days, files before)."""
    groups = compaction_groups(store, as_of)
    staged: list[Staged] = []
    files = 0
    for metas in groups:
        paths = sorted({m.path for m in metas})
        files += len(paths)
        key = hashlib.sha256("\0".join(sorted(m.snapshot_id for m in metas)).encode())
        name = f"compact-{key.hexdigest()[:16]}.parquet"
        folder = metas[0].path.rsplit("/", 1)[0]
        frame = pl.concat([store.read_snapshot(m) for m in metas])
        moved = [replace(m, path=f"{folder}/{name}") for m in metas]
        staged += writer.stage_file(moved, frame, name)
    if staged:
        writer.commit_changes(reason="compaction", replaced=staged, data_change=False)
    return len(groups), files
