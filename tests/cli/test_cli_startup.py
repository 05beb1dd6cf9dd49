"""Start-up stays light: ``--help``, ``--version`` and every command's ``--help`` load neither
polars, DuckDB, pyarrow, httpx nor Jinja (they cost most of a second; commands load them when
they run). Checked with ``python -X importtime``, which names every module a process imports:
no timing, so a busy machine cannot make it flaky. ``bench/startup_bench.py`` measures the time.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.cli.main import cli

HEAVY = ("polars", "duckdb", "_duckdb", "pyarrow", "httpx", "jinja2")
CASES = [["--help"], ["--version"], *([name, "--help"] for name in sorted(cli.commands))]


def imported_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules ``python -m pipeline ARGS`` imports, from its ``-X importtime`` lines."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return names, result


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_help_and_version_do_not_load_heavy_libraries(args: list[str]) -> None:
    names, result = imported_modules(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip(), "no output"
    assert "pipeline.cli.main" in names, "-X importtime listed nothing: the check would be blind"
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not heavy, f"`campaign-reports {' '.join(args)}` imported {heavy[:5]}"


def test_ingest_loads_neither_duckdb_nor_jinja() -> None:
    """An ingest without phones to hash or a suppression list needs polars and Delta only."""
    code = "import sys, pipeline.store.ingest; print([m for m in ('duckdb', 'jinja2') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
