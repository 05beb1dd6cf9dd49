"""Erasure from the user's view: one contact removed from the store, the warehouse and every
rendered report, all or nothing.

``erase_everywhere`` takes every lock it needs before it changes anything (the warehouse's
lock, the store's writer lock and the exclusive right to remove snapshot files, which a build
reading the store holds shared); when one is busy it refuses and nothing was changed. Then it
records the erasure as pending (``.erase-pending`` in the data directory, the contact id in it
until the erasure is done), cleans the store, rebuilds the warehouse from scratch and renders the
reports again, and removes the record. A crash or an error in between leaves the record: the
next ``erase`` or any command that writes (``finish_pending_erasures``) finishes it first.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pipeline.core.faults as faults
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import atomic_write
from pipeline.core.errors import PipelineError
from pipeline.report.archive import write_archive
from pipeline.report.pages import (
    ReportError,
    default_out_dir,
    render_reports,
    rendered_days,
)
from pipeline.report.render import make_environment
from pipeline.store.erase import EraseError, EraseResult, erase_contact
from pipeline.store.snapshots import Store
from pipeline.store.writer import Writer
from pipeline.warehouse.build import build, build_lock
from pipeline.warehouse.db import warehouse_paths

#: the record of an erasure under way (in the data directory)
PENDING = ".erase-pending"


def pending_erasures(config: Config) -> list[str]:
    """The contact ids of erasures that a crash or an error left unfinished."""
    path = Path(config.data_dir) / PENDING
    try:
        return [str(c) for c in json.loads(path.read_text(encoding="utf-8"))]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError):
        return []  # torn before its rename: that erasure had not begun


@contextlib.contextmanager
def _every_lock(config: Config) -> Iterator[Writer]:
    """The warehouse's lock, the store's writer lock and the right to remove its files, taken
    before anything changes (each refuses at once when busy: nothing was changed)."""
    store = Store(config.data_dir)
    target, _ = warehouse_paths(config)
    with build_lock(target.parent), store.writer("erase") as writer, store.removing("erase"):
        yield writer


def erase_everywhere(config: Config, console: Console, contact_id: str) -> list[EraseResult]:
    """Erase one contact (and first any erasure left unfinished) everywhere; see the module."""
    contact_id = contact_id.strip()
    if not contact_id:
        raise EraseError("the contact id is empty")
    return _erase(config, console, [*pending_erasures(config), contact_id])


def finish_pending_erasures(config: Config, console: Console) -> None:
    """Finish the erasures a crash or an error left (called before every command that writes)."""
    ids = pending_erasures(config)
    if ids:
        console.info(f"Finishing {len(ids)} erasure(s) that did not complete")
        _erase(config, console, ids)


def _erase(config: Config, console: Console, ids: list[str]) -> list[EraseResult]:
    ids = list(dict.fromkeys(ids))
    marker = Path(config.data_dir) / PENDING
    with _every_lock(config) as writer:
        faults.point("erase-locked")
        atomic_write(marker, json.dumps(ids))
        results = [erase_contact(config, console, cid, writer=writer) for cid in ids]
        faults.point("erase-store-done")
        try:
            rebuild_derived(config, console, writer.store)
        except (PipelineError, OSError) as exc:
            raise EraseError(
                f"the contact is out of the snapshot store and on the suppression list, but the "
                f"rebuild of the warehouse and reports failed ({exc}); they may still hold it. "
                "The erasure is recorded as unfinished: the next erase or any command that writes "
                "finishes it."
            ) from exc
        marker.unlink()
    console.info("Erasure complete: store, warehouse, analyst copy and reports.")
    return results


def rebuild_derived(config: Config, console: Console, store: Store | None = None) -> None:
    """After an erasure: rebuild the warehouse from scratch (a new file, so that no bytes of the
    contact remain in free pages; the analyst copy is replaced the same way) and render again
    every report day found in the default report folder (its drill-down files list contact ids).
    A day that can no longer be rendered (its data is gone) is deleted."""
    target, _ = warehouse_paths(config)
    if not target.exists():
        return
    build(config, console, full=True, store=store)
    out = default_out_dir(config)
    days = rendered_days(out)
    if not days:
        return
    try:
        kept = render_reports(config, console, start=days[0], end=days[-1]).days
    except ReportError:  # not one of the days has data left
        kept = []
    for gone in sorted(set(days) - set(kept)):
        shutil.rmtree(out / gone.isoformat())
        console.info(f"report {gone} deleted: it can no longer be rendered without the contact")
    write_archive(make_environment(config.timezone), out, config.timezone, rendered_days(out))
