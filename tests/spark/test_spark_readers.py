"""Spark reads exactly the published snapshots, through the Delta table's file list, in each case
where a plain folder read went wrong (made through the project's commands; the same cases as
tests/store/test_table_readers.py reads with polars and DuckDB)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.store.snapshots import Store

pytestmark = pytest.mark.spark
CLI = [sys.executable, "-m", "pipeline"]


def cli(data: Path, *args: str, crash_at: str | None = None) -> int:
    env = {**os.environ, **({"CAMPAIGN_REPORTS_CRASH_AT": crash_at} if crash_at else {})}
    return subprocess.run(
        [*CLI, "--data-dir", str(data), *args], capture_output=True, env=env
    ).returncode


def csv(folder: Path, name: str, ids: list[str]) -> str:
    path = folder / name
    path.write_text("contact_id,state\n" + "".join(f"{i},WA_READ\n" for i in ids))
    return str(path)


def published(data: Path) -> set[tuple[str, str, str]]:
    out = set()
    for m in Store(data).published():
        if m.complete:
            ids = pl.read_parquet(data / m.path)["contact_id"].to_list()
            out |= {(m.campaign_id, m.snapshot_id, i) for i in ids}
    return out


def spark_rows(spark: Any, data: Path) -> tuple[set[tuple[str, str, str]], str]:
    from deltalake import DeltaTable

    files = DeltaTable(str(data / "snapshots")).file_uris()
    frame = (
        spark.read.option("basePath", str(data / "snapshots"))
        .parquet(*files)
        .select("campaign_id", "snapshot_id", "contact_id")
    )
    rows = {(r[0], r[1], r[2]) for r in frame.collect()}
    return rows, dict(frame.dtypes)["campaign_id"]


def test_spark_sees_the_published_snapshots_in_every_case(spark: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    a = csv(tmp_path, "campaign-007_20261127T060000Z.csv", ["111111", "2"])
    b = csv(tmp_path, "campaign-7_20261127T060000Z.csv", ["111111", "3"])
    c = csv(tmp_path, "campaign-a-1_20261127T060000Z.csv", ["4"])
    assert cli(data, "ingest", a, b, c) == 0
    rows, kind = spark_rows(spark, data)
    assert rows == published(data) and kind == "string"
    assert {r[0] for r in rows} == {"007", "7", "a-1"}
    # an erase killed after its commit: the contact is gone for Spark too
    assert cli(data, "erase", "--contact", "111111", "--yes", crash_at="changes-committed") == (
        -signal.SIGKILL
    )
    rows, _ = spark_rows(spark, data)
    assert rows == published(data) and "111111" not in {r[2] for r in rows}
    # an ingest killed after its file was moved in: not in Spark's result
    d = csv(tmp_path, "campaign-7_20261128T060000Z.csv", ["3", "5"])
    assert cli(data, "ingest", d, crash_at="renamed") == -signal.SIGKILL
    rows, _ = spark_rows(spark, data)
    assert rows == published(data) and "5" not in {r[2] for r in rows}
