"""The `build` and `sql` commands, and the README's "Ad-hoc SQL" examples, each one executed."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from wait_helpers import GUARD
from warehouse_helpers import S1, build_tiny_tenant, ingest_snapshot, make_config, tiny_rows

from pipeline.cli.main import main
from pipeline.core.config import Config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    yield build_tiny_tenant(tmp_path_factory.mktemp("tiny-cli") / "data")


def run(config: Config, *args: str) -> int:
    try:
        main(["--data-dir", str(config.data_dir), *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def adhoc_sql_section() -> str:
    """The "Ad-hoc SQL" section of README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Ad-hoc SQL\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    assert match, "README.md has no '## Ad-hoc SQL' section"
    return match.group(1)


def sql_examples() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", adhoc_sql_section(), flags=re.S)


def test_the_section_has_examples() -> None:
    assert len(sql_examples()) >= 8
    assert "duckdb -readonly" in adhoc_sql_section()


@pytest.mark.parametrize("example", sql_examples(), ids=lambda q: q.split("FROM")[1].split()[0])
def test_every_adhoc_sql_example_runs(
    tenant: Config, example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each example runs (no error, JSON out) on a small hand-built tenant too; that each returns
    rows as written is checked on the demo data the README names (tests/demo/
    test_readme_examples.py), since the examples name the demo's days and contacts."""
    assert run(tenant, "sql", "--format", "json", example) == 0, capsys.readouterr().err
    assert isinstance(json.loads(capsys.readouterr().out), list)


def test_build_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    capsys.readouterr()
    assert run(config, "build") == 0
    err = capsys.readouterr().err
    assert "full rebuild: 1 new snapshot(s) of 1 campaign(s), 7 rows read" in err
    assert run(config, "build") == 0
    assert "incremental build: 0 new snapshot(s)" in capsys.readouterr().err
    assert run(config, "build", "--full") == 0
    assert "full rebuild: 1 new snapshot(s)" in capsys.readouterr().err


def test_sql_prints_a_table(tenant: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(tenant, "sql", "SELECT campaign_id, contacts, delivery_rate FROM funnel ORDER BY 1")
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].split(" | ") == ["campaign_id", "contacts", "delivery_rate"]
    assert [line.split("|")[0].strip() for line in out[2:5]] == ["A", "B", "C"]
    assert out[2].split("|")[2].strip() == "0.5"
    assert out[3].split("|")[2].strip() == ""  # NULL: a zero denominator
    assert out[-1] == "(3 rows)"


def test_sql_csv_from_stdin(
    tenant: Config, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("SELECT campaign_id, contacts FROM funnel ORDER BY 1")
    )
    assert run(tenant, "sql", "--format", "csv", "-") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["campaign_id", "contacts"], ["A", "7"], ["B", "0"], ["C", "2"]]


def test_sql_row_cap_says_so(tenant: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(tenant, "sql", "--max-rows", "2", "--format", "json", "SELECT * FROM state_counts") == 0
    )
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 2
    assert "only the first 2 rows are shown" in captured.err


def test_sql_time_limit(tenant: Config, capsys: pytest.CaptureFixture[str]) -> None:
    slow = "SELECT count(*) FROM range(100000000000) a"
    assert run(tenant, "sql", "--timeout", "0.3", slow) == 1
    assert "Error: the query ran longer than 0.3 s" in capsys.readouterr().err


def test_sql_time_limit_up_before_the_query_begins(
    tenant: Config, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine the limit may be up before DuckDB has begun the query (an interrupt
    then is lost): the query is stopped all the same."""
    import pipeline.warehouse.analyst as build

    interrupted = threading.Event()
    real_open = build.open_analyst

    class Connection:  # the real one, which tells when it was interrupted
        def __init__(self, con: Any) -> None:
            self._con = con

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

        def interrupt(self) -> None:
            self._con.interrupt()
            interrupted.set()

    class EarlyTimer(threading.Timer):  # the query begins only after the limit is up
        def start(self) -> None:
            super().start()
            assert interrupted.wait(GUARD)

    monkeypatch.setattr(build, "open_analyst", lambda config: Connection(real_open(config)))
    monkeypatch.setattr(
        build, "threading", SimpleNamespace(Timer=EarlyTimer, Event=threading.Event)
    )
    slow = "SELECT count(*) FROM range(100000000000) a"
    assert run(tenant, "sql", "--timeout", "0.3", slow) == 1
    assert "Error: the query ran longer than 0.3 s" in capsys.readouterr().err


def test_sql_is_read_only(tenant: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tenant, "sql", "DELETE FROM snapshot_log") == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the query failed:") and "read-only" in err
    assert "Traceback" not in err


def test_sql_without_a_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(make_config(tmp_path / "data"), "sql", "SELECT 1") == 1
    assert "run `campaign-reports build` first" in capsys.readouterr().err


def test_sql_bad_query_is_a_message(tenant: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tenant, "sql", "SELECT * FROM no_such_view") == 1
    err = capsys.readouterr().err
    assert "no_such_view" in err and "Traceback" not in err
