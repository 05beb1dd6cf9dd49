"""The store's one writer: stages snapshot files aside, renames them into place and makes the
Delta commit that publishes them (see ``pipeline.store.snapshots`` for the protocol). A
``Writer`` exists only while the store's lock is held (``Store.writer()``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

import pipeline.core.faults as faults
from pipeline.core.clock import iso_utc, now
from pipeline.core.durable import atomic_write, fsync_path, remove_stale_temps, write_durably
from pipeline.core.errors import SnapshotConflict, StoreError, disk_full, is_disk_full
from pipeline.core.names import inside, name_part, safe_name
from pipeline.store import index, table
from pipeline.store.meta import SNAPSHOT_SCHEMA, SnapshotMeta, rewritten
from pipeline.store.snapshots import CAMPAIGNS, PENDING, STAGING, Store


@dataclass(frozen=True)
class SnapshotRows:
    """One snapshot's rows as the store keeps them (typed, sorted by contact id) and their Delta
    statistics: everything of staging but the write (``snapshot_rows``; thread-safe)."""

    frame: pl.DataFrame
    stats: str


def snapshot_rows(meta: SnapshotMeta, frame: pl.DataFrame) -> SnapshotRows:
    """``frame`` (the SNAPSHOT_SCHEMA columns) cast and sorted as a snapshot file keeps them."""
    missing = set(SNAPSHOT_SCHEMA) - set(frame.columns)
    if missing:
        raise StoreError(f"snapshot {meta.snapshot_id}: columns missing: {sorted(missing)}")
    rows = frame.select([pl.col(c).cast(t) for c, t in SNAPSHOT_SCHEMA.items()]).sort("contact_id")
    return SnapshotRows(rows, table.statistics(rows))


@dataclass
class Staged:
    meta: SnapshotMeta
    staged_path: Path
    stats: str  # the Delta statistics of its file (computed when it is written)


@dataclass
class Pending:
    """What one input staged, waiting for the commit that publishes it."""

    input_name: str
    staged: list[Staged]
    quarantine: Path | None = None
    #: snapshots that take the place of published ones (``ingest --replace``)
    replacing: list[Staged] = field(default_factory=list)


@dataclass
class CommitResult:
    published: list[SnapshotMeta] = field(default_factory=list)
    already_present: list[SnapshotMeta] = field(default_factory=list)
    quarantine_file: str | None = None
    replaced: list[SnapshotMeta] = field(default_factory=list)  # published in place of others


class Writer:
    """Publishes snapshots and quarantine files. Only exists while the store's lock is held."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.staging = store.root / STAGING
        self._saved: int | None = None  # the version of the saved index, once read
        self._quarantines = 0  # quarantine files staged (each gets its own name)

    def recover(self) -> None:
        """Undo what a crashed writer left: renamed files that no commit lists, files a commit
        removed but nobody deleted yet, and staged files."""
        pending = self.staging / PENDING
        if pending.exists():
            try:
                paths = json.loads(pending.read_text())
            except (json.JSONDecodeError, OSError):
                paths = []  # pending.json itself was torn: no rename had started
            listed = self.store.listed_paths()
            for rel in paths:
                if rel not in listed:
                    with contextlib.suppress(FileNotFoundError):
                        (self.store.root / rel).unlink()
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        # temporary files of atomic writes that a dead writer left (campaigns.json, the
        # record of an unfinished erasure, logs and quarantine files rewritten by erase)
        remove_stale_temps(self.store.root)
        for folder in (self.store.root / "logs", self.store.quarantine_dir):
            if folder.is_dir():
                remove_stale_temps(folder, recursive=True)

    def stage_snapshot(self, meta: SnapshotMeta, frame: pl.DataFrame) -> Staged:
        """Write one snapshot's rows aside, durably. ``frame`` has the SNAPSHOT_SCHEMA columns."""
        return self.stage_rows(meta, snapshot_rows(meta, frame))

    def stage_rows(self, meta: SnapshotMeta, rows: SnapshotRows, *, tag: str = "") -> Staged:
        """Write rows that ``snapshot_rows`` prepared aside, durably. Thread-safe: ingest writes
        the files it reads in worker threads, each with its own ``tag`` in the staged name (two
        files of one ingest may hold the same snapshot)."""
        name = safe_name("snapshot id", meta.snapshot_id) + (f".{name_part(tag)}" if tag else "")
        path = self.staging / f"{name}.parquet"
        frame = rows.frame
        _write_aside(path, lambda: frame.write_parquet(path, compression="zstd", statistics=True))
        faults.point("staged-written")
        return Staged(meta=meta, staged_path=path, stats=rows.stats)

    def stage_quarantine(self, frame: pl.DataFrame) -> Path:
        self._quarantines += 1
        path = self.staging / f"quarantine-{self._quarantines}.csv"
        _write_aside(path, lambda: frame.write_csv(path))
        return path

    def record_campaigns(self, info: dict[str, dict[str, Any]]) -> None:
        """Merge what is known of campaigns (name, channel, started, finished) into
        ``campaigns.json``, atomically (written aside, fsynced, renamed)."""
        if not info:
            return
        merged = self.store.campaigns()
        for cid, fields_ in info.items():
            merged[str(cid)] = {**merged.get(str(cid), {}), **fields_}
        atomic_write(
            self.store.root / CAMPAIGNS,
            json.dumps(merged, ensure_ascii=False, indent=1, sort_keys=True),
        )

    def check(self, meta: SnapshotMeta, published: dict[str, SnapshotMeta]) -> bool:
        """True if this snapshot is new; False if the same input is already published.
        Raises ``SnapshotConflict`` if different input for the same campaign and time is."""
        old = published.get(meta.snapshot_id)
        if old is None:
            return True
        if old.fingerprint == meta.fingerprint:
            return False
        raise SnapshotConflict(
            f"campaign {meta.campaign_id} at {meta.snapshot_time} is already published from "
            f"{old.input or old.source!r} (snapshot {old.snapshot_id}), and {meta.input!r} has "
            "different content for the same campaign and time. Nothing was written; a snapshot "
            "is never changed silently: to publish this file in its place, run `ingest --replace`."
        )

    def commit(
        self,
        staged: list[Staged],
        *,
        input_name: str,
        quarantine: Path | None = None,
        extra: dict[str, Any] | None = None,
    ) -> CommitResult:
        """Publish staged snapshots (and a quarantine file) of one input as one Delta commit."""
        return self.commit_inputs([Pending(input_name, staged, quarantine)], extra=extra)[0]

    def commit_inputs(
        self, inputs: list[Pending], *, extra: dict[str, Any] | None = None
    ) -> list[CommitResult]:
        """Publish what several inputs staged (an ingest of many files) as one Delta commit:
        every snapshot and quarantine file of them, or none. One result per input."""
        results = [CommitResult() for _ in inputs]
        if not any(p.staged or p.quarantine is not None for p in inputs):
            return self._commit_replacements(inputs, results)
        committed_at = iso_utc(now())
        moves: list[tuple[Path, str]] = []
        quarantine: dict[str, str] = {}
        for p, result in zip(inputs, results, strict=True):
            commit_id = hashlib.sha256(
                (
                    p.input_name + "".join(s.meta.snapshot_id for s in p.staged) + committed_at
                ).encode()
            ).hexdigest()[:16]
            result.published = [
                SnapshotMeta(**{**asdict(s.meta), "published_at": committed_at}) for s in p.staged
            ]
            moves += [
                (s.staged_path, m.path) for s, m in zip(p.staged, result.published, strict=True)
            ]
            if p.quarantine is not None:
                stem = name_part(Path(p.input_name).name.rsplit(".", 1)[0])
                result.quarantine_file = f"quarantine/{committed_at[:10]}/{stem}-{commit_id}.csv"
                moves.append((p.quarantine, result.quarantine_file))
                quarantine[result.quarantine_file] = committed_at
        self._move_into_place(moves)
        metas = [m for r in results for m in r.published]
        record = {
            "op": "publish",
            "committed_at": committed_at,
            "input": inputs[0].input_name if len(inputs) == 1 else f"{len(inputs)} inputs",
            "inputs": [p.input_name for p in inputs],
            "quarantine_file": next(iter(quarantine)) if len(quarantine) == 1 else None,
            "quarantine": quarantine,
            "snapshots": [asdict(m) for m in metas],
            **(extra or {}),
        }
        stats = {s.meta.snapshot_id: s.stats for p in inputs for s in p.staged}
        version = table.commit(
            self.store.root,
            add=[self._data_file(m, stats[m.snapshot_id]) for m in metas if m.complete],
            remove=[],
            metadata=record,
        )
        self.store.committed(version, record)
        (self.staging / PENDING).unlink()
        self._save_index()
        return self._commit_replacements(inputs, results)

    def _commit_replacements(
        self, inputs: list[Pending], results: list[CommitResult]
    ) -> list[CommitResult]:
        """Publish the inputs' replacements (``ingest --replace``) as one commit that removes
        the replaced snapshots' files and adds the new ones; each result lists its input's."""
        replacing = [s for p in inputs for s in p.replacing]
        if not replacing:
            return results
        published = self.store.published_ids()
        old = [published[s.meta.snapshot_id] for s in replacing]
        ids = [s.meta.snapshot_id for s in replacing]
        # a file shared with other snapshots (a compacted day) is removed: they get their own
        tag = hashlib.sha256("".join(s.meta.fingerprint for s in replacing).encode()).hexdigest()
        kept = []
        for meta in self.store.sharing_files(old):
            frame = self.store.read_snapshot(meta)
            kept.append(self.stage_snapshot(rewritten(meta, frame, tag[:8]), frame))
        names = [p.input_name for p in inputs if p.replacing]
        self.commit_changes(
            reason="replace " + ", ".join(names),
            replaced=replacing + kept,
            extra={"replacement": True, "replaced_ids": ids, "inputs": names},
        )
        new = self.store.published_ids()
        for p, result in zip(inputs, results, strict=True):
            result.replaced = [new[s.meta.snapshot_id] for s in p.replacing]
        return results

    def _move_into_place(self, moves: list[tuple[Path, str]], obsolete: Sequence[str] = ()) -> None:
        """Record the renames (and the files the commit will make obsolete) in pending.json, so
        that a crash's leftovers can be found, then rename each staged file into place. A file
        that no commit lists is invisible."""
        for _, rel in moves:
            inside(self.store.root, rel)  # every name in it passed the gate; this is the proof
        pending = self.staging / PENDING
        write_durably(pending, json.dumps([rel for _, rel in moves] + list(obsolete)).encode())
        faults.point("pending-written")
        for src, rel in moves:
            dest = self.store.root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            fsync_path(dest.parent)
            faults.point("renamed")

    def _data_file(self, meta: SnapshotMeta, stats: str) -> table.DataFile:
        rel = meta.path.removeprefix(f"{table.TABLE_DIR}/")
        parts = dict(p.split("=", 1) for p in rel.split("/")[:-1])
        return table.DataFile(rel, parts["campaign_id"], parts["snapshot_date"], stats)

    def commit_changes(
        self,
        *,
        reason: str,
        replaced: list[Staged] = (),  # type: ignore[assignment]
        removed: list[SnapshotMeta] = (),  # type: ignore[assignment]
        removed_quarantine: list[str] = (),  # type: ignore[assignment]
        extra: dict[str, Any] | None = None,
        data_change: bool = True,
    ) -> None:
        """Replace snapshots' files with rewritten ones and remove snapshots or quarantine files,
        as one Delta commit (the table's files: remove and add actions). The old files are
        deleted after the commit (a vacuum, for the table's): a crash before it leaves the old
        state, after it the new one (``recover`` finishes the deletes).

        Several staged snapshots may share one new file (a compaction), and an old file may hold
        several snapshots: a file is removed when every snapshot in it is replaced or removed
        (the callers see to that: ``snapshots_sharing_files``)."""
        if not (replaced or removed or removed_quarantine):
            return
        with self.store.removing(reason.split(" ")[0]):
            self._commit_changes(
                reason, replaced, removed, removed_quarantine, extra or {}, data_change
            )

    def _commit_changes(
        self,
        reason: str,
        replaced: Sequence[Staged],
        removed: Sequence[SnapshotMeta],
        removed_quarantine: Sequence[str],
        extra: dict[str, Any],
        data_change: bool,
    ) -> None:
        committed_at = iso_utc(now())
        published = self.store.published_ids()
        new_metas = [
            SnapshotMeta(**{**asdict(s.meta), "published_at": committed_at}) for s in replaced
        ]
        old = [published[s.meta.snapshot_id] for s in replaced] + list(removed)
        obsolete = list(dict.fromkeys([m.path for m in old] + list(removed_quarantine)))
        files = {m.path: s for s, m in zip(replaced, new_metas, strict=True)}  # one per file
        self._move_into_place([(s.staged_path, rel) for rel, s in files.items()], obsolete)
        record = {
            "op": "change",
            "commit_id": hashlib.sha256((reason + committed_at).encode()).hexdigest()[:16],
            "committed_at": committed_at,
            "input": reason,
            "replaced": [asdict(m) for m in new_metas],
            "removed": [m.snapshot_id for m in removed],
            "removed_quarantine": list(removed_quarantine),
            **extra,
        }
        prefix = f"{table.TABLE_DIR}/"
        complete = {m.path: m for m in new_metas if m.complete}
        version = table.commit(
            self.store.root,
            add=[self._data_file(m, files[rel].stats) for rel, m in complete.items()],
            remove=list(dict.fromkeys(m.path.removeprefix(prefix) for m in old if m.complete)),
            metadata=record,
            data_change=data_change,
        )
        self.store.committed(version, record)
        faults.point("changes-committed")
        if any(m.complete for m in old):
            table.vacuum(self.store.root)
        for rel in obsolete:
            with contextlib.suppress(FileNotFoundError):
                (self.store.root / rel).unlink()
        (self.staging / PENDING).unlink()
        self._save_index()

    def stage_file(self, metas: list[SnapshotMeta], frame: pl.DataFrame, name: str) -> list[Staged]:
        """Write several snapshots' rows as one file aside (a compaction); one ``Staged`` per
        snapshot, all naming that file (their metas' ``path`` must be the same)."""
        path = self.staging / name
        rows = frame.select([pl.col(c).cast(t) for c, t in SNAPSHOT_SCHEMA.items()]).sort(
            "snapshot_time", "contact_id"
        )
        _write_aside(path, lambda: rows.write_parquet(path, compression="zstd", statistics=True))
        stats = table.statistics(rows)
        return [Staged(meta=m, staged_path=path, stats=stats) for m in metas]

    def _save_index(self) -> None:
        """Save the snapshot index beside the table when the saved one is far behind, so that
        other processes replay only the commits since (a cache: losing it costs a replay)."""
        current = self.store.index(refresh=False)
        if self._saved is None:
            self._saved = index.saved_version(self.store.root)
        if current.version - self._saved >= index.SAVE_EVERY:
            index.save(self.store.root, current)
            self._saved = current.version


def _write_aside(path: Path, write: Callable[[], object]) -> None:
    """Write a staged file with ``write`` and fsync it; on a full disk the part written is
    removed and ``DiskFull`` names the file."""
    try:
        write()
        fsync_path(path)
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        path.unlink(missing_ok=True)
        raise disk_full(exc, path) from exc


def stage_new(
    writer: Writer, meta: SnapshotMeta, rows: pl.DataFrame, published: dict[str, SnapshotMeta]
) -> Staged | None:
    """The step of the API's load path before the commit (files: ``ingest.stage_prepared``, the
    same check on rows written ahead): stage the snapshot's rows, or None when the same input is already published (``SnapshotConflict``
    when different input for the same campaign and time is)."""
    if not writer.check(meta, published):
        return None
    return writer.stage_snapshot(meta, rows)
