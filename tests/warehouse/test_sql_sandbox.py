"""`sql` is read-only in fact: on the analyst copy no statement writes a file, reads a file
outside it, loads an extension, attaches a database or changes the settings that forbid this;
`--allow-store-read` opens the snapshot table's folder and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from warehouse_helpers import build_quiet, build_tiny_tenant

from pipeline.cli.main import main
from pipeline.core.config import Config
from pipeline.warehouse.db import warehouse_paths


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    yield build_tiny_tenant(tmp_path_factory.mktemp("sandbox") / "data")


def run(config: Config, *args: str) -> int:
    try:
        main(["--data-dir", str(config.data_dir), *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def refused(config: Config, capsys: pytest.CaptureFixture[str], query: str, *extra: str) -> str:
    assert run(config, "sql", *extra, query) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the query failed") and "Traceback" not in err, err
    return err


def test_copy_to_writes_no_file(
    tenant: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "leak.csv"
    refused(tenant, capsys, f"COPY (SELECT * FROM snapshots) TO '{target}'")
    refused(tenant, capsys, f"EXPORT DATABASE '{tmp_path / 'dump'}'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/passwd')",
        "SELECT * FROM glob('/*')",
        "SELECT * FROM read_json_auto('http://127.0.0.1:9/x.json')",
    ],
)
def test_no_file_outside_the_copy_is_read(
    tenant: Config, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    err = refused(tenant, capsys, query)
    assert "root:" not in err  # nothing of the file's content


def test_no_extension_is_installed_or_loaded(
    tenant: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(tenant, capsys, "INSTALL spatial")
    refused(tenant, capsys, "LOAD spatial")
    refused(tenant, capsys, "LOAD '/tmp/evil.duckdb_extension'")


def test_attach_of_the_jobs_warehouse_is_refused_and_later_builds_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = build_tiny_tenant(tmp_path / "data")
    warehouse, _ = warehouse_paths(config)
    refused(
        config,
        capsys,
        f"ATTACH '{warehouse}' AS live (READ_WRITE); DROP TABLE live.milestones",
    )
    refused(config, capsys, f"ATTACH '{warehouse}' AS live")
    build_quiet(config, full=True)  # the build still works: nothing was dropped
    assert run(config, "sql", "--format", "csv", "SELECT count(*) FROM contact_milestones") == 0
    # the tiny tenant has contacts a1..a8 and c1, c2 (see TINY_A): 10 milestones rows
    assert capsys.readouterr().out.splitlines()[1] == "10"


@pytest.mark.parametrize(
    "query",
    [
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET allowed_directories = ['/']",
        "SET autoload_known_extensions = true",
    ],
)
def test_the_configuration_is_locked(
    tenant: Config, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    refused(tenant, capsys, query)


def test_allow_store_read_opens_the_snapshot_table_and_nothing_else(
    tenant: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = f"{Path(tenant.data_dir).resolve()}/snapshots/**/*.parquet"
    refused(tenant, capsys, f"SELECT count(*) FROM read_parquet('{files}')")
    assert (
        run(
            tenant,
            "sql",
            "--allow-store-read",
            "--format",
            "csv",
            f"SELECT count(DISTINCT contact_id) FROM read_parquet('{files}')",
        )
        == 0
    )
    # campaign A has a1..a8, C has c1, c2 (its complete snapshot), B is empty: 10 contacts
    assert capsys.readouterr().out.splitlines()[1] == "10"
    refused(tenant, capsys, "SELECT * FROM read_csv('/etc/passwd')", "--allow-store-read")
    warehouse, _ = warehouse_paths(tenant)
    outside = f"{Path(tenant.data_dir).resolve()}/snapshots/../warehouse/{warehouse.name}"
    refused(tenant, capsys, f"SELECT * FROM read_blob('{outside}')", "--allow-store-read")
    refused(tenant, capsys, f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'", "--allow-store-read")
