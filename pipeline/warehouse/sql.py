"""The SQL files of queries/: where they are, the order they load in, reading and running one.

queries/ has one folder per part of a number's life::

    tables/     the stored tables (schema.sql)
    formulas/   the macros (and the view state_history) whose output the build stores
    build/      the build's steps, which the build runs itself, in its own order
    views/      the analysts' views and table macros
    report/     the report_* table macros the reports read
    portable/   the metrics the Spark job runs (pipeline.spark); the warehouse skips them

The build loads tables/, formulas/, views/ and report/ in that order (``LOAD_FOLDERS``). Within a
folder a file loads after the files that its header names on ``-- depends:`` lines (paths
relative to queries/, comma separated, e.g. ``-- depends: formulas/params.sql``), and otherwise
in name order. A file may name files of its own folder or of an earlier one (those load first
anyway); a dependency that does not exist, that is in a later folder, or that makes a cycle is a
``QueryError`` naming the file. The folder is ``$CAMPAIGN_REPORTS_QUERIES_DIR``, else the one the
package ships (``pipeline.core.resources.queries_dir``).
"""

from __future__ import annotations

import heapq
import re
from pathlib import Path
from typing import Any

import duckdb

from pipeline.core.errors import QueryError
from pipeline.core.resources import QUERIES_ENV, queries_dir

#: The folders of views and macros, in load order.
LOAD_FOLDERS = ("tables", "formulas", "views", "report")
#: The build's steps: run by the build (``run_sql_file``), never loaded with the views.
BUILD_FOLDER = "build"
#: The folders whose SQL decides what the build stores: a change there means a full rebuild.
STORED_FOLDERS = ("tables", "formulas", BUILD_FOLDER)
#: SQL for other engines (the Spark job runs it, ``pipeline.spark.portable``): allowed in
#: queries/, never loaded into the warehouse, and not required to exist.
SKIPPED_FOLDERS = ("portable",)

_DEPENDS = re.compile(r"^--\s*depends:(.*)$", re.IGNORECASE)


def sql_name(path: Path, root: Path) -> str:
    """A file's name relative to queries/, as ``-- depends:`` lines write it:
    ``formulas/daily.sql``."""
    return path.relative_to(root).as_posix()


def checked_root(folder: Path | None = None) -> Path:
    """The queries/ folder, after checking that it has the five folders and no SQL elsewhere
    (but in the folders the warehouse skips, ``SKIPPED_FOLDERS``)."""
    root = folder or queries_dir()
    if not root.is_dir():
        raise QueryError(
            f"the SQL folder {root} does not exist; set {QUERIES_ENV} to the queries/ folder"
        )
    known = (*LOAD_FOLDERS, BUILD_FOLDER)
    missing = [f"{name}/" for name in known if not (root / name).is_dir()]
    if missing:
        raise QueryError(
            f"{root}: the SQL folder lacks {', '.join(missing)} (queries/ holds "
            f"{', '.join(f'{name}/' for name in known)})"
        )
    stray = sorted(
        sql_name(p, root)
        for p in root.rglob("*.sql")
        if sql_name(p.parent, root) not in (*known, *SKIPPED_FOLDERS)
    )
    if stray:
        raise QueryError(
            f"{root / stray[0]}: SQL outside the folders {', '.join(f'{n}/' for n in known)}: "
            "move it into the folder of its part (see the README, section The warehouse)"
        )
    return root


def folder_files(root: Path, folders: tuple[str, ...]) -> list[Path]:
    """The SQL files of some folders of queries/, folder after folder, each in name order."""
    return [p for name in folders for p in sorted((root / name).glob("*.sql"))]


def declared_dependencies(path: Path) -> list[str]:
    """The files a SQL file's header names on its ``-- depends:`` lines (the header: the
    comment lines before its first statement)."""
    names: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("--"):
            break
        match = _DEPENDS.match(text)
        if match:
            names += [n.strip() for n in match.group(1).split(",") if n.strip()]
    return names


def query_files(folder: Path | None = None) -> list[Path]:
    """The files of tables/, formulas/, views/ and report/, in load order: folder after folder,
    within one topologically by their ``-- depends:`` lines, name order breaking ties."""
    root = checked_root(folder)
    paths = {sql_name(p, root): p for p in folder_files(root, LOAD_FOLDERS)}
    ordered: list[str] = []
    for rank, name in enumerate(LOAD_FOLDERS):
        members = sorted(n for n in paths if n.startswith(f"{name}/"))
        edges = {n: _same_folder_dependencies(n, paths, rank, root) for n in members}
        ordered += _topological(edges, root)
    return [paths[n] for n in ordered]


def _same_folder_dependencies(name: str, paths: dict[str, Path], rank: int, root: Path) -> set[str]:
    """The dependencies of ``name`` in its own folder; those of earlier folders are checked to
    exist (they load first anyway), any other is an error."""
    same: set[str] = set()
    for dep in declared_dependencies(paths[name]):
        folder = dep.split("/", 1)[0]
        where = LOAD_FOLDERS.index(folder) if folder in LOAD_FOLDERS else None
        if where is not None and where > rank:
            raise QueryError(
                f"{root / name}: its -- depends: line names {dep}, but {folder}/ loads after "
                f"{LOAD_FOLDERS[rank]}/ (the order is {', '.join(LOAD_FOLDERS)})"
            )
        if dep not in paths:
            raise QueryError(
                f"{root / name}: its -- depends: line names {dep}, which is not a file of "
                f"{', '.join(f'{f}/' for f in LOAD_FOLDERS)} in {root}"
            )
        if where == rank:
            same.add(dep)
    return same


def _topological(edges: dict[str, set[str]], root: Path) -> list[str]:
    """The names in an order where each comes after the names in its set, the smallest name
    first among those that are free to come next."""
    waiting = {n: set(deps) for n, deps in edges.items()}
    ready = [n for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        out.append(name)
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, other)
    if len(out) < len(edges):
        cycle = _a_cycle({n: deps for n, deps in waiting.items() if deps})
        raise QueryError(
            f"{root / cycle[0]}: the -- depends: lines make a cycle: {' -> '.join(cycle)}. "
            "A file cannot load before itself; remove one of these dependencies."
        )
    return out


def _a_cycle(waiting: dict[str, set[str]]) -> list[str]:
    """One cycle among names that all still wait for another (each has a dependency in it),
    starting and ending at its smallest name."""
    path = [min(waiting)]
    while True:
        nxt = min(d for d in waiting[path[-1]] if d in waiting)
        if nxt in path:
            loop = path[path.index(nxt) :]
            start = loop.index(min(loop))
            loop = loop[start:] + loop[:start]
            return [*loop, loop[0]]
        path.append(nxt)


def read_query(name: str, folder: Path | None = None) -> tuple[Path, str]:
    """The path and text of one file of queries/, by its name there (``build/daily_step.sql``)."""
    path = (folder or queries_dir()) / name
    try:
        return path, path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"cannot read the SQL file {path}: {exc}") from exc


def run_sql_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: list[Any] | None = None,
    folder: Path | None = None,
) -> None:
    """Run one file of queries/ (may hold several statements); errors name the file."""
    path, sql = read_query(name, folder)
    try:
        if params is None:
            con.execute(sql)
        else:
            con.execute(sql, params)
    except duckdb.Error as exc:
        raise QueryError(f"{path}: {exc}".strip()) from exc
