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

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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
    """The index at the table's current version: ``start`` (an earlier index, if any) with the
    commits after its version applied."""
    index = start or Index()
    for version, meta in table.commits_since(root, index.version):
        index.apply(version, meta)
    if table.exists(root):
        index.version = max(index.version, int(table.open_table(root).version()))
    return index
