"""The CLI edge: which exception becomes which message and exit code.

Each test drives the real ``main()`` in-process and makes one function that a command calls
raise; the stage in the message is where the exception surfaced in the pipeline package.
"""

from __future__ import annotations

import errno
import importlib
import os
import re
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pytest

from pipeline.cli.main import main
from pipeline.core.errors import describe

PHONE = "+420601234567"


def run(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def raising(exc: BaseException) -> Any:
    def fail(*_: object, **__: object) -> NoReturn:
        raise exc

    return fail


def only_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_bug_is_one_line_with_the_stage_and_exit_70(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "pipeline.report.pages.make_environment", raising(RuntimeError("kaput\nsecond line"))
    )
    assert run("--data-dir", str(tmp_path), "report") == 70
    assert only_line(capsys.readouterr().err) == (
        "Error: internal error in report: RuntimeError: kaput; rerun with --debug for the traceback"
    )


def test_debug_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("pipeline.report.pages.make_environment", raising(RuntimeError("kaput")))
    assert run("--debug", "--data-dir", str(tmp_path), "report") == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert 'pipeline/report/pages.py", line' in err
    last = err.strip().splitlines()[-1]
    assert last == "Error: internal error in report: RuntimeError: kaput"


def test_an_os_error_names_errno_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = OSError(errno.EIO, os.strerror(errno.EIO), str(tmp_path / "manifest.json"))
    monkeypatch.setattr("pipeline.store.retention.Store", raising(broken))
    assert run("--data-dir", str(tmp_path), "retention") == 70
    line = only_line(capsys.readouterr().err)
    assert line.startswith("Error: internal error in store: OSError: EIO: ")
    assert f"{os.strerror(errno.EIO)}: {tmp_path / 'manifest.json'}" in line
    assert "Traceback" not in line


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_anywhere_is_exit_1_naming_the_file(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full = OSError(code, os.strerror(code), str(tmp_path / "manifest.json"))
    monkeypatch.setattr("pipeline.store.retention.Store", raising(full))
    assert run("--data-dir", str(tmp_path), "retention") == 1
    line = only_line(capsys.readouterr().err)
    assert line.startswith(
        f"Error: the disk is full: could not write {tmp_path / 'manifest.json'} ("
    )
    assert line.endswith(
        " free on that filesystem). Nothing was half-written: free some space and run the "
        "command again."
    )


def test_duckdb_out_of_space_names_the_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # DuckDB's own message without a quoted path: the warehouse of the data directory is named
    full = duckdb.IOException("IO Error: could not extend the file: No space left on device")
    monkeypatch.setattr("pipeline.warehouse.analyst.open_analyst", raising(full))
    assert run("--data-dir", str(tmp_path), "sql", "SELECT 1") == 1
    line = only_line(capsys.readouterr().err)
    warehouse = tmp_path / "warehouse" / "warehouse.duckdb"
    assert line.startswith(f"Error: the disk is full: could not write {warehouse} (")


def test_row_content_in_a_duckdb_error_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = duckdb.ConversionException(
        f"Conversion Error: Could not convert string '{PHONE}' to INT64 (contact 98765432)\n"
        f"LINE 1: SELECT CAST('{PHONE}' AS BIGINT)"
    )
    monkeypatch.setattr("pipeline.warehouse.analyst.open_analyst", raising(bad))
    assert run("--data-dir", str(tmp_path), "sql", "SELECT 1") == 70
    line = only_line(capsys.readouterr().err)
    assert line.startswith("Error: internal error in warehouse: duckdb.ConversionException: ")
    assert "string '+•••••' to INT64 (contact •••••)" in line
    assert "420601" not in line and "98765432" not in line and "LINE 1" not in line


def test_a_bug_in_the_cli_itself_names_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # (the package's attribute ``main`` is the function: patch the module itself)
    monkeypatch.setattr(
        importlib.import_module("pipeline.cli.main"), "load_config", raising(KeyError("data_dir"))
    )
    assert run("status") == 70
    assert only_line(capsys.readouterr().err).startswith(
        "Error: internal error in cli: KeyError: 'data_dir'"
    )


def test_a_pipeline_error_is_still_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--data-dir", str(tmp_path / "empty"), "report") == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "internal error" not in err and "Traceback" not in err


def test_interrupted_is_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("pipeline.store.retention.Store", raising(KeyboardInterrupt()))
    assert run("--data-dir", str(tmp_path), "retention") == 130
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--date", "2026-11-27", "--from", "2026-11-01"],
        ["--date", "2026-11-27", "--to", "2026-11-28"],
        ["--from", "2026-11-27", "--to", "2026-11-01"],
    ],
    ids=["date-and-from", "date-and-to", "from-after-to"],
)
def test_report_option_misuse_exits_2(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--data-dir", str(tmp_path), "report", *args) == 2
    err = capsys.readouterr().err
    assert "Usage: campaign-reports report" in err and "Error: " in err
    assert not (tmp_path / "reports").exists()


def test_describe_masks_before_it_cuts() -> None:
    what = describe(ValueError("x" * 195 + "12345678901 and more"))
    assert what.startswith("ValueError: " + "x" * 195 + "••••")
    assert not re.search(r"\d", what), "a number cut short escaped the mask"
    assert len(what) == len("ValueError: ") + 200 and what.endswith("…")
    assert describe(ValueError("")) == "ValueError"
    assert describe(ValueError("\n\n  second  \n")) == "ValueError: second"
    assert describe(ValueError("year 2026, id 123456")) == "ValueError: year 2026, id •••••"


def test_describe_an_os_error_without_errno() -> None:
    assert describe(OSError("socket closed")) == "OSError: socket closed"
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/d/campaign-1234.csv")
    assert (
        describe(missing)
        == "FileNotFoundError: ENOENT: No such file or directory: /d/campaign-1234.csv"
    )
