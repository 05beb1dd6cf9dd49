"""The view campaign_lifecycle on a hand-built tenant (tests/lifecycle_helpers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lifecycle_helpers import DAY, build_lifecycle_tenant
from report_helpers import query

from pipeline.core.config import Config


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return build_lifecycle_tenant(Path(tmp_path_factory.mktemp("lifecycle")) / "data")


def lifecycle(cfg: Config, day: str, **kw: Any) -> dict[str, dict[str, Any]]:
    args = "".join(f", {k} := {v}" for k, v in kw.items())
    rows = query(cfg, f"SELECT * FROM campaign_lifecycle(DATE '{day}'{args})")
    return {str(r["campaign_id"]): r for r in rows}


def test_each_lifecycle_on_the_report_day(cfg: Config) -> None:
    got = lifecycle(cfg, DAY.isoformat())
    assert {k: (v["lifecycle"], v["final"]) for k, v in got.items()} == {
        "fin": ("finished", True),  # the API's finished (11-21 05:00Z) is before the day's end
        "live": ("unknown", False),  # files only, a snapshot on the day
        "gap": ("stale", False),
        "quiet": ("finished", True),
        "cxl": ("canceled", True),
    }
    # day's end 2026-12-25 23:00Z; gap's last snapshot 2026-12-23 21:00Z: 24 + 24 + 2 = 50 h
    assert got["gap"]["hours_since_snapshot"] == 50.0
    assert got["gap"]["reason"] == "no snapshot for 50.0 h (more than 26.0 h)"
    assert got["fin"]["reason"] == "finished according to the mluvii API"
    # quiet: q1 appeared 12-21 06:00Z, last snapshot 12-24 06:00Z: 72 h without a change
    assert got["quiet"]["reason"].startswith("no contact changed state for 72.0 h")
    assert got["cxl"]["reason"] == "2 contact(s) Canceled by admin and none left to send"


def test_before_its_end_the_api_campaign_is_running(cfg: Config) -> None:
    got = lifecycle(cfg, "2026-11-20")
    # finished (11-21 05:00Z) is after the end of 11-20 (23:00Z); started 11-19: running
    assert got["fin"]["lifecycle"] == "running" and not got["fin"]["final"]
    assert set(got) == {"fin"}  # the others have no snapshot yet


def test_the_thresholds_are_parameters(cfg: Config) -> None:
    # with a 51-hour gap allowed, gap (50 h) is running (the API says it started); with 73 h
    # of quiet required, quiet (72 h) is no longer finished, and 41 h since 12-24 06:00Z is
    # within 51 h: files only, so unknown
    got = lifecycle(cfg, DAY.isoformat(), stale_after_hours=51, finished_after_hours=73)
    assert got["gap"]["lifecycle"] == "running"
    assert got["quiet"]["lifecycle"] == "unknown" and got["quiet"]["hours_since_snapshot"] == 41.0
    # with the default 26 h gap and 73 h of quiet: 41 h > 26 h, but quiet is fed by files
    # only, which say nothing of running or ended: unknown (never a guessed stale), with the hours
    got = lifecycle(cfg, DAY.isoformat(), finished_after_hours=73)
    assert got["quiet"]["lifecycle"] == "unknown"
    assert got["quiet"]["reason"].endswith("; no snapshot for 41.0 h")


def test_data_quality_calls_only_the_gap_stale(cfg: Config) -> None:
    rows = query(
        cfg,
        "SELECT campaign_id, detail FROM data_quality(DATE '2026-12-25') "
        "WHERE check_name = 'stale'",
    )
    assert [r["campaign_id"] for r in rows] == ["gap"]
    assert str(rows[0]["detail"]).startswith("no complete snapshot for 50.0 h")
