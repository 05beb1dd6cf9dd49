"""One rule for a time without an offset (the configured time zone, in options as in files), and
``ingest --finished`` / ``_final`` file names: a file-fed campaign's lifecycle."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ingest, make_config

from pipeline.core.clock import parse_as_of
from pipeline.store.snapshots import Store


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_option_and_a_column_read_the_same_text_as_the_same_instant(tmp_path):
    """2026-11-28T06:00:00 in Prague (CET, UTC+1 in November) is 05:00 UTC, whether it comes
    from --snapshot-time or from a snapshot_time column."""
    by_option, by_column = tmp_path / "a", tmp_path / "b"
    plain = tmp_path / "plain.csv"
    plain.write_text("contact_id,state\n1,Read\n")
    assert (
        run(
            by_option,
            "ingest",
            "--campaign",
            "7",
            "--snapshot-time",
            "2026-11-28T06:00:00",
            str(plain),
        ).returncode
        == 0
    )
    column = tmp_path / "column.csv"
    column.write_text("contact_id,state,snapshot_time\n1,Read,2026-11-28T06:00:00\n")
    assert run(by_column, "ingest", "--campaign", "7", str(column)).returncode == 0
    expected = "2026-11-28T05:00:00.000000Z"
    assert [m.snapshot_time for m in Store(by_option).published()] == [expected]
    assert [m.snapshot_time for m in Store(by_column).published()] == [expected]


def test_as_of_options_follow_the_same_rule():
    # July: CEST, UTC+2. The autumn hour 02:30 on 2026-10-25 happens twice: the earlier (CEST)
    # one is taken, 00:30 UTC. With an offset or Z the text says it all.
    assert parse_as_of("2026-07-01T12:00:00", "Europe/Prague") == datetime(
        2026, 7, 1, 10, tzinfo=UTC
    )
    assert parse_as_of("2026-10-25T02:30:00", "Europe/Prague") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert parse_as_of("2026-07-01T12:00:00Z", "Europe/Prague") == datetime(
        2026, 7, 1, 12, tzinfo=UTC
    )
    assert parse_as_of("2026-07-01T12:00:00", "UTC") == datetime(2026, 7, 1, 12, tzinfo=UTC)
    # 2026-03-29 02:30 does not exist in Prague (02:00 -> 03:00)
    with pytest.raises(ValueError, match="does not exist in Europe/Prague"):
        parse_as_of("2026-03-29T02:30:00", "Europe/Prague")


def test_a_time_the_clocks_skip_is_a_usage_error(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("contact_id,state\n1,Read\n")
    result = run(
        tmp_path / "d", "ingest", "--campaign", "7", "--snapshot-time", "2026-03-29T02:30:00",
        str(plain),
    )  # fmt: skip
    assert result.returncode == 2
    assert "does not exist in Europe/Prague" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_finished_records_the_campaign_as_finished_at_its_last_snapshot(tmp_path):
    data = tmp_path / "data"
    first = tmp_path / "campaign-42_20261128T060000Z.csv"
    last = tmp_path / "campaign-42_20261129T060000Z.csv"
    for f in (first, last):
        f.write_text("contact_id,state\n1,Read\n2,Sent\n")
    [r1, r2] = ingest(data, first, last, finished=True)
    assert r1.ok and r2.ok
    info = json.loads((data / "campaigns.json").read_text())
    assert info["42"]["finished"] == "2026-11-29T06:00:00.000000Z"
    assert info["42"]["finished_from"] == "ingest"
    # an earlier final file later does not move the end back
    again = tmp_path / "campaign-42_20261127T060000Z.csv"
    again.write_text("contact_id,state\n1,Sent\n")
    ingest(data, again, finished=True)
    info = json.loads((data / "campaigns.json").read_text())
    assert info["42"]["finished"] == "2026-11-29T06:00:00.000000Z"


def test_a_final_file_name_marks_the_campaign_finished_and_a_plain_one_does_not(tmp_path):
    data = tmp_path / "data"
    plain = tmp_path / "campaign-5_20261128T060000Z.csv"
    final = tmp_path / "campaign-6_20261128T070000Z_final.csv"
    for f in (plain, final):
        f.write_text("contact_id,state\n1,Read\n")
    reports = ingest(data, plain, final, config=make_config(data))
    assert all(r.ok for r in reports)
    info = json.loads((data / "campaigns.json").read_text())
    assert "5" not in info or not info["5"].get("finished")
    assert info["6"]["finished"] == "2026-11-28T07:00:00.000000Z"
    assert {m.campaign_id for m in Store(data).published()} == {"5", "6"}


def test_a_rejected_final_file_records_nothing(tmp_path):
    data = tmp_path / "data"
    broken = tmp_path / "campaign-8_20261128T060000Z_final.csv"
    broken.write_text("contact_id,state\n,Read\n,Read\n")  # every row lacks its id
    [r] = ingest(data, broken)
    assert not r.ok
    assert not (data / "campaigns.json").exists() or "8" not in json.loads(
        (data / "campaigns.json").read_text()
    )
