"""The snapshot store: a Delta Lake table of immutable snapshots, and what goes with it.

Layout under the data directory::

    snapshots/                 the Delta table (pipeline.store.table): complete snapshots only,
      _delta_log/              the transaction log: the one record of what is published
      campaign_id=<id>/snapshot_date=<YYYY-MM-DD UTC>/<snapshot_id>.parquet
    snapshots_incomplete/      incomplete snapshots (kept out of every number; not in the table)
    quarantine/<YYYY-MM-DD>/<input>-<commit>.csv      rows that were not loaded, with a reason
    campaigns.json             names, channel, start and end of campaigns (from the API)
    .lock                      held by the one writer at work
    .staging/                  files being written, not yet published

A writer, under an exclusive lock, writes each file aside in ``.staging/`` and fsyncs it,
records the renames it is about to make in ``.staging/pending.json``, renames the files into
place (a file that no commit adds is invisible to every Delta reader), then makes one Delta
commit whose metadata says what it publishes. A crash at any point leaves the table at the old
version or the new one; the next writer removes what a crashed one left.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.core.durable import file_lock
from pipeline.core.errors import StoreError, StoreLocked
from pipeline.core.names import safe_name
from pipeline.store import table
from pipeline.store.index import Index, replay
from pipeline.store.meta import (
    HIVE_TYPES,
    SNAPSHOT_SCHEMA,
    UTC_US,
    SnapshotMeta,
    snapshot_id_for,
)

if TYPE_CHECKING:
    from pipeline.store.writer import Writer

__all__ = [
    "HIVE_TYPES",
    "SNAPSHOT_SCHEMA",
    "UTC_US",
    "SnapshotMeta",
    "Store",
    "snapshot_id_for",
]

MANIFEST = "manifest.jsonl"  # the store's record before the Delta table (see migrate)
CAMPAIGNS = "campaigns.json"
LOCK = ".lock"
#: held shared by readers of the snapshot files (a build), exclusively by a change that removes
#: files (retention, erasure, compaction): such files never vanish under a reader
READERS_LOCK = ".readers.lock"
#: how long a reader waits for a removal to finish (it takes a commit and a vacuum)
READ_WAIT = 600.0
STAGING = ".staging"
PENDING = "pending.json"
INCOMPLETE_DIR = "snapshots_incomplete"


class Store:
    """Read access to a data directory's snapshot store; ``writer()`` for the one writer."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self.snapshots_dir = table.table_path(self.root)
        self.quarantine_dir = self.root / "quarantine"
        self._index: Index | None = None
        self._removing = False  # this instance holds ``removing`` (exclusive readers' lock)

    # ----------------------------------------------------------------------------------- reading
    def needs_migration(self) -> bool:
        """True for a data directory that an older version wrote (a manifest, no Delta table)."""
        return (self.root / MANIFEST).exists() and not table.exists(self.root)

    def _check_format(self) -> None:
        if self.needs_migration():
            raise StoreError(
                f"the snapshot store in {self.root} was written by an older version (it has a "
                "manifest.jsonl and no Delta table). Run `campaign-reports migrate` once to turn "
                "it into a Delta table; nothing was changed."
            )

    def index(self, *, refresh: bool = True) -> Index:
        """The snapshot index at the table's current version (replayed from the commits).
        ``refresh=False``: as this process last saw it (the writer's own commits included)."""
        if not refresh and self._index is not None:
            return self._index
        self._check_format()
        if not table.exists(self.root):
            return Index()
        try:
            self._index = replay(self.root, self._index)
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(
                f"the snapshot table in {self.snapshots_dir} cannot be read: {exc}"
            ) from exc
        return self._index

    def commits(self) -> list[dict[str, Any]]:
        """The metadata of every commit, oldest first (``pipeline.store.index`` says what it
        holds)."""
        self._check_format()
        if not table.exists(self.root):
            return []
        return [meta for _, meta in table.commits_since(self.root, -1)]

    def committed(self, version: int, record: dict[str, Any]) -> None:
        """The writer's own commit, applied to the index without reading it back."""
        if self._index is not None and self._index.version == version - 1:
            self._index.apply(version, record)
        else:
            self._index = None  # replayed on the next read

    def published(self) -> list[SnapshotMeta]:
        """Every published snapshot (complete or not), in publication order."""
        return list(self.index().snapshots.values())

    def published_ids(self) -> dict[str, SnapshotMeta]:
        return dict(self.index().snapshots)

    def quarantine_files(self) -> list[str]:
        """The quarantine files in the store (relative paths), oldest first."""
        return list(self.index().quarantine)

    def quarantine_times(self) -> dict[str, str]:
        """Each quarantine file's publication time (ISO-8601 UTC)."""
        return dict(self.index().quarantine)

    def listed_paths(self) -> set[str]:
        """Every file the store lists as part of it (relative to the data directory)."""
        index = self.index()
        return {m.path for m in index.snapshots.values()} | set(index.quarantine)

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

    def index_frame(self) -> pl.DataFrame:
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
        """The files of every published snapshot, complete or not."""
        return [self.root / p for p in dict.fromkeys(m.path for m in self.published())]

    def read_snapshot(self, meta: SnapshotMeta) -> pl.DataFrame:
        """One snapshot's rows (its file may hold other snapshots of its day: a compaction)."""
        return pl.read_parquet(self.root / meta.path).filter(
            pl.col("snapshot_id") == meta.snapshot_id
        )

    def sharing_files(self, metas: list[SnapshotMeta]) -> list[SnapshotMeta]:
        """The other snapshots whose file is one of these snapshots' files: a file can only be
        removed with every snapshot in it."""
        paths = {m.path for m in metas}
        ids = {m.snapshot_id for m in metas}
        return [m for m in self.published() if m.path in paths and m.snapshot_id not in ids]

    def complete_files(self) -> list[Path]:
        """The absolute paths of the Parquet files that hold the published complete snapshots,
        each under ``<...>/campaign_id=<id>/snapshot_date=<YYYY-MM-DD>/`` (what other engines,
        e.g. the Spark job, read): the Delta table's files. Incomplete snapshots are never among
        them; a file that holds several snapshots (a compacted day) is listed once."""
        paths = dict.fromkeys(m.path for m in self.published() if m.complete)
        return [(self.root / p).absolute() for p in paths]

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

    def relative_path(
        self, campaign_id: str, snapshot_time: datetime, snapshot_id: str, *, complete: bool = True
    ) -> str:
        """Where a snapshot's file goes: in the Delta table, or beside it when incomplete."""
        day = snapshot_time.astimezone(UTC).date().isoformat()
        folder = table.TABLE_DIR if complete else INCOMPLETE_DIR
        campaign_id = safe_name("campaign id", campaign_id)
        snapshot_id = safe_name("snapshot id", snapshot_id)
        return f"{folder}/campaign_id={campaign_id}/snapshot_date={day}/{snapshot_id}.parquet"

    @contextlib.contextmanager
    def reading(self, what: str, *, wait: float = READ_WAIT) -> Iterator[None]:
        """Keep the published files in place while held (shared with other readers and with
        writers that only add files); waits up to ``wait`` seconds for a removal to finish."""

        def busy(holder: str) -> StoreLocked:
            return StoreLocked(
                f"the snapshot files in {self.root} are being removed ({holder}) and did not "
                f"finish within {wait:g} s. Nothing was read; try again when it has finished."
            )

        if self._removing:  # this process holds the exclusive right: nothing can remove
            yield
            return
        with file_lock(self.root / READERS_LOCK, what, busy=busy, wait=wait, shared=True):
            yield

    @contextlib.contextmanager
    def removing(self, what: str) -> Iterator[None]:
        """The right to remove published files: refused at once while a reader (a build) holds
        ``reading``. The caller holds the writer's lock."""

        def busy(_holder: str) -> StoreLocked:
            return StoreLocked(
                f"a build is reading the snapshot files in {self.root}, so {what} cannot remove "
                "any now. Nothing was changed; try again when the build has finished."
            )

        if self._removing:  # held already (an erasure holds it from its start)
            yield
            return
        with file_lock(self.root / READERS_LOCK, what, busy=busy):
            self._removing = True
            try:
                yield
            finally:
                self._removing = False

    # ----------------------------------------------------------------------------------- writing
    @contextlib.contextmanager
    def writer(self, what: str = "writer", *, wait: float = 0.0) -> Iterator[Writer]:
        """The exclusive writer. Raises ``StoreLocked`` at once (or after ``wait`` seconds)."""
        from pipeline.store.writer import Writer

        def busy(holder: str) -> StoreLocked:
            return StoreLocked(
                f"the data directory {self.root} is busy: another job holds its lock "
                f"({holder}). Nothing was written; try again when it has finished."
            )

        self._check_format()
        with file_lock(self.root / LOCK, what, busy=busy, wait=wait):
            self.index()  # up to date with what other writers committed before the lock
            writer = Writer(self)
            writer.recover()
            try:
                yield writer
            except BaseException:
                # what this run staged is not kept (a full disk is not filled up for nothing);
                # a commit it left half-way is undone as after a crash
                with contextlib.suppress(Exception):
                    writer.recover()
                raise
