"""The load log, ``<data_dir>/logs/loads.jsonl``: one line per load attempt, whatever came of it.

Every input that a load path touched is recorded once, by the store, under its lock: a file
(``ingest``, the inbox job, the demo) with its resolved path, size and modification time, and an
API campaign pull (``export``), each with its status (``ok``, ``rejected``, ``failed``), its
accounting (rows read, loaded, quarantined, dropped) and the snapshots it published. It is the
one record of *what was loaded*: the Delta table's log is the record of what is *published*, and the
scheduler's run log (``logs/runs.jsonl``) the record of job *runs*. The inbox job decides which
files are new from this log alone. It holds no row content (no contact id, no phone number).

An older data directory's ``logs/ingest.jsonl`` (the same records for files, without size and
modification time) is renamed to ``loads.jsonl`` the first time the log is written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from pipeline.core.clock import iso_utc, now, parse_iso
from pipeline.core.durable import JsonlLog

LOADS = Path("logs") / "loads.jsonl"
_OLD = Path("logs") / "ingest.jsonl"


def file_identity(path: Path) -> dict[str, Any]:
    """What identifies one version of an input file: its resolved path, size and mtime."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class LoadLog:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self._log = JsonlLog(self.root / LOADS)

    def append(self, record: dict[str, Any]) -> None:
        """Record one load attempt (the caller holds the store's lock)."""
        old = self.root / _OLD
        if not self._log.path.exists() and old.exists():
            with contextlib.suppress(FileNotFoundError):
                os.replace(old, self._log.path)
        self._log.append({"load_id": secrets.token_hex(8), "at": iso_utc(now()), **record})

    def records(self) -> list[dict[str, Any]]:
        if not self._log.path.exists() and (self.root / _OLD).exists():
            return JsonlLog(self.root / _OLD).read()
        return self._log.read()

    def loaded_files(self) -> tuple[set[tuple[str, int, int]], dict[str, float]]:
        """Files already seen: the identities (path, size, mtime_ns) of every recorded attempt
        (loaded or rejected: a rejected file is not tried again until it changes), and for older
        records without size and mtime, the last successful load time of each path."""
        exact: set[tuple[str, int, int]] = set()
        loaded_at: dict[str, float] = {}
        for r in self.records():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                if "size" in r and "mtime_ns" in r:
                    exact.add((str(r["path"]), int(r["size"]), int(r["mtime_ns"])))
                elif r.get("status") == "ok" and r.get("file"):
                    path = str(Path(r["file"]).resolve())
                    loaded_at[path] = max(loaded_at.get(path, 0.0), parse_iso(r["at"]).timestamp())
        return exact, loaded_at

    def is_new(self, path: Path, seen: tuple[set[tuple[str, int, int]], dict[str, float]]) -> bool:
        """True if this version of the file has not been loaded or rejected before."""
        exact, loaded_at = seen
        ident = file_identity(path)
        if (ident["path"], ident["size"], ident["mtime_ns"]) in exact:
            return False
        return loaded_at.get(ident["path"], -1.0) < path.stat().st_mtime

    def export_problems(self) -> list[tuple[str, str, str]]:
        """The API campaigns whose latest export attempt failed or was published incomplete:
        (campaign id, when, what), oldest first. A later good attempt clears a campaign."""
        latest: dict[str, dict[str, Any]] = {}
        for r in self.records():
            name = str(r.get("input") or "")
            if r.get("source") == "api" and name.startswith("api:campaign/"):
                latest[name.removeprefix("api:campaign/")] = r
        out = []
        for cid, r in latest.items():
            if r.get("status") == "failed":
                out.append((cid, str(r.get("at", "")), f"export failed: {r.get('error') or '?'}"))
            elif r.get("complete") is False:
                why = r.get("error") or "?"
                out.append((cid, str(r.get("at", "")), f"published INCOMPLETE: {why}"))
        return sorted(out, key=lambda p: p[1])
