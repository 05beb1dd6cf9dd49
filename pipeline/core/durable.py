"""The storage kernel: the one way to write a file atomically, keep an append-only JSON log and
hold a file lock. Every stage that writes to the data directory uses these and nothing else.

* ``atomic_write`` / ``atomic_write_many``: written aside in the same folder, fsynced, renamed
  over the target, the folder fsynced: a reader sees the old file or the new one, never half.
* ``JsonlLog``: one JSON object per line, appended with fsync. A line cut short by a crash has
  no newline at its end: readers ignore it and the next append cuts it off first.
* ``FileLock``: ``flock`` on a lock file that names its holder ("ingest, pid 42, since …");
  exclusive for writers, shared where readers only need the files to stay put.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import pipeline.core.faults as faults
from pipeline.core.clock import iso_utc, now
from pipeline.core.errors import disk_full, is_disk_full

#: Temporary files of ``atomic_write`` start with a dot and end with this: a writer that finds
#: one left by a crashed run may remove it.
TMP_SUFFIX = ".tmp"


# ------------------------------------------------------------------------------------- fsync
def fsync_path(path: Path | str) -> None:
    """fsync a file or a directory (a directory's fsync makes renames in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (not atomically: for files in a private staging folder) and
    fsync it."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


# ----------------------------------------------------------------------------- atomic writes
def _stage_beside(path: Path, raw: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path), suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _raw(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is UTF-8) so that it appears whole or not at all."""
    atomic_write_many({path: data})


def atomic_write_many(files: dict[Path, str | bytes]) -> None:
    """Write many files so that each appears whole or not at all: all are written aside and
    fsynced (in parallel, so the file system can commit them together), then renamed, then
    their folders fsynced. On an error no temporary file is left behind."""
    staged: list[tuple[str, Path]] = []
    writing = next(iter(files), Path("."))
    try:
        for path, data in files.items():
            writing = path
            staged.append((_stage_beside(path, _raw(data)), path))
        if len(staged) == 1:
            fsync_path(staged[0][0])
        else:
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(fsync_path, [t for t, _ in staged]))
        faults.point("temp-written")
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc):
            needed = sum(len(_raw(d)) for d in files.values())
            raise disk_full(exc, writing, needed=needed) from exc
        raise
    for folder in {path.parent for _, path in staged}:
        fsync_path(folder)


def atomic_copy(source: Path, target: Path, *, mode: int = 0o644) -> None:
    """Copy ``source`` over ``target`` atomically (copied aside, fsynced, renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_tmp_prefix(target), suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            _copy_contents(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        faults.point("temp-written")
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(exc, target, needed=source.stat().st_size) from exc
        raise
    fsync_path(target.parent)


def _copy_contents(src: BinaryIO, out: BinaryIO) -> None:
    """The whole of ``src`` into ``out``: in the kernel where it can (``copy_file_range``, a
    third of the time of reading and writing through Python for a warehouse file), else in
    chunks."""
    import shutil

    if hasattr(os, "copy_file_range"):
        try:
            while os.copy_file_range(src.fileno(), out.fileno(), 1 << 30):
                pass
            return
        except OSError as exc:  # not on this file system (or kernel): the plain way
            if is_disk_full(exc):
                raise
            src.seek(0)
            out.seek(0)
            out.truncate()
    shutil.copyfileobj(src, out, 16 << 20)


def _tmp_prefix(path: Path) -> str:
    """``.<name>.<pid>.``: a temporary file names its owner, so that a later run can tell a dead
    run's leftovers from a live one's."""
    return f".{path.name}.{os.getpid()}."


_OWNER = re.compile(r"\.(\d+)\.[^.]+" + re.escape(TMP_SUFFIX) + "$")


def _owner_alive(tmp: Path) -> bool:
    match = _OWNER.search(tmp.name)
    if match is None:
        return False  # an older version's name: no owner known
    pid = int(match.group(1))
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale_temps(folder: Path, name: str = "*", *, recursive: bool = False) -> int:
    """Remove temporary files of ``atomic_write`` / ``atomic_copy`` for ``folder/name`` (every
    name: ``*``; in subfolders too: ``recursive``) that a run which died left: those whose owner
    process is gone. Returns how many."""
    count = 0
    pattern = f".{name}.*{TMP_SUFFIX}"
    for tmp in folder.rglob(pattern) if recursive else folder.glob(pattern):
        if _owner_alive(tmp):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            count += 1
    return count


# ------------------------------------------------------------------------------- JSONL logs
class JsonlLog:
    """An append-only log of JSON objects, one per line, durable line by line.

    ``read()`` returns every complete line's object, oldest first. A torn last line (no newline:
    a crash while appending) is ignored, and the next ``append`` cuts it off. A damaged line
    elsewhere raises ``ValueError`` when ``strict``, else it is skipped and counted in
    ``damaged``. The file only grows (or is replaced whole), so a second ``read`` parses only
    the lines added since the first.
    """

    def __init__(self, path: Path, *, strict: bool = False) -> None:
        self.path = Path(path)
        self.strict = strict
        self.damaged = 0
        self._seen: tuple[int, int, int] = (-1, -1, 0)  # device, inode, bytes of complete lines
        self._records: list[dict[str, Any]] = []
        self._repaired = False

    def read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                dev, ino, offset = self._seen
                if (dev, ino) != (st.st_dev, st.st_ino) or st.st_size < offset:
                    offset, self._records, self.damaged = 0, [], 0
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            self._seen, self._records, self.damaged = (-1, -1, 0), [], 0
            return []
        complete = data[: data.rfind(b"\n") + 1]
        first_line = self._line_count(offset)
        for n, line in enumerate(complete.splitlines(), start=first_line):
            if line.strip():
                self._parse(line, n)
        self._seen = (st.st_dev, st.st_ino, offset + len(complete))
        return list(self._records)

    def _line_count(self, offset: int) -> int:
        return 1 if offset == 0 else len(self._records) + self.damaged + 1

    def _parse(self, line: bytes, lineno: int) -> None:
        try:
            value = json.loads(line)
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            if self.strict:
                raise ValueError(f"{self.path}, line {lineno}: not a valid JSON object") from exc
            self.damaged += 1
            return
        self._records.append(value)

    def append(
        self, records: dict[str, Any] | Iterable[dict[str, Any]], *, fault: str | None = None
    ) -> None:
        """Append one record (or several, as one write) durably. The caller holds the lock of
        whoever writes this log. ``fault`` names a crash point between the two halves of the
        write (for the crash tests: a torn last line)."""
        items = [records] if isinstance(records, dict) else list(records)
        if not items:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._repaired:
            self.repair()
        data = "".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in items
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        raw = data.encode("utf-8")
        size = os.fstat(fd).st_size
        try:
            if fault is not None:
                _write_all(fd, raw[: len(raw) // 2])
                faults.point(fault)
                raw = raw[len(raw) // 2 :]
            _write_all(fd, raw)
            os.fsync(fd)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            with contextlib.suppress(OSError):  # no torn line is kept: cut back what was added
                os.ftruncate(fd, size)
            raise disk_full(exc, self.path, needed=len(raw)) from exc
        finally:
            os.close(fd)

    def repair(self) -> None:
        """Cut off a torn last line (a crash while appending)."""
        self._repaired = True
        try:
            with open(self.path, "r+b") as fh:
                size = fh.seek(0, os.SEEK_END)
                if size == 0:
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return
                fh.seek(0)
                data = fh.read()
                fh.truncate(data.rfind(b"\n") + 1)
                fh.flush()
                os.fsync(fh.fileno())
        except FileNotFoundError:
            return

    def rewrite(self, records: Iterable[dict[str, Any]]) -> None:
        """Replace the whole log atomically (e.g. to remove a contact's traces)."""
        data = "".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
        )
        atomic_write(self.path, data)
        self._seen, self._records, self.damaged = (-1, -1, 0), [], 0


def _write_all(fd: int, raw: bytes) -> None:
    """``os.write`` until all of ``raw`` is written (a nearly full disk takes part of it)."""
    view = memoryview(raw)
    while view:
        view = view[os.write(fd, view) :]


# ------------------------------------------------------------------------------------- locks
def lock_holder(path: Path) -> str | None:
    """Who holds the lock file ``path`` ("ingest, pid 42, since …"), or None if nobody does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(
    path: Path,
    what: str,
    *,
    busy: Callable[[str], Exception],
    wait: float = 0.0,
    shared: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the lock file ``path`` (exclusive, or ``shared`` with other shared holders).

    Raises ``busy(holder)`` at once, or after ``wait`` seconds of trying; ``on_wait(holder)`` is
    called once when it starts waiting. An exclusive holder writes who it is into the file;
    the note is cleared when it lets go. Closing the file releases the lock, so a process that
    dies never leaves it held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    held = False
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
                if time.monotonic() >= deadline:
                    raise busy(holder) from None
                if on_wait is not None and not told:
                    on_wait(holder)
                    told = True
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        held = True
        if not shared:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what}, pid {os.getpid()}, since {iso_utc(now())}".encode(), 0)
        yield
    finally:
        if held and not shared:  # only the holder clears its note
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        os.close(fd)
