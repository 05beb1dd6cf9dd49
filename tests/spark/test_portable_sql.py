"""The portable metrics (queries/portable/) on DuckDB, without Spark or Java (part of make test):
each output row for row against the warehouse's own views and macros, on the awkward tenant
(tests/spark_helpers.py: DST night, campaigns "007" and "7", a late snapshot, moves backwards,
times with microseconds) and the tiny tenant; and the job's path helpers."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from spark_helpers import assert_same, build_awkward_tenant, portable_rows, warehouse_rows
from warehouse_helpers import build_tiny_tenant

from pipeline.core.errors import ConfigError, SparkJobError
from pipeline.spark.job import base_path, files_up_to, spark_path
from pipeline.spark.portable import OUTPUTS, WHOLE_HISTORY, Params
from pipeline.warehouse.spark_results import store_path


@pytest.mark.parametrize("builder", [build_awkward_tenant, build_tiny_tenant])
def test_portable_sql_on_duckdb_equals_the_warehouse(builder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = builder(tmp_path / "data")
    for days in ((None, None), (date(2026, 10, 25), date(2026, 10, 25))):
        params = Params.of(config, *days)
        got, want = portable_rows(config, params), warehouse_rows(config, params)
        # with a range, the whole-history outputs stop at its end (test_spark_job checks them
        # against a warehouse of those snapshots only)
        names = OUTPUTS if days[1] is None else tuple(n for n in OUTPUTS if n not in WHOLE_HISTORY)
        assert_same(got, want, f"the warehouse ({days})", names)


def test_a_range_must_not_be_empty() -> None:
    from pipeline.core.config import Config

    with pytest.raises(ConfigError, match="the range of days is empty"):
        Params.of(Config(), date(2026, 11, 2), date(2026, 11, 1))
    assert Params.of(Config(), None, None) == Params("Europe/Prague", 60.0, None, None)


def test_paths_as_spark_reads_them() -> None:
    assert spark_path(Path("/data/snapshots/x.parquet")) == "/data/snapshots/x.parquet"
    assert spark_path(Path("s3://bucket/store/x.parquet")) == "s3a://bucket/store/x.parquet"
    assert (
        spark_path("abfss://c@a.dfs.core.windows.net/s/x") == "abfss://c@a.dfs.core.windows.net/s/x"
    )
    files = [
        "/d/snapshots/campaign_id=7/snapshot_date=2026-10-24/a.parquet",
        "/d/snapshots/campaign_id=007/snapshot_date=2026-10-26/b.parquet",
    ]
    assert base_path(files) == "/d/snapshots"
    with pytest.raises(SparkJobError, match="outside a campaign_id=<id>/ folder"):
        base_path(["/d/x.parquet"])
    with pytest.raises(SparkJobError, match="2 different folders"):
        base_path([files[0], "/e/campaign_id=1/snapshot_date=2026-10-24/c.parquet"])
    # a local day ends at most a day after its UTC date: Oct 25 can be in files dated Oct 26
    paths = [Path(f) for f in files]
    assert files_up_to(paths, date(2026, 10, 25)) == paths
    assert files_up_to(paths, date(2026, 10, 24)) == paths[:1]


def test_the_store_names_the_files_the_job_read(tmp_path: Path) -> None:
    root = tmp_path / "data"
    rel = "snapshots/campaign_id=007/snapshot_date=2026-10-24/a b.parquet"
    spark_uri = f"file:{root}/snapshots/campaign_id=007/snapshot_date=2026-10-24/a%20b.parquet"
    assert store_path(spark_uri, [root]) == rel
    assert store_path(str(root / rel), [root]) == rel  # as DuckDB names it
    assert store_path("s3a://b/x.parquet", [root]) == "s3a://b/x.parquet"


def test_the_cli_works_without_the_spark_extra() -> None:
    # pyspark and sqlglot are imported only when the spark command runs
    code = (
        "import sys, pipeline.cli, pipeline.spark.job, pipeline.warehouse.build; "
        "assert not {'pyspark', 'sqlglot'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2]
    )
