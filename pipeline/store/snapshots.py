"""The snapshot store: immutable Parquet snapshots in a Hive-style layout, and a manifest.

Layout under the data directory::

    snapshots/campaign_id=<id>/snapshot_date=<YYYY-MM-DD UTC>/<snapshot_id>.parquet
    quarantine/<YYYY-MM-DD>/<input>-<commit>.csv      rows that were not loaded, with a reason
    manifest.jsonl                                      one line per commit (the only truth)
    .lock                                               held by the one writer at work
    .staging/                                           files being written, not yet published

Readers see only what ``manifest.jsonl`` lists, so they never see half a snapshot. A writer,
under an exclusive lock, writes each file aside in ``.staging/`` and fsyncs it, records the
renames it is about to make in ``.staging/pending.json``, renames the files into place, then
appends one manifest line (all snapshots of one input at once) and fsyncs it. A crash at any
point leaves the store showing the old state or the new one; the next writer removes leftovers.
A manifest line cut short by a crash has no newline at its end: readers ignore it and the next
writer truncates it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.core.clock import iso_utc, parse_iso
from pipeline.core.durable import (
    JsonlLog,
    file_lock,
)
from pipeline.core.errors import StoreError, StoreLocked

if TYPE_CHECKING:
    from pipeline.store.writer import Writer

MANIFEST = "manifest.jsonl"
CAMPAIGNS = "campaigns.json"
LOCK = ".lock"
STAGING = ".staging"
PENDING = "pending.json"
MANIFEST_VERSION = 1

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
    """One published snapshot, as the manifest records it."""

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

    @property
    def time(self) -> datetime:
        return parse_iso(self.snapshot_time)


class Store:
    """Read access to a data directory's snapshot store; ``writer()`` for the one writer."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self.manifest_path = self.root / MANIFEST
        self._manifest = JsonlLog(self.manifest_path, strict=True)
        self.snapshots_dir = self.root / "snapshots"
        self.quarantine_dir = self.root / "quarantine"

    # ----------------------------------------------------------------------------------- reading
    def commits(self) -> list[dict[str, Any]]:
        """Every complete manifest line, oldest first. A torn last line (no newline) is ignored."""
        try:
            return self._manifest.read()
        except ValueError as exc:
            raise StoreError(
                f"{exc}; the manifest is damaged. Restore it from a backup; nothing was changed."
            ) from None

    def published(self) -> list[SnapshotMeta]:
        """Every published snapshot, in publication order.

        Manifest lines add snapshots (``snapshots``), replace a snapshot's file with a rewritten
        one (``replaced``, after an erasure) or remove snapshots (``removed``, by retention).
        """
        metas: dict[str, SnapshotMeta] = {}
        for commit in self.commits():
            for snap in commit.get("snapshots", []):
                metas[snap["snapshot_id"]] = SnapshotMeta(**snap)
            for snap in commit.get("replaced", []):
                metas[snap["snapshot_id"]] = SnapshotMeta(**snap)
            for sid in commit.get("removed", []):
                metas.pop(sid, None)
        return list(metas.values())

    def quarantine_files(self) -> list[str]:
        """The quarantine files in the store (relative paths), oldest first."""
        files: dict[str, str] = {}
        for commit in self.commits():
            if commit.get("quarantine_file"):
                files[commit["quarantine_file"]] = commit["committed_at"]
            for rel in commit.get("removed_quarantine", []):
                files.pop(rel, None)
        return list(files)

    def campaigns(self) -> dict[str, dict[str, Any]]:
        """What is known of each campaign besides its snapshots (name, channel, started,
        finished), from ``campaigns.json``: recorded by the exporter from the API's campaign
        list, and by the demo."""
        try:
            data = json.loads((self.root / CAMPAIGNS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"{self.root / CAMPAIGNS} is not valid JSON ({exc.msg}); delete it, the next "
                "export writes it again"
            ) from exc
        return {str(k): v for k, v in data.items() if isinstance(v, dict)}

    def listed_paths(self) -> set[str]:
        """Every file the manifest says is part of the store."""
        return {m.path for m in self.published()} | set(self.quarantine_files())

    def published_ids(self) -> dict[str, SnapshotMeta]:
        return {m.snapshot_id: m for m in self.published()}

    def manifest_frame(self) -> pl.DataFrame:
        """The published snapshots as a table (one row per snapshot)."""
        metas = self.published()
        schema: dict[str, Any] = {
            "snapshot_id": pl.String,
            "campaign_id": pl.String,
            "snapshot_time": UTC_US,
            "source": pl.String,
            "path": pl.String,
            "rows": pl.Int64,
            "complete": pl.Boolean,
            "other_rows": pl.Int64,
            "legacy_rows": pl.Int64,
            "duplicate_rows": pl.Int64,
            "quarantined_rows": pl.Int64,
            "input": pl.String,
        }
        if not metas:
            return pl.DataFrame(schema=schema)
        rows = [{k: getattr(m, k) for k in schema} for m in metas]
        return (
            pl.DataFrame(rows, schema_overrides={"snapshot_time": pl.String})
            .with_columns(
                pl.col("snapshot_time").str.to_datetime(time_zone="UTC").dt.cast_time_unit("us")
            )
            .select(list(schema))
        )

    def files(self) -> list[Path]:
        return [self.root / m.path for m in self.published()]

    def complete_files(self) -> list[Path]:
        """The absolute paths of the Parquet files that hold the published complete snapshots,
        each under ``<...>/campaign_id=<id>/snapshot_date=<YYYY-MM-DD>/`` (what other engines,
        e.g. the Spark job, read). Incomplete snapshots are never among them."""
        return [(self.root / m.path).absolute() for m in self.published() if m.complete]

    def scan(self) -> pl.LazyFrame:
        """All published snapshot rows, with campaign_id and snapshot_date from the Hive path."""
        paths = [str(p) for p in self.files()]
        if not paths:
            return pl.LazyFrame(
                schema={"campaign_id": pl.String, "snapshot_date": pl.Date, **SNAPSHOT_SCHEMA}
            )
        return pl.scan_parquet(
            paths,
            hive_partitioning=True,
            hive_schema={"campaign_id": pl.String, "snapshot_date": pl.Date},
        )

    def relative_path(self, campaign_id: str, snapshot_time: datetime, snapshot_id: str) -> str:
        day = snapshot_time.astimezone(UTC).date().isoformat()
        return f"snapshots/campaign_id={campaign_id}/snapshot_date={day}/{snapshot_id}.parquet"

    # ----------------------------------------------------------------------------------- writing
    @contextlib.contextmanager
    def writer(self, what: str = "writer", *, wait: float = 0.0) -> Iterator[Writer]:
        """The exclusive writer. Raises ``StoreLocked`` at once (or after ``wait`` seconds)."""

        def busy(holder: str) -> StoreLocked:
            return StoreLocked(
                f"the data directory {self.root} is busy: another job holds its lock "
                f"({holder}). Nothing was written; try again when it has finished."
            )

        from pipeline.store.writer import Writer

        with file_lock(self.root / LOCK, what, busy=busy, wait=wait):
            writer = Writer(self)
            writer.recover()
            yield writer
