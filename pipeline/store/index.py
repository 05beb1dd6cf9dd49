"""The snapshot index: every published snapshot and quarantine file, replayed from the metadata
that each commit of the snapshot table carries (``pipeline.store.table``).

Commit metadata, one JSON object per commit (``op`` says which)::

    {"op": "publish", "committed_at": …, "input": …, "snapshots": [SnapshotMeta…],
     "quarantine_file": "quarantine/…csv" | null, …}
    {"op": "change", "committed_at": …, "input": "erase …" | "retention",
     "replaced": [SnapshotMeta…], "removed": [snapshot_id…], "removed_quarantine": [path…]}
    {"op": "migrate", "committed_at": …, "snapshots": […], "quarantine": {path: committed_at}}

Complete snapshots' files are in the Delta table; incomplete ones (kept out of every number) in
``snapshots_incomplete/`` beside it, listed only here, so that no Delta reader ever sees them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.core.durable import atomic_write
from pipeline.store import table
from pipeline.store.meta import SnapshotMeta

_META_FIELDS = {f.name for f in fields(SnapshotMeta)}


@dataclass
class Index:
    version: int = -1
    snapshots: dict[str, SnapshotMeta] = field(default_factory=dict)
    quarantine: dict[str, str] = field(default_factory=dict)  # path -> committed_at

    def apply(self, version: int, meta: dict[str, Any]) -> None:
        op = meta.get("op")
        if op in ("publish", "migrate"):
            for snap in meta.get("snapshots", []):
                m = meta_from_dict(snap)
                self.snapshots[m.snapshot_id] = m
            if meta.get("quarantine_file"):
                self.quarantine[meta["quarantine_file"]] = meta["committed_at"]
            self.quarantine.update(meta.get("quarantine", {}))
        elif op == "change":
            for snap in meta.get("replaced", []):
                m = meta_from_dict(snap)
                self.snapshots[m.snapshot_id] = m
            for sid in meta.get("removed", []):
                self.snapshots.pop(sid, None)
            for rel in meta.get("removed_quarantine", []):
                self.quarantine.pop(rel, None)
        self.version = version


def meta_from_dict(data: dict[str, Any]) -> SnapshotMeta:
    """A SnapshotMeta from its recorded fields (fields it does not know are ignored)."""
    return SnapshotMeta(**{k: v for k, v in data.items() if k in _META_FIELDS})


def replay(root: Path, start: Index | None = None) -> Index:
    """The index at the table's current version: ``start`` (an earlier index, if any; else the
    one saved beside the table) with the commits after its version applied."""
    index = start or load(root) or Index()
    for version, meta in table.commits_since(root, index.version):
        index.apply(version, meta)
    if table.exists(root):
        index.version = max(index.version, int(table.open_table(root).version()))
    return index


# ------------------------------------------------------------------------------ the saved index
#: The index as of a table version, saved by the writer so that a new process replays only the
#: commits since (not the whole log). A cache: delete it and it is replayed from the log.
SAVED = ".snapshot-index.parquet"
_FIELDS = [f.name for f in fields(SnapshotMeta)]


def save(root: Path, index: Index) -> None:
    """Save the index (the caller holds the store's lock)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [[getattr(m, f) for m in index.snapshots.values()] for f in _FIELDS]
    data = pa.table(dict(zip(_FIELDS, rows, strict=True))) if index.snapshots else pa.table({})
    meta = {
        "version": str(index.version),
        "table_id": table.table_id(root),
        "quarantine": json.dumps(index.quarantine),
    }
    buf = io.BytesIO()
    pq.write_table(data.replace_schema_metadata(meta), buf)
    atomic_write(Path(root) / SAVED, buf.getvalue())


#: The writer saves the index again once it is this many commits ahead of the saved one (saving
#: writes the whole index: doing it at every commit would cost in proportion to the history).
SAVE_EVERY = 100


def saved_version(root: Path) -> int:
    """The table version of the saved index (-1 without one); reads only the file's footer."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(Path(root) / SAVED).metadata or {}
        return int(meta[b"version"])
    except (OSError, KeyError, ValueError):
        return -1


def load(root: Path) -> Index | None:
    """The saved index, if there is one for this table and not ahead of it; else None."""
    import pyarrow.parquet as pq

    path = Path(root) / SAVED
    if not path.exists() or not table.exists(root):
        return None
    try:
        data = pq.read_table(path)
        meta = {k.decode(): v.decode() for k, v in (data.schema.metadata or {}).items()}
        version = int(meta["version"])
        if (
            meta.get("table_id") != table.table_id(root)
            or version > table.open_table(root).version()
        ):
            return None  # another table, or one rolled back: replay from the log
        snapshots = {row["snapshot_id"]: meta_from_dict(row) for row in data.to_pylist() if row}
        return Index(version, snapshots, json.loads(meta.get("quarantine", "{}")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged cache is no loss
