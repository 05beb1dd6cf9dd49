"""The Spark job on the demo tenant (scale 0.02: 7 campaigns, 292 snapshots, 124k rows), every
output row for row against the DuckDB warehouse and the same portable SQL on DuckDB; and the days
of another time zone against the warehouse's macros with a tz parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from spark_helpers import (
    COLUMNS,
    assert_same,
    clean,
    portable_rows,
    spark_rows,
    warehouse_rows,
)
from warehouse_helpers import analyst, build_quiet, make_config

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.demo.tenant import run_demo
from pipeline.spark.job import run_job
from pipeline.spark.portable import OUTPUTS, Params
from pipeline.store.snapshots import Store

pytestmark = pytest.mark.spark

AS_OF = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = make_config(tmp_path_factory.mktemp("demo") / "data")
    run_demo(config, Console.silent(), seed=7, scale=0.02, as_of=AS_OF)
    build_quiet(config)
    return config


def test_the_demo_equals_the_warehouse_and_duckdb(spark: Any, demo: Config, tmp_path: Path) -> None:
    params = Params.of(demo, None, None)
    out = tmp_path / "out"
    result = run_job(spark, Store(demo.data_dir), str(out), params)
    assert result.snapshots == 292 and result.files_without_rows == 0
    got = {name: spark_rows(out, name) for name in OUTPUTS}
    assert_same(got, warehouse_rows(demo, params), "the warehouse")
    assert_same(got, portable_rows(demo, params), "the portable SQL on DuckDB")
    # the demo has what the comparisons should cover
    assert any(r[-1] for r in got["funnel"])  # legacy mapped
    assert any(r[3] + r[4] for r in got["stuck_counts"])  # stuck contacts
    assert any(r[3] == "other" and r[4] for r in got["state_counts"])  # unknown API value


def test_another_time_zone(spark: Any, demo: Config, tmp_path: Path) -> None:
    zone = "America/New_York"
    params = Params(timezone=zone, stuck_minutes=60.0)
    out = tmp_path / "ny"
    run_job(spark, Store(demo.data_dir), str(out), params)
    con = analyst(demo)
    try:
        for name, macro in (
            ("campaign_daily", "campaign_daily"),
            ("state_transitions", "state_transitions"),
        ):
            cols = ", ".join(COLUMNS[name])
            want = con.execute(f"SELECT {cols} FROM {macro}(tz := '{zone}')").fetchall()
            got = spark_rows(out, name)
            assert got and got == clean(want), name
    finally:
        con.close()
    prague = Params.of(demo, None, None)
    assert (
        portable_rows(demo, params)["campaign_daily"]
        != portable_rows(demo, prague)["campaign_daily"]
    )
