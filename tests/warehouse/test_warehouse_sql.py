"""The SQL folder: the load order comes from the folders and the files' ``-- depends:`` lines,
and a wrong dependency is an error naming the file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from warehouse_helpers import make_config

from pipeline.core.console import Console
from pipeline.core.errors import QueryError
from pipeline.warehouse.build import build
from pipeline.warehouse.db import warehouse_paths
from pipeline.warehouse.sql import (
    BUILD_FOLDER,
    LOAD_FOLDERS,
    QUERIES_ENV,
    declared_dependencies,
    folder_files,
    queries_dir,
    query_files,
    sql_name,
)


def sql_folder(root: Path, files: dict[str, str]) -> Path:
    """A queries/ folder with the five folders and these files (name -> text)."""
    for name in (*LOAD_FOLDERS, BUILD_FOLDER):
        (root / name).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def order(root: Path) -> list[str]:
    return [sql_name(p, root) for p in query_files(root)]


TOY = {
    "tables/t.sql": "-- t: one row = a table\nSELECT 1;\n",
    "formulas/a.sql": "-- a: one row\nSELECT 1;\n-- depends: formulas/nope.sql (not the header)\n",
    "formulas/b.sql": "-- b: one row\n--\n-- depends: formulas/c.sql\nSELECT 1;\n",
    "formulas/c.sql": "-- c: one row\nSELECT 1;\n",
    "views/y.sql": "-- y: one row\n-- depends: views/z.sql, formulas/a.sql\nSELECT 1;\n",
    "views/z.sql": "-- z: one row\nSELECT 1;\n",
    "report/r.sql": "-- r: one row\n-- depends: views/y.sql\nSELECT 1;\n",
    "build/step.sql": "-- step: one row\nSELECT 1;\n",
}


def test_load_order_is_folders_then_dependencies_then_names(tmp_path: Path) -> None:
    root = sql_folder(tmp_path / "q", TOY)
    assert order(root) == [
        "tables/t.sql",
        "formulas/a.sql",
        "formulas/c.sql",  # b depends on c
        "formulas/b.sql",
        "views/z.sql",  # y depends on z
        "views/y.sql",
        "report/r.sql",
    ]


def test_the_folder_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sql_folder(tmp_path / "q", TOY)
    monkeypatch.setenv(QUERIES_ENV, str(root))
    assert queries_dir() == root
    assert [sql_name(p, root) for p in query_files()][:2] == ["tables/t.sql", "formulas/a.sql"]


def test_a_dependency_cycle_is_an_error_naming_the_files(tmp_path: Path) -> None:
    root = sql_folder(
        tmp_path / "q",
        {**TOY, "views/z.sql": "-- z: one row\n-- depends: views/y.sql\nSELECT 1;\n"},
    )
    with pytest.raises(QueryError) as err:
        query_files(root)
    assert str(err.value).startswith(f"{root / 'views' / 'y.sql'}: the -- depends: lines make")
    assert "cycle: views/y.sql -> views/z.sql -> views/y.sql" in str(err.value)


def test_a_cycle_in_the_shipped_views_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # funnel.sql depends on contact_state.sql; make contact_state.sql depend on funnel.sql
    copy = tmp_path / "queries"
    shutil.copytree(queries_dir(), copy)
    path = copy / "views" / "contact_state.sql"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("-- depends: ", "-- depends: views/funnel.sql, ", 1))
    monkeypatch.setenv(QUERIES_ENV, str(copy))
    config = make_config(tmp_path / "data")
    cycle = "views/contact_state.sql -> views/funnel.sql -> views/contact_state.sql"
    with pytest.raises(QueryError, match=re.escape(cycle)):
        build(config, Console.silent())
    assert not warehouse_paths(config)[0].exists()  # nothing was built


def test_a_missing_dependency_is_an_error_naming_the_file(tmp_path: Path) -> None:
    root = sql_folder(
        tmp_path / "q", {**TOY, "views/z.sql": "-- z: one row\n-- depends: views/nope.sql\n"}
    )
    with pytest.raises(QueryError, match=r"views/z\.sql: its -- depends: line names views/nope"):
        query_files(root)


def test_a_dependency_on_a_later_folder_is_an_error(tmp_path: Path) -> None:
    root = sql_folder(
        tmp_path / "q", {**TOY, "formulas/c.sql": "-- c: one row\n-- depends: views/z.sql\n"}
    )
    with pytest.raises(QueryError, match=r"formulas/c\.sql: .* but views/ loads after formulas/"):
        query_files(root)


def test_sql_outside_the_folders_is_an_error(tmp_path: Path) -> None:
    root = sql_folder(tmp_path / "q", {**TOY})
    (root / "funnel.sql").write_text("-- funnel: an old layout\n")
    with pytest.raises(QueryError, match=r"funnel\.sql: SQL outside the folders"):
        query_files(root)
    (root / "funnel.sql").unlink()
    shutil.rmtree(root / "report")
    with pytest.raises(QueryError, match="lacks report/"):
        query_files(root)


def test_portable_sql_is_allowed_and_never_loaded(tmp_path: Path) -> None:
    # queries/portable/ holds the Spark job's SQL (pipeline.spark): not an error, not loaded
    root = sql_folder(tmp_path / "q", TOY)
    (root / "portable").mkdir()
    (root / "portable" / "m.sql").write_text("-- m: one row\nSELECT nope FROM snapshots\n")
    assert order(root) == order(sql_folder(tmp_path / "q2", TOY))
    assert not any("portable" in name for name in order(root))
    # the shipped folder has one, and a build over the shipped queries/ does not read it
    assert list((queries_dir() / "portable").glob("*.sql"))
    assert not [p for p in query_files() if p.parent.name == "portable"]
    # SQL in another unknown folder is still an error
    (root / "other").mkdir()
    (root / "other" / "x.sql").write_text("-- x: one row\n")
    with pytest.raises(QueryError, match=r"other/x\.sql: SQL outside the folders"):
        query_files(root)


def closure(path: Path, root: Path) -> set[str]:
    """The files ``path`` names, and those they name, and so on."""
    seen: set[str] = set()
    todo = declared_dependencies(path)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += declared_dependencies(root / name)
    return seen


def test_every_file_loads_with_only_the_files_it_names() -> None:
    # DuckDB checks the tables, views and functions a view or macro uses when it is created: a
    # file whose -- depends: lines miss one fails here, whatever the load order would hide
    root = queries_dir()
    ordered = query_files(root)
    for path in ordered:
        needed = closure(path, root)
        con = duckdb.connect()
        try:
            for other in ordered:
                name = sql_name(other, root)
                if other == path or name in needed or name.startswith("tables/"):
                    con.execute(other.read_text(encoding="utf-8"))
        except duckdb.Error as exc:
            pytest.fail(f"{sql_name(path, root)} with only {sorted(needed)}: {exc}")
        finally:
            con.close()


def test_the_stored_formulas_are_not_in_the_views() -> None:
    # the macros the build steps call are defined in formulas/ (a change there rebuilds)
    root = queries_dir()
    steps = " ".join(p.read_text() for p in folder_files(root, (BUILD_FOLDER,)))
    called = (
        "milestones_of(",
        "day_ends(",
        "day_rows(",
        "transitions_of(",
        "local_day(",
        "reached_of(",
        "states_of(",
    )
    formulas = " ".join(p.read_text() for p in folder_files(root, ("formulas",)))
    others = " ".join(p.read_text() for p in folder_files(root, ("views", "report")))
    for name in called:
        assert name in steps
        assert f"MACRO {name}" in formulas, f"{name[:-1]} is not defined in formulas/"
        assert f"MACRO {name}" not in others, f"{name[:-1]} is defined outside formulas/"


@pytest.mark.parametrize(
    ("a", "b", "seconds"),
    [
        # worked by hand: the second boundaries crossed from a to b (as date_diff counts them)
        ("2026-11-28 10:00:00.900+00", "2026-11-28 10:00:01.100+00", 1),  # 0.2 s, one boundary
        ("2026-11-28 10:00:00.100+00", "2026-11-28 10:00:00.900+00", 0),  # none crossed
        ("2026-11-28 10:00:00+00", "2026-11-28 11:00:00+00", 3600),
        ("2026-11-28 11:00:00+00", "2026-11-28 10:00:00+00", -3600),  # backwards
        # the night the clocks go back in Prague: 01:30 CEST to 02:30 CET is two hours
        ("2026-10-25 01:30:00+02", "2026-10-25 02:30:00+01", 7200),
        ("2026-03-29 01:59:59+01", "2026-03-29 03:00:00+02", 1),  # the spring gap: one second
    ],
)
def test_seconds_between_counts_whole_seconds_as_date_diff_does(a: str, b: str, seconds: int):
    # seconds_between (formulas/params.sql) replaces date_diff('second', ...) on TIMESTAMPTZ in
    # the views, ten times cheaper; its results must be date_diff's, whatever the session's zone
    path = queries_dir() / "formulas" / "params.sql"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Prague'")
    con.execute("CREATE TABLE settings (key VARCHAR, value VARCHAR)")
    con.execute(path.read_text(encoding="utf-8"))
    got, diff = con.execute(
        "SELECT seconds_between(CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ)), "
        "date_diff('second', CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ))",
        [a, b, a, b],
    ).fetchone()
    assert got == seconds == diff
