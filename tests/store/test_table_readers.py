"""Other engines read exactly the published snapshots: the cases where a plain folder read went
wrong, each made through the project's own commands, then read as Delta by polars and through
the table's file list by DuckDB. (Spark reads the same file list: tests/spark/.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from export_helpers import (
    fake_fixture,  # noqa: F401  (the fake fixture)
    run_export,
    tenant_fixture,  # noqa: F401  (the tenant fixture)
)

from pipeline.store.snapshots import Store
from pipeline.testing.server import FakeMluvii

CLI = [sys.executable, "-m", "pipeline"]
Row = tuple[str, str, str]  # campaign_id, snapshot_id, contact_id


def cli(data_dir: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if crash_at:
        env["CAMPAIGN_REPORTS_CRASH_AT"] = crash_at
    return subprocess.run(
        [*CLI, "--data-dir", str(data_dir), *args], capture_output=True, text=True, env=env
    )


def csv(folder: Path, name: str, ids: list[str], state: str = "WA_READ") -> Path:
    path = folder / name
    path.write_text("contact_id,state\n" + "".join(f"{i},{state}\n" for i in ids))
    return path


def published_rows(data_dir: Path) -> set[Row]:
    """What the store says is published and complete, read file by file."""
    out: set[Row] = set()
    for m in Store(data_dir).published():
        if m.complete:
            ids = pl.read_parquet(data_dir / m.path).get_column("contact_id").to_list()
            out |= {(m.campaign_id, m.snapshot_id, i) for i in ids}
    return out


def polars_rows(data_dir: Path) -> tuple[set[Row], pl.DataType]:
    frame = pl.read_delta(str(data_dir / "snapshots"))
    rows = set(frame.select("campaign_id", "snapshot_id", "contact_id").iter_rows())
    return rows, frame.schema["campaign_id"]


def duckdb_rows(data_dir: Path) -> tuple[set[Row], str]:
    from deltalake import DeltaTable

    files = DeltaTable(str(data_dir / "snapshots")).file_uris()
    con = duckdb.connect()
    rel = con.sql(
        "SELECT campaign_id, snapshot_id, contact_id FROM read_parquet(?, hive_partitioning = "
        "true, hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE})",
        params=[files],
    )
    return set(rel.fetchall()), str(rel.types[0])


def assert_readers_see_the_published(data_dir: Path) -> set[Row]:
    expected = published_rows(data_dir)
    by_polars, polars_type = polars_rows(data_dir)
    by_duckdb, duckdb_type = duckdb_rows(data_dir)
    assert by_polars == expected
    assert by_duckdb == expected
    assert polars_type == pl.String and duckdb_type == "VARCHAR"
    return expected


def test_campaigns_007_and_7_stay_two_string_campaigns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    a = csv(tmp_path, "campaign-007_20261128T060000Z.csv", ["1", "2", "3"])
    b = csv(tmp_path, "campaign-7_20261128T060000Z.csv", ["1", "2"])
    assert cli(data, "ingest", str(a), str(b)).returncode == 0
    rows = assert_readers_see_the_published(data)
    assert {r[0] for r in rows} == {"007", "7"}
    c = csv(tmp_path, "campaign-a-1_20261128T060000Z.csv", ["9"])
    assert cli(data, "ingest", str(c)).returncode == 0
    rows = assert_readers_see_the_published(data)  # still strings, whatever the new id looks like
    assert {r[0] for r in rows} == {"007", "7", "a-1"}


def test_an_incomplete_snapshot_is_in_no_reader(fake: FakeMluvii, tmp_path: Path) -> None:
    data = tmp_path / "data"
    fake.faults.mutate(102, at_offset=300, insert=5, times=2)
    run = run_export(fake, data)
    assert not run.result(102).complete
    [meta] = [m for m in Store(data).published() if m.campaign_id == "102"]
    assert not meta.complete and meta.path.startswith("snapshots_incomplete/")
    rows = assert_readers_see_the_published(data)
    assert "102" not in {r[0] for r in rows} and {"101", "103"} <= {r[0] for r in rows}


def test_an_erase_killed_after_its_commit_is_erased_for_every_reader(tmp_path: Path) -> None:
    data = tmp_path / "data"
    a = csv(tmp_path, "campaign-1_20261127T060000Z.csv", ["111111", "222222"])
    b = csv(tmp_path, "campaign-1_20261128T060000Z.csv", ["111111", "333333"])
    assert cli(data, "ingest", str(a), str(b)).returncode == 0
    crashed = cli(data, "erase", "--contact", "111111", "--yes", crash_at="changes-committed")
    assert crashed.returncode == -signal.SIGKILL
    rows = assert_readers_see_the_published(data)
    assert "111111" not in {r[2] for r in rows} and len(rows) == 2
    # the old files are still on disk (no vacuum yet): a plain folder read would see the contact
    leftovers = [
        p
        for p in (data / "snapshots").rglob("*.parquet")
        if "_delta_log" not in p.parts and "111111" in pl.read_parquet(p)["contact_id"].to_list()
    ]
    assert leftovers
    # the next writer finishes the deletes
    c = csv(tmp_path, "campaign-2_20261128T060000Z.csv", ["5"])
    assert cli(data, "ingest", str(c)).returncode == 0
    assert all(not p.exists() for p in leftovers)
    assert_readers_see_the_published(data)


@pytest.mark.parametrize("point", ["renamed", "delta-commit"])
def test_an_ingest_killed_after_its_file_was_moved_in_is_in_no_reader(
    tmp_path: Path, point: str
) -> None:
    data = tmp_path / "data"
    a = csv(tmp_path, "campaign-1_20261127T060000Z.csv", ["1", "2"])
    assert cli(data, "ingest", str(a)).returncode == 0
    before = assert_readers_see_the_published(data)
    b = csv(tmp_path, "campaign-1_20261128T060000Z.csv", ["1", "2", "3"])
    assert cli(data, "ingest", str(b), crash_at=point).returncode == -signal.SIGKILL
    files = [p for p in (data / "snapshots").rglob("*.parquet") if "_delta_log" not in p.parts]
    assert len(files) == 2  # the new file is in the folder ...
    assert assert_readers_see_the_published(data) == before  # ... and in no reader's result
