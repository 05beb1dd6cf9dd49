"""The numbers on the rendered pages equal the warehouse's, element by element."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from report_helpers import (
    REPORT_DAY,
    TZ,
    Node,
    cell_text,
    fmt_int,
    fmt_pct,
    parse_html,
    query,
    render_tenant,
)

from pipeline.core.config import Config


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Any]:
    return render_tenant(tmp_path_factory.mktemp("report"))


def page(result: Any, name: str) -> Node:
    return parse_html((result.out_dir / REPORT_DAY.isoformat() / name).read_text("utf-8"))


def daily(cfg: Config) -> dict[str, dict[str, Any]]:
    """campaign_daily (helper-1's view) for the report day: the reference numbers."""
    got = query(cfg, "SELECT * FROM campaign_daily(tz := ?) WHERE day = ?", [TZ, REPORT_DAY])
    return {str(r["campaign_id"]): r for r in got}


def test_overview_rows_equal_campaign_daily(site: tuple[Config, Any]) -> None:
    cfg, result = site
    doc = page(result, "index.html")
    ref = daily(cfg)
    rows = doc.by_id("campaigns").find("tbody").find_all("tr")
    assert [r.attrs["data-campaign"] for r in rows] == ["alpha", "beta", "zero"]  # by contacts
    assert set(ref) == {"alpha", "beta", "zero"}
    for tr in rows:
        r = ref[str(tr.attrs["data-campaign"])]
        cells = {td.attrs["data-metric"]: cell_text(td) for td in tr.find_all("td") if
                 "data-metric" in td.attrs}  # fmt: skip
        assert cells["contacts"] == fmt_int(r["contacts"])
        assert cells["sent"] == fmt_int(r["reached_sent"])
        assert cells["delivered"] == fmt_int(r["reached_delivered"])
        assert cells["read"] == fmt_int(r["reached_read"])
        assert cells["delivery_rate"] == fmt_pct(r["delivery_rate"])
        assert cells["read_rate"] == fmt_pct(r["read_rate"])
        assert cells["read_of_sent"] == fmt_pct(r["read_of_sent"])
        assert cells["failed"] == fmt_int(r["failed"])
        # the snapshot time each number comes from is on the row
        assert tr.find("time").attrs["datetime"] == r["snapshot_time"].strftime(  # type: ignore[union-attr]
            "%Y-%m-%dT%H:%M:%SZ"
        )


def test_overview_numbers_also_equal_the_funnel_view(site: tuple[Config, Any]) -> None:
    """The same numbers from funnel(as_of := the end of the day), for the fresh campaigns."""
    cfg, result = site
    doc = page(result, "index.html")
    ref = {
        str(r["campaign_id"]): r
        for r in query(cfg, "SELECT * FROM funnel(as_of := TIMESTAMPTZ '2026-11-27 23:00:00+00')")
    }
    for tr in doc.by_id("campaigns").find("tbody").find_all("tr"):
        r = ref[str(tr.attrs["data-campaign"])]
        assert cell_text(tr.find("td", **{"data-metric": "read"})) == fmt_int(r["reached_read"])
        assert cell_text(tr.find("td", **{"data-metric": "read_of_sent"})) == fmt_pct(
            r["read_of_sent"]
        )


def test_hand_checked_numbers(site: tuple[Config, Any]) -> None:
    """A few numbers worked out by hand from the tenant in report_helpers."""
    _, result = site
    doc = page(result, "index.html")
    alpha = doc.by_id("c-alpha")
    got = {td.attrs["data-metric"]: cell_text(td) for td in alpha.find_all("td")
           if "data-metric" in td.attrs}  # fmt: skip
    # alpha's last snapshot of the 27th: 11 contacts; a01 a02 a05 a06 read at some point;
    # a03 a09 delivered; a04 sent then delivery failed; a10 removed, never sent.
    assert got["contacts"] == "11"
    assert (got["sent"], got["delivered"], got["read"]) == ("7", "6", "4")
    assert got["delivery_rate"] == "85.7 %"  # 6 / 7
    assert got["read_rate"] == "66.7 %"  # 4 / 6
    assert got["failed"] == "3"
    zero = doc.by_id("c-zero")
    for metric in ("delivery_rate", "read_rate", "read_of_sent"):
        assert cell_text(zero.find("td", **{"data-metric": metric})) == "n/a"
    # totals: 11 + 5 + 2 contacts on the day; gamma (stale) is not in them
    assert cell_text(doc.by_id("total-contacts").find(class_="v")) == "18"
    assert "alpha" in doc.by_id("campaigns").text


def test_totals_equal_the_sum_of_fresh_campaigns(site: tuple[Config, Any]) -> None:
    cfg, result = site
    doc = page(result, "index.html")
    ref = daily(cfg).values()
    sent = sum(r["reached_sent"] for r in ref)
    delivered = sum(r["reached_delivered"] for r in ref)
    foot = doc.by_id("campaigns").find("tfoot")
    cells = {td.attrs["data-metric"]: cell_text(td) for td in foot.find_all("td")
             if "data-metric" in td.attrs}  # fmt: skip
    assert cells["contacts"] == fmt_int(sum(r["contacts"] for r in ref))
    assert cells["sent"] == fmt_int(sent)
    assert cells["delivery_rate"] == fmt_pct(delivered / sent)
    assert cell_text(doc.by_id("total-sent").find(class_="v")) == fmt_int(sent)


def test_stale_campaign_is_flagged_never_passed_off_as_today(site: tuple[Config, Any]) -> None:
    _, result = site
    doc = page(result, "index.html")
    assert "gamma" not in [
        r.attrs.get("data-campaign") for r in doc.by_id("campaigns").find_all("tr")
    ]
    stale = doc.by_id("stale").find("tbody").find_all("tr")
    assert [r.attrs["data-campaign"] for r in stale] == ["gamma"]
    assert "2026-11-25 09:00 CET" in stale[0].text
    # gamma is fed by files, which never say whether a campaign has ended: its lifecycle is
    # unknown (never a guessed "stale"), and the gap is said as a fact
    banner = " ".join(doc.find(class_="banner stale").text.split())
    assert (
        "gamma: no snapshot since 2026-11-25 09:00 CET; whether it has ended is unknown" in banner
    )
    camp = page(result, "campaign-gamma.html")
    text = " ".join(camp.by_id("stale-banner").text.split())
    assert text.startswith("No snapshot since 2026-11-25 09:00 CET")
    assert "not from 2026-11-27" in text


@pytest.mark.parametrize("campaign", ["alpha", "beta", "zero"])
def test_campaign_page_states_and_funnel(site: tuple[Config, Any], campaign: str) -> None:
    cfg, result = site
    doc = page(result, f"campaign-{campaign}.html")
    r = daily(cfg)[campaign]
    counts = query(
        cfg,
        "SELECT state, label, contacts, campaign_contacts FROM state_counts WHERE snapshot_id = ?",
        [r["snapshot_id"]],
    )
    rows = doc.by_id("state-counts").find("tbody").find_all("tr")
    assert len(rows) == 13 == len(counts)
    for ref in counts:
        tr = doc.by_id("state-counts").find("tr", **{"data-state": str(ref["state"])})
        assert cell_text(tr.find("td", **{"data-metric": "count"})) == fmt_int(ref["contacts"])  # type: ignore[arg-type]
        share = ref["contacts"] / ref["campaign_contacts"] if ref["campaign_contacts"] else None  # type: ignore[operator]
        assert cell_text(tr.find("td", **{"data-metric": "share"})) == fmt_pct(share)
        assert str(ref["label"]) in tr.find("th").text
    # the vendor's descriptions and notes are on the page
    assert "does not have a registered WA account" in doc.by_id("state-counts").text
    funnel = doc.by_id("funnel")
    for key, col in (("contacts", "contacts"), ("sent", "reached_sent"),
                     ("delivered", "reached_delivered"), ("read", "reached_read")):  # fmt: skip
        tr = funnel.find("tr", **{"data-stage": key})
        assert cell_text(tr.find("td", **{"data-metric": "count"})) == fmt_int(r[col])
    for key in ("delivery_rate", "read_rate", "read_of_sent"):
        tr = doc.by_id("rates").find("tr", **{"data-rate": key})
        assert cell_text(tr.find("td", **{"data-metric": "value"})) == fmt_pct(r[key])
    for code in ("sending_failed", "error", "delivery_failed"):
        tr = doc.by_id("failures").find("tr", **{"data-state": code})
        assert cell_text(tr.find("td", **{"data-metric": "count"})) == fmt_int(r[code])
    # the funnel chart and the states chart have text alternatives, in both widths
    for chart in ("funnel-chart-wide", "funnel-chart-narrow", "states-chart-wide",
                  "states-chart-narrow"):  # fmt: skip
        assert doc.by_id(f"{chart}-t").text and doc.by_id(f"{chart}-d").text


def test_campaign_page_prints_formulas_timezone_and_snapshot(site: tuple[Config, Any]) -> None:
    _, result = site
    doc = page(result, "campaign-alpha.html")
    defs = doc.by_id("formulas")
    pairs = dict(zip([cell_text(n) for n in defs.find_all("dt")],
                     [cell_text(n) for n in defs.find_all("dd")], strict=True))  # fmt: skip
    assert pairs["Delivery rate"].startswith("= reached Delivered / reached Sent.")
    assert pairs["Read rate"].startswith("= reached Read / reached Delivered.")
    assert pairs["Read of sent"].startswith("= reached Read / reached Sent.")
    assert pairs["reached Sent"].startswith("= Sent + Delivered + Read + Delivery failed")
    text = " ".join(doc.text.split())
    assert "Europe/Prague" in text
    assert "2026-11-27 13:00 CET" in text  # the snapshot the numbers come from (12:00Z)
    assert "the last of 2 that day" in text


def test_beta_legacy_unknown_stuck_and_transitions(site: tuple[Config, Any]) -> None:
    cfg, result = site
    doc = page(result, "campaign-beta.html")
    assert cell_text(doc.by_id("kpi-legacy").find(class_="v")) == "1"
    unknown = doc.by_id("unknown-states").find("tbody").find_all("tr")
    assert [cell_text(r.find_all("td")[0]) for r in unknown] == ["WA_FUTURE_STATE"]
    stuck_ref = query(
        cfg,
        "SELECT contact_id FROM stuck_contacts(as_of := TIMESTAMPTZ '2026-11-27 07:00:00+00')",
    )
    stuck = [cell_text(r.find("td")) for r in doc.by_id("stuck").find("tbody").find_all("tr")]
    assert stuck == [r["contact_id"] for r in stuck_ref] == ["b2"]
    kinds = {s.text for s in doc.find_all("span") if "tag" in str(s.attrs.get("class"))}
    assert {"warning", "info"} <= kinds
    trans_ref = query(
        cfg,
        "SELECT from_state, to_state, contacts FROM state_transitions(tz := ?) "
        "WHERE campaign_id = 'beta' AND day = ?",
        [TZ, REPORT_DAY],
    )
    shown = doc.by_id("transitions").find("tbody").find_all("tr")
    assert len(shown) == len(trans_ref) == 2
    assert sorted(cell_text(r.find_all("td")[2]) for r in shown) == sorted(
        fmt_int(r["contacts"])
        for r in trans_ref  # type: ignore[arg-type]
    )


def test_data_files_beside_the_pages(site: tuple[Config, Any]) -> None:
    _, result = site
    folder: Path = result.out_dir / REPORT_DAY.isoformat()
    overview = list(csv.DictReader(io.StringIO((folder / "overview.csv").read_text("utf-8"))))
    assert [r["campaign_id"] for r in overview] == ["alpha", "beta", "zero", "gamma"]
    assert overview[0]["reached_read"] == "4" and overview[3]["status"] == "unknown"
    meta = json.loads((folder / "overview.json").read_text("utf-8"))
    assert meta["totals"]["contacts"] == 18 and meta["timezone"] == TZ
    failed = list(csv.DictReader(io.StringIO((folder / "campaign-alpha-failed.csv").read_text())))
    assert {(r["contact_id"], r["state"]) for r in failed} == {
        ("a07", "sending_failed"), ("a08", "error"), ("a04", "delivery_failed"),
    }  # fmt: skip
    assert "no WhatsApp account" in next(r["reason"] for r in failed if r["contact_id"] == "a07")
    dnr = list(
        csv.DictReader(io.StringIO((folder / "campaign-alpha-delivered-not-read.csv").read_text()))
    )
    assert sorted(r["contact_id"] for r in dnr) == ["a03", "a05", "a09"]
    stuck = list(csv.DictReader(io.StringIO((folder / "campaign-beta-stuck.csv").read_text())))
    assert [r["contact_id"] for r in stuck] == ["b2"] and stuck[0]["minutes_in_state"] == "1440"
    # ids only: no phone column anywhere
    for f in folder.glob("*.csv"):
        assert "phone" not in f.read_text("utf-8").splitlines()[0]
    # the page links every file beside it, and nothing else
    doc = page(result, "campaign-alpha.html")
    links = {a.attrs["href"] for a in doc.by_id("data-h").parent.find_all("a")}  # type: ignore[union-attr]
    assert all((folder / str(h)).is_file() for h in links)
    assert not list(folder.glob(".*.tmp"))


def test_archive_and_default_day(site: tuple[Config, Any]) -> None:
    from pipeline.core.console import Console
    from pipeline.report import render_reports

    cfg, result = site
    # default day = the latest day with data in the warehouse
    again = render_reports(cfg, Console.silent())
    assert again.days == [REPORT_DAY]
    more = render_reports(cfg, Console.silent(), start=date(2026, 11, 25), end=date(2026, 11, 26))
    assert more.days == [date(2026, 11, 25), date(2026, 11, 26)]
    doc = parse_html((result.out_dir / "index.html").read_text("utf-8"))
    days = [cell_text(r.find("th")) for r in doc.by_id("archive").find("tbody").find_all("tr")]
    assert days == ["2026-11-27", "2026-11-26", "2026-11-25"]
    day26 = parse_html((result.out_dir / "2026-11-26" / "index.html").read_text("utf-8"))
    nav = {a.attrs.get("rel"): a.attrs["href"] for a in day26.find("nav").find_all("a")}
    assert nav["prev"] == "../2026-11-25/index.html" and nav["next"] == "../2026-11-27/index.html"
