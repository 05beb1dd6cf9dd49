"""File ingest: formats, encodings, aliases, accounting, quarantine, rejection, idempotency."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import ingest, make_config, store_listing

from pipeline.core.config import Secret
from pipeline.core.errors import IngestError, SnapshotConflict
from pipeline.normalize.phones import hmac_phone
from pipeline.store.snapshots import Store

NAME = "campaign-42_20261128T060000Z.csv"
T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(data_dir: Path) -> pl.DataFrame:
    return Store(data_dir).scan().collect().sort("campaign_id", "snapshot_time", "contact_id")


def good_csv(n: int, sep: str = ",", extra: dict[int, str] | None = None) -> str:
    lines = [sep.join(["contact_id", "state"])]
    for i in range(1, n + 1):
        lines.append((extra or {}).get(i, f"{i}{sep}WA_READ"))
    return "\n".join(lines) + "\n"


def test_simple_csv_is_loaded_with_time_and_campaign_from_file_name(tmp_path, data_dir):
    f = write(
        tmp_path / NAME,
        "contact_id,State,created,retryCount,retryScheduledDate\n"
        "1,Read,2026-11-27T10:00:00+01:00,0,\n"
        "2,WA_DELIVERED,2026-11-27 10:00:00,1,2026-11-28T07:00:00Z\n"
        "3,Successfully Submitted,,,\n"
        "4,WA_NEW_THING,,,\n",
    )
    [r] = ingest(data_dir, f)
    assert r.ok and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 4, 0)
    assert dict(r.unknown_states) == {"WA_NEW_THING": 1}
    assert r.legacy_rows == 1
    df = rows(data_dir)
    assert df["campaign_id"].unique().to_list() == ["42"]
    assert df["snapshot_time"].unique().to_list() == [T0]
    assert df["state"].to_list() == ["read", "delivered", "sent", "other"]
    assert df["raw_state"].to_list() == [
        "Read",
        "WA_DELIVERED",
        "Successfully Submitted",
        "WA_NEW_THING",
    ]
    assert df["legacy"].to_list() == [False, False, True, False]
    # 10:00 +01:00 and 10:00 without offset (Europe/Prague, winter: +01:00) are both 09:00 UTC
    assert df["created"].to_list()[:2] == [datetime(2026, 11, 27, 9, tzinfo=UTC)] * 2
    assert df["retry_count"].to_list() == [0, 1, None, None]
    assert df["retry_scheduled"].to_list()[1] == datetime(2026, 11, 28, 7, tzinfo=UTC)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiters_are_detected_from_the_header(tmp_path, data_dir, sep):
    f = write(tmp_path / NAME, good_csv(3, sep))
    [r] = ingest(data_dir, f)
    assert r.ok and r.rows_loaded == 3
    assert rows(data_dir)["contact_id"].to_list() == ["1", "2", "3"]


def test_utf8_bom_is_accepted_and_header_aliases_match_any_case(tmp_path, data_dir):
    f = tmp_path / NAME
    f.write_bytes(b"\xef\xbb\xbf" + "Contact ID;STAV\n7;Doru\u010deno\n8;sent\n".encode())
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    df = rows(data_dir)
    assert df["raw_state"].to_list() == ["Doru\u010deno", "sent"]
    assert df["state"].to_list() == ["other", "sent"]


def test_cp1250_is_read_when_declared(tmp_path, data_dir):
    f = write(
        tmp_path / NAME,
        "contact_id;state\n1;Doru\u010den\u00e9 \u0161patn\u011b\n2;Read\n",
        "cp1250",
    )
    [r] = ingest(data_dir, f, encoding="cp1250")
    assert r.ok, r.error
    assert rows(data_dir)["raw_state"].to_list() == ["Doru\u010den\u00e9 \u0161patn\u011b", "Read"]


def test_cp1250_bytes_without_the_option_reject_the_file_naming_the_line(tmp_path, data_dir):
    before = store_listing(data_dir)
    f = write(tmp_path / NAME, "contact_id;state\n1;Read\n2;Read\n3;\u010cten\u00e9\n", "cp1250")
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError)
    assert r.error.line == 4
    assert "not valid utf-8" in str(r.error) and "--encoding cp1250" in str(r.error)
    assert NAME in str(r.error)
    assert store_listing(data_dir) == before


def test_utf8_file_declared_cp1250_is_refused_not_garbled(tmp_path, data_dir):
    f = write(tmp_path / NAME, "contact_id;state\n1;\u010cten\u00e9\n")
    [r] = ingest(data_dir, f, encoding="cp1250")
    assert isinstance(r.error, IngestError) and "valid UTF-8" in str(r.error)
    assert not (data_dir / "manifest.jsonl").exists()


def test_a_mix_of_utf8_and_cp1250_files_is_read_in_one_ingest(tmp_path, data_dir):
    # --encoding utf-8,cp1250: each file UTF-8 when its bytes are, cp1250 otherwise; the letters
    # come out right either way, and an ASCII file is the same in both.
    czech = "contact_id;state\n1;Doru\u010den\u00e9 \u0161patn\u011b\n2;Read\n"
    a = write(tmp_path / "campaign-1_20261128T060000Z.csv", czech, "cp1250")
    b = write(tmp_path / "campaign-2_20261128T060000Z.csv", czech)  # UTF-8
    c = write(tmp_path / "campaign-3_20261128T060000Z.csv", "\ufeffcontact_id,state\n1,Read\n")
    reports = ingest(data_dir, a, b, c, encoding="utf-8,cp1250")
    assert all(r.ok for r in reports), [str(r.error) for r in reports]
    raw = rows(data_dir)["raw_state"].to_list()
    assert raw == ["Doru\u010den\u00e9 \u0161patn\u011b", "Read"] * 2 + ["Read"]


def test_a_file_neither_utf8_nor_cp1250_is_rejected_naming_the_line(tmp_path, data_dir):
    # 0x81 is not a character in cp1250 (nor a start byte in UTF-8)
    f = tmp_path / NAME
    f.write_bytes(b"contact_id;state\n1;Read\n2;Re\x81d\n")
    [r] = ingest(data_dir, f, encoding="utf-8,cp1250")
    assert isinstance(r.error, IngestError) and r.error.line == 3
    assert "neither UTF-8 nor cp1250" in str(r.error)
    assert store_listing(data_dir) == {}


def test_missing_required_column_rejects_the_file(tmp_path, data_dir):
    f = write(tmp_path / NAME, "contact_id,status_text\n1,Read\n")
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError)
    assert r.error.column == "state"
    assert "required column 'state' is missing" in str(r.error)
    assert "nothing from it was written" in str(r.error)
    assert store_listing(data_dir) == {}


@pytest.mark.parametrize(
    "header", ["contact_id,state,State", "contact_id,state,contact_id", "id,contactId,state"]
)
def test_repeated_header_names_reject_the_file(tmp_path, data_dir, header):
    f = write(tmp_path / NAME, header + "\n1,Read,Read\n")
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError) and r.error.line == 1
    assert store_listing(data_dir) == {}


@pytest.mark.parametrize("content", ["", "\n\n", "contact_id,state\n"])
def test_an_empty_file_is_an_error_not_an_empty_snapshot(tmp_path, data_dir, content):
    f = write(tmp_path / NAME, content)
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError)
    assert "empty" in str(r.error) or "no rows" in str(r.error)
    assert store_listing(data_dir) == {}


def test_invalid_rows_are_quarantined_with_reasons_and_accounted(tmp_path, data_dir):
    # 400 rows: 1 missing contact id, 1 unparsable created time, contact 7 twice with different
    # states (2 rows), contact 9 repeated exactly (1 repeat). Invalid: 4 of 400 = 1%: allowed.
    extra = {
        3: ",WA_READ,",
        5: "5,WA_READ,yesterday",
        7: "7,WA_READ,",
        8: "7,WA_SENT,",
        10: "9,WA_READ,",
    }
    lines = ["contact_id,state,created"] + [
        extra.get(i, f"{i},WA_READ,2026-11-27T10:00:00Z") for i in range(1, 401)
    ]
    f = write(tmp_path / NAME, "\n".join(lines) + "\n")
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (400, 395, 5)
    assert dict(r.reasons) == {
        "missing contact id": 1,
        "unparsable created time": 1,
        "contact id appears more than once with different states": 2,
        "duplicate row (same contact and state as an earlier row)": 1,
    }
    q = pl.read_csv(data_dir / r.quarantine_file, infer_schema=False)
    assert q["source_row"].to_list() == ["3", "5", "7", "8", "10"]
    assert q.filter(pl.col("source_row") == "5")["created"].to_list() == ["yesterday"]
    loaded = rows(data_dir)
    assert loaded.height == 395
    assert "7" not in loaded["contact_id"].to_list()
    assert loaded.filter(pl.col("contact_id") == "9").height == 1
    [meta] = Store(data_dir).published()
    assert (meta.rows, meta.quarantined_rows, meta.duplicate_rows) == (395, 5, 1)


def test_more_than_one_percent_invalid_rejects_the_whole_file(tmp_path, data_dir):
    first = write(tmp_path / "campaign-1_20261127T060000Z.csv", good_csv(10))
    ingest(data_dir, first)
    before = store_listing(data_dir)
    extra = {i: ",WA_READ" for i in (2, 4)}  # 2 of 100 rows invalid = 2%
    f = write(tmp_path / NAME, good_csv(100, extra=extra))
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError)
    assert "2 of 100 rows (2.0%) are invalid, more than the 1% allowed" in str(r.error)
    assert "row 2: missing contact id" in str(r.error)
    assert store_listing(data_dir) == before
    # the rejection is logged with its accounting
    last = json.loads((data_dir / "logs" / "loads.jsonl").read_text().splitlines()[-1])
    assert (last["status"], last["rows_read"], last["file"]) == ("rejected", 100, str(f))


def test_unknown_states_are_loaded_and_counted(tmp_path, data_dir):
    # 3 unknown of 6 rows = 50 %: not more than the 50 % allowed, so the file loads
    body = "id,state\n1,WA_FUTURE\n2,WA_FUTURE\n3,blocked\n4,Read\n5,Read\n6,Sent\n"
    f = write(tmp_path / NAME, body)
    [r] = ingest(data_dir, f)
    assert dict(r.unknown_states) == {"WA_FUTURE": 2, "blocked": 1}
    assert rows(data_dir)["state"].to_list() == ["other", "other", "other", "read", "read", "sent"]
    assert Store(data_dir).published()[0].other_rows == 3


def test_reingesting_the_same_file_adds_nothing_and_says_so(tmp_path, data_dir):
    f = write(tmp_path / NAME, good_csv(5, extra={2: ",WA_READ"}))
    config = make_config(data_dir, max_invalid_fraction=0.5)
    [first] = ingest(data_dir, f, config=config)
    assert len(first.published) == 1
    before = store_listing(data_dir)
    [again] = ingest(data_dir, f, config=config)
    assert again.ok and not again.published and len(again.already_present) == 1
    assert "already in the store, nothing added" in again.summary()
    assert (again.rows_read, again.rows_loaded, again.rows_quarantined) == (5, 4, 1)
    assert store_listing(data_dir) == before


def test_different_content_for_a_published_snapshot_is_refused(tmp_path, data_dir):
    ingest(data_dir, write(tmp_path / NAME, good_csv(3)))
    before = store_listing(data_dir)
    other = tmp_path / "other"
    other.mkdir()
    [r] = ingest(data_dir, write(other / NAME, good_csv(4)))
    assert isinstance(r.error, SnapshotConflict)
    assert "already published" in str(r.error)
    assert store_listing(data_dir) == before


def test_campaign_and_time_from_columns_make_several_snapshots(tmp_path, data_dir):
    f = write(
        tmp_path / "export.csv",
        "campaign_id,snapshot_time,contact_id,state\n"
        "A,2026-11-28T06:00:00+01:00,1,Read\n"
        "A,2026-11-28T07:00:00+01:00,1,Read\n"
        "B,2026-11-28T06:00:00+01:00,1,Sent\n",
    )
    [r] = ingest(data_dir, f)
    assert r.ok and len(r.published) == 3
    metas = sorted((m.campaign_id, m.snapshot_time) for m in Store(data_dir).published())
    assert metas == [
        ("A", "2026-11-28T05:00:00.000000Z"),
        ("A", "2026-11-28T06:00:00.000000Z"),
        ("B", "2026-11-28T05:00:00.000000Z"),
    ]


def test_options_beat_columns_and_file_name(tmp_path, data_dir):
    f = write(tmp_path / NAME, "campaign_id,contact_id,state\nX,1,Read\n")
    t = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    [r] = ingest(data_dir, f, campaign_id="opt", snapshot_time=t)
    assert r.ok
    [m] = Store(data_dir).published()
    assert (m.campaign_id, m.time) == ("opt", t)


def test_missing_campaign_is_a_clear_error(tmp_path, data_dir):
    f = write(tmp_path / "export.csv", "contact_id,state\n1,Read\n")
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError)
    assert "campaign is unknown" in str(r.error) and "--campaign" in str(r.error)


def test_json_in_the_api_shape(tmp_path, data_dir):
    doc = [
        {
            "id": 101,
            "state": "WA_READ",
            "created": "2026-11-27T10:00:00+01:00",
            "retryScheduledDate": None,
            "retryCount": 0,
        },
        {
            "id": 102,
            "state": "RETRY_SCHEDULED",
            "created": "2026-11-27T10:00:00.123+01:00",
            "retryScheduledDate": "2026-11-28T06:30:00+01:00",
            "retryCount": 2,
        },
        {
            "id": 103,
            "state": "WA_BRAND_NEW",
            "created": None,
            "retryScheduledDate": None,
            "retryCount": 0,
        },
    ]
    f = tmp_path / "campaign-7_20261128T060000Z.json"
    f.write_text(json.dumps(doc))
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    df = rows(data_dir)
    assert df["contact_id"].to_list() == ["101", "102", "103"]
    assert df["state"].to_list() == ["read", "retry_scheduled", "other"]
    assert df["retry_count"].to_list() == [0, 2, 0]
    assert df["retry_scheduled"].to_list()[1] == datetime(2026, 11, 28, 5, 30, tzinfo=UTC)
    assert df["created"].to_list()[1] == datetime(2026, 11, 27, 9, 0, 0, 123000, tzinfo=UTC)


def test_truncated_json_is_rejected_with_its_position(tmp_path, data_dir):
    f = tmp_path / "campaign-7_20261128T060000Z.json"
    f.write_text('[\n{"id": 1, "state": "WA_READ"},\n{"id": 2, "sta')
    [r] = ingest(data_dir, f)
    assert isinstance(r.error, IngestError) and r.error.line == 3
    assert "truncated" in str(r.error)
    assert store_listing(data_dir) == {}


def test_parquet_input_with_typed_columns(tmp_path, data_dir):
    f = tmp_path / "campaign-9_20261128T060000Z.parquet"
    pl.DataFrame(
        {
            "contactId": [1, 2],
            "state": ["WA_SENT", "Delivered"],
            "created": [datetime(2026, 11, 27, 9, tzinfo=UTC), None],
            "retryCount": [0, 3],
        }
    ).write_parquet(f)
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    df = rows(data_dir)
    assert df["state"].to_list() == ["sent", "delivered"]
    assert df["created"].to_list() == [datetime(2026, 11, 27, 9, tzinfo=UTC), None]
    assert df["retry_count"].to_list() == [0, 3]


def test_phone_numbers_are_kept_only_as_hmac(tmp_path, data_dir, monkeypatch):
    key = "test-key-123"
    monkeypatch.setenv("CAMPAIGN_REPORTS_PHONE_HMAC_KEY", key)
    f = write(
        tmp_path / NAME,
        "contact_id,state,phone\n1,Read,+420 601 234 567\n2,Read,00420601234567\n3,Read,\n",
    )
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    df = rows(data_dir)
    expected = hmac_phone("+420601234567", Secret(key))
    assert df["phone_hash"].to_list() == [expected, expected, None]
    # the raw number is nowhere in the store, in any form
    for p in data_dir.rglob("*"):
        if p.is_file():
            assert b"601234567" not in p.read_bytes()
    assert "phone" not in df.columns


def test_phone_column_is_dropped_with_a_warning_without_key(tmp_path, data_dir, monkeypatch):
    from pipeline.core.console import Console

    monkeypatch.delenv("CAMPAIGN_REPORTS_PHONE_HMAC_KEY", raising=False)
    console = Console.silent()
    f = write(tmp_path / NAME, "contact_id,state,Guest phone number\n1,Read,+420601234567\n")
    [r] = ingest(data_dir, f, console=console)
    assert r.ok
    assert any("phone numbers was dropped" in w for w in console.warnings)
    assert rows(data_dir)["phone_hash"].to_list() == [None]
    for p in data_dir.rglob("*"):
        if p.is_file():
            assert b"601234567" not in p.read_bytes()


def test_quarantine_neutralises_spreadsheet_formulas(tmp_path, data_dir):
    lines = (
        ["contact_id,state"]
        + [f"{i},Read" for i in range(1, 200)]
        + ['=HYPERLINK("x"),Read', ",=1+1"]
    )
    f = write(tmp_path / NAME, "\n".join(lines) + "\n")
    [r] = ingest(data_dir, f)
    assert r.ok and r.rows_quarantined == 1  # the formula-like contact id is a valid id
    q = (data_dir / r.quarantine_file).read_text()
    assert "'=1+1" in q and "\n=1" not in q and ",=1" not in q


def test_czech_times_and_accented_czech_headers(tmp_path, data_dir):
    f = write(
        tmp_path / NAME,
        "Kontakt;Stav;Vytvořeno\n"
        "1;Read;28.11.2026 16:00:00\n"
        "2;Read;28.11.2026 6:05:00\n"
        "3;Read;01.07.2026 06:00\n",
        "cp1250",
    )
    [r] = ingest(data_dir, f, encoding="cp1250")
    assert r.ok and r.rows_loaded == 3, r.error or r.reasons
    # Europe/Prague: +01:00 in November, +02:00 in July
    assert rows(data_dir)["created"].to_list() == [
        datetime(2026, 11, 28, 15, 0, tzinfo=UTC),
        datetime(2026, 11, 28, 5, 5, tzinfo=UTC),
        datetime(2026, 7, 1, 4, 0, tzinfo=UTC),
    ]


def test_times_across_the_autumn_dst_change_in_prague(tmp_path, data_dir):
    # 2026-10-25: 03:00 CEST -> 02:00 CET. 02:30 happens twice: the earlier (CEST) is taken.
    f = write(
        tmp_path / NAME,
        "contact_id,state,created\n1,Read,2026-10-25 01:30:00\n2,Read,2026-10-25 02:30:00\n"
        "3,Read,2026-10-25 03:30:00\n",
    )
    [r] = ingest(data_dir, f)
    assert r.ok
    assert rows(data_dir)["created"].to_list() == [
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
    ]
