"""What a snapshot is: its id, its columns, and what the store records of it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from pipeline.core.clock import iso_utc, parse_iso

UTC_US = pl.Datetime("us", "UTC")
#: The columns of every snapshot file. campaign_id and snapshot_date are Hive partition columns:
#: they live in the path, not in the file, as Spark and Trino expect.
SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    "snapshot_id": pl.String(),
    "snapshot_time": UTC_US,
    "source": pl.String(),
    "contact_id": pl.String(),
    "state": pl.String(),
    "raw_state": pl.String(),
    "legacy": pl.Boolean(),
    "created": UTC_US,
    "retry_count": pl.Int32(),
    "retry_scheduled": UTC_US,
    "phone_hash": pl.String(),
}
#: DuckDB types for the Hive partition columns (never let a reader guess "0042" is an integer).
HIVE_TYPES = {"campaign_id": "VARCHAR", "snapshot_date": "DATE"}


def snapshot_id_for(campaign_id: str, snapshot_time: datetime) -> str:
    """The deterministic id of a campaign's snapshot at a moment: the same input, the same id."""
    key = f"{campaign_id}\x1f{iso_utc(snapshot_time)}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class SnapshotMeta:
    """One published snapshot, as the store records it (``pipeline.store.index``)."""

    snapshot_id: str
    campaign_id: str
    snapshot_time: str  # ISO-8601 UTC
    source: str
    path: str  # relative to the data directory
    rows: int
    fingerprint: str  # sha256 of the input that produced it (same input: same fingerprint)
    complete: bool = True
    other_rows: int = 0
    legacy_rows: int = 0
    duplicate_rows: int = 0
    quarantined_rows: int = 0
    input: str = ""
    published_at: str = ""
    # API pulls only (``pipeline.store.export``); empty for files:
    reason: str = ""  # why the snapshot is incomplete (empty when complete)
    verified_by: str = ""  # the check its ids passed: identity_ids | second_pass
    pull_started: str = ""  # ISO-8601 UTC: when the pull began (= snapshot_time)
    pull_finished: str = ""  # ISO-8601 UTC: when the pull and its check ended
    slow_pull: bool = False  # the pull took longer than api.slow_pull_minutes

    @property
    def time(self) -> datetime:
        return parse_iso(self.snapshot_time)


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
