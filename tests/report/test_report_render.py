"""The rendering layer on its own (filters, CSV safety, charts, atomic writes) and the CLI."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_helpers import REPORT_DAY, build_tenant

from pipeline.cli.main import cli
from pipeline.core.durable import atomic_write
from pipeline.report.charts import funnel_chart, sparkline, states_chart
from pipeline.report.model import Funnel, Stage, TrendPoint
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


def test_narrow_charts_keep_their_labels_inside_340_units() -> None:
    """The phone variants: 340 units wide, every label inside, day labels not overlapping."""
    t = datetime(2026, 11, 30, 6, tzinfo=UTC)
    trend = tuple(
        TrendPoint(date(2026, 11, d), t, 10, 8, 6, 4, 0.5, {"read": 4, "sent": 6})
        for d in range(1, 31)
    )
    chart = states_chart(trend, (("read", "Read"), ("sent", "Sent")), wide=False)
    assert chart.width == 340
    days = [lab for lab in chart.labels if lab.text.endswith(".11.")]
    # 30 days, a label every round(30 / 4) = 8 days: days 1, 9, 17 (index 0, 8, 16); index 24
    # is only 5 days before the last (< 8 x 3/4 = 6), so it gives way to the last, 30.11.
    assert [lab.text for lab in days] == ["01.11.", "09.11.", "17.11.", "30.11."]
    # the first and last sit inside the plot (from x = 54 to 340), not centred past its edges
    assert (days[0].x, days[0].anchor) == (54, "start")
    assert (days[-1].x, days[-1].anchor) == (340, "end")
    # a day label is about 40 units wide: the labels' extents do not overlap
    spans = [{"start": (d.x, d.x + 40), "middle": (d.x - 20, d.x + 20), "end": (d.x - 40, d.x)}
             [d.anchor] for d in days]  # fmt: skip
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))

    stages = (Stage("contacts", "Contacts", 11, 1.0), Stage("sent", "reached Sent", 7, 7 / 11))
    funnel = funnel_chart(Funnel(stages, ()), wide=False)
    assert funnel.width == 340
    # full width for the largest stage; 340 x 7 / 11 = 216.36 for reached Sent
    assert [b.width for b in funnel.bars] == [340, 216.4]
    texts = [(lab.text, lab.x, lab.anchor) for lab in funnel.labels]
    assert texts == [("Contacts", 0, "start"), ("11 · 100.0%", 340, "end"),
                     ("reached Sent", 0, "start"), ("7 · 63.6%", 340, "end")]  # fmt: skip
    # the name and count above each bar: 2 x (20 text + 16 bar) + 10 gap = 82 units high
    assert funnel.height == 82


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
