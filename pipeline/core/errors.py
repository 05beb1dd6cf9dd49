"""One root exception; each stage raises subclasses that carry the facts and say what happens next.

The CLI turns any ``PipelineError`` into ``Error: <message>`` on stderr and exit code 1.
"""

from __future__ import annotations

import errno
import os
import re
import traceback
from pathlib import Path


class PipelineError(Exception):
    """Root of every error a user can cause or fix (bad input, busy store, bad config)."""

    exit_code = 1


class ConfigError(PipelineError):
    """The configuration file or an environment variable is wrong."""


class CatalogError(PipelineError):
    """The state catalog data file is inconsistent."""


class StoreError(PipelineError):
    """The snapshot store cannot be read or written."""


class StoreLocked(StoreError):
    """Another writer holds the store's lock."""


class SnapshotConflict(StoreError):
    """A snapshot with the same id but different content is already published."""


class IngestError(PipelineError):
    """A file was rejected as a whole. Nothing from it was written."""

    def __init__(
        self,
        path: str,
        what: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.what = what
        self.line = line
        self.column = column
        self.hint = hint
        where = path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        msg = f"{where}: {what}. The file was rejected; nothing from it was written."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class WarehouseError(PipelineError):
    """The DuckDB warehouse could not be built or queried."""


class QueryError(WarehouseError):
    """An SQL file or an ad-hoc query failed."""


class SparkJobError(PipelineError):
    """The Spark job cannot run, or its results cannot be loaded into the warehouse."""


class ScheduleError(PipelineError):
    """A cron expression or a job's settings are wrong, or the scheduler cannot start."""


class CronError(ScheduleError):
    """A cron expression cannot be parsed."""


# ---------------------------------------------- describing an unexpected error, safely
#: where this package lives: frames under it name the stage
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: a run of digits long enough to be a phone number or a contact id
LONG_NUMBER = re.compile(r"\d{6,}")
MASK = "•••••"
MAX_WHAT = 200


def stage_of(exc: BaseException) -> str:
    """The stage where ``exc`` was raised: the folder under ``pipeline/`` of the innermost
    traceback frame inside the package (core, sources, store, warehouse, report, ...)."""
    stage = "cli"  # main() itself is always on the traceback
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        try:
            parts = Path(frame.f_code.co_filename).resolve().relative_to(PACKAGE_DIR).parts
        except ValueError:
            continue  # a frame in the standard library, click, polars, DuckDB...
        stage = parts[0] if len(parts) > 1 else "cli"  # pipeline/__main__.py runs the CLI
    return stage


def describe(exc: BaseException) -> str:
    """The exception's type and the first line of its message, at most ``MAX_WHAT`` characters,
    with every run of 6 or more digits masked: messages from polars and DuckDB can quote row
    content (phone numbers, contact ids), which must never reach stderr or a log."""
    kind = type(exc)
    package = kind.__module__.split(".")[0].lstrip("_")
    name = kind.__name__ if package in ("builtins", "pipeline") else f"{package}.{kind.__name__}"
    if isinstance(exc, OSError) and exc.errno is not None:
        facts = [errno.errorcode.get(exc.errno, str(exc.errno)), exc.strerror]
        facts += [exc.filename, exc.filename2]
        message = ": ".join(str(f) for f in facts if f not in (None, ""))
    else:
        message = str(exc)
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    first = LONG_NUMBER.sub(MASK, first)  # before cutting: a cut must not shorten a number
    if len(first) > MAX_WHAT:
        first = first[: MAX_WHAT - 1] + "…"
    return f"{name}: {first}" if first else name


# ------------------------------------------------------------------------------ a full disk
#: errno values of a full disk or an exhausted quota
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
#: how a full disk reads in the text of an error that is not an OSError (polars, DuckDB,
#: deltalake, pyarrow report the system's message inside their own)
DISK_FULL_TEXTS = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT), "os error 28")
#: a quoted absolute path in an error's text (DuckDB: 'Could not write file "/x/y.duckdb"')
QUOTED_PATH = re.compile(r"[\"'](/[^\"'\n]+)[\"']")


class DiskFull(PipelineError):
    """A write failed because its file system is full (or the quota is used up). What it was
    writing was removed or never renamed into place: nothing half-written is kept."""

    def __init__(self, path: Path | str, *, needed: int | None = None) -> None:
        self.path = Path(path)
        self.needed = needed
        space = f"{human_bytes(free_space(self.path))} free on that filesystem"
        if needed:
            space += f", about {human_bytes(needed)} needed"
        super().__init__(
            f"the disk is full: could not write {self.path} ({space}). Nothing was "
            "half-written: free some space and run the command again."
        )


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) says the disk is full."""
    seen: BaseException | None = exc
    for _ in range(5):  # the exception and a few of its causes
        if seen is None:
            return False
        if isinstance(seen, DiskFull):
            return True
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        if any(text in str(seen) for text in DISK_FULL_TEXTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def disk_full(exc: BaseException, path: Path | str, *, needed: int | None = None) -> DiskFull:
    """The ``DiskFull`` for ``exc``: the file it names if it names one, else ``path``."""
    if isinstance(exc, DiskFull):
        return exc
    named = exc.filename if isinstance(exc, OSError) else None
    if not named:
        quoted = QUOTED_PATH.search(str(exc))
        named = quoted.group(1) if quoted else None
    return DiskFull(named or path, needed=needed)


def free_space(path: Path) -> int:
    """Bytes free for an unprivileged user on the file system of ``path`` (or of its nearest
    existing parent folder)."""
    import shutil

    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return 0


def human_bytes(n: int) -> str:
    """``512 bytes``, ``3.1 KB``, ``2.0 MB``, ``1.5 GB`` (powers of 1024)."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:.1f} {unit}"
