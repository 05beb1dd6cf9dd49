"""The suppression list, ``<data_dir>/suppressed.jsonl``: one line per erased contact, holding a
SHA-256 of its id (``pipeline.normalize.suppression.contact_hash``), never the id. Appended under
the store's lock; a line torn by a crash is cut off by the next append, and erase appends it
again (an erase is not done until its line is durable)."""

from __future__ import annotations

from pipeline.core.clock import iso_utc, now
from pipeline.core.durable import JsonlLog
from pipeline.normalize.suppression import contact_hash
from pipeline.store.snapshots import Store

SUPPRESSED = "suppressed.jsonl"


def _log(store: Store) -> JsonlLog:
    return JsonlLog(store.root / SUPPRESSED)


def suppressed_hashes(store: Store) -> set[str]:
    """The hashes of every erased contact."""
    return {str(r["hash"]) for r in _log(store).read() if "hash" in r}


def add_suppression(store: Store, contact_id: str) -> None:
    """Put a contact on the list (the caller holds the store's lock)."""
    h = contact_hash(contact_id)
    log = _log(store)
    if h not in {str(r.get("hash")) for r in log.read()}:
        log.append({"hash": h, "at": iso_utc(now())})
