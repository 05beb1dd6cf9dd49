"""The snapshot table: a Delta Lake table (delta-rs) at ``<data_dir>/snapshots``.

Partitioned by ``campaign_id`` (a string: ``007`` and ``7`` are two campaigns) and
``snapshot_date`` (the UTC date of the snapshot time). It holds every row of every published
*complete* snapshot, one Parquet file per snapshot as the writer stages it (a compaction merges
a closed day's). Each publication (one ingest of files, one campaign of an export) and each
change (an erasure, retention) is one Delta commit, so any engine that reads Delta (Spark, Trino, Databricks, DuckDB, polars) sees exactly
the published snapshots, with snapshot isolation.

Every commit also carries, in its commit info under the key ``campaign_reports``, what the
project knows of the snapshots it publishes or changes (rows, fingerprint, completeness, the
quarantine file, ...): ``pipeline.store.index`` replays these into the snapshot index. The
transaction log is thereby the one record of what is published; expired-log cleanup is off so
that it is kept whole.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

import pipeline.core.faults as faults

TABLE_DIR = "snapshots"
KEY = "campaign_reports"
PARTITION_BY = ["campaign_id", "snapshot_date"]
#: Table properties: keep every commit (its metadata is the snapshot index's source); checkpoint
#: often enough that readers replay few commits.
CONFIGURATION = {
    "delta.enableExpiredLogCleanup": "false",
    "delta.checkpointInterval": "50",
}

#: The table's schema as Arrow (timestamps are UTC microseconds; Delta's ``timestamp``).
ARROW_SCHEMA = pa.schema(
    [
        ("snapshot_id", pa.string()),
        ("snapshot_time", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()),
        ("contact_id", pa.string()),
        ("state", pa.string()),
        ("raw_state", pa.string()),
        ("legacy", pa.bool_()),
        ("created", pa.timestamp("us", tz="UTC")),
        ("retry_count", pa.int32()),
        ("retry_scheduled", pa.timestamp("us", tz="UTC")),
        ("phone_hash", pa.string()),
        ("campaign_id", pa.string()),
        ("snapshot_date", pa.date32()),
    ]
)


@dataclass(frozen=True)
class DataFile:
    """A Parquet file already in place under the table's folder, to be added by a commit."""

    rel: str  # relative to the table folder: campaign_id=<id>/snapshot_date=<date>/<name>
    campaign_id: str
    snapshot_date: str
    stats: str  # its Delta statistics (``statistics`` of its rows)


def table_path(root: Path) -> Path:
    return Path(root) / TABLE_DIR


def exists(root: Path) -> bool:
    """True once the table's first commit is there (a process killed while creating it may
    leave an empty ``_delta_log``: the next publication creates the table then)."""
    log = table_path(root) / "_delta_log"
    return log.is_dir() and any(log.glob("*.json"))


_OPEN: dict[str, Any] = {}


def open_table(root: Path, *, refresh: bool = True) -> Any:
    """The table, brought up to its latest version. Opened once per process and folder, then
    only the commits since are read (opening reads the whole log's checkpoint). The writer,
    which holds the store's lock and refreshed it when it took it, passes ``refresh=False``."""
    from deltalake import DeltaTable

    key = str(table_path(root).resolve())
    table = _OPEN.get(key)
    if table is not None and table.version() > 0 and not (Path(key) / "_delta_log").is_dir():
        table = None  # the folder was removed (and perhaps made anew) since
    if table is None:
        table = _OPEN[key] = DeltaTable(key)
    elif refresh:
        table.update_incremental()
    return table


def create(root: Path) -> None:
    """Create the empty table (once, by the first writer)."""
    from deltalake import DeltaTable

    DeltaTable.create(
        str(table_path(root)),
        ARROW_SCHEMA,
        mode="ignore",
        partition_by=PARTITION_BY,
        name="campaign_snapshots",
        description="Contact states of mluvii WhatsApp campaigns: one row per contact per "
        "published complete snapshot (campaign state reports).",
        configuration=CONFIGURATION,
    )


def _ms(value: datetime, *, up: bool) -> str:
    """A Delta statistics timestamp (milliseconds): rounded down for a minimum, up for a
    maximum, so that a reader that skips files by them never skips a matching row."""
    micros = value.astimezone(UTC).timestamp() * 1000
    ms = math.ceil(micros) if up else math.floor(micros)
    out = datetime.fromtimestamp(ms / 1000, UTC)
    return out.strftime("%Y-%m-%dT%H:%M:%S.") + f"{out.microsecond // 1000:03d}Z"


def statistics(frame: pl.DataFrame) -> str:
    """Delta file statistics: the row count, and minimum, maximum and null count of the columns
    readers filter on (snapshot id and time; exact, as the ids are short)."""
    stats: dict[str, Any] = {"numRecords": frame.height}
    if frame.height:
        t = frame.get_column("snapshot_time")
        ids = frame.get_column("snapshot_id")
        stats["minValues"] = {"snapshot_id": ids.min(), "snapshot_time": _ms(t.min(), up=False)}  # type: ignore[arg-type]
        stats["maxValues"] = {"snapshot_id": ids.max(), "snapshot_time": _ms(t.max(), up=True)}  # type: ignore[arg-type]
        stats["nullCount"] = {
            "snapshot_id": ids.null_count(),
            "snapshot_time": t.null_count(),
        }
    return json.dumps(stats)


def commit(
    root: Path,
    *,
    add: list[DataFile],
    remove: list[str],
    metadata: dict[str, Any],
    data_change: bool = True,
) -> int:
    """One Delta commit: add the files (already in place), remove others (relative paths), and
    record ``metadata``. Returns the new table version. An empty commit (no files) records
    metadata only (e.g. a file whose rows were all quarantined). ``data_change=False`` marks a
    rearrangement of the same rows (a compaction), which streaming readers skip."""
    from deltalake import CommitProperties
    from deltalake.transaction import AddAction, RemoveAction

    folder = table_path(root)
    if not exists(root):
        create(root)  # the first publication creates the table
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    actions: list[Any] = []
    for f in add:
        st = (folder / f.rel).stat()
        actions.append(
            AddAction(
                path=f.rel,
                size=st.st_size,
                partition_values={"campaign_id": f.campaign_id, "snapshot_date": f.snapshot_date},
                modification_time=int(st.st_mtime * 1000),
                data_change=data_change,
                stats=f.stats,
            )
        )
    for rel in remove:
        actions.append(
            RemoveAction(
                path=rel,
                data_change=data_change,
                deletion_timestamp=now_ms,
                partition_values=_partition_of(rel),
            )
        )
    table = open_table(root, refresh=False)  # the writer is the only one: it is up to date
    faults.point("delta-commit")
    table.create_write_transaction(
        actions,
        mode="append",
        schema=ARROW_SCHEMA,
        partition_by=PARTITION_BY,
        commit_properties=CommitProperties(custom_metadata={KEY: json.dumps(metadata)}),
    )
    faults.point("committed")
    table.update_incremental()
    return int(table.version())


def table_id(root: Path) -> str:
    """The table's unique id (from its metadata): a new table at the same path has another."""
    return str(open_table(root).metadata().id)


def _partition_of(rel: str) -> dict[str, str | None]:
    parts = dict(p.split("=", 1) for p in rel.split("/")[:-1] if "=" in p)
    return {"campaign_id": parts.get("campaign_id"), "snapshot_date": parts.get("snapshot_date")}


def vacuum(root: Path) -> list[str]:
    """Delete the files that commits removed (erasure, retention), at once: their bytes are
    gone, and readers of older table versions can no longer read them."""
    return list(
        open_table(root).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    )


def commits_since(root: Path, version: int) -> list[tuple[int, dict[str, Any]]]:
    """The project's metadata of every commit after ``version``, oldest first."""
    table = open_table(root)
    current = int(table.version())
    if current <= version:
        return []
    out = []
    for info in table.history(limit=current - version):
        raw = info.get(KEY)
        if raw and int(info["version"]) > version:
            out.append((int(info["version"]), json.loads(raw)))
    return sorted(out, key=lambda item: item[0])


def current_files(root: Path) -> list[str]:
    """The table's current files (absolute paths)."""
    folder = table_path(root)
    table = open_table(root)
    paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    return [str(folder / p) for p in paths]
