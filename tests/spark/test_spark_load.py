"""`campaign-reports build --from-spark DIR`: a warehouse started from the Spark job's results
equals a full DuckDB build of the same store, table for table, also when the job did not see
everything (an empty snapshot, snapshots after its --to, days before its --from, a snapshot
removed since); results that cannot stand in for the warehouse are refused."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from spark_helpers import build_awkward_tenant, stored_tables_differences
from warehouse_helpers import build_tiny_tenant, make_config, write_snapshot

from pipeline.cli.main import cli
from pipeline.core.clock import parse_as_of
from pipeline.core.config import Config, RetentionConfig
from pipeline.core.console import Console
from pipeline.core.errors import SparkJobError
from pipeline.report import render_day
from pipeline.spark.job import run_job
from pipeline.spark.portable import Params
from pipeline.store.retention import apply_retention
from pipeline.store.snapshots import Store
from pipeline.warehouse.build import BuildResult, build
from pipeline.warehouse.db import warehouse_paths

pytestmark = pytest.mark.spark


def full_build_copy(config: Config, tmp: Path) -> Path:
    """A full DuckDB build of the store, copied aside: what the load must equal."""
    build(config, Console.silent(), full=True)
    expected = tmp / "expected.duckdb"
    shutil.copyfile(warehouse_paths(config)[0], expected)
    return expected


def load(config: Config, out: Path) -> tuple[BuildResult, list[str]]:
    lines: list[str] = []

    class Listening(Console):
        def info(self, message: str) -> None:
            lines.append(message)

    return build(config, Listening(quiet=True), from_spark=out), lines


def test_the_awkward_tenant_loads_to_the_full_build(spark: Any, tmp_path: Path) -> None:
    config = build_awkward_tenant(tmp_path / "data")
    out = tmp_path / "out"
    run_job(spark, Store(config.data_dir), str(out), Params.of(config, None, None))
    expected = full_build_copy(config, tmp_path)
    result, said = load(config, out)
    assert stored_tables_differences(expected, warehouse_paths(config)[0]) == {}
    # nothing was left for the build to do: no campaign rebuilt, no snapshot applied
    assert result.campaigns_rebuilt == [] and result.rows_read == 0
    assert (result.snapshots_new, result.snapshots_incomplete) == (1, 1)  # C's, logged
    assert result.spark_snapshots == 11 and result.from_spark == str(out)
    assert any("all 11 complete snapshot(s)" in line for line in said)
    # the next build is an incremental one with nothing new; the reports render from it
    again = build(config, Console.silent())
    assert not again.full and again.snapshots_new == 0
    assert render_day(config, Console.silent(), date(2026, 10, 25)).is_file()


def test_what_the_job_did_not_see_comes_from_the_store(spark: Any, tmp_path: Path) -> None:
    # the tiny tenant: campaign B's only snapshot is empty (Spark sees no row of it), C has an
    # incomplete one, A a quarantined duplicate row; and campaign X an empty snapshot between two
    config = build_tiny_tenant(tmp_path / "data")
    write_snapshot(config, "X", "2026-10-25T06:00:00Z", [("x1", "WA_SENT"), ("x2", "INITIAL")])
    write_snapshot(config, "X", "2026-10-25T07:00:00Z", [])
    write_snapshot(config, "X", "2026-10-25T08:00:00Z", [("x1", "WA_READ"), ("x2", "INITIAL")])
    out = tmp_path / "out"
    job = run_job(spark, Store(config.data_dir), str(out), Params.of(config, None, None))
    assert job.files_without_rows == 2
    expected = full_build_copy(config, tmp_path)
    result, said = load(config, out)
    assert stored_tables_differences(expected, warehouse_paths(config)[0]) == {}
    assert result.campaigns_rebuilt == ["X"]  # its empty snapshot is older than its newest
    # X's three snapshots applied again, B's empty one (a new campaign), C's incomplete one logged
    assert (result.snapshots_new, result.snapshots_incomplete) == (5, 1)
    assert any("7 snapshot(s) of the store's 9 complete ones" in line for line in said)


def test_a_range_and_later_snapshots(spark: Any, tmp_path: Path) -> None:
    config = build_awkward_tenant(tmp_path / "data")
    out = tmp_path / "out"
    # only Oct 25 (local): days before are computed from the loaded history, the snapshots after
    # it (T6, on Oct 26) are applied by the build
    params = Params.of(config, date(2026, 10, 25), date(2026, 10, 25))
    run_job(spark, Store(config.data_dir), str(out), params)
    expected = full_build_copy(config, tmp_path)
    result, _ = load(config, out)
    assert stored_tables_differences(expected, warehouse_paths(config)[0]) == {}
    assert result.campaigns_rebuilt == []
    # T6 applied; C's incomplete snapshot (never in Spark's input) logged
    assert (result.snapshots_new, result.snapshots_incomplete) == (2, 1)


def test_a_snapshot_removed_since_the_job_rebuilds_its_campaign(spark: Any, tmp_path: Path) -> None:
    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    for day in (1, 2, 3):
        write_snapshot(config, "R", f"2026-11-0{day}T10:00:00Z", [("r1", "WA_SENT")])
    write_snapshot(config, "K", "2026-11-03T10:00:00Z", [("k1", "WA_READ")])
    out = tmp_path / "out"
    run_job(spark, Store(config.data_dir), str(out), Params.of(config, None, None))
    # retention removes R's first snapshot (older than 2 days on Nov 4) after the job ran
    keep_two_days = replace(config, retention=RetentionConfig(snapshots_days=2))
    apply_retention(keep_two_days, Console.silent(), parse_as_of("2026-11-04T00:00:00Z", "UTC"))
    expected = full_build_copy(config, tmp_path)
    result, _ = load(config, out)
    assert stored_tables_differences(expected, warehouse_paths(config)[0]) == {}
    assert result.campaigns_rebuilt == ["R"]


def test_results_that_cannot_stand_in_are_refused(spark: Any, tmp_path: Path) -> None:
    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    write_snapshot(config, "A", "2026-11-01T10:00:00Z", [("a1", "WA_SENT")])
    out = tmp_path / "out"
    run_job(spark, Store(config.data_dir), str(out), Params.of(config, None, None))
    build(config, Console.silent())
    before = warehouse_paths(config)[0].read_bytes()
    cases = {
        "for days in Europe/Prague, this warehouse's days are in UTC": make_config(
            config.data_dir, timezone="UTC"
        ),
        "lists none of the 1 snapshots": make_config(tmp_path / "other", timezone="Europe/Prague"),
    }
    for message, other in cases.items():
        with pytest.raises(SparkJobError, match=message):
            build(other, Console.silent(), from_spark=out)
    with pytest.raises(SparkJobError, match="holds no Spark job results"):
        build(config, Console.silent(), from_spark=tmp_path)
    # a job that stopped half-way
    job = str(out / "_job" / "*.parquet")
    part = next((out / "_job").glob("*.parquet"))
    duckdb.sql(
        f"COPY (SELECT * REPLACE ('running' AS status) FROM '{job}') TO '{part}.new' (FORMAT parquet)"
    )
    part.unlink()
    Path(f"{part}.new").rename(part)
    with pytest.raises(SparkJobError, match="did not finish"):
        build(config, Console.silent(), from_spark=out)
    assert warehouse_paths(config)[0].read_bytes() == before


def test_the_build_command(spark: Any, tmp_path: Path) -> None:
    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    write_snapshot(config, "A", "2026-11-01T10:00:00Z", [("a1", "WA_SENT")])
    out = tmp_path / "out"
    runner = CliRunner()
    base = ["--data-dir", str(config.data_dir)]
    made = runner.invoke(cli, [*base, "spark", "--out", str(out)])
    assert made.exit_code == 0, made.output
    loaded = runner.invoke(cli, [*base, "build", "--from-spark", str(out)])
    assert loaded.exit_code == 0, loaded.output
    assert "Spark results of 1 snapshot(s) loaded, then an incremental build" in loaded.output
    both = runner.invoke(cli, [*base, "build", "--full", "--from-spark", str(out)])
    assert both.exit_code == 2 and "exclude each other" in both.output
