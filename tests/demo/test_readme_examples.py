"""Every SQL example in README.md runs as written on the demo tenant and returns rows.

The examples are taken from the README itself: each statement of every ```sql block, and every
``campaign-reports ... sql ... "QUERY"`` command line (with its options). They run through the
``sql`` command on a demo (scale 0.01, the command's default as-of time) built, like ``make demo``,
into a folder named ``demo-data``, from its parent folder, so that paths such as
``demo-data/snapshots`` resolve as they would for a reader. The demo also renders its last 7
days: the archive has 7 rows, newest first.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli.main import cli
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.demo.tenant import run_demo
from pipeline.report import render_last_days
from pipeline.warehouse.build import build

README = Path(__file__).resolve().parents[2] / "README.md"
AS_OF = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # the demo command's default
#: Examples the demo cannot answer, and why (the demo runs no scheduler, so it has no runs).
NOT_ON_THE_DEMO = {"SELECT * FROM runs WHERE status = 'failed'"}


def sql_blocks(text: str) -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [s.strip() for b in blocks for s in b.split(";") if s.strip()]


def sql_commands(text: str) -> list[list[str]]:
    """The arguments after ``sql`` of each ``campaign-reports ... sql ... "QUERY"`` line (a
    trailing backslash continues a line); commands reading stdin or without a query are left
    out."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for m in re.finditer(r"campaign-reports (?:--data-dir \S+ )?sql ([^\n`]*\"[^\n`]*\")", joined):
        args = shlex.split(m.group(1))
        if args and args[-1] not in NOT_ON_THE_DEMO:
            out.append(args)
    return out


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("readme") / "demo-data"
    config = Config(data_dir=data)
    run_demo(config, Console.silent(), seed=7, scale=0.01, as_of=AS_OF)
    build(config, Console.silent())
    render_last_days(config, Console.silent(), days=7)
    return data


def run_sql(data: Path, args: list[str]) -> list[object]:
    """Run one example through the ``sql`` command, its own ``--format`` swapped for JSON."""
    if "--format" in args:
        i = args.index("--format")
        args = args[:i] + args[i + 2 :]
    here = Path.cwd()
    os.chdir(data.parent)  # paths in the examples are relative to where demo-data is
    try:
        result = CliRunner().invoke(
            cli, ["--data-dir", "demo-data", "sql", "--format", "json", *args]
        )
    finally:
        os.chdir(here)
    assert result.exit_code == 0, f"{args}: {result.output}"
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_the_readme_has_examples_to_run() -> None:
    text = README.read_text("utf-8")
    assert len(sql_blocks(text)) >= 12 and len(sql_commands(text)) >= 3
    assert sql_commands('x\ncampaign-reports sql --max-rows 5 "SELECT 1"\n') == [
        ["--max-rows", "5", "SELECT 1"]
    ]


def test_every_readme_sql_example_returns_rows_on_the_demo(demo_data: Path) -> None:
    text = README.read_text("utf-8")
    empty = []
    for args in [[s] for s in sql_blocks(text)] + sql_commands(text):
        if not run_sql(demo_data, args):
            empty.append(args[-1][:80])
    assert not empty, f"README examples with no row on the demo: {empty}"


def test_the_demo_renders_its_last_seven_days(demo_data: Path) -> None:
    reports = demo_data / "reports"
    days = sorted(p.name for p in reports.iterdir() if p.is_dir())
    # the demo's history ends 2026-11-27 22:00 UTC = 23:00 in Prague: 21st to 27th November
    assert days == [date(2026, 11, d).isoformat() for d in range(21, 28)]
    archive = (reports / "index.html").read_text("utf-8")
    rows = re.findall(r'<tr data-day="([0-9-]+)">', archive)
    assert rows == list(reversed(days))  # newest first
    overview = (reports / "2026-11-24" / "index.html").read_text("utf-8")
    assert 'href="../2026-11-23/index.html" rel="prev"' in overview
    assert 'href="../2026-11-25/index.html" rel="next"' in overview
    # a campaign's own index lists its days, each linking to that day's page
    own = (reports / "campaign-1103.html").read_text("utf-8")
    assert "Reactivation" in own and 'href="2026-11-27/campaign-1103.html"' in own
