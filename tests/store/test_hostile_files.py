"""Broken files, case by case: a truncated file is rejected whole with the reason, ids stay
text as written, an error never quotes row content, and one bad file never stops the others."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ingest

from pipeline.cli.main import main
from pipeline.store.ingest import FileReport
from pipeline.store.snapshots import Store

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
PHONE = "+420601234567"


def put(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def csv_text(n: int) -> str:
    return "contact_id,state\n" + "".join(f"{i},WA_DELIVERED\n" for i in range(1, n + 1))


def one(data_dir: Path, path: Path) -> FileReport:
    [report] = ingest(data_dir, path, campaign_id="7", snapshot_time=T0)
    return report


def test_a_csv_cut_short_is_rejected_and_the_whole_file_loads_afterwards(
    tmp_path: Path, data_dir: Path
) -> None:
    full = csv_text(1500).encode()
    cut = put(tmp_path / "cut.csv", full[:15316])  # cut inside a line, as `head -c` does
    r = one(data_dir, cut)
    assert not r.ok
    # 15316 bytes hold the header (17 bytes) and then lines of 14 to 18 bytes: the cut line is
    # whichever line the byte falls in; the message names it by the count of line ends + 1
    cut_line = full[:15316].count(b"\n") + 1
    assert f"line {cut_line}" in str(r.error)
    assert "cut short" in str(r.error)
    assert Store(data_dir).published() == []
    r = one(data_dir, put(tmp_path / "full.csv", full))
    assert r.ok and r.rows_loaded == 1500


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("cr.csv", "contact_id,state\r1,WA_READ\r", "carriage return only"),
        ("header.csv", "contact_id,state," + "x" * 140_000 + "\n1,WA_READ,a\n", "header line"),
        ("cut.json", '[{"id": 1, "state": "WA_READ"}, {"id": 2, "sta', "not valid JSON to its end"),
        ("deep.json", '[{"id": 1, "state": ' + "[" * 5000 + "]" * 5000 + "}]", "nested too deeply"),
        ("list.json", json.dumps([{"id": 1, "state": ["WA_READ"]}]), "state is a JSON list"),
    ],
)
def test_inputs_that_crashed_are_rejected_with_the_reason(
    tmp_path: Path, data_dir: Path, name: str, data: str, expected: str
) -> None:
    r = one(data_dir, put(tmp_path / name, data))
    assert not r.ok and expected in str(r.error), r.error
    assert Store(data_dir).published() == []


@pytest.mark.parametrize(
    ("column", "values", "arrow_type", "expected"),
    [
        ("state", [["WA_READ"]], None, "List"),
        ("state", [[("k", "WA_READ")]], pa.map_(pa.string(), pa.string()), "Map"),
        ("created", [5], pa.duration("s"), "Duration"),
        ("contact_id", [datetime(1970, 1, 1).date()], None, "Date"),
        ("contact_id", [2262000003.0], None, "Float64"),
    ],
)
def test_parquet_columns_of_a_wrong_type_reject_the_file_naming_the_column(
    tmp_path: Path, data_dir: Path, column: str, values: list, arrow_type, expected: str
) -> None:
    columns = {"contact_id": ["1"], "state": ["WA_READ"], column: pa.array(values, arrow_type)}
    pq.write_table(pa.table(columns), tmp_path / "t.parquet")
    r = one(data_dir, tmp_path / "t.parquet")
    assert not r.ok and f"column {column!r}" in str(r.error) and expected in str(r.error)


def test_a_parquet_file_cut_short_is_rejected(tmp_path: Path, data_dir: Path) -> None:
    pq.write_table(pa.table({"contact_id": [str(i) for i in range(500)]}), tmp_path / "a.parquet")
    data = (tmp_path / "a.parquet").read_bytes()
    r = one(data_dir, put(tmp_path / "cut.parquet", data[: len(data) - 20]))
    assert not r.ok and "not a readable Parquet file" in str(r.error)


@pytest.mark.parametrize(
    ("odd", "reason"),
    [
        ("1.5", "contact id is a number with a decimal point"),
        ("NaN", "contact id is not a number (NaN"),
        ('{"x": 2262000003}', "contact id is a JSON object"),
        ("[2262000003]", "contact id is a JSON list"),
        ("true", "contact id is true/false"),
    ],
)
def test_a_json_id_that_is_not_an_id_is_quarantined_and_the_others_keep_their_text(
    tmp_path: Path, data_dir: Path, odd: str, reason: str
) -> None:
    good = ",".join(f'{{"id": {2262000000 + i}, "state": "WA_READ"}}' for i in range(200))
    r = one(data_dir, put(tmp_path / "a.json", f'[{good}, {{"id": {odd}, "state": "WA_READ"}}]'))
    # 201 rows, one odd id: 1/201 < 1 %, so 200 load and 1 is quarantined with the reason
    assert r.ok and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (201, 200, 1)
    assert dict(r.reasons) == {next(k for k in r.reasons if k.startswith(reason)): 1}
    ids = pl.read_delta(str(data_dir / "snapshots")).get_column("contact_id").sort().to_list()
    assert ids == [str(2262000000 + i) for i in range(200)]  # as written, no ".0"


def test_an_unclosed_quote_names_line_and_kind_never_the_row(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = put(
        tmp_path / "q.csv",
        f'contact_id,state,phone\n1,WA_READ,x\n2,WA_READ,"{PHONE} x\n3,WA_READ,y\n',
    )
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(data_dir), "ingest", "--campaign", "7", "--snapshot-time",
              "2026-11-28T06:00:00Z", str(f)])  # fmt: skip
    assert exc.value.code == 1
    err = capsys.readouterr().err
    # the quote opens on line 3 and is never closed (line 4 is swallowed into its field)
    assert "line 3" in err and "cannot be split into fields" in err
    assert "420601234567" not in err
    log = (data_dir / "logs" / "loads.jsonl").read_text(encoding="utf-8")
    assert "420601234567" not in log and "cannot be split into fields" in log


def test_ingest_good_bad_good_loads_both_good_files_and_logs_all_three(
    tmp_path: Path, data_dir: Path
) -> None:
    first = put(tmp_path / "campaign-1_20261128T060000Z.csv", csv_text(3))
    bad = put(tmp_path / "campaign-2_20261128T060000Z.json", '[{"id": 1, "state": ' + "[" * 5000)
    last = put(tmp_path / "campaign-3_20261128T060000Z.csv", csv_text(2))
    reports = ingest(data_dir, first, bad, last)
    assert [r.ok for r in reports] == [True, False, True]
    assert sorted((m.campaign_id, m.rows) for m in Store(data_dir).published()) == [
        ("1", 3),
        ("3", 2),
    ]
    log = [
        json.loads(line) for line in (data_dir / "logs" / "loads.jsonl").read_text().splitlines()
    ]
    assert [(Path(r["file"]).name, r["status"]) for r in log] == [
        (first.name, "ok"),
        (bad.name, "rejected"),
        (last.name, "ok"),
    ]
