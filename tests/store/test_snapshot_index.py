"""The snapshot index: replayed from the Delta log's commit metadata, and saved beside the table
so that a new process replays only the commits since. The saved copy is a cache: whatever
becomes of it, the index equals a replay of the whole log."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ingest

from pipeline.store import index
from pipeline.store.index import Index, replay
from pipeline.store.snapshots import Store


def files(tmp_path: Path, n: int) -> list[Path]:
    out = []
    for k in range(n):
        p = tmp_path / f"campaign-{k % 2}_202611{20 + k:02d}T060000Z.csv"
        p.write_text("contact_id,state\n" + "".join(f"{i},WA_READ\n" for i in range(k + 1)))
        out.append(p)
    return out


def whole_log(root: Path) -> Index:
    return replay(root, Index())


def test_the_saved_index_plus_the_commits_since_equals_the_whole_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    monkeypatch.setattr(index, "SAVE_EVERY", 3)
    for f in files(tmp_path, 7):
        ingest(root, f)
    assert index.saved_version(root) == 5  # saved at versions 2 and 5: three commits apart
    fresh = Store(root).index()  # a new process: the saved index and the two commits since
    full = whole_log(root)
    assert fresh.snapshots == full.snapshots and fresh.version == full.version == 7
    assert len(full.snapshots) == 7


def test_a_saved_index_of_another_table_or_a_damaged_one_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "SAVE_EVERY", 1)
    a, b = tmp_path / "a", tmp_path / "b"
    fa, fb = files(tmp_path, 3), files(tmp_path / "x", 0)
    for f in fa:
        ingest(a, f)
    one = tmp_path / "campaign-9_20261128T060000Z.csv"
    one.write_text("contact_id,state\n1,WA_READ\n")
    ingest(b, one)
    assert fb == []
    shutil.copy(a / index.SAVED, b / index.SAVED)  # another table's index
    assert (
        set(Store(b).published_ids()) == set(whole_log(b).snapshots)
        and len(Store(b).published()) == 1
    )
    (a / index.SAVED).write_bytes(b"not parquet")
    assert Store(a).index().snapshots == whole_log(a).snapshots
