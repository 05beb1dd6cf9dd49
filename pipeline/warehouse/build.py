"""The DuckDB warehouse: a cache built from the snapshot store, and the analysts' read-only copy.

Layout under the data directory::

    warehouse/warehouse.duckdb   written by `campaign-reports build` only (one job at a time)
    warehouse/analyst.duckdb     the analysts' copy, replaced atomically after every build
    warehouse/.lock              held by the build at work

A build reads the store's manifest, and processes only the snapshots its ``snapshot_log`` has not
seen: it reads their Parquet files (and nothing else) and extends the compact state history
(``history_closed`` / ``history_open``, one row per contact per state change) in SQL
(``queries/build/history_step.sql``), in chunks of about ``BATCH_ROWS`` rows (campaign after
campaign, each campaign's snapshots in time order), each chunk one transaction. Each chunk also
merges its contacts' funnel milestones into ``milestones`` and marks its snapshots' campaign days
in ``daily_dirty``; at the end one step (``queries/build/daily_step.sql``) redoes those days' rows
of ``daily_state`` and ``daily_moves`` (what the views ``campaign_daily`` and ``state_transitions``
read), reading only the history since the earliest of them. The views and table macros of
``queries/*.sql`` are re-created when those files change. The result equals a full rebuild
(``full=True``, written aside and renamed into place). A snapshot older than its campaign's newest
processed one, or one that retention removed or an erasure rewrote, makes that campaign rebuild
from its snapshots; a change to the tables or build steps (``schema.sql``, ``queries/build/``), the
state catalog or the time zone makes the next build a full one. Incomplete snapshots are logged and
kept out of the history. A snapshot must list each contact once (ingest guarantees it); one that
does not stops the build with an error naming it.

After each build the warehouse is checkpointed and copied to a temporary file beside the analyst
copy, fsynced, and renamed over it. An analyst who holds the old copy open keeps reading the old
file (its inode lives on) and sees the new data on reconnect; the build never opens the analyst
copy, so an open session cannot make it fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import fsync_path
from pipeline.core.errors import QueryError, WarehouseError
from pipeline.core.resources import resource_dir
from pipeline.store.snapshots import Store

WAREHOUSE_DIR = "warehouse"
WAREHOUSE_FILE = "warehouse.duckdb"
ANALYST_FILE = "analyst.duckdb"
LOCK_FILE = ".lock"
QUERIES_ENV = "CAMPAIGN_REPORTS_QUERIES_DIR"
#: The oldest DuckDB release that must be able to open the analyst copy (the DuckDB CLI).
STORAGE_COMPATIBILITY = "v1.5.0"

#: Files in queries/ that must be loaded before the others (the others follow in name order).
#: schema.sql creates the tables; the views and macros come after in dependency order.
QUERY_ORDER = (
    "schema.sql",
    "params.sql",
    "state_history.sql",
    "snapshots.sql",
    "latest_snapshots.sql",
    "contact_milestones.sql",
    "contact_state.sql",
    "state_counts.sql",
    "funnel.sql",
    "campaign_daily.sql",
    "state_transitions.sql",
    "stuck_contacts.sql",
    "data_quality.sql",
    "runs.sql",
    "report_base.sql",  # the other report_*.sql macros call it: it loads first
)
#: A build applies new snapshots in chunks of about this many rows (memory stays bounded).
BATCH_ROWS = 4_000_000
#: The daily step redoes the days of campaigns with about this many contacts in all at a time.
DAILY_BATCH_CONTACTS = 1_000_000
#: A chunk holds at most this many snapshots of one campaign: history_step.sql keeps each
#: contact's positions (0 for the open intervals, then 1..n) as bits of a 127-bit mask.
MAX_SNAPSHOTS_PER_CAMPAIGN = 126
#: Tables that hold rows of a campaign: a campaign rebuilt from its snapshots starts with none.
CAMPAIGN_TABLES = (
    "history_closed",
    "history_open",
    "snapshot_log",
    "milestones",
    "daily_state",
    "daily_moves",
    "daily_dirty",
)
#: Tables a build writes: full and incremental builds must give the same rows in each.
RESULT_TABLES = ("catalog", "settings", *CAMPAIGN_TABLES)


class WarehouseBusy(WarehouseError):
    """Another build holds the warehouse's lock."""


class NoWarehouse(WarehouseError):
    """No analyst copy has been built yet."""


class QueryTimeout(QueryError):
    """An ad-hoc query ran longer than its time limit."""


# ------------------------------------------------------------------------------------ the queries
def queries_dir() -> Path:
    """The queries/ folder: ``$CAMPAIGN_REPORTS_QUERIES_DIR``, else the one beside ``pipeline/``."""
    env = os.environ.get(QUERIES_ENV)
    if env:
        return Path(env)
    return resource_dir("queries")


def query_files(folder: Path | None = None) -> list[Path]:
    """The view and macro files of queries/, in load order (build steps in queries/build/ aside)."""
    root = folder or queries_dir()
    if not root.is_dir():
        raise QueryError(
            f"the SQL folder {root} does not exist; set {QUERIES_ENV} to the queries/ folder"
        )
    present = {p.name: p for p in root.glob("*.sql")}
    ordered = [present[n] for n in QUERY_ORDER if n in present]
    missing = [n for n in QUERY_ORDER if n not in present]
    if missing:
        raise QueryError(f"{root}: SQL files missing: {', '.join(missing)}")
    ordered += sorted(p for n, p in present.items() if n not in QUERY_ORDER)
    return ordered


def read_query(name: str, folder: Path | None = None) -> tuple[Path, str]:
    path = (folder or queries_dir()) / name
    try:
        return path, path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"cannot read the SQL file {path}: {exc}") from exc


def run_sql_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: list[Any] | None = None,
    folder: Path | None = None,
) -> None:
    """Run one file of queries/ (may hold several statements); errors name the file."""
    path, sql = read_query(name, folder)
    try:
        if params is None:
            con.execute(sql)
        else:
            con.execute(sql, params)
    except duckdb.Error as exc:
        raise QueryError(f"{path}: {exc}".strip()) from exc


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query, with the result read to its end (DuckDB refuses the next
    statement on a connection whose last result was not finished)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def schema_digest(timezone: str, folder: Path | None = None) -> str:
    """Hash of what decides the stored tables' shape and content: schema.sql, queries/build/, the
    state catalog (milestones use its funnel ranks) and the time zone (the daily tables' days).
    When it changes, the next build is a full rebuild."""
    root = folder or queries_dir()
    files = _digest([root / "schema.sql", *sorted((root / "build").glob("*.sql"))])
    catalog = load_catalog().frame().write_csv()
    return hashlib.sha256("\0".join((files, catalog, timezone)).encode()).hexdigest()


def create_views(
    con: duckdb.DuckDBPyConnection,
    timezone: str,
    folder: Path | None = None,
    *,
    force: bool = True,
) -> bool:
    """(Re)create every table, view and macro of queries/. Unless ``force``, skip it when the
    files are the same as at the last build (their hash is kept in ``warehouse_meta``).
    ``timezone`` is the configured one (part of ``schema_digest``). Returns True if the files
    were run."""
    files = query_files(folder)
    digest = _digest(files)
    con.execute("CREATE TABLE IF NOT EXISTS warehouse_meta (key VARCHAR, value VARCHAR)")
    row = _one(con, "SELECT value FROM warehouse_meta WHERE key = 'queries_sha256'")
    if not force and row is not None and row[0] == digest:
        return False
    for path in files:
        run_sql_file(con, path.name, folder=path.parent)
    con.execute("DELETE FROM warehouse_meta")
    con.execute(
        "INSERT INTO warehouse_meta VALUES ('queries_sha256', ?), ('schema_sha256', ?)",
        [digest, schema_digest(timezone, files[0].parent)],
    )
    return True


def _schema_changed(path: Path, timezone: str) -> bool:
    """True if the warehouse at ``path`` was built with another schema.sql, build step, catalog
    or time zone."""
    con = connect(path, read_only=True)
    try:
        rows = con.execute(
            "SELECT value FROM duckdb_tables() t, warehouse_meta m "
            "WHERE t.table_name = 'warehouse_meta' AND m.key = 'schema_sha256'"
        ).fetchall()
    except duckdb.Error:
        return True
    finally:
        con.close()
    return not rows or rows[0][0] != schema_digest(timezone)


# ------------------------------------------------------------------------------------- the build
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

    def summary(self) -> str:
        kind = "full rebuild" if self.full else "incremental build"
        text = (
            f"{kind}: {self.snapshots_new:,} new snapshot(s) of {self.campaigns:,} campaign(s), "
            f"{self.rows_read:,} rows read; state history now {self.history_rows:,} rows; "
            f"{self.seconds:.1f} s"
        )
        if self.snapshots_incomplete:
            text += f"; {self.snapshots_incomplete:,} incomplete snapshot(s) logged, not counted"
        return text


def warehouse_paths(config: Config) -> tuple[Path, Path]:
    folder = Path(config.data_dir) / WAREHOUSE_DIR
    return folder / WAREHOUSE_FILE, folder / ANALYST_FILE


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusy(
                f"the warehouse in {folder} is busy: another build is running. Nothing was "
                "changed; try again when it has finished."
            ) from None
        yield
    finally:
        os.close(fd)


def connect(
    path: Path | str, *, read_only: bool = False, memory_limit: str = ""
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the session settings every warehouse connection uses.

    Files are written in a storage format that older DuckDB releases read too (the DuckDB CLI
    from the ``duckdb-cli`` package may be older than the Python library). With
    ``memory_limit`` (the configured one, for jobs) DuckDB keeps to it and spills what does not
    fit to ``.tmp`` beside the file."""
    config: dict[str, str | bool | int | float | list[str]] = (
        {} if read_only else {"storage_compatibility_version": STORAGE_COMPATIBILITY}
    )
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the DuckDB file {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET temp_directory = ?", [str(Path(path).parent / ".tmp")])
    return con


def build(
    config: Config,
    console: Console | None = None,
    *,
    full: bool = False,
    store: Store | None = None,
    publish: bool = True,
    batch_rows: int = BATCH_ROWS,
) -> BuildResult:
    """Create or refresh the warehouse from the store, then publish the analyst copy."""
    console = console or Console.silent()
    store = store or Store(config.data_dir)
    target, analyst = warehouse_paths(config)
    start = time.perf_counter()
    with _build_lock(target.parent):
        if not full and target.exists() and _schema_changed(target, config.timezone):
            console.info(
                "the warehouse's tables or build steps (queries/schema.sql, queries/build/), the "
                "state catalog or the time zone changed since the last build: rebuilding it in full"
            )
            full = True
        full = full or not target.exists()
        path = target.with_name(WAREHOUSE_FILE + ".full-tmp") if full else target
        if full:
            for leftover in (path, Path(str(path) + ".wal")):
                leftover.unlink(missing_ok=True)
        result = BuildResult(full=full, warehouse=target, analyst=analyst)
        con = connect(path, memory_limit=config.memory_limit)
        try:
            _build_into(con, store, config, console, result, batch_rows)
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise WarehouseError(
                f"the build of {target} failed: {exc}. "
                + (
                    "The previous warehouse is unchanged."
                    if full
                    else "Its last step was rolled back; run the build again."
                )
            ) from exc
        finally:
            con.close()
        if full:
            # a WAL left by a crashed earlier build belongs to the old file, not this one
            Path(str(target) + ".wal").unlink(missing_ok=True)
            os.replace(path, target)
            fsync_path(target.parent)
        if publish:
            publish_analyst_copy(target, analyst)
    result.seconds = time.perf_counter() - start
    console.info(result.summary())
    return result


def _build_into(
    con: duckdb.DuckDBPyConnection,
    store: Store,
    config: Config,
    console: Console,
    result: BuildResult,
    batch_rows: int,
) -> None:
    # tables, views and macros first (schema.sql makes the tables the steps below fill); an
    # incremental build skips this when queries/ has not changed since the last build
    create_views(con, config.timezone, force=result.full)
    # the scheduler's run log (logs/runs.jsonl) as the table run_log, for the view runs
    from pipeline.store.runlog import load_into_duckdb

    load_into_duckdb(con, store.root)
    load_campaigns(con, store)
    manifest = store.manifest_frame()
    catalog = load_catalog().frame()
    settings = pl.DataFrame(
        {
            "key": ["timezone", "stuck_after_minutes"],
            "value": [config.timezone, str(config.stuck_after_minutes)],
        }
    )
    con.register("manifest_frame", manifest.to_arrow())
    con.register("catalog_frame", catalog.to_arrow())
    con.register("settings_frame", settings.to_arrow())

    # 1. One transaction: refresh the catalog and settings, forget what must be redone, log the
    #    incomplete new snapshots.
    with _transaction(con):
        con.execute("DELETE FROM catalog")
        con.execute("INSERT INTO catalog BY NAME SELECT * FROM catalog_frame")
        con.execute("DELETE FROM settings")
        con.execute("INSERT INTO settings BY NAME SELECT * FROM settings_frame")
        # Snapshots the manifest no longer lists (retention) or lists with another file or
        # completeness (an erasure rewrote it): their campaigns are rebuilt.
        changed = con.execute(
            "SELECT DISTINCT s.campaign_id FROM snapshot_log AS s "
            "LEFT JOIN manifest_frame AS m USING (snapshot_id) "
            "WHERE m.snapshot_id IS NULL OR m.path IS DISTINCT FROM s.path "
            "OR m.complete IS DISTINCT FROM s.complete OR m.rows IS DISTINCT FROM s.rows ORDER BY 1"
        ).fetchall()
        # A new complete snapshot not later than its campaign's newest processed one: that
        # campaign is rebuilt from all its snapshots.
        late = con.execute(
            "SELECT DISTINCT m.campaign_id FROM manifest_frame AS m "
            "JOIN (SELECT campaign_id, max(snapshot_time) AS newest FROM snapshot_log "
            "      WHERE complete GROUP BY campaign_id) AS o USING (campaign_id) "
            "WHERE m.complete AND m.snapshot_time <= o.newest "
            "AND m.snapshot_id NOT IN (SELECT snapshot_id FROM snapshot_log) ORDER BY 1"
        ).fetchall()
        for (cid,) in changed:
            console.info(
                f"campaign {cid}: snapshots were removed or rewritten in the store since the last "
                "build; rebuilding this campaign's history"
            )
        for (cid,) in late:
            console.info(
                f"campaign {cid}: a snapshot arrived older than the newest one already built; "
                "rebuilding this campaign's history from all its snapshots"
            )
        result.campaigns_rebuilt = sorted({c for (c,) in changed} | {c for (c,) in late})
        rebuild = [result.campaigns_rebuilt]
        for table in CAMPAIGN_TABLES:
            con.execute(
                f"DELETE FROM {table} WHERE campaign_id IN (SELECT UNNEST(?::VARCHAR[]))", rebuild
            )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_snapshots AS SELECT * FROM manifest_frame AS m "
            "WHERE m.snapshot_id NOT IN (SELECT snapshot_id FROM snapshot_log)"
        )
        con.execute("CREATE OR REPLACE TEMP TABLE batch_snapshots (snapshot_id VARCHAR)")
        run_sql_file(con, "build/log_snapshots.sql")  # the incomplete ones

    new = con.execute(
        "SELECT snapshot_id, campaign_id, snapshot_time, path, rows, complete FROM new_snapshots "
        "ORDER BY snapshot_time, campaign_id"
    ).fetchall()
    result.snapshots_new = len(new)
    result.snapshots_incomplete = sum(1 for r in new if not r[5])
    result.campaigns = len({r[1] for r in new})
    complete = [r for r in new if r[5]]
    root = Path(store.root).resolve()
    for r in complete:
        if not (root / r[3]).is_file():
            raise WarehouseError(
                f"the snapshot file {root / r[3]} (campaign {r[1]}) is listed in the manifest but "
                "missing. Restore it from a backup (the store is the system of record); the "
                "warehouse keeps what it had."
            )

    # 2. The complete new snapshots, each campaign's in time order, in chunks of about batch_rows
    #    rows: each chunk extends the history and logs its snapshots in one transaction, so that
    #    a build that stops half-way leaves a consistent warehouse which the next build continues.
    for chunk in _chunks(complete, batch_rows):
        with _transaction(con):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE batch_snapshots AS "
                "SELECT campaign_id, snapshot_id, snapshot_time FROM new_snapshots "
                "WHERE snapshot_id IN (SELECT UNNEST(?::VARCHAR[]))",
                [[r[0] for r in chunk]],
            )
            con.execute("SET VARIABLE batch_files = ?", [[str(root / r[3]) for r in chunk]])
            run_sql_file(con, "build/history_step.sql")
            _, check_sql = read_query("build/check_step.sql")
            twice = con.execute(check_sql).fetchall()
            if twice:
                examples = ", ".join(
                    f"contact {c} of campaign {k} ({_snapshot_listing_twice(con, k, c)})"
                    for k, c in twice
                )
                raise WarehouseError(
                    f"a snapshot lists a contact more than once: {examples}. The store's ingest "
                    "never publishes that; nothing of this step was written."
                )
            run_sql_file(con, "build/log_snapshots.sql")
        result.rows_read += sum(r[4] for r in chunk)
        console.info(
            f"  {result.rows_read:,} rows of {len(complete):,} new snapshot(s) applied"
            if len(complete) > len(chunk)
            else f"  {len(chunk):,} new snapshot(s) applied"
        )

    # 3. The daily tables: redo the campaign days the steps above (or an earlier build that
    #    stopped before this) marked.
    for campaigns in _daily_groups(con):
        with _transaction(con):
            con.execute("SET VARIABLE daily_campaigns = ?::VARCHAR[]", [campaigns])
            run_sql_file(con, "build/daily_step.sql")
    for name in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {name}")
    row = _one(con, "SELECT count(*) FROM state_history")
    result.history_rows = row[0] if row else 0


def _snapshot_listing_twice(con: duckdb.DuckDBPyConnection, campaign: str, contact: str) -> str:
    """For the error message: the batch's snapshot that lists this contact more than once."""
    rows = con.execute(
        "SELECT min(snapshot_id) FROM (SELECT r.snapshot_id FROM read_parquet("
        "getvariable('batch_files'), hive_partitioning = false) AS r "
        "JOIN batch_seq AS s USING (snapshot_id) WHERE s.campaign_id = ? AND r.contact_id = ? "
        "GROUP BY r.snapshot_id HAVING count(*) > 1)",
        [campaign, contact],
    ).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else "snapshot unknown"


def _daily_groups(con: duckdb.DuckDBPyConnection) -> list[list[str]]:
    """The campaigns with days in ``daily_dirty``, in groups of at most ``DAILY_BATCH_CONTACTS``
    current contacts (at least one campaign each): the daily step runs once per group."""
    sizes = con.execute(
        "SELECT d.campaign_id, coalesce(o.n, 0) FROM (SELECT DISTINCT campaign_id FROM "
        "daily_dirty) AS d LEFT JOIN (SELECT campaign_id, count(*) AS n FROM history_open "
        "GROUP BY campaign_id) AS o USING (campaign_id) ORDER BY 1"
    ).fetchall()
    groups: list[list[str]] = []
    total = 0
    for campaign, n in sizes:
        if not groups or total + n > DAILY_BATCH_CONTACTS:
            groups.append([])
            total = 0
        groups[-1].append(campaign)
        total += n
    return groups


#: The build steps' temporary tables.
TEMP_TABLES = (
    "batch_snapshots",
    "batch_seq",
    "batch_groups",
    "batch_intervals",
    "batch_new",
    "new_snapshots",
    "dirty_days",
    "dirty_ends",
)


def _chunks(rows: list[tuple[Any, ...]], batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
    """The steps of a build: campaign after campaign, each campaign's snapshots in time order, cut
    into chunks of at most ``batch_rows`` rows (at least one snapshot each) and at most
    ``MAX_SNAPSHOTS_PER_CAMPAIGN`` snapshots of one campaign. A step reads the open intervals of
    its campaigns once for all their snapshots in it, so few campaigns per step and many
    snapshots each make that read cheap. ``rows`` come in time order."""
    by_campaign: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        by_campaign[r[1]].append(r)
    chunk: list[tuple[Any, ...]] = []
    total = 0
    for campaign in sorted(by_campaign):
        count = 0  # this campaign's snapshots in the chunk
        for r in by_campaign[campaign]:
            if chunk and (total + r[4] > batch_rows or count >= MAX_SNAPSHOTS_PER_CAMPAIGN):
                yield chunk
                chunk, total, count = [], 0, 0
            chunk.append(r)
            total += r[4]
            count += 1
    if chunk:
        yield chunk


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def load_campaigns(con: duckdb.DuckDBPyConnection, store: Store) -> int:
    """Replace the table ``campaigns`` with what the store knows of each campaign (names from
    the API's campaign list); reports show the name where there is one."""
    known = store.campaigns()
    frame = pl.DataFrame(
        {
            "campaign_id": list(known),
            "name": [v.get("name") for v in known.values()],
            "channel": [v.get("channel") for v in known.values()],
            "started": [v.get("started") for v in known.values()],
            "finished": [v.get("finished") for v in known.values()],
        },
        schema=dict.fromkeys(("campaign_id", "name", "channel", "started", "finished"), pl.String),
    )
    con.register("_campaigns_frame", frame.to_arrow())
    try:
        con.execute(
            "CREATE OR REPLACE TABLE campaigns AS SELECT campaign_id, name, channel, "
            "TRY_CAST(started AS TIMESTAMPTZ) AS started, "
            "TRY_CAST(finished AS TIMESTAMPTZ) AS finished FROM _campaigns_frame"
        )
    finally:
        con.unregister("_campaigns_frame")
    con.execute(
        "COMMENT ON TABLE campaigns IS 'One row per campaign the store knows more of than its id "
        "(from the mluvii API campaign list): name, channel, started, finished.'"
    )
    return frame.height


def publish_analyst_copy(warehouse: Path, analyst: Path) -> None:
    """Copy the (checkpointed, closed) warehouse aside, fsync it, and rename it over the copy."""
    tmp = analyst.with_name(f".{analyst.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(warehouse, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, analyst)
        fsync_path(analyst.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WarehouseError(
            f"the analyst copy {analyst} could not be published: {exc}. The warehouse itself "
            "is built; the next build publishes again."
        ) from exc


# ---------------------------------------------------------------------------------- ad-hoc SQL
@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    seconds: float


def open_analyst(config: Config) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the analyst copy."""
    _, analyst = warehouse_paths(config)
    if not analyst.exists():
        raise NoWarehouse(
            f"there is no warehouse in {analyst.parent} yet: run `campaign-reports build` first"
        )
    return connect(analyst, read_only=True, memory_limit=config.memory_limit)


def run_query(
    config: Config, sql: str, *, max_rows: int = 1000, timeout: float | None = 60.0
) -> QueryResult:
    """Run one ad-hoc query on the analyst copy, read-only, with a time limit and a row cap."""
    if not sql.strip():
        raise QueryError("the query is empty")
    con = open_analyst(config)
    timer: threading.Timer | None = None
    timed_out = threading.Event()
    finished = threading.Event()

    def stop() -> None:
        timed_out.set()
        # Again and again until the query is over: an interrupt that comes before DuckDB has
        # begun to execute (the machine is busy, the limit tiny) would otherwise be lost.
        while not finished.is_set():
            con.interrupt()
            finished.wait(0.05)

    start = time.perf_counter()
    try:
        if timeout:
            timer = threading.Timer(timeout, stop)
            timer.daemon = True
            timer.start()
        try:
            cur = con.execute(sql)
            description = cur.description or []
            rows = cur.fetchmany(max_rows + 1) if description else []
        except (duckdb.Error, RuntimeError) as exc:
            if timed_out.is_set():
                raise QueryTimeout(
                    f"the query ran longer than {timeout:g} s and was stopped; "
                    "narrow it down or raise --timeout"
                ) from exc
            raise QueryError(f"the query failed: {exc}") from exc
    finally:
        finished.set()
        if timer is not None:
            timer.cancel()
            timer.join()
        con.close()
    truncated = len(rows) > max_rows
    return QueryResult(
        columns=[d[0] for d in description],
        types=[str(d[1]) for d in description],
        rows=rows[:max_rows],
        truncated=truncated,
        seconds=time.perf_counter() - start,
    )
