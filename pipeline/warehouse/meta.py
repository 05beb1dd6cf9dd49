"""What a warehouse was built from, kept in its table ``warehouse_meta``, and when that forces a
full rebuild.

The stored tables (history, milestones, daily counts and moves) are built step by step, so their
rows are only right if every step ran the same SQL over the same catalog in the same time zone.
``BuildFacts`` are everything besides the snapshots that decides them: the files of tables/,
formulas/ and build/ (each by its SHA-256), the state catalog, the time zone and the package
version. A build records them; when the next one finds other facts, it rebuilds in full and says
why (``rebuild_reason``). The views and report macros (views/, report/) are not part of them:
when those files change, the build only re-creates them (``create_views``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

import pipeline
from pipeline.core.catalog import load_catalog
from pipeline.warehouse.db import connect, first_row
from pipeline.warehouse.sql import (
    STORED_FOLDERS,
    checked_root,
    folder_files,
    query_files,
    run_sql_file,
    sql_name,
)

#: Keys of ``warehouse_meta`` (one row per key); a stored file's hash is under ``file:<name>``.
VIEWS_KEY = "queries_sha256"
DIGEST_KEY = "schema_sha256"
FILE_KEY = "file:"
FACT_KEYS = ("catalog_sha256", "timezone", "version")
#: A reason for a full rebuild names at most this many files (then "and N more").
NAMED_FILES = 3


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BuildFacts:
    """What the stored tables were (or would be) built from, besides the snapshots."""

    files: dict[str, str]  #: name in queries/ (``formulas/daily.sql``) -> SHA-256 of the file
    catalog_sha256: str
    timezone: str
    version: str

    def digest(self) -> str:
        """One hash of all the facts."""
        parts = [f"{name}={sha}" for name, sha in sorted(self.files.items())]
        parts += [self.catalog_sha256, self.timezone, self.version]
        return _sha256("\0".join(parts).encode())

    def rows(self) -> list[tuple[str, str]]:
        """The facts as ``warehouse_meta`` rows."""
        return [
            *((FILE_KEY + name, sha) for name, sha in sorted(self.files.items())),
            ("catalog_sha256", self.catalog_sha256),
            ("timezone", self.timezone),
            ("version", self.version),
        ]

    @classmethod
    def from_rows(cls, meta: dict[str, str]) -> BuildFacts | None:
        """The facts a build recorded, or None if it recorded none (an older version built it)."""
        if any(key not in meta for key in FACT_KEYS):
            return None
        files = {k[len(FILE_KEY) :]: v for k, v in meta.items() if k.startswith(FILE_KEY)}
        return cls(files, meta["catalog_sha256"], meta["timezone"], meta["version"])

    def changes_since(self, before: BuildFacts) -> list[str]:
        """What differs from ``before``, in words, one phrase per kind of change."""
        out = []
        if before.version != self.version:
            out.append(f"the package version changed from {before.version} to {self.version}")
        if before.timezone != self.timezone:
            out.append(f"the time zone changed from {before.timezone} to {self.timezone}")
        if before.catalog_sha256 != self.catalog_sha256:
            out.append("the state catalog changed since the last build")
        old, new = before.files, self.files
        for names, verbs in (
            ([n for n in sorted(new) if n in old and old[n] != new[n]], ("changed", "changed")),
            ([n for n in sorted(new) if n not in old], ("is new", "are new")),
            ([n for n in sorted(old) if n not in new], ("was removed", "were removed")),
        ):
            if names:
                verb = verbs[0] if len(names) == 1 else verbs[1]
                out.append(f"{_listing(names)} {verb} since the last build")
        return out


def _listing(names: list[str]) -> str:
    """'queries/a.sql', 'queries/a.sql and queries/b.sql', ..., 'queries/a.sql, ... and 2 more'."""
    shown = [f"queries/{n}" for n in names[:NAMED_FILES]]
    rest = len(names) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def current_facts(timezone: str, folder: Path | None = None) -> BuildFacts:
    """The facts a build with this time zone and these files of queries/ would record."""
    root = checked_root(folder)
    files = {sql_name(p, root): _sha256(p.read_bytes()) for p in folder_files(root, STORED_FOLDERS)}
    return BuildFacts(files, load_catalog().sha256(), timezone, pipeline.__version__)


def schema_digest(timezone: str, folder: Path | None = None) -> str:
    """One hash of what decides the stored tables besides the snapshots (``BuildFacts``)."""
    return current_facts(timezone, folder).digest()


def read_meta(path: Path) -> dict[str, str] | None:
    """The ``warehouse_meta`` rows of the warehouse at ``path``; None if it has none."""
    con = connect(path, read_only=True)
    try:  # not duckdb_tables(): it estimates every table's size, a tenth of a second
        return dict(con.execute("SELECT key, value FROM warehouse_meta").fetchall()) or None
    except duckdb.Error:  # no such table
        return None
    finally:
        con.close()


def rebuild_reason(path: Path, timezone: str, folder: Path | None = None) -> str | None:
    """Why the warehouse at ``path`` must be rebuilt in full, in words; None if it need not."""
    if not path.exists():
        return "no warehouse yet"
    before = BuildFacts.from_rows(read_meta(path) or {})
    if before is None:
        return "the warehouse does not record what it was built from (an older version built it)"
    now = current_facts(timezone, folder)
    return "; ".join(now.changes_since(before)) or None


def create_views(
    con: duckdb.DuckDBPyConnection,
    timezone: str,
    folder: Path | None = None,
    *,
    force: bool = True,
) -> bool:
    """(Re)create every table, view and macro of queries/ (tables/, formulas/, views/, report/,
    in load order) and record the build facts. Unless ``force``, skip it when those files are
    the same as at the last build (their hash is kept in ``warehouse_meta``). ``timezone`` is
    the configured one (one of the facts). Returns True if the files were run."""
    root = checked_root(folder)
    files = query_files(root)
    digest = _sha256(b"".join(sql_name(p, root).encode() + b"\0" + p.read_bytes() for p in files))
    con.execute("CREATE TABLE IF NOT EXISTS warehouse_meta (key VARCHAR, value VARCHAR)")
    row = first_row(con, f"SELECT value FROM warehouse_meta WHERE key = '{VIEWS_KEY}'")
    if not force and row is not None and row[0] == digest:
        return False
    for path in files:
        run_sql_file(con, sql_name(path, root), folder=root)
    facts = current_facts(timezone, root)
    con.execute("DELETE FROM warehouse_meta")
    con.executemany(
        "INSERT INTO warehouse_meta VALUES (?, ?)",
        [(VIEWS_KEY, digest), (DIGEST_KEY, facts.digest()), *facts.rows()],
    )
    return True
