"""When the next build is a full one, and what it says: a change to what the stored tables are
built from (the files of queries/tables/, formulas/ and build/, the catalog, the time zone, the
package version) rebuilds them, naming the change; a change to views/ or report/ only re-creates
the views. Real stores and DuckDB files; queries/ copied and edited in tmp_path."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from test_warehouse_build import NO_STORED_DIFFERENCES, stored_differences
from warehouse_helpers import S1, build_quiet, ingest_snapshot, make_config, query, tiny_rows

import pipeline
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.warehouse.build import BuildResult, build
from pipeline.warehouse.db import warehouse_paths
from pipeline.warehouse.sql import QUERIES_ENV, queries_dir


def built_at_s1(tmp_path: Path) -> Config:
    """Campaign A's first snapshot (S1, Oct 24 in Prague), built with the shipped queries/.

    By hand (TINY_A at S1): 7 contacts; a2 Sent and a3 legacy Successfully Submitted (counted
    as sent) make sent = 2; a1, a8 Initial and a5 In progress make pending = 3; a2, a3 and a6
    (Read) reached Sent."""
    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    build_quiet(config)
    return config


def copy_queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of queries/ that the builds of this test use (CAMPAIGN_REPORTS_QUERIES_DIR)."""
    copy = tmp_path / "queries"
    shutil.copytree(queries_dir(), copy)
    monkeypatch.setenv(QUERIES_ENV, str(copy))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def build_saying(config: Config) -> tuple[BuildResult, list[str]]:
    """A build with a real console; its lines that say why it was a full rebuild."""
    out = io.StringIO()
    result = build(config, Console(out))
    return result, [line for line in out.getvalue().splitlines() if line.startswith("Full")]


def daily_of_a(config: Config) -> list[tuple[date, int, int, int, int]]:
    return query(
        config,
        "SELECT day, contacts, sent, pending, reached_sent FROM campaign_daily "
        "WHERE campaign_id = 'A' ORDER BY day",
    )


def test_an_edited_formula_rebuilds_in_full_and_its_numbers_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = built_at_s1(tmp_path)
    assert daily_of_a(config) == [(date(2026, 10, 24), 7, 2, 3, 3)]
    copy = copy_queries(tmp_path, monkeypatch)
    # the per-snapshot counts (and day_counts, the formula daily_state must equal) now count
    # each Sent contact twice
    edit(
        copy / "formulas" / "reached.sql",
        "sum(d) FILTER (WHERE state = 'sent') AS d_sent,",
        "2 * sum(d) FILTER (WHERE state = 'sent') AS d_sent,",
    )
    edit(
        copy / "formulas" / "daily.sql",
        "count(*) FILTER (WHERE h.state = 'sent') AS sent,",
        "2 * count(*) FILTER (WHERE h.state = 'sent') AS sent,",
    )
    result, said = build_saying(config)
    assert result.full
    assert said == [
        "Full rebuild: queries/formulas/daily.sql and queries/formulas/reached.sql changed "
        "since the last build"
    ]
    # the stored daily_state has the edited formula's numbers: sent 2 * 2, the rest as before
    assert daily_of_a(config) == [(date(2026, 10, 24), 7, 4, 3, 3)]
    assert stored_differences(config) == NO_STORED_DIFFERENCES
    again, said = build_saying(config)
    assert (again.full, said) == (False, [])


def test_a_new_package_version_rebuilds_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = built_at_s1(tmp_path)
    old = pipeline.__version__
    monkeypatch.setattr(pipeline, "__version__", "99.0.0")
    result, said = build_saying(config)
    assert result.full
    assert said == [f"Full rebuild: the package version changed from {old} to 99.0.0"]
    assert daily_of_a(config) == [(date(2026, 10, 24), 7, 2, 3, 3)]
    assert build_saying(config)[0].full is False


def test_an_edited_view_is_recreated_without_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = built_at_s1(tmp_path)
    copy = copy_queries(tmp_path, monkeypatch)
    edit(
        copy / "views" / "campaign_daily.sql",
        "initial + in_progress + retry_scheduled AS pending,",
        "100 + initial + in_progress + retry_scheduled AS pending,",
    )
    result, said = build_saying(config)
    assert (result.full, said) == (False, [])
    assert daily_of_a(config) == [(date(2026, 10, 24), 7, 2, 103, 3)]


def test_changed_tables_rebuild_in_full_changed_views_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    build_quiet(config)
    copy = copy_queries(tmp_path, monkeypatch)
    assert build(config, Console.silent()).full is False
    with (copy / "views" / "funnel.sql").open("a") as fh:
        fh.write("\n-- a view changed\n")
    assert build(config, Console.silent()).full is False
    with (copy / "tables" / "schema.sql").open("a") as fh:
        fh.write("\n-- a table changed\n")
    result, said = build_saying(config)
    assert result.full is True
    assert said == ["Full rebuild: queries/tables/schema.sql changed since the last build"]
    assert build(config, Console.silent()).full is False


def test_added_and_removed_build_files_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = built_at_s1(tmp_path)
    copy = copy_queries(tmp_path, monkeypatch)
    (copy / "formulas" / "extra.sql").write_text("-- extra: one row = nothing; unused\n")
    result, said = build_saying(config)
    assert result.full
    assert said == ["Full rebuild: queries/formulas/extra.sql is new since the last build"]
    (copy / "formulas" / "extra.sql").unlink()
    result, said = build_saying(config)
    assert said == ["Full rebuild: queries/formulas/extra.sql was removed since the last build"]


def test_the_first_build_and_an_unrecorded_warehouse_say_why(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    result, said = build_saying(config)
    assert (result.full, said) == (True, ["Full rebuild: no warehouse yet"])
    # a warehouse whose build recorded only the hashes (as before the build facts were kept)
    target, _ = warehouse_paths(config)
    con = duckdb.connect(str(target))
    con.execute("DELETE FROM warehouse_meta WHERE key NOT IN ('queries_sha256', 'schema_sha256')")
    con.close()
    result, said = build_saying(config)
    assert result.full
    assert said == [
        "Full rebuild: the warehouse does not record what it was built from "
        "(an older version built it)"
    ]
    assert build_saying(config)[0].full is False
