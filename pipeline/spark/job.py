"""The Spark job: the portable metrics (``queries/portable/``) over the store's complete files.

``run_job`` reads the Parquet files ``Store.complete_files()`` lists with
``spark.read.parquet(*files)`` and a ``basePath``, so that ``campaign_id`` (always a string:
partition type inference is off, "007" and "7" stay two campaigns) and ``snapshot_date`` come
from the path; runs every file of ``queries/portable/`` transpiled to Spark SQL by SQLGlot, in
order (``pipeline.spark.portable.FILES``); and writes each output as a Parquet folder
``<out>/<name>/``. Last it writes ``<out>/_job/`` (one row: what the results were computed from,
status ``complete``); until then that row says ``running``, so a job that stopped half-way is
never taken for a finished one (``build --from-spark`` checks it).

The session time zone is pinned to UTC: DuckDB's ``AT TIME ZONE`` transpiles to
``from_utc_timestamp``, which gives the local day only when the session zone is UTC. Timestamps are
written as Parquet ``TIMESTAMP_MICROS`` (UTC instants, as DuckDB and polars read them).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pipeline
from pipeline.core.catalog import load_catalog
from pipeline.core.clock import iso_utc, now
from pipeline.core.console import Console
from pipeline.core.errors import SparkJobError
from pipeline.spark.portable import (
    CATALOG_DDL,
    FILES,
    INTERMEDIATE,
    PARAMS_DDL,
    Params,
    catalog_rows,
    spark_sql,
)
from pipeline.store.snapshots import Store

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

APP_NAME = "campaign-state-reports"
#: Settings the job's SQL is only right with: set on every session the job runs in.
PINNED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
#: Defaults for a session the job makes with a master of its own, e.g. ``local[2]`` (``--conf``
#: overrides them; under spark-submit, its settings stand).
LOCAL_CONF = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
}
#: The one-row table of what the results were computed from (written first and last).
JOB_TABLE = "_job"
#: Where the intermediate steps are written while the job runs (removed at its end).
WORK_DIR = "_work"
_SNAPSHOT_DATE = re.compile(r"/snapshot_date=(\d{4}-\d{2}-\d{2})/")
_CAMPAIGN_DIR = "/campaign_id="
_REMOTE = re.compile(r"^(s3|s3a|gs|abfs|abfss|hdfs):/+")


@dataclass
class JobResult:
    out: str
    files: int = 0
    files_without_rows: int = 0
    snapshots: int = 0
    rows: int = 0
    written: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"Spark job: {self.snapshots:,} complete snapshot(s), {self.rows:,} rows from "
            f"{self.files:,} file(s); wrote {', '.join(self.written)} to {self.out}"
        )
        if self.files_without_rows:
            text += f"; {self.files_without_rows:,} file(s) had no rows (not counted)"
        return text


@contextlib.contextmanager
def session(
    master: str | None = None, conf: dict[str, str] | None = None
) -> Iterator[SparkSession]:
    """The active Spark session (one a test made), else a new one, stopped at the end: with
    ``master`` (e.g. ``local[2]``) and the local defaults (``LOCAL_CONF``), or without (None:
    under spark-submit, which says the master and settings), and ``conf`` on top. The pinned
    settings (``PINNED_CONF``) are set on it either way."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkJobError(
            "the Spark job needs the spark extra: pip install 'campaign-state-reports[spark]' "
            f"(pyspark and sqlglot; Java 17 or later) ({exc})"
        ) from None

    active = SparkSession.getActiveSession()
    if active is not None:
        spark = active
    else:
        builder = SparkSession.builder.appName(APP_NAME)
        settings = {**(LOCAL_CONF if master else {}), **(conf or {}), **PINNED_CONF}
        if master:
            builder = builder.master(master)
        for key, value in settings.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        if master:
            spark.sparkContext.setLogLevel("ERROR")
    for key, value in PINNED_CONF.items():
        spark.conf.set(key, value)
    try:
        yield spark
    finally:
        if active is None:
            spark.stop()


def spark_path(file: Path | str) -> str:
    """A file of the store as Spark reads it: local paths as they are; object-store URIs with
    their ``//`` (a ``Path`` folds ``s3://b/k`` into ``s3:/b/k``), and ``s3://`` as Hadoop's
    ``s3a://`` (open-source Spark has no ``s3://`` file system)."""
    text = str(file)
    match = _REMOTE.match(text)
    if match is None:
        return text
    scheme = "s3a" if match.group(1) == "s3" else match.group(1)
    return f"{scheme}://{text[match.end() :]}"


def files_up_to(files: list[Path], day_to: date | None) -> list[Path]:
    """The files that can hold a snapshot of a local day up to ``day_to``: their UTC
    ``snapshot_date`` (from the path) is at most the day after (no time zone is more than a day
    ahead of UTC). Files whose path has no date are kept."""
    if day_to is None:
        return files
    last = (day_to + timedelta(days=1)).isoformat()
    out = []
    for f in files:
        match = _SNAPSHOT_DATE.search(str(f).replace("\\", "/"))
        if match is None or match.group(1) <= last:
            out.append(f)
    return out


def base_path(files: list[str]) -> str:
    """The folder above ``campaign_id=<id>/`` of every file (Spark's ``basePath``)."""
    bases = set()
    for f in files:
        text = f.replace("\\", "/")
        if _CAMPAIGN_DIR not in text:
            raise SparkJobError(
                f"{f}: a snapshot file outside a campaign_id=<id>/ folder; the job reads the "
                "campaign from the path. Nothing was written."
            )
        bases.add(text[: text.rindex(_CAMPAIGN_DIR)])
    if len(bases) != 1:
        raise SparkJobError(
            f"the snapshot files are under {len(bases)} different folders ({', '.join(sorted(bases)[:3])}); "
            "the job reads one store. Nothing was written."
        )
    return bases.pop()


def run_job(
    spark: SparkSession,
    store: Store,
    out: str,
    params: Params,
    console: Console | None = None,
    folder: Path | None = None,
) -> JobResult:
    """Compute every output of ``queries/portable/`` for ``params`` from the store's complete
    files and write them under ``out`` (a folder or a URI Spark can write to)."""
    from pyspark.sql import functions as F

    console = console or Console.silent()
    out = out.rstrip("/")
    files = [spark_path(f) for f in files_up_to(store.complete_files(), params.day_to)]
    if not files:
        raise SparkJobError(
            f"the store in {store.root} has no complete snapshot"
            + (f" up to {params.day_to}" if params.day_to else "")
            + "; nothing was written."
        )
    for key, value in PINNED_CONF.items():
        spark.conf.set(key, value)
    started = now()
    _write_job_row(spark, out, _job_row("running", params, started))
    console.info(f"Spark job: reading {len(files):,} snapshot file(s) under {base_path(files)}")
    frame = (
        spark.read.option("basePath", base_path(files))
        .parquet(*files)
        .withColumn("snapshot_date", F.col("snapshot_date").cast("date"))
        .withColumn("file", F.col("_metadata.file_path"))
    )
    frame.createOrReplaceTempView("snapshots")
    literal_frame(spark, CATALOG_DDL, catalog_rows()).createOrReplaceTempView("catalog")
    literal_frame(spark, PARAMS_DDL, [params.row()]).createOrReplaceTempView("params")

    result = _run_steps(spark, out, folder, len(files), console)
    _remove(spark, f"{out}/{WORK_DIR}", console)
    if result.files_without_rows:
        console.warn(
            f"{result.files_without_rows:,} snapshot file(s) had no rows: an empty snapshot "
            "carries no time, so the Spark results leave it out (a contact listed before and "
            "after it counts as listed throughout). `campaign-reports build --from-spark` "
            "rebuilds those campaigns from the store."
        )
    facts = _job_row("complete", params, started)
    facts.update(
        finished=iso_utc(now()),
        files=result.files,
        files_without_rows=result.files_without_rows,
        snapshots=result.snapshots,
        rows=result.rows,
        outputs=",".join(result.written),
    )
    _write_job_row(spark, out, facts)
    console.info(result.summary())
    return result


def _run_steps(
    spark: SparkSession, out: str, folder: Path | None, files: int, console: Console
) -> JobResult:
    """Run every file of ``queries/portable/`` in order, writing each output under ``out``."""
    result = JobResult(out=out, files=files)
    for name in FILES:
        # Each step is written as Parquet and the steps after it read that: computed once, and
        # the plans stay small (Spark's cache is not matched when a query reads one cached
        # relation twice, which the per-snapshot metrics do). Intermediate steps go to _work/.
        where = f"{out}/{WORK_DIR}/{name}" if name in INTERMEDIATE else f"{out}/{name}"
        console.info(f"  {name}")
        spark.sql(spark_sql(name, folder)).write.mode("overwrite").parquet(where)
        step = spark.read.parquet(where)
        step.createOrReplaceTempView(name)
        if name not in INTERMEDIATE:
            result.written.append(name)
        if name == "snapshot_list":
            seen = step.selectExpr(
                "count(*)", "coalesce(sum(rows), 0)", "count(DISTINCT file)"
            ).first()
            assert seen is not None
            result.snapshots, result.rows, files_read = (int(v) for v in seen)
            result.files_without_rows = max(0, files - files_read)
    return result


_JOB_DDL = (
    "status STRING, version STRING, timezone STRING, stuck_minutes DOUBLE, day_from DATE, "
    "day_to DATE, catalog_sha256 STRING, started STRING, finished STRING, files BIGINT, "
    "files_without_rows BIGINT, snapshots BIGINT, rows BIGINT, outputs STRING"
)


def _job_row(status: str, params: Params, started: Any) -> dict[str, Any]:
    return {
        "status": status,
        "version": pipeline.__version__,
        "timezone": params.timezone,
        "stuck_minutes": float(params.stuck_minutes),
        "day_from": params.day_from,
        "day_to": params.day_to,
        "catalog_sha256": load_catalog().sha256(),
        "started": iso_utc(started),
        "finished": None,
        "files": None,
        "files_without_rows": None,
        "snapshots": None,
        "rows": None,
        "outputs": None,
    }


def _write_job_row(spark: SparkSession, out: str, row: dict[str, Any]) -> None:
    names = [part.split()[0] for part in _JOB_DDL.split(", ")]
    frame = literal_frame(spark, _JOB_DDL, [tuple(row[n] for n in names)])
    frame.coalesce(1).write.mode("overwrite").parquet(f"{out}/{JOB_TABLE}")


def literal_frame(spark: SparkSession, ddl: str, rows: list[tuple[Any, ...]]) -> DataFrame:
    """A small table of literals (``ddl``: ``"name TYPE, ..."``), made in the plan itself: no
    Python data is shipped to the executors, which need nothing of this package."""
    from pyspark.sql import functions as F

    columns = [part.strip().split(maxsplit=1) for part in ddl.split(",")]
    structs = [
        F.struct(*[F.lit(v).cast(t).alias(n) for (n, t), v in zip(columns, row, strict=True)])
        for row in rows
    ]
    return spark.range(1).select(F.inline(F.array(*structs)))


def _remove(spark: SparkSession, uri: str, console: Console) -> None:
    """Delete a folder the job wrote (through Hadoop's file system API, so any URI Spark writes
    to works); a failure is only a note."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        path = jvm.org.apache.hadoop.fs.Path(uri)
        path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)
    except Exception as exc:  # py4j errors, Spark Connect (no JVM): the folder stays
        console.info(f"Note: could not remove the job's work folder {uri} ({exc}); delete it")
