"""Typed columns stay typed: Parquet times are converted, not written out as text and parsed
back, with the results text would give; the quick ways of reading times and JSON ids give what
the careful ways give."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import ingest

from pipeline.normalize.times import parse_time, parse_time_column
from pipeline.store.snapshots import Store

PRAGUE = "Europe/Prague"


def stored(data_dir: Path) -> pl.DataFrame:
    return Store(data_dir).scan().collect().sort("contact_id")


def test_parquet_times_with_a_zone_without_one_and_in_nanoseconds(tmp_path, data_dir):
    f = tmp_path / "campaign-9_20261128T060000Z.parquet"
    n = 200  # rows 4..200 only fill the file (one bad row in 3 would reject it: over 1 %)
    zoned = pl.Series([datetime(2026, 11, 27, 10, 0)] + [None] * (n - 1))
    wall = [None, datetime(2026, 10, 25, 2, 30), datetime(2026, 3, 29, 2, 30)] + [None] * (n - 3)
    pl.DataFrame(
        {
            "id": list(range(1, n + 1)),
            "state": ["WA_READ", "WA_SENT", None] + ["WA_READ"] * (n - 3),  # row 3: no state
            "created": zoned.dt.replace_time_zone(PRAGUE),
            # wall times without a zone are Prague time (the configured zone), as in text
            "retry_scheduled": pl.Series(wall).cast(pl.Datetime("ns")),
        }
    ).write_parquet(f)
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (200, 199, 1)
    df = stored(data_dir).filter(pl.col("contact_id").is_in(["1", "2"]))
    # 10:00 in Prague in November (CET, +01:00) is 09:00 UTC
    assert df["created"].to_list() == [datetime(2026, 11, 27, 9, 0, tzinfo=UTC), None]
    # 02:30 on 25 Oct 2026 happens twice in Prague; the earlier is CEST (+02:00): 00:30 UTC
    assert df["retry_scheduled"].to_list() == [None, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]
    quarantine = next((data_dir / "quarantine").rglob("*.csv"))
    bad = pl.read_csv(quarantine, infer_schema=False)
    assert bad["reason"].to_list() == ["missing state"]
    # the typed time as text in the quarantine file (02:30 on 29 Mar is skipped in Prague, but
    # the row's first problem is its missing state)
    assert bad["retry_scheduled"].to_list() == ["2026-03-29T02:30:00"]


def test_a_parquet_wall_time_the_clocks_skip_is_unparsable_as_in_text(tmp_path, data_dir):
    f = tmp_path / "campaign-9_20261128T060000Z.parquet"
    pl.DataFrame(
        {
            "id": [str(n) for n in range(1, 201)],
            "state": ["WA_READ"] * 200,
            # one row at 02:30 on 29 Mar 2026: Prague's clocks jump from 02:00 to 03:00
            "created": [datetime(2026, 3, 29, 2, 30)] + [datetime(2026, 3, 29, 1, 0)] * 199,
        }
    ).write_parquet(f)
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    assert r.reasons == {"unparsable created time": 1}
    # 01:00 CET (+01:00) is 00:00 UTC
    assert set(stored(data_dir)["created"].to_list()) == {datetime(2026, 3, 29, 0, 0, tzinfo=UTC)}


#: (text, the UTC time it means in Prague, worked out by hand; None: unparsable)
TIMES = [
    ("2026-11-28T06:00:00+01:00", datetime(2026, 11, 28, 5, 0)),
    ("2026-11-28 06:00:00+01:00", datetime(2026, 11, 28, 5, 0)),
    ("2026-11-28T06:00:00-05:30", datetime(2026, 11, 28, 11, 30)),
    ("2026-11-28T06:00:00Z", datetime(2026, 11, 28, 6, 0)),
    ("2026-11-28T06:00:00z", datetime(2026, 11, 28, 6, 0)),
    ("2026-11-28T06:00:00", datetime(2026, 11, 28, 5, 0)),  # CET: +01:00
    ("2026-11-28 06:00:00", datetime(2026, 11, 28, 5, 0)),
    ("2026-07-01T06:00:00", datetime(2026, 7, 1, 4, 0)),  # CEST: +02:00
    ("2026-10-25T02:30:00", datetime(2026, 10, 25, 0, 30)),  # twice: the earlier (CEST)
    ("2026-03-29T02:30:00", None),  # skipped by the clocks
    ("2026-11-28T06:00:00.5+01:00", datetime(2026, 11, 28, 5, 0, 0, 500000)),
    (" 2026-11-28T06:00:00Z ", datetime(2026, 11, 28, 6, 0)),
    ("28.11.2026 6:00:00", datetime(2026, 11, 28, 5, 0)),
    ("2026-02-30T06:00:00Z", None),
    ("2026-11-28T24:00:00Z", None),
    ("2026-11-28T06:00:00+01:0x", None),
    ("tomorrow", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize("repeat", [1, 600])  # a small column and one of 11,400 rows
def test_the_quick_column_parse_gives_the_hand_worked_times_whatever_the_first_shape(repeat):
    # each shape in turn leads the column (the first value picks the quick way)
    for lead, _ in TIMES[:8]:
        texts = [lead] + [t for t, _ in TIMES] * repeat
        got = parse_time_column(pl.Series("t", texts), PRAGUE).to_list()
        want = [dict(TIMES)[lead]] + [w for _, w in TIMES] * repeat
        assert [g.replace(tzinfo=None) if g else None for g in got] == want, lead


def test_the_quick_column_parse_equals_parse_time_on_odd_offsets():
    odd = ["2026-11-28T06:00:00+14:59", "2026-11-28T06:00:00+15:00", "2026-11-28T06:00:00+99:00"]
    texts = ["2026-11-28T06:00:00+01:00"] + odd * 4000
    values = pl.Series("t", texts)
    quick = parse_time_column(values, PRAGUE)
    careful = values.to_frame().select(parse_time(pl.col("t"), PRAGUE)).to_series()
    assert quick.equals(careful.alias("t"), null_equal=True)


def test_json_ids_of_any_size_keep_their_digits(tmp_path, data_dir):
    f = tmp_path / "campaign-7_20261128T060000Z.json"
    big = 123456789012345678901234567890  # beyond 64 bits: kept as written too
    doc = [{"id": i, "state": "WA_READ", "retryCount": 1} for i in (7, -0, big)]
    f.write_text(json.dumps(doc))
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    df = stored(data_dir)
    assert sorted(df["contact_id"].to_list()) == sorted(["7", "0", str(big)])
    assert df["retry_count"].to_list() == [1, 1, 1]


def test_json_objects_with_different_keys_read_each_value_under_its_own_key(tmp_path, data_dir):
    f = tmp_path / "campaign-7_20261128T060000Z.json"
    doc = [
        {"id": 1, "state": "WA_READ", "created": "2026-11-27T10:00:00+01:00"},
        {"state": "WA_SENT", "id": 2},  # no created, keys in another order
        {"id": 3, "note": "x", "state": "WA_DELIVERED", "created": None},
    ]
    f.write_text(json.dumps(doc))
    [r] = ingest(data_dir, f)
    assert r.ok, r.error
    df = stored(data_dir)
    assert df["contact_id"].to_list() == ["1", "2", "3"]
    assert df["state"].to_list() == ["read", "sent", "delivered"]
    # 10:00 at +01:00 is 09:00 UTC
    assert df["created"].to_list() == [datetime(2026, 11, 27, 9, 0, tzinfo=UTC), None, None]
