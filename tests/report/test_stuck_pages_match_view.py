"""Every stuck figure of the pages (campaign card, warning, stuck CSV, overview total) is the view
stuck_counts at the page's snapshot, on every day of a small demo tenant; and stuck_counts equals
an independent implementation of the rule (the Spark job's portable SQL, run by DuckDB over the
store's files: runs read off consecutive snapshots with window functions) on every snapshot.

The demo has contacts stuck In progress or Retry scheduled for hours, and days where the same
state is reported with another raw text (CALLING / CALL_IN_PROGRESS).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from report_helpers import parse_html, query

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.demo.tenant import run_demo
from pipeline.report import render_reports
from pipeline.spark.portable import Params, run_duckdb
from pipeline.store.snapshots import Store
from pipeline.warehouse.build import build

AS_OF = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    config = Config(data_dir=tmp_path_factory.mktemp("stuck-demo") / "data")
    run_demo(config, Console.silent(), seed=7, scale=0.01, as_of=AS_OF)
    build(config, Console.silent())
    days = [r["day"] for r in query(config, "SELECT DISTINCT day FROM stuck_counts ORDER BY 1")]
    render_reports(config, Console.silent(), start=days[0], end=days[-1])
    yield config


def view(config: Config) -> dict[str, int]:
    return {r["snapshot_id"]: r["stuck"] for r in query(config, "SELECT * FROM stuck_counts")}


def test_stuck_counts_equal_the_independent_rule_on_every_snapshot(demo: Config) -> None:
    con = duckdb.connect()
    try:
        run_duckdb(con, Store(demo.data_dir).complete_files(), Params.of(demo, None, None))
        portable = dict(con.execute("SELECT snapshot_id, stuck FROM stuck_counts").fetchall())
    finally:
        con.close()
    ours = view(demo)
    assert {k: v for k, v in ours.items() if k in portable} == portable
    assert set(portable) <= set(ours)
    assert sum(portable.values()) > 0  # the demo has stuck contacts: the check is not vacuous


def test_every_pages_stuck_figure_is_the_view(demo: Config) -> None:
    by_snapshot = view(demo)
    root = Path(demo.data_dir) / "reports"
    checked = stuck_seen = 0
    for day_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        overview = json.loads((day_dir / "overview.json").read_text("utf-8"))
        fresh_total = 0
        for c in overview["campaigns"]:
            cid = c["campaign_id"]
            page = json.loads((day_dir / f"campaign-{cid}.json").read_text("utf-8"))["campaign"]
            expected = by_snapshot[page["snapshot_id"]]
            assert page["stuck_count"] == expected, (day_dir.name, cid)
            html = parse_html((day_dir / f"campaign-{cid}.html").read_text("utf-8"))
            card = html.by_id("kpi-stuck").find("div", **{"class": "v"}).text.strip()
            assert card == f"{expected:,}", (day_dir.name, cid)
            assert stuck_csv_rows(day_dir / f"campaign-{cid}-stuck.csv") == expected
            fresh_total += expected if page["fresh"] else 0
            checked += 1
            stuck_seen += expected
        assert overview["totals"]["stuck"] == fresh_total, day_dir.name
    assert checked > 20 and stuck_seen > 0


def stuck_csv_rows(path: Path) -> int:
    if not path.exists():
        return 0
    rows: list[Any] = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
    return len(rows) - 1
