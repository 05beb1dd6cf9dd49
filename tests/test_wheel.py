"""The package as users install it: a real wheel (not the editable checkout), in a fresh venv,
run from a folder outside the project. queries/ and reports/ must travel inside the wheel.

The wheel is built and installed offline: the fresh venv gets only the wheel, and sees the
third-party libraries through a path entry to this environment's site-packages (no network in
tests; .ci/run also installs it from the package index into a bare venv)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (path,) = out.glob("campaign_state_reports-*.whl")
    return path


def test_the_wheel_carries_the_sql_and_the_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for sql in (ROOT / "queries").rglob("*.sql"):
        assert f"pipeline/queries/{sql.relative_to(ROOT / 'queries').as_posix()}" in names
    for template in (ROOT / "reports").iterdir():
        assert f"pipeline/reports/{template.name}" in names
    assert "pipeline/core/states.toml" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_the_installed_wheel_runs_the_demo_outside_the_project(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # The libraries (polars, DuckDB, ...) from this environment; the project from the wheel.
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [py, "-c", "import pipeline; print(pipeline.__file__)"],
        check=True, capture_output=True, text=True, cwd=work, env=env,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(site), where  # the wheel's copy, not the checkout
    run = subprocess.run(
        [env_dir / "bin" / "campaign-reports", "--data-dir", "data", "demo", "--scale", "0.02"],
        capture_output=True, text=True, cwd=work, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "The report is ready: data/reports/" in run.stderr
    overview = next((work / "data" / "reports").glob("*/index.html"))
    assert "Funnel" in overview.read_text(encoding="utf-8") or "funnel" in overview.read_text(
        encoding="utf-8"
    )
    module = subprocess.run(
        [py, "-m", "pipeline", "--version"], capture_output=True, text=True, cwd=work, env=env
    )
    assert module.returncode == 0 and "campaign-reports" in module.stdout
