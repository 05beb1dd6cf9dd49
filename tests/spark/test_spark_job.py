"""The Spark job on small histories with the awkward cases, row for row against the DuckDB
warehouse and the same portable SQL on DuckDB: a DST night (Prague, 2026-10-25), campaign ids "007"
and "7", a late snapshot, backward moves, vanished contacts, snapshot times with microseconds, an
incomplete snapshot, a range of days; the CLI command and ``python -m pipeline.spark``."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from spark_helpers import (
    assert_same,
    build_awkward_tenant,
    portable_rows,
    spark_rows,
    warehouse_rows,
)
from warehouse_helpers import build_quiet, make_config, write_snapshot

from pipeline.cli.main import cli
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.spark import __main__ as spark_main
from pipeline.spark.job import files_up_to, run_job
from pipeline.spark.portable import FILES, OUTPUTS, WHOLE_HISTORY, Params, spark_sql
from pipeline.store.snapshots import Store

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return build_awkward_tenant(tmp_path_factory.mktemp("awkward") / "data")


@pytest.fixture(scope="module")
def whole(spark: Any, tenant: Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The job over all days (the session's time zone set elsewhere first: the job pins UTC)."""
    out = tmp_path_factory.mktemp("spark-out")
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    run_job(spark, Store(tenant.data_dir), str(out), Params.of(tenant, None, None))
    return out


def test_every_output_equals_the_warehouse_and_duckdb(whole: Path, tenant: Config) -> None:
    params = Params.of(tenant, None, None)
    got = {name: spark_rows(whole, name) for name in OUTPUTS}
    assert_same(got, warehouse_rows(tenant, params), "the warehouse")
    assert_same(got, portable_rows(tenant, params), "the portable SQL on DuckDB")


def test_campaign_ids_are_text(whole: Path) -> None:
    campaigns = {r[0] for r in spark_rows(whole, "snapshot_list")}
    assert campaigns == {"007", "7", "C"}  # "007" is not 7; C's incomplete snapshot is not read
    assert len([r for r in spark_rows(whole, "snapshot_list") if r[0] == "C"]) == 1


def test_the_dst_night_is_one_25_hour_day(whole: Path) -> None:
    daily = {(r[0], r[1]): r for r in spark_rows(whole, "campaign_daily")}
    # Oct 25 (local) runs from T2 (UTC day Oct 24) to T5; its last snapshot is T5
    assert sorted(d for c, d in daily if c == "007") == [
        date(2026, 10, 24),
        date(2026, 10, 25),
        date(2026, 10, 26),
    ]
    oct25 = daily[("007", date(2026, 10, 25))]
    assert oct25[3].isoformat() == "2026-10-25T22:30:00+00:00"
    days = {r[2]: r[3] for r in spark_rows(whole, "snapshot_list") if r[0] == "007"}
    assert [d.isoformat() for _, d in sorted(days.items())] == [
        "2026-10-24",
        "2026-10-25",
        "2026-10-25",
        "2026-10-25",
        "2026-10-25",
        "2026-10-26",
    ]


def test_moves_backwards_and_vanished_contacts(whole: Path) -> None:
    moves = {
        (r[0], r[1].isoformat(), r[2], r[3]): r[4] for r in spark_rows(whole, "state_transitions")
    }
    assert moves[("007", "2026-10-25", "read", "delivered")] == 1  # p3 at T2
    assert moves[("7", "2026-10-24", "read", "delivered")] == 1  # p1 at U3 (U2 came late)
    # p3 vanished at T4 and came back Read at T5: no move; p1's CALLING -> CALL_IN_PROGRESS and
    # p4's legacy -> WA_SENT are changes of raw text only: no move
    assert ("007", "2026-10-25", "read", "read") not in moves
    assert not [k for k in moves if k[2] == k[3]]
    assert moves[("007", "2026-10-25", "in_progress", "sent")] == 1  # p1 at T4


def test_stuck_uses_whole_seconds_and_the_current_run(whole: Path) -> None:
    stuck = {(r[0], r[2].isoformat()): r[3:] for r in spark_rows(whole, "stuck_counts")}
    # at T2 p1 has been In progress since T1: 60 min 0.2 s, 3601 whole seconds (> 60 min)
    assert stuck[("007", "2026-10-24T22:30:01.100000+00:00")] == (1, 0)
    # at T4: p1 left In progress; p6 is In progress again since T3 (60 min, not more); p2 is in
    # Retry scheduled since T3 (60 min)
    assert stuck[("007", "2026-10-25T01:30:00+00:00")] == (0, 0)
    assert stuck[("007", "2026-10-25T22:30:00+00:00")] == (1, 1)  # p6 and p2 at T5


def test_a_range_of_days(spark: Any, tenant: Config, tmp_path: Path) -> None:
    # only Oct 25 (local): per-snapshot and daily results of that day, history up to its end
    params = Params.of(tenant, date(2026, 10, 25), date(2026, 10, 25))
    out = tmp_path / "range"
    run_job(spark, Store(tenant.data_dir), str(out), params)
    got = {name: spark_rows(out, name) for name in OUTPUTS}
    assert {r[1] for r in got["campaign_daily"]} == {date(2026, 10, 25)}
    assert_same(got, portable_rows(tenant, params), "the portable SQL on DuckDB")
    ranged = tuple(n for n in OUTPUTS if n not in WHOLE_HISTORY)
    assert_same(got, warehouse_rows(tenant, params), "the warehouse", ranged)
    # the history stops at the end of Oct 25, as a warehouse built from those snapshots only
    assert any(r[6] is None and r[0] == "007" for r in got["state_history"])
    last = max(r[2] for r in got["snapshot_list"])
    assert last.isoformat() == "2026-10-25T22:30:00+00:00"


def test_history_up_to_the_range_equals_a_warehouse_of_those_snapshots(
    spark: Any, tmp_path: Path
) -> None:
    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    write_snapshot(config, "007", "2026-10-24T21:30:00Z", [("a", "CALLING"), ("b", "WA_READ")])
    write_snapshot(config, "007", "2026-10-25T21:30:00Z", [("a", "WA_SENT"), ("b", "WA_READ")])
    build_quiet(config)
    expected = warehouse_rows(config, Params.of(config, None, None))
    write_snapshot(config, "007", "2026-10-26T21:30:00Z", [("a", "WA_READ")])
    out = tmp_path / "out"
    run_job(spark, Store(config.data_dir), str(out), Params.of(config, None, date(2026, 10, 25)))
    for name in ("snapshot_list", "state_history", "milestones", "campaign_daily"):
        assert spark_rows(out, name) == expected[name], name


def test_files_after_the_range_are_not_read(tenant: Config) -> None:
    files = Store(tenant.data_dir).complete_files()
    # local day Oct 23 ends before UTC Oct 24 ends: files of UTC Oct 25 cannot hold it
    kept = files_up_to(files, date(2026, 10, 23))
    assert kept == [f for f in files if "snapshot_date=2026-10-25" not in str(f)]
    assert len(files) > len(kept) > 0
    assert files_up_to(files, None) == files


def test_the_pinned_time_zone_is_what_makes_days_right(spark: Any, tenant: Config) -> None:
    # DuckDB's AT TIME ZONE becomes from_utc_timestamp, right only in a UTC session: in another
    # session zone T5 (23:30 CET on Oct 25) would fall on Oct 26
    sql = spark_sql("snapshot_list")
    assert "FROM_UTC_TIMESTAMP" in sql.upper()
    query = (
        "SELECT CAST(FROM_UTC_TIMESTAMP(TIMESTAMP '2026-10-25 22:30:00Z', 'Europe/Prague') AS DATE)"
    )
    try:
        spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
        assert spark.sql(query).first()[0] == date(2026, 10, 26)
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        assert spark.sql(query).first()[0] == date(2026, 10, 25)
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_every_portable_file_has_a_header_and_transpiles() -> None:
    from pipeline.core.resources import queries_dir

    folder = queries_dir() / "portable"
    assert sorted(p.stem for p in folder.glob("*.sql")) == sorted(FILES)
    for name in FILES:
        head = (folder / f"{name}.sql").read_text()
        assert head.startswith(f"-- {name}:"), name
        header = " ".join(line for line in head.splitlines() if line.startswith("--"))
        assert "one row" in header.lower(), name
        assert spark_sql(name).lstrip().upper().startswith(("WITH", "SELECT", "/*"))


def test_the_cli_command(tenant: Config, tmp_path: Path, spark: Any) -> None:
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(tenant.data_dir),
            "spark",
            "--from",
            "2026-10-25",
            "--to",
            "2026-10-25",
            "--out",
            str(out),
            "--conf",
            "spark.sql.shuffle.partitions=4",
        ],
        obj=None,
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(["_job", *OUTPUTS])
    job = duckdb.sql(f"SELECT status, timezone, day_from, day_to FROM '{out}/_job/*.parquet'")
    assert job.fetchall() == [("complete", "Europe/Prague", date(2026, 10, 25), date(2026, 10, 25))]
    bad = CliRunner().invoke(
        cli, ["spark", "--from", "2026-10-26", "--to", "2026-10-25", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "range of days is empty" in bad.output


def test_the_module_for_spark_submit(
    tenant: Config, whole: Path, tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "module-out"
    code = spark_main.main(["--data-dir", str(tenant.data_dir), "--out", str(out), "--quiet"])
    assert code == 0
    for name in OUTPUTS:
        assert spark_rows(out, name) == spark_rows(whole, name), name
    empty = tmp_path / "empty"
    code = spark_main.main(["--data-dir", str(empty), "--out", str(tmp_path / "x")])
    assert code == 1
    assert capsys.readouterr().err.startswith("Error: the store in")


def test_a_stuck_threshold_from_the_config(spark: Any, tenant: Config, tmp_path: Path) -> None:
    config: Config = dataclasses.replace(tenant, stuck_after_minutes=600)
    params = Params.of(config, None, None)
    out = tmp_path / "stuck"
    run_job(spark, Store(config.data_dir), str(out), params, Console.silent())
    got = spark_rows(out, "stuck_counts")
    assert got == warehouse_rows(config, params)["stuck_counts"]
    # 10 hours: p6 (In progress since T3) at T5 and T6, p2 (Retry scheduled since T3) at T5
    assert sum(r[3] + r[4] for r in got) == 3
