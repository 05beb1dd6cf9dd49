"""The warehouse build: a cache built from the snapshot store, then published for analysts.

A build reads the store's snapshot index, and processes only the snapshots its ``snapshot_log`` has not
seen: it reads their Parquet files (and nothing else) and extends the compact state history
(``history_closed`` / ``history_open``, one row per contact per state change) in SQL
(``queries/build/history_step.sql``), in chunks of about ``BATCH_ROWS`` rows (campaign after
campaign, each campaign's snapshots in time order), each chunk one transaction. Each chunk also
merges its contacts' funnel milestones into ``milestones`` and marks its snapshots' campaign days
in ``daily_dirty``; at the end one step (``queries/build/daily_step.sql``) redoes those days' rows
of ``daily_state`` and ``daily_moves`` (what the views ``campaign_daily`` and ``state_transitions``
read), reading only the history since the earliest of them. The views and table macros of
queries/ are re-created when those files change. The result equals a full rebuild
(``full=True``, written aside and renamed into place). A snapshot older than its campaign's newest
processed one, or one that retention removed or an erasure rewrote, makes that campaign rebuild
from its snapshots; a change to what the stored tables are built from (the files of
``queries/tables/``, ``queries/formulas/`` and ``queries/build/``, the state catalog, the time zone
or the package version: ``pipeline.warehouse.meta``) makes the next build a full one, and it says
why. Incomplete snapshots are logged and kept out of the history. A snapshot must list each
contact once (ingest guarantees it); one that does not stops the build with an error naming it.

With ``from_spark`` the new warehouse starts from the results of the Spark job instead of from
nothing (``pipeline.warehouse.spark_results``), and the steps add what they do not cover.

After each build the analyst copy is published (``pipeline.warehouse.analyst``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

import pipeline.core.faults as faults
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import file_lock, fsync_path, remove_stale_temps
from pipeline.core.errors import DiskFull, WarehouseError, is_disk_full
from pipeline.store.snapshots import Store
from pipeline.warehouse import spark_results, steps
from pipeline.warehouse.analyst import publish_analyst_copy
from pipeline.warehouse.db import (
    ANALYST_FILE,
    LOCK_FILE,
    WAREHOUSE_FILE,
    connect,
    first_row,
    warehouse_paths,
)
from pipeline.warehouse.meta import create_views, rebuild_reason

#: A build applies new snapshots in chunks of about this many rows (memory stays bounded).
BATCH_ROWS = 4_000_000


class WarehouseBusy(WarehouseError):
    """Another build holds the warehouse's lock."""


@dataclass
class BuildResult:
    full: bool
    warehouse: Path
    analyst: Path
    snapshots_new: int = 0
    snapshots_incomplete: int = 0
    rows_read: int = 0
    campaigns: int = 0
    campaigns_rebuilt: list[str] = field(default_factory=list)
    history_rows: int = 0
    seconds: float = 0.0
    #: Why the build was a full rebuild though none was asked for ("" otherwise).
    reason: str = ""
    #: The Spark results the build started from (``from_spark``), and their snapshots.
    from_spark: str = ""
    spark_snapshots: int = 0

    def summary(self) -> str:
        kind = "full rebuild" if self.full else "incremental build"
        if self.from_spark:
            kind = (
                f"Spark results of {self.spark_snapshots:,} snapshot(s) loaded, then an "
                "incremental build"
            )
        text = (
            f"{kind}: {self.snapshots_new:,} new snapshot(s) of {self.campaigns:,} campaign(s), "
            f"{self.rows_read:,} rows read; state history now {self.history_rows:,} rows; "
            f"{self.seconds:.1f} s"
        )
        if self.snapshots_incomplete:
            text += f"; {self.snapshots_incomplete:,} incomplete snapshot(s) logged, not counted"
        return text


#: the warehouse folders whose lock this process holds (an erasure holds it around its build)
_HELD: set[Path] = set()


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """The warehouse's lock: one build at a time (held already by this process: a no-op).
    Temporary files a crashed build left beside the analyst copy are removed once it is held."""
    if folder in _HELD:
        yield
        return

    def busy(holder: str) -> WarehouseBusy:
        return WarehouseBusy(
            f"the warehouse in {folder} is busy: another build is running ({holder}). Nothing "
            "was changed; try again when it has finished."
        )

    with file_lock(folder / LOCK_FILE, "build", busy=busy):
        remove_stale_temps(folder, ANALYST_FILE)
        for leftover in (WAREHOUSE_FILE + ".full-tmp", WAREHOUSE_FILE + ".full-tmp.wal"):
            (folder / leftover).unlink(missing_ok=True)  # of a full rebuild that died
        _HELD.add(folder)
        try:
            yield
        finally:
            _HELD.discard(folder)


def build(
    config: Config,
    console: Console | None = None,
    *,
    full: bool = False,
    store: Store | None = None,
    publish: bool = True,
    batch_rows: int = BATCH_ROWS,
    from_spark: Path | None = None,
) -> BuildResult:
    """Create or refresh the warehouse from the store, then publish the analyst copy.

    With ``from_spark`` (a folder the Spark job wrote, ``campaign-reports spark``) the new
    warehouse starts from those results instead of from nothing, and the build's steps add what
    they do not cover (``pipeline.warehouse.spark_results``); it replaces the warehouse as a full
    rebuild does, with the same result."""
    console = console or Console.silent()
    store = store or Store(config.data_dir)
    target, analyst = warehouse_paths(config)
    start = time.perf_counter()
    store.index()  # a store that cannot be read (e.g. not yet migrated) stops it here
    if from_spark is not None:
        spark_results.check_job(from_spark, config)  # before anything is touched
    # The store's readers' lock, shared: retention and erasure cannot remove files under it.
    with build_lock(target.parent), store.reading("build"):
        faults.point("build-reading")
        reason = None if full or from_spark else rebuild_reason(target, config.timezone)
        if reason:
            console.info(f"Full rebuild: {reason}")
        full = full or reason is not None
        aside = full or from_spark is not None  # a new file, renamed into place at the end
        path = target.with_name(WAREHOUSE_FILE + ".full-tmp") if aside else target
        if aside:
            for leftover in (path, Path(str(path) + ".wal")):
                leftover.unlink(missing_ok=True)
        result = BuildResult(full=full, warehouse=target, analyst=analyst, reason=reason or "")
        built = False
        try:
            con = connect(path, memory_limit=config.memory_limit)
        except BaseException as exc:
            _drop_aside(path, aside)
            if is_disk_full(exc):
                raise DiskFull(target) from exc
            raise
        try:
            if from_spark is not None:
                create_views(con, config.timezone, force=True)
                result.from_spark = str(from_spark)
                result.spark_snapshots = spark_results.load(con, from_spark, store, config, console)
            _build_into(con, store, config, console, result, batch_rows)
            con.execute("CHECKPOINT")
            built = True
            faults.point("build-checkpointed")
        except duckdb.Error as exc:
            if is_disk_full(exc):
                raise DiskFull(target) from exc
            raise WarehouseError(
                f"the build of {target} failed: {exc}. "
                + (
                    "The previous warehouse is unchanged."
                    if aside
                    else "Its last step was rolled back; run the build again."
                )
            ) from exc
        finally:
            con.close()
            if not built:  # nothing half-written is kept
                _drop_aside(path, aside)
        if aside:
            # a WAL left by a crashed earlier build belongs to the old file, not this one
            Path(str(target) + ".wal").unlink(missing_ok=True)
            os.replace(path, target)
            fsync_path(target.parent)
        if publish:
            publish_analyst_copy(target, analyst)
    result.seconds = time.perf_counter() - start
    console.info(result.summary())
    return result


def _drop_aside(path: Path, aside: bool) -> None:
    """Remove the new file of a full rebuild that did not finish, and its WAL."""
    if aside:
        for leftover in (path, Path(str(path) + ".wal")):
            leftover.unlink(missing_ok=True)


def _build_into(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    config: Config,
    console: Console,
    result: BuildResult,
    batch_rows: int,
) -> None:
    """The build's steps (``pipeline.warehouse.steps``) on the open warehouse, or on the new file
    of a full rebuild."""
    # tables, views and macros first (tables/ makes the tables the steps below fill); an
    # incremental build skips this when queries/ has not changed since the last build
    create_views(con, config.timezone, force=result.full)
    steps.register_inputs(con, store, config)
    # 1. One transaction: refresh the catalog and settings, forget what must be redone, log the
    #    incomplete new snapshots.
    with steps.transaction(con):
        result.campaigns_rebuilt = steps.forget_what_changed(con, console)
    root = Path(store.root).resolve()
    new = steps.new_snapshots(con, root)
    result.snapshots_new = len(new)
    result.snapshots_incomplete = sum(1 for r in new if not r[5])
    result.campaigns = len({r[1] for r in new})
    # 2. The complete new snapshots into the history, chunk by chunk.
    complete = [r for r in new if r[5]]
    result.rows_read = steps.apply_snapshots(con, complete, root, console, batch_rows)
    # 3. The daily tables: redo the campaign days the steps above (or an earlier build that
    #    stopped before this) marked.
    steps.redo_days(con)
    steps.drop_temp_tables(con)
    row = first_row(con, "SELECT count(*) FROM state_history")
    result.history_rows = row[0] if row else 0
