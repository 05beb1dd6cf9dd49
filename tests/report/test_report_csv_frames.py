"""frame_csv_text (the drill-down files, written a whole frame at once) gives exactly the text
csv_text gives for the same rows: quoting, formula neutralisation, times, empty and null cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.report.render import csv_text, frame_csv_text

SCHEMA = {
    "text": pl.String,
    "number": pl.Int64,
    "time": pl.Datetime("us", "UTC"),
    "day": pl.Date,
    "flag": pl.Boolean,
}
#: characters that matter to CSV quoting or to spreadsheets, and a few ordinary ones
CHARS = st.sampled_from(list("aZ09 ,;\"'\t\r\n=+-@|%#\\éč\u2028"))
ROW = st.tuples(
    st.none() | st.text(CHARS, max_size=6),
    st.none() | st.integers(-(10**15), 10**15),
    st.none() | st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.none() | st.dates(date(1970, 1, 1), date(2100, 1, 1)),
    st.none() | st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(ROW, max_size=20), zone=st.sampled_from(["UTC", "Europe/Prague"]))
def test_frame_text_equals_row_by_row_text(rows: list[tuple], zone: str) -> None:
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row").with_columns(
        pl.col("time").dt.convert_time_zone(zone)
    )
    assert frame_csv_text(frame) == csv_text(frame.columns, frame.rows())


def test_the_cases_by_name() -> None:
    when = datetime(2026, 10, 25, 1, 30, 59, 999_999, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "contact_id": ["=1+1", "-5", "", None, 'a,"b"', "x\r\ny", "ok"],
            "minutes": [-3, 0, 1, None, 2, 3, 4],
            "since": [when + timedelta(hours=i) for i in range(7)],
        }
    ).with_columns(pl.col("since").dt.convert_time_zone("Europe/Prague"))
    assert frame_csv_text(frame) == (
        "contact_id,minutes,since\r\n"
        "'=1+1,-3,2026-10-25T01:30:59Z\r\n"
        "'-5,0,2026-10-25T02:30:59Z\r\n"
        ",1,2026-10-25T03:30:59Z\r\n"
        ",,2026-10-25T04:30:59Z\r\n"
        '"a,""b""",2,2026-10-25T05:30:59Z\r\n'
        '"x\r\ny",3,2026-10-25T06:30:59Z\r\n'
        "ok,4,2026-10-25T07:30:59Z\r\n"
    )
    one = pl.DataFrame({"id": ["", None, "x"]})
    assert frame_csv_text(one) == csv_text(["id"], one.rows()) == 'id\r\n""\r\n""\r\nx\r\n'
    assert frame_csv_text(frame.clear()) == "contact_id,minutes,since\r\n"


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="share"):
        frame_csv_text(pl.DataFrame({"id": ["a"], "share": [0.1]}))
