"""The build's steps, each on an open warehouse connection, and the tables they write.

``pipeline.warehouse.build`` runs them in this order: ``register_inputs`` (the run log, the
campaigns, and the snapshot index, catalog and settings as frames); ``forget_what_changed`` (one
transaction); ``apply_snapshots`` over the complete ``new_snapshots`` (one transaction per chunk,
each running ``queries/build/history_step.sql``); ``redo_days`` (``queries/build/daily_step.sql``,
one transaction per group of campaigns); ``drop_temp_tables``. A build stopped half-way leaves a
consistent warehouse, which the next build continues.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import WarehouseError
from pipeline.store.snapshots import Store
from pipeline.warehouse.sql import read_query, run_sql_file

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
    "snapshot_reached",
    "snapshot_states",
    "reach_hours",
)
#: Tables a build writes: full and incremental builds must give the same rows in each.
RESULT_TABLES = ("catalog", "settings", *CAMPAIGN_TABLES)

#: The build steps' temporary tables.
TEMP_TABLES = (
    "batch_snapshots",
    "batch_seq",
    "batch_raw_values",
    "batch_raw_groups",
    "batch_groups",
    "batch_intervals",
    "batch_changed",
    "batch_new",
    "batch_milestones",
    "batch_hours",
    "new_snapshots",
    "dirty_days",
    "dirty_ends",
)


def register_inputs(con: duckdb.DuckDBPyConnection, store: Store, config: Config) -> None:
    """The run log, the campaigns, and the snapshot index, catalog and settings as frames."""
    # the scheduler's run log (logs/runs.jsonl) as the table run_log, for the view runs
    from pipeline.core.alerts import alert_settings
    from pipeline.store.runlog import load_into_duckdb
    from pipeline.warehouse.quality import load_quality_inputs

    load_into_duckdb(con, store.root)
    load_campaigns(con, store)
    load_quality_inputs(con, store)
    snapshots = store.index_frame()
    catalog = load_catalog().frame()
    values = {
        "timezone": config.timezone,
        "stuck_after_minutes": str(config.stuck_after_minutes),
        "finished_after_hours": str(config.report.finished_after_hours),
        "stale_after_hours": str(config.report.stale_after_hours),
        "projection_min_campaigns": str(config.report.projection_min_campaigns),
        **alert_settings(config.alerts),  # alerts.<name>: the attention view's rules
    }
    settings = pl.DataFrame({"key": list(values), "value": list(values.values())})
    con.register("index_frame", snapshots.to_arrow())
    con.register("catalog_frame", catalog.to_arrow())
    con.register("settings_frame", settings.to_arrow())


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
            # who said it finished: ingest (--finished, a _final file) or else the API
            "finished_from": [
                (v.get("finished_from") or "api") if v.get("finished") else None
                for v in known.values()
            ],
        },
        schema=dict.fromkeys(
            ("campaign_id", "name", "channel", "started", "finished", "finished_from"), pl.String
        ),
    )
    con.register("_campaigns_frame", frame.to_arrow())
    try:
        con.execute(
            "CREATE OR REPLACE TABLE campaigns AS SELECT campaign_id, name, channel, "
            "TRY_CAST(started AS TIMESTAMPTZ) AS started, "
            "TRY_CAST(finished AS TIMESTAMPTZ) AS finished, finished_from FROM _campaigns_frame"
        )
    finally:
        con.unregister("_campaigns_frame")
    con.execute(
        "COMMENT ON TABLE campaigns IS 'One row per campaign the store knows more of than its id "
        "(from the mluvii API campaign list, or ingest --finished): name, channel, started, "
        "finished, finished_from (api or ingest).'"
    )
    return frame.height


def forget_what_changed(con: duckdb.DuckDBPyConnection, console: Console) -> list[str]:
    """Refresh the catalog and settings; delete the rows of the campaigns that must be rebuilt
    (returns them); list the new snapshots (``new_snapshots``) and log the incomplete ones."""
    con.execute("DELETE FROM catalog")
    con.execute("INSERT INTO catalog BY NAME SELECT * FROM catalog_frame")
    con.execute("DELETE FROM settings")
    con.execute("INSERT INTO settings BY NAME SELECT * FROM settings_frame")
    # Snapshots the store no longer lists (retention) or lists with other rows or completeness,
    # or in a file of their own that is not the one built from (an erasure or `ingest --replace`
    # rewrote it): their campaigns are rebuilt. A snapshot only moved into a shared file (a
    # compaction, compact-*.parquet) has the same rows: its new file is noted, nothing rebuilt.
    changed = con.execute(
        "SELECT DISTINCT s.campaign_id FROM snapshot_log AS s "
        "LEFT JOIN index_frame AS m USING (snapshot_id) "
        "WHERE m.snapshot_id IS NULL "
        "OR m.complete IS DISTINCT FROM s.complete OR m.rows IS DISTINCT FROM s.rows "
        "OR (m.path IS DISTINCT FROM s.path AND m.path NOT LIKE '%/compact-%') ORDER BY 1"
    ).fetchall()
    con.execute(
        "UPDATE snapshot_log AS s SET path = m.path FROM index_frame AS m "
        "WHERE m.snapshot_id = s.snapshot_id AND m.path IS DISTINCT FROM s.path"
    )
    # A new complete snapshot not later than its campaign's newest processed one: that
    # campaign is rebuilt from all its snapshots.
    late = con.execute(
        "SELECT DISTINCT m.campaign_id FROM index_frame AS m "
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
    rebuilt = sorted({c for (c,) in changed} | {c for (c,) in late})
    for table in CAMPAIGN_TABLES:
        con.execute(
            f"DELETE FROM {table} WHERE campaign_id IN (SELECT UNNEST(?::VARCHAR[]))", [rebuilt]
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE new_snapshots AS SELECT * FROM index_frame AS m "
        "WHERE m.snapshot_id NOT IN (SELECT snapshot_id FROM snapshot_log)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE batch_snapshots (snapshot_id VARCHAR)")
    run_sql_file(con, "build/log_snapshots.sql")  # the incomplete ones
    return rebuilt


def new_snapshots(con: duckdb.DuckDBPyConnection, root: Path) -> list[tuple[Any, ...]]:
    """The new snapshots (snapshot_id, campaign_id, snapshot_time, path, rows, complete) in time
    order, after checking that the files of the complete ones are there (under ``root``, the
    store's folder)."""
    new = con.execute(
        "SELECT snapshot_id, campaign_id, snapshot_time, path, rows, complete FROM new_snapshots "
        "ORDER BY snapshot_time, campaign_id"
    ).fetchall()
    for r in new:
        if r[5] and not (root / r[3]).is_file():
            raise WarehouseError(
                f"the snapshot file {root / r[3]} (campaign {r[1]}) is listed in the store but "
                "missing. Restore it from a backup (the store is the system of record); the "
                "warehouse keeps what it had."
            )
    return new


def apply_snapshots(
    con: duckdb.DuckDBPyConnection,
    complete: list[tuple[Any, ...]],
    root: Path,
    console: Console,
    batch_rows: int,
) -> int:
    """The complete new snapshots (rows of ``new_snapshots``), each campaign's in time order, in
    chunks of about ``batch_rows`` rows: each chunk extends the history and logs its snapshots in
    one transaction, so that a build that stops half-way leaves a consistent warehouse which the
    next build continues. Returns the rows read."""
    rows_read = 0
    for chunk in chunks(complete, batch_rows):
        with transaction(con):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE batch_snapshots AS "
                "SELECT campaign_id, snapshot_id, snapshot_time FROM new_snapshots "
                "WHERE snapshot_id IN (SELECT UNNEST(?::VARCHAR[]))",
                [[r[0] for r in chunk]],
            )
            # (a compacted file holds several snapshots: each file is read once)
            files = list(dict.fromkeys(str(root / r[3]) for r in chunk))
            con.execute("SET VARIABLE batch_files = ?", [files])
            run_sql_file(con, "build/history_step.sql")
            _, check_sql = read_query("build/check_step.sql")
            twice = con.execute(check_sql).fetchall()
            if twice:
                examples = ", ".join(
                    f"contact {c} of campaign {k} ({snapshot_listing_twice(con, k, c)})"
                    for k, c in twice
                )
                raise WarehouseError(
                    f"a snapshot lists a contact more than once: {examples}. The store's ingest "
                    "never publishes that; nothing of this step was written."
                )
            run_sql_file(con, "build/log_snapshots.sql")
        rows_read += sum(r[4] for r in chunk)
        console.info(
            f"  {rows_read:,} rows of {len(complete):,} new snapshot(s) applied"
            if len(complete) > len(chunk)
            else f"  {len(chunk):,} new snapshot(s) applied"
        )
    return rows_read


def snapshot_listing_twice(con: duckdb.DuckDBPyConnection, campaign: str, contact: str) -> str:
    """For the error message: the batch's snapshot that lists this contact more than once."""
    rows = con.execute(
        "SELECT min(snapshot_id) FROM (SELECT r.snapshot_id FROM read_parquet("
        "getvariable('batch_files'), hive_partitioning = false) AS r "
        "JOIN batch_seq AS s USING (snapshot_id) WHERE s.campaign_id = ? AND r.contact_id = ? "
        "GROUP BY r.snapshot_id HAVING count(*) > 1)",
        [campaign, contact],
    ).fetchall()
    return str(rows[0][0]) if rows and rows[0][0] else "snapshot unknown"


def daily_groups(con: duckdb.DuckDBPyConnection) -> list[list[str]]:
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


def chunks(rows: list[tuple[Any, ...]], batch_rows: int) -> Iterator[list[tuple[Any, ...]]]:
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
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def redo_days(con: duckdb.DuckDBPyConnection) -> None:
    """The daily tables: redo the campaign days that the history steps (of this build, or of an
    earlier one that stopped before this) marked in ``daily_dirty``, a group of campaigns per
    transaction."""
    for campaigns in daily_groups(con):
        with transaction(con):
            con.execute("SET VARIABLE daily_campaigns = ?::VARCHAR[]", [campaigns])
            run_sql_file(con, "build/daily_step.sql")


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP VIEW IF EXISTS batch_points")
    for name in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {name}")
