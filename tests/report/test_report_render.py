"""The rendering layer on its own (filters, CSV safety, charts, atomic writes) and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_helpers import REPORT_DAY, build_tenant

from pipeline.cli.main import cli
from pipeline.core.durable import atomic_write
from pipeline.report.charts import sparkline, states_chart
from pipeline.report.model import TrendPoint
from pipeline.report.pages import ReportError, choose_days
from pipeline.report.render import (
    csp_for,
    csv_text,
    fmt_int,
    fmt_pct,
    fmt_pp,
    fmt_signed,
    make_environment,
)


def test_number_filters() -> None:
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_int(None) == "n/a"
    assert fmt_pct(None) == "n/a"  # a zero denominator is never shown as 0
    assert fmt_pct(0.0) == "0.0\u00a0%"
    assert fmt_pct(2 / 3) == "66.7\u00a0%"
    assert fmt_signed(5) == "+5" and fmt_signed(-5) == "\u22125" and fmt_signed(0) == "±0"
    assert fmt_signed(None) == "n/a"
    assert fmt_pp(0.0123) == "+1.2\u00a0pp" and fmt_pp(None) == "n/a"


def test_environment_is_strict_and_escapes() -> None:
    env = make_environment("Europe/Prague")
    assert env.autoescape is True or callable(env.autoescape)
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()
    t = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the spring DST change in Prague
    assert env.from_string("{{ t|localtime }}").render(t=t) == "2026-03-29 03:30 CEST"


def test_csp_allows_only_the_inline_style() -> None:
    csp = csp_for("body{}")
    assert csp.startswith("default-src 'none'; style-src 'sha256-")
    assert "script-src" not in csp and "unsafe" not in csp
    with_script = csp_for("body{}", "x()")
    assert "script-src 'sha256-" in with_script and "unsafe" not in with_script


def test_csv_neutralises_formula_cells_but_not_numbers() -> None:
    text = csv_text(("a", "b"), [("=1+1", -3), ("@x", 0.5), ("+x", None), ("-x", "ok")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == [["'=1+1", "-3"], ["'@x", "0.5"], ["'+x", ""], ["'-x", "ok"]]


def test_charts_draw_gaps_not_zeros() -> None:
    t = datetime(2026, 11, 27, 6, tzinfo=UTC)
    trend = (
        TrendPoint(date(2026, 11, 26), None, None, None, None, None, None),
        TrendPoint(date(2026, 11, 27), t, 4, 3, 2, 1, 1 / 3, {"read": 1, "sent": 3}),
    )
    chart = states_chart(trend, (("read", "Read"), ("sent", "Sent")))
    gaps = [b for b in chart.bars if b.css == "gap"]
    assert len(gaps) == 1 and "no snapshot" in gaps[0].title
    assert {b.css for b in chart.bars} == {"gap", "s-read", "s-sent"}
    spark = sparkline(trend)
    assert len(spark.points.split()) == 1  # the day without a snapshot is not a point
    assert "26.11. n/a" in spark.description


def test_write_atomic_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "day" / "index.html"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["index.html"]


def test_choose_days() -> None:
    days = [date(2026, 11, 25), date(2026, 11, 27)]
    assert choose_days(days, None, None, None) == [date(2026, 11, 27)]  # latest with data
    assert choose_days(days, date(2026, 1, 1), None, None) == [date(2026, 1, 1)]
    assert len(choose_days(days, None, date(2026, 11, 20), None)) == 8
    with pytest.raises(ReportError, match="either --date"):
        choose_days(days, date(2026, 1, 1), date(2026, 1, 1), None)
    with pytest.raises(ReportError, match="no complete snapshot"):
        choose_days([], None, None, None)


def test_cli_report_prints_the_overview_path(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    build_tenant(data)
    runner = CliRunner()
    out = runner.invoke(
        cli, ["--data-dir", str(data), "--quiet", "report", "--date", REPORT_DAY.isoformat()]
    )
    assert out.exit_code == 0, out.output
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path == data / "reports" / "2026-11-27" / "index.html" and path.is_file()
    help_text = runner.invoke(cli, ["report", "--help"]).output
    for option in ("--date", "--from", "--to", "--out", "--trend-days"):
        assert option in help_text
    assert help_text.count("Example") >= 5


def test_cli_report_without_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    from pipeline.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(tmp_path / "empty"), "report"])
    assert exc.value.code == 1


def test_templates_compile_once_per_process() -> None:
    env = make_environment("Europe/Prague")
    assert make_environment("Europe/Prague") is env  # one environment per zone and process
    assert make_environment("UTC") is not env  # the time filters differ by zone
    name = env.list_templates(extensions=["html"])[0]
    assert env.get_template(name) is env.get_template(name)  # compiled once, then reused
