"""The by-age charts, their tables and the projection on the rendered pages, on the hand-built
tenant of tests/age_helpers.py (f1, f2, f3 finished; run 24 h old on the report day).

Chart geometry by hand (pipeline/report/age_charts.py): the wide chart is 760 x 280 units with
margins left 46, right 14, top 10, bottom 40, so the plot is 700 wide and 230 high; a point at
age h on an axis of span S hours and rate v is at x = 46 + 700 * h / S, y = 10 + 230 * (1 - v).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from age_helpers import DAY, build_age_tenant
from report_helpers import Node, cell_text, parse_html, query

from pipeline.core.config import Config
from pipeline.report.age_charts import hours_label, line_chart
from pipeline.report.pages import render_reports
from pipeline.report.render import css_text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = build_age_tenant(Path(tmp_path_factory.mktemp("agepages")) / "data")
    return render_reports(cfg, day=DAY).out_dir / DAY.isoformat()


def page(site: Path, name: str) -> Node:
    return parse_html((site / name).read_text(encoding="utf-8"))


def series(svg: Node) -> dict[str, list[str]]:
    """data-series -> the points of each of its polylines."""
    return {
        str(g.attrs["data-series"]): [str(p.attrs["points"]) for p in g.find_all("polyline")]
        for g in svg.find_all("g")
        if "series" in str(g.attrs.get("class", "")).split()
    }


def texts(svg: Node) -> list[str]:
    return [t.text.replace("\u00a0", " ") for t in svg.find_all("text")]


def test_overview_chart_has_one_line_per_campaign_and_axes(site: Path) -> None:
    doc = page(site, "index.html")
    svg = doc.by_id("age-read_of_sent").find("svg", **{"class": "age-chart"})
    assert svg.attrs["viewbox"] == "0 0 760 280"
    lines = series(svg)
    assert set(lines) == {"f1", "f2", "f3", "run"}
    # f2: 0 h 0.1, 24 h 0.4, 72 h 0.6, on an axis of 72 h (the oldest campaign's age):
    # x 46, 46 + 700 * 24 / 72 = 279.3, 746; y 10 + 230 * 0.9 = 217, 10 + 230 * 0.6 = 148, 102
    assert lines["f2"] == ["46.0,217.0 279.3,148.0 746.0,102.0"]
    # run: 0.5 h 0.1 and 24 h 0.3: x 46 + 700 * 0.5 / 72 = 50.9; y 10 + 230 * 0.7 = 171
    assert lines["run"] == ["50.9,217.0 279.3,171.0"]
    labels = texts(svg)
    assert labels[:5] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    # 72 h / 12 h = 6 ticks or fewer: 0 h, 12 h, 24 h, 36 h, 2 d, 60 h, 3 d
    assert labels[5:12] == ["0 h", "12 h", "24 h", "36 h", "2 d", "60 h", "3 d"]
    assert "hours since start" in labels
    legend = [li.text for li in doc.by_id("by-age").find_all("li")]
    assert legend == ["First", "Second", "Third", "Running"]


def test_overview_table_has_the_charts_numbers(site: Path) -> None:
    doc = page(site, "index.html")
    rows = doc.by_id("by-age-table").find("tbody").find_all("tr")
    # f1, f2, f3: 0, 24, 72 h; run: 0.5 h (the last snapshot of the first hour) and 24 h
    assert len(rows) == 11
    got = {
        (r.attrs["data-campaign"], r.attrs["data-age-hours"]): r.find(
            "td", data_metric="read_of_sent"
        ).text.replace("\u00a0", " ")
        for r in rows
    }
    assert got[("f2", "24.0")] == "40.0 %" and got[("run", "0.5")] == "10.0 %"
    assert got[("f3", "72.0")] == "50.0 %"
    # the same number of points in each line as rows in the table, per campaign
    svg = doc.by_id("age-read_of_sent").find("svg", **{"class": "age-chart"})
    for cid, segments in series(svg).items():
        points = sum(len(s.split()) for s in segments)
        assert points == sum(1 for r in rows if r.attrs["data-campaign"] == cid), cid


def test_overview_lists_the_projection_with_its_track_record(site: Path) -> None:
    rows = page(site, "index.html").by_id("projections").find("tbody").find_all("tr")
    got = {r.attrs["data-metric"]: [cell_text(td) for td in r.find_all("td")] for r in rows}
    # read of sent (tests/warehouse/test_campaign_age.py works it out): 0.3 now, projected
    # 0.6, band 0.48 - 0.72, leave-one-out median error 15 pp over 3 campaigns
    assert got["read_of_sent"] == [
        "Read of sent", "24.0 h", "30.0 %", "60.0 %", "48.0 % \u2013 72.0 %", "±15.0 pp (3)",
    ]  # fmt: skip
    assert got["delivered_of_sent"][3:] == ["64.0 %", "60.8 % \u2013 76.8 %", "±10.0 pp (3)"]


def test_narrow_chart_text_stays_readable_on_a_phone(site: Path) -> None:
    doc = page(site, "index.html")
    narrow = doc.by_id("age-read_of_sent-narrow-t")  # the title inside the svg
    svg = narrow.parent
    assert svg is not None and svg.tag == "svg"
    width = float(str(svg.attrs["viewbox"]).split()[2])
    # a 390 px phone: 390 - 2 * 16 (page) - 2 * 13 (figure) = 332 px for the chart; text of
    # 13 units in a chart of `width` units shows at 13 * 332 / width px
    assert width <= 340 and 13 * 332 / width >= 11
    css = css_text()
    assert "svg.age-chart text, svg.age-chart text.axis { font-size: 13px; }" in css
    assert re.search(r"@media \(max-width: 820px\) \{\s*\.age-wide \{ display: none; \}", css)
    # 72 h on at most 3 ticks: every 24 h
    assert texts(svg)[3:7] == ["0 h", "24 h", "2 d", "3 d"]


def test_campaign_page_curve_beside_the_median_on_its_own_life(site: Path) -> None:
    doc = page(site, "campaign-run.html")
    svg = doc.by_id("age-campaign").find("svg", **{"class": "age-chart"})
    lines = series(svg)
    assert set(lines) == {
        "read_of_sent", "median_read_of_sent", "delivered_of_sent", "median_delivered_of_sent",
    }  # fmt: skip
    # its axis ends at its own age, 24 h (6-hourly ticks), not at the oldest campaign's 72 h
    assert texts(svg)[5:10] == ["0 h", "6 h", "12 h", "18 h", "24 h"]
    # median read of sent: bucket 0 0.05, bucket 24 0.25 (by hand in test_campaign_age.py):
    # x 46 and 46 + 700 = 746; y 10 + 230 * 0.95 = 228.5 and 10 + 230 * 0.75 = 182.5
    assert lines["median_read_of_sent"] == ["46.0,228.5 746.0,182.5"]
    rows = doc.by_id("age-table").find("tbody").find_all("tr")
    cells = [
        [cell_text(td) for td in r.find_all("td")][1:] for r in rows
    ]  # without the snapshot time
    assert cells == [
        ["10.0 %", "5.0 %", "10.0 %", "5.0 %", "4"],
        ["30.0 %", "25.0 %", "40.0 %", "45.0 %", "4"],
    ]


def test_campaign_page_projection_and_track_record(site: Path) -> None:
    dl = page(site, "campaign-run.html").by_id("projection-list")
    read = dl.find("dd", data_metric="read_of_sent")
    assert read.find("strong").text.replace("\u00a0", " ") == "60.0 %"
    text = " ".join(read.text.replace("\u00a0", " ").split())
    assert "band 48.0 % \u2013 72.0 %" in text and "From 3 finished campaigns" in text
    assert "the 3 finished campaigns ended a median 15.0 pp (at most 30.0 pp)" in text
    # a finished campaign gets no projection
    assert not page(site, "campaign-f1.html").find_all(id="projection-list")


def test_states_over_time_spans_the_campaigns_own_days(site: Path) -> None:
    run = page(site, "campaign-run.html").by_id("trend").find("tbody").find_all("tr")
    # run started 2026-11-20: two days, not thirty
    assert [r.find("th").text for r in run] == ["2026-11-21", "2026-11-20"]
    f1 = page(site, "campaign-f1.html").by_id("trend").find("tbody").find_all("tr")
    assert len(f1) == 21  # 2026-11-01 .. 2026-11-21
    assert f1[-1].find("th").text == "2026-11-01"


def test_the_sparkline_is_labelled_with_its_last_value(site: Path) -> None:
    summary = page(site, "index.html").by_id("summary")  # campaigns at a glance
    [row] = [r for r in summary.find_all("tr") if r.attrs.get("data-campaign") == "run"]
    spark = row.find("svg", **{"class": "spark"})
    assert [t.text for t in spark.find_all("text")] == ["30%"]  # 3 read of 10 reached Sent
    assert spark.find_all("line")  # the baseline at 0


def test_below_the_minimum_no_projection_is_shown(tmp_path: Path) -> None:
    cfg: Config = build_age_tenant(tmp_path / "data", projection_min_campaigns=4)
    out = render_reports(cfg, day=date(2026, 11, 21)).out_dir / DAY.isoformat()
    dl = page(out, "campaign-run.html").by_id("projection-list")
    assert not dl.find_all("strong")
    text = " ".join(dl.text.split())
    assert (
        "not projected: 3 finished campaign(s) with a value at this age; at least 4 needed" in text
    )
    assert "data-value" not in (out / "index.html").read_text(encoding="utf-8")
    # the setting reaches the view through the warehouse's settings (no parameter given)
    rows = query(cfg, "SELECT shown, min_campaigns FROM projection(DATE '2026-11-21')")
    assert [(r["shown"], r["min_campaigns"]) for r in rows] == [(False, 4), (False, 4)]


def test_a_line_breaks_where_a_rate_is_na() -> None:
    chart = line_chart(
        [("c", "C", "age-c0", [(0, 0.5), (1, None), (2, 0.5), (3, 1.0)])],
        title="t", description="d", max_hours=3, wide=True,
    )  # fmt: skip
    (s,) = chart.series
    # x 46 + 700 * h / 3: 46, 512.7, 746; y 10 + 230 * 0.5 = 125, 10 + 0 = 10
    assert s.segments == ("46.0,125.0", "512.7,125.0 746.0,10.0")
    assert s.dots == ((46.0, 125.0), (746.0, 10.0))  # the lone point, and the line's end
    assert [hours_label(h) for h in (0, 47, 48, 60, 168)] == ["0 h", "47 h", "2 d", "60 h", "7 d"]
