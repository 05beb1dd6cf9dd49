"""Loading the Spark job's results into the warehouse (``campaign-reports build --from-spark DIR``).

The Spark job (``campaign-reports spark``, ``queries/portable/``) writes one Parquet folder per
output under DIR and a one-row ``_job/`` folder saying what they were computed from. Its outputs
are the warehouse's stored tables, computed by the same rules (the Spark tests compare them row
for row): ``state_history`` is ``history_closed`` (valid_to set) and ``history_open`` (valid_to
NULL), ``milestones`` is ``milestones``, ``campaign_daily`` holds the columns of ``daily_state``,
``state_transitions`` the rows of ``daily_moves``, and ``snapshot_list`` the complete snapshots
they cover (``snapshot_log``, with the snapshot index's source, counts and duplicates where it lists the
snapshot).

``load`` puts them into a new, empty warehouse file; the build (``pipeline.warehouse.build``) then
goes on as an incremental build on it, which makes the result equal a full build from the store:

* complete snapshots the job did not see are applied from the store: later ones (the job ran with
  ``--to``, or before they arrived) as new snapshots; an older one, e.g. an empty snapshot (a file
  without rows, which Spark cannot see), rebuilds its campaign from the store, as a late
  snapshot does;
* a snapshot the job saw that the store no longer lists, or lists with another file or row count
  (retention, erasure since), rebuilds its campaign;
* campaign days with snapshots but no row of ``campaign_daily`` (the job ran with ``--from``) are
  marked in ``daily_dirty`` and computed from the loaded history;
* the funnel ever and the state counts at each snapshot and the hours of the milestones
  (``snapshot_reached``, ``snapshot_states``, ``reach_hours``, which the job does not write)
  are computed from the loaded history.

The job must have finished (status ``complete``) with this configuration's time zone, this state
catalog and this package version; anything else is refused before the warehouse is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import duckdb
import polars as pl

import pipeline
from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import SparkJobError
from pipeline.store.snapshots import Store
from pipeline.warehouse.steps import transaction

#: The job's facts (``pipeline.spark.job.JOB_TABLE``) and the outputs the warehouse loads.
JOB_TABLE = "_job"
NEEDED = ("snapshot_list", "state_history", "milestones", "campaign_daily", "state_transitions")
#: The columns of daily_state, in the table's order (tables/schema.sql).
DAILY_STATE = (
    "campaign_id, day, snapshot_id, snapshot_time, contacts, initial, in_progress, "
    "retry_scheduled, sent, delivered, read, delivery_failed, sending_failed, error, "
    "invalid_record, removed, canceled_by_admin, other, reached_sent, reached_delivered, "
    "reached_read, legacy_mapped"
)
DAILY_MOVES = "campaign_id, day, from_state, to_state, contacts, median_minutes_in_from_state"
HISTORY = "campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to"
MILESTONES = "campaign_id, contact_id, first_seen, first_sent_at, first_delivered_at, first_read_at"


def _parquet(out: Path, name: str) -> str:
    return str(out / name / "*.parquet")


def read_job(out: Path) -> dict[str, Any]:
    """The job's facts (one row of ``<out>/_job/``)."""
    folder = out / JOB_TABLE
    if not folder.is_dir():
        raise SparkJobError(
            f"{out} holds no Spark job results ({JOB_TABLE}/ is missing): run "
            "`campaign-reports spark --out DIR` first, and copy DIR here if it ran elsewhere. "
            "The warehouse was not changed."
        )
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT * FROM read_parquet(?)", [_parquet(out, JOB_TABLE)])
        names = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    except duckdb.Error as exc:
        raise SparkJobError(f"cannot read {folder}: {exc}. The warehouse was not changed.") from exc
    finally:
        con.close()
    if len(rows) != 1:
        raise SparkJobError(f"{folder} should hold one row, not {len(rows)}")
    return dict(zip(names, rows[0], strict=True))


def check_job(out: Path, config: Config) -> dict[str, Any]:
    """The job's facts, after checking that its results can stand in for this warehouse's."""
    job = read_job(out)
    unchanged = "The warehouse was not changed."
    if job["status"] != "complete":
        raise SparkJobError(
            f"the Spark job that wrote {out} did not finish (status {job['status']}); run it "
            f"again. {unchanged}"
        )
    if job["timezone"] != config.timezone:
        raise SparkJobError(
            f"the Spark results in {out} are for days in {job['timezone']}, this warehouse's "
            f"days are in {config.timezone}: run the job with the same configuration. {unchanged}"
        )
    if job["catalog_sha256"] != load_catalog().sha256():
        raise SparkJobError(
            f"the Spark results in {out} were computed with another state catalog: run the job "
            f"again with this one. {unchanged}"
        )
    if job["version"] != pipeline.__version__:
        raise SparkJobError(
            f"the Spark results in {out} were computed by version {job['version']}, this is "
            f"{pipeline.__version__}: run the job with this version. {unchanged}"
        )
    missing = [n for n in NEEDED if not (out / n).is_dir()]
    if missing:
        raise SparkJobError(f"{out} lacks {', '.join(missing)}/: run the job again. {unchanged}")
    return job


def store_path(file: str, roots: list[Path]) -> str:
    """The store's name of a file the job read (relative to the data directory, as the snapshot index
    and ``snapshot_log.path`` write it), from the URI or path Spark or DuckDB gave; the file as
    given if it is under none of ``roots``."""
    parsed = urlparse(file)
    local = unquote(parsed.path) if parsed.scheme in ("file", "") else None
    if local is not None:
        for root in roots:
            try:
                return Path(local).relative_to(root).as_posix()
            except ValueError:
                continue
    return file


def load(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    store: Store,
    config: Config,
    console: Console,
) -> int:
    """Fill the empty warehouse on ``con`` (its tables, views and macros created) with the Spark
    results in ``out``, in one transaction; returns the snapshots loaded. The build's steps then
    bring it up to date with the store (see the module's docstring)."""
    index = store.index_frame()
    root = Path(store.root)
    roots = list(dict.fromkeys([root.absolute(), root.resolve()]))
    seen = con.execute(
        "SELECT DISTINCT file FROM read_parquet(?)", [_parquet(out, "snapshot_list")]
    ).fetchall()
    paths = pl.DataFrame(
        {"file": [f for (f,) in seen], "path": [store_path(f, roots) for (f,) in seen]},
        schema={"file": pl.String, "path": pl.String},
    )
    con.register("spark_paths", paths.to_arrow())
    con.register("spark_manifest", index.to_arrow())
    try:
        known = con.execute(
            "SELECT count(*) FILTER (WHERE m.snapshot_id IS NOT NULL), count(*) "
            "FROM read_parquet(?) AS s LEFT JOIN spark_manifest AS m USING (snapshot_id)",
            [_parquet(out, "snapshot_list")],
        ).fetchall()[0]
        if known[1] and not known[0]:
            raise SparkJobError(
                f"the store in {store.root} lists none of the {known[1]:,} snapshots of the Spark "
                f"results in {out}: give the data directory of the store the job read "
                "(--data-dir). The warehouse was not changed."
            )
        with transaction(con):
            _insert_results(con, out, config)
    finally:
        con.unregister("spark_paths")
        con.unregister("spark_manifest")
    loaded = known[1]
    complete = index.filter(pl.col("complete")).height
    console.info(
        f"Loaded the Spark results in {out}: {loaded:,} snapshot(s) of the store's {complete:,} "
        "complete ones; the build adds the others (or rebuilds their campaigns) from the store"
        if loaded < complete
        else f"Loaded the Spark results in {out}: all {loaded:,} complete snapshot(s) of the store"
    )
    return int(loaded)


def _insert_results(con: duckdb.DuckDBPyConnection, out: Path, config: Config) -> None:
    """The Spark results into the warehouse's stored tables (inside the caller's transaction;
    ``spark_paths`` and ``spark_manifest`` registered)."""
    con.execute(
        "INSERT INTO snapshot_log "
        "SELECT s.snapshot_id, s.campaign_id, s.snapshot_time, coalesce(m.source, s.source), "
        "p.path, s.rows, true, s.rows, coalesce(m.other_rows, s.other_rows), "
        "coalesce(m.legacy_rows, s.legacy_rows), m.duplicate_rows "
        "FROM read_parquet(?) AS s JOIN spark_paths AS p USING (file) "
        "LEFT JOIN spark_manifest AS m USING (snapshot_id)",
        [_parquet(out, "snapshot_list")],
    )
    history = _parquet(out, "state_history")
    con.execute(
        f"INSERT INTO history_closed SELECT {HISTORY} FROM read_parquet(?) "
        "WHERE valid_to IS NOT NULL ORDER BY campaign_id, contact_id, valid_from",
        [history],
    )
    con.execute(
        f"INSERT INTO history_open SELECT {HISTORY} FROM read_parquet(?) "
        "WHERE valid_to IS NULL ORDER BY campaign_id, contact_id",
        [history],
    )
    con.execute(
        f"INSERT INTO milestones SELECT {MILESTONES} FROM read_parquet(?)",
        [_parquet(out, "milestones")],
    )
    con.execute(
        f"INSERT INTO daily_state SELECT {DAILY_STATE} FROM read_parquet(?) "
        "ORDER BY campaign_id, day",
        [_parquet(out, "campaign_daily")],
    )
    con.execute(
        f"INSERT INTO daily_moves SELECT {DAILY_MOVES} FROM read_parquet(?) "
        "ORDER BY campaign_id, day, from_state, to_state",
        [_parquet(out, "state_transitions")],
    )
    # the funnel ever at each snapshot and the hours of the milestones, which the job does not
    # write: from the loaded history
    con.execute(
        "INSERT INTO snapshot_reached SELECT * FROM reached_of('state_history') "
        "ORDER BY campaign_id, snapshot_time"
    )
    con.execute(
        "INSERT INTO snapshot_states SELECT * FROM states_of('state_history') "
        "ORDER BY campaign_id, snapshot_time"
    )
    con.execute("INSERT INTO reach_hours SELECT * FROM reach_hours_of()")
    # days the job did not write (before its --from): computed from the loaded history
    con.execute(
        "INSERT INTO daily_dirty SELECT DISTINCT s.campaign_id, local_day(s.snapshot_time, ?) "
        "FROM snapshot_log AS s WHERE s.complete AND NOT EXISTS (SELECT 1 FROM daily_state "
        "AS d WHERE d.campaign_id = s.campaign_id AND d.day = local_day(s.snapshot_time, ?))",
        [config.timezone, config.timezone],
    )
