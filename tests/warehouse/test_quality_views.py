"""The data-quality views (queries/views/quality.sql) and the report's warnings, on a small
hand-built tenant: one campaign ``dq`` in Europe/Prague (CET, UTC+1), three complete snapshots.

  S1 2026-11-26 07:00Z  d1 Read, d2 Delivered, d3 Successfully Submitted (legacy), d4 WA_PENDING_NEW
                        (unknown), d5 Sent, d6 Sent
  S2 2026-11-27 07:00Z  d1 Delivered (back from Read), d2 Read, d3 legacy, d4 a 45-character unknown
                        value, d5 missing (vanished), d6 Sent; plus 60 rows without a state
                        (quarantined)
  S3 2026-11-27 12:00Z  d1 Delivered, d2 Read, d3 legacy, d4 WA_PENDING_NEW, d5 Sent again (back
                        after a gap), d6 Read
  and an incomplete API snapshot at 2026-11-27 15:00Z whose load recorded why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from report_helpers import build_tenant, parse_html, query
from warehouse_helpers import write_snapshot

from pipeline.core.config import Config, IngestConfig
from pipeline.core.console import Console
from pipeline.store.export import CampaignResult
from pipeline.store.loads import LoadLog

DAY = date(2026, 11, 27)
LONG = "X" * 45
TENANT = {
    "dq": {
        "20261126T070000Z": [("d1", "WA_READ"), ("d2", "WA_DELIVERED"),
                             ("d3", "Successfully Submitted"), ("d4", "WA_PENDING_NEW"),
                             ("d5", "WA_SENT"), ("d6", "WA_SENT")],
        "20261127T070000Z": [("d1", "WA_DELIVERED"), ("d2", "WA_READ"),
                             ("d3", "Successfully Submitted"), ("d4", LONG), ("d6", "WA_SENT"),
                             *((f"e{i}", "") for i in range(1, 61))],
        "20261127T120000Z": [("d1", "WA_DELIVERED"), ("d2", "WA_READ"),
                             ("d3", "Successfully Submitted"), ("d4", "WA_PENDING_NEW"),
                             ("d5", "WA_SENT"), ("d6", "WA_READ")],
    }
}  # fmt: skip


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    from pipeline.report import render_reports
    from pipeline.warehouse.build import build

    data_dir = Path(tmp_path_factory.mktemp("quality")) / "data"
    data_dir.mkdir(parents=True)
    # 60 of 65 rows of S2 are invalid: allowed here so that the file loads with them quarantined
    config = replace(
        Config(data_dir=data_dir, timezone="Europe/Prague"),
        ingest=IngestConfig(max_invalid_fraction=0.95),
    )
    build_tenant(data_dir, TENANT, config=config)
    meta = write_snapshot(config, "dq", "2026-11-27T15:00:00+00:00", [("d1", "WA_READ")],
                          complete=False)  # fmt: skip
    result = CampaignResult("dq", "dq", "published", complete=False, snapshot=meta,
                            reason="2 contact ids were listed twice while paging")  # fmt: skip
    LoadLog(data_dir).append(result.load_record())  # what the exporter records of that pull
    build(config, Console.silent())
    render_reports(config, Console.silent(), day=DAY)
    return config


def rows(cfg: Config, sql: str) -> list[dict[str, Any]]:
    return query(cfg, sql)


def test_backward_moves_by_pair_and_day(cfg: Config) -> None:
    # only d1 went back (Read on 11-26 -> Delivered on 11-27); d6 Sent -> Read is forward
    got = rows(
        cfg, "SELECT campaign_id, day, from_state, to_state, moves FROM quality_backward_moves"
    )
    assert got == [{"campaign_id": "dq", "day": DAY, "from_state": "read",
                    "to_state": "delivered", "moves": 1}]  # fmt: skip


def test_unknown_and_legacy_values_by_raw_text(cfg: Config) -> None:
    got = rows(cfg, "SELECT kind, raw_value, raw_length, rows, contacts "
                    "FROM quality_values(DATE '2026-11-27') ORDER BY kind, raw_value")  # fmt: skip
    assert got == [
        # d3 in S2 and S3: 2 rows, 1 contact
        {"kind": "legacy_mapped", "raw_value": "Successfully Submitted", "raw_length": 22,
         "rows": 2, "contacts": 1},
        # d4 in S3
        {"kind": "unknown_value", "raw_value": "WA_PENDING_NEW", "raw_length": 14,
         "rows": 1, "contacts": 1},
        # d4 in S2: 45 characters, cut to 40 and an ellipsis
        {"kind": "unknown_value", "raw_value": "X" * 40 + "…", "raw_length": 45,
         "rows": 1, "contacts": 1},
    ]  # fmt: skip


def test_vanished_and_gap_contacts(cfg: Config) -> None:
    # d5: listed in S1, missing from S2 (vanished on 11-27), back in S3 (a gap, 11-27)
    got = rows(cfg, "SELECT * FROM quality_contacts")
    assert got == [{"campaign_id": "dq", "day": DAY, "vanished_contacts": 1, "gap_contacts": 1}]


def test_quarantined_rows_with_their_reason(cfg: Config) -> None:
    got = rows(cfg, "SELECT campaign_id, day, reason, rows, files FROM quality_quarantine")
    assert got == [{"campaign_id": "dq", "day": DAY, "reason": "missing state", "rows": 60,
                    "files": 1}]  # fmt: skip


def test_incomplete_snapshot_with_reason_and_last_complete(cfg: Config) -> None:
    got = rows(cfg, "SELECT reason, last_complete_age_hours, day FROM quality_incomplete")
    # the last complete snapshot before 15:00Z is S3 at 12:00Z: 3 hours
    assert got == [{"reason": "2 contact ids were listed twice while paging",
                    "last_complete_age_hours": 3.0, "day": DAY}]  # fmt: skip


def test_the_days_report_shows_them_with_labels(cfg: Config) -> None:
    out = Path(cfg.data_dir) / "reports" / DAY.isoformat()
    camp = parse_html((out / "campaign-dq.html").read_text(encoding="utf-8"))
    items = {li.attrs["data-kind"]: " ".join(li.text.split()) for li in camp.find_all("li")
             if "data-kind" in li.attrs}  # fmt: skip
    assert (
        "Rows quarantined: 60 row(s) quarantined at ingest: rows not loaded: 60 missing state"
        in (items["quarantined_rows"])
    )
    assert "Legacy state mapped:" in items["legacy_mapped"]
    assert "Incomplete snapshot:" in items["incomplete_snapshot"]
    assert "2 contact ids were listed twice while paging" in items["incomplete_snapshot"]
    assert "3.0 h older" in items["incomplete_snapshot"]
    html = (out / "campaign-dq.html").read_text(encoding="utf-8")
    assert "X" * 41 not in html and "X" * 40 + "…" in html
    overview = parse_html((out / "index.html").read_text(encoding="utf-8"))
    tags = {t.attrs["data-kind"]: t.text for t in overview.by_id("c-dq").find_all("span")
            if "data-kind" in t.attrs}  # fmt: skip
    assert tags["quarantined_rows"] == "Rows quarantined"
    assert tags["legacy_mapped"] == "Legacy state mapped"
