"""Finished campaigns keep their final numbers in the day's totals; stale means a real gap.

The tenant is tests/lifecycle_helpers.py; the report day 2026-12-25 (Europe/Prague, CET).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from lifecycle_helpers import DAY, build_lifecycle_tenant
from report_helpers import cell_text, parse_html

from pipeline.core.config import Config
from pipeline.core.console import Console


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    from datetime import date

    from pipeline.report import render_reports

    cfg = build_lifecycle_tenant(Path(tmp_path_factory.mktemp("lifecycle")) / "data")
    render_reports(cfg, Console.silent(), day=DAY)
    render_reports(cfg, Console.silent(), day=date(2026, 11, 22))
    return cfg, Path(cfg.data_dir) / "reports"


def page(site: tuple[Config, Path], day: str, name: str) -> Any:
    return parse_html((site[1] / day / name).read_text(encoding="utf-8"))


def test_finished_campaigns_stay_in_the_totals(site: tuple[Config, Path]) -> None:
    doc = page(site, "2026-12-25", "index.html")
    # in the totals: fin 3 (final) + live 2 + quiet 1 (final) + cxl 3 (final) = 9; gap is not
    assert cell_text(doc.by_id("total-contacts").find(class_="v")) == "9"
    # reached Sent: fin 3 + live 2 + quiet 1 + cxl 1 (c1; canceled ones were never sent) = 7;
    # reached Read: fin 2 + live 1 + quiet 1 + cxl 1 = 5
    assert cell_text(doc.by_id("total-sent").find(class_="v")) == "7"
    assert cell_text(doc.by_id("total-read").find(class_="v")) == "5"
    # change: previous = fin 3 + live 2 (12-24) + quiet 1 + cxl 0 (new) = 6; 9 - 6 = +3
    assert cell_text(doc.by_id("total-contacts").find(class_="d")) == "+3"
    rows = doc.by_id("campaigns").find("tbody").find_all("tr")
    listed = [r.attrs["data-campaign"] for r in rows]
    # fin's last day (11-21) is 34 days back, outside the 30-day window: listed as final
    assert sorted(listed) == ["cxl", "fin", "live", "quiet"]
    final = {r.attrs["data-campaign"] for r in rows if r.find_all(class_="tag final")}
    assert final == {"fin", "quiet", "cxl"}
    sub = " ".join(doc.find(class_="sub").text.split())
    assert "4 campaigns in the totals (2 final), 1 stale" in sub


def test_the_day_after_the_end(site: tuple[Config, Path]) -> None:
    doc = page(site, "2026-11-22", "index.html")
    # fin's last snapshot is from 11-21; on 11-22 it is final, in the totals with 3 contacts
    assert cell_text(doc.by_id("total-contacts").find(class_="v")) == "3"
    # the same campaign the day before (its last snapshot, 11-21) had 3: no change
    assert cell_text(doc.by_id("total-contacts").find(class_="d")) == "±0"
    assert not doc.find_all(id="stale")
    camp = page(site, "2026-11-22", "campaign-fin.html")
    banner = " ".join(camp.by_id("final-banner").text.split())
    assert banner.startswith("final Finished")
    assert "finished according to the mluvii API." in banner
    assert "counts in the totals of 2026-11-22" in banner
    assert not camp.find_all(id="stale-banner")


def test_stale_is_a_gap_with_its_hours(site: tuple[Config, Path]) -> None:
    doc = page(site, "2026-12-25", "index.html")
    stale = doc.by_id("stale").find("tbody").find_all("tr")
    assert [r.attrs["data-campaign"] for r in stale] == ["gap"]
    # 2026-12-23 21:00Z is 22:00 CET; to the day's end (12-25 23:00Z): 50 hours
    hours = stale[0].find("td", **{"data-metric": "hours_since_snapshot"})
    assert cell_text(hours) == "50.0"
    banner = " ".join(doc.find(class_="banner stale").text.split())
    assert "Gap: stale since 2026-12-23 22:00 CET, 50.0 h without a snapshot" in banner
    camp = page(site, "2026-12-25", "campaign-gap.html")
    text = " ".join(camp.by_id("stale-banner").text.split())
    assert text.startswith("Stale since 2026-12-23 22:00 CET: 50.0 h without a snapshot")


def test_overview_csv_says_final(site: tuple[Config, Path]) -> None:
    text = (site[1] / "2026-12-25" / "overview.csv").read_text(encoding="utf-8")
    status = {r["campaign_id"]: r["status"] for r in csv.DictReader(io.StringIO(text))}
    assert status == {
        "fin": "final",
        "quiet": "final",
        "cxl": "fresh",  # a snapshot on the day (and canceled)
        "live": "fresh",
        "gap": "stale",
    }
