"""The one way the warehouse is opened (pipeline.warehouse.db.connect): its session settings."""

from __future__ import annotations

from pathlib import Path

from pipeline.warehouse.db import connect


def test_sessions_print_no_progress_bar_and_count_in_utc(tmp_path: Path) -> None:
    # DuckDB draws a progress bar (carriage returns) on stdout for any query over 2 s; the
    # commands print their own progress lines, and cron logs must not fill with bars (checked
    # by hand with a 10 s query: no bar with this session, a bar once it is turned back on)
    con = connect(tmp_path / "w.duckdb")
    try:
        bar, zone = con.execute(
            "SELECT current_setting('enable_progress_bar'), current_setting('TimeZone')"
        ).fetchall()[0]
    finally:
        con.close()
    assert bar is False
    assert zone == "UTC"
