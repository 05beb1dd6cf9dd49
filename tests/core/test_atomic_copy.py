"""``atomic_copy`` (the analyst copy of the warehouse): the target ends up byte for byte the
source, whether the kernel copies it (copy_file_range) or, where it cannot, Python does."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pipeline.core import durable
from pipeline.core.durable import atomic_copy


def source(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(os.urandom(3 << 20) + b"end")  # more than one chunk of the plain way
    return path


def test_the_copy_is_the_source_byte_for_byte_and_read_only(tmp_path: Path) -> None:
    src = source(tmp_path)
    target = tmp_path / "out" / "analyst.duckdb"
    target.parent.mkdir()
    target.write_bytes(b"the old copy, longer than nothing")
    atomic_copy(src, target, mode=0o444)
    assert target.read_bytes() == src.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o444
    assert [p.name for p in target.parent.iterdir()] == ["analyst.duckdb"]  # no temporary left


def test_where_the_kernel_cannot_copy_python_copies_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def refuse_after_a_part(src: int, dst: int, count: int, *args: object) -> int:
        if not calls:  # a first part is copied, then the kernel refuses (e.g. EXDEV, EINVAL)
            calls.append(count)
            os.write(dst, os.pread(src, 1000, 0))
            os.lseek(src, 1000, os.SEEK_SET)
            return 1000
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(durable.os, "copy_file_range", refuse_after_a_part, raising=False)
    src = source(tmp_path)
    target = tmp_path / "analyst.duckdb"
    atomic_copy(src, target)
    assert calls and target.read_bytes() == src.read_bytes()
