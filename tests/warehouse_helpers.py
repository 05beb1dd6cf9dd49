"""Shared helpers for the warehouse tests: tiny snapshot histories put into a real store.

Snapshots go in through ``ingest_files`` (a CSV per snapshot, named like a real export), or, for
what ingest never produces (an empty or an incomplete snapshot), through the store's writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.core.catalog import state_exprs
from pipeline.core.clock import iso_utc
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.store.ingest import ingest_files
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for
from pipeline.warehouse.build import build
from pipeline.warehouse.db import ANALYST_FILE, WAREHOUSE_DIR, connect

Rows = Sequence[tuple[str, str]]  # (contact_id, raw state text)


def utc(text: str) -> datetime:
    """'2026-11-28 06:00' (UTC) or with an offset -> aware UTC datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def make_config(data_dir: Path, **kw: Any) -> Config:
    return replace(Config(data_dir=data_dir), **kw)


def ingest_snapshot(config: Config, campaign_id: str, when: str | datetime, rows: Rows) -> None:
    """One snapshot through the real ingest path (a CSV export named campaign-<id>_<time>.csv)."""
    t = when if isinstance(when, datetime) else utc(when)
    inbox = Path(config.data_dir).parent / f"{Path(config.data_dir).name}-inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"campaign-{campaign_id}_{t.astimezone(UTC):%Y%m%dT%H%M%S}Z.csv"
    lines = ["contact_id,state", *(f"{c},{s}" for c, s in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reports = ingest_files(
        [path], store=Store(config.data_dir), config=config, console=Console.silent()
    )
    assert all(r.ok for r in reports), [r.summary() for r in reports]


def write_snapshot(
    config: Config,
    campaign_id: str,
    when: str | datetime,
    rows: Rows,
    *,
    complete: bool = True,
    duplicate_rows: int = 0,
) -> SnapshotMeta:
    """One snapshot through the store's writer (for empty or incomplete snapshots)."""
    t = when if isinstance(when, datetime) else utc(when)
    store = Store(config.data_dir)
    sid = snapshot_id_for(campaign_id, t)
    state, legacy = state_exprs(pl.col("raw_state"), legacy_state=config.legacy_state)
    frame = pl.DataFrame(
        {"contact_id": [c for c, _ in rows], "raw_state": [s for _, s in rows]},
        schema={"contact_id": pl.String, "raw_state": pl.String},
    ).select(
        pl.lit(sid).alias("snapshot_id"),
        pl.lit(t).cast(pl.Datetime("us", "UTC")).alias("snapshot_time"),
        pl.lit("test").alias("source"),
        "contact_id",
        state.alias("state"),
        "raw_state",
        legacy.alias("legacy"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("created"),
        pl.lit(None, pl.Int32).alias("retry_count"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("retry_scheduled"),
        pl.lit(None, pl.String).alias("phone_hash"),
    )
    meta = SnapshotMeta(
        snapshot_id=sid,
        campaign_id=campaign_id,
        snapshot_time=iso_utc(t),
        source="test",
        path=store.relative_path(campaign_id, t, sid),
        rows=frame.height,
        fingerprint=hashlib.sha256(repr((campaign_id, t, list(rows))).encode()).hexdigest(),
        complete=complete,
        other_rows=frame.filter(pl.col("state") == "other").height,
        legacy_rows=int(frame.get_column("legacy").sum()),
        duplicate_rows=duplicate_rows,
        input=f"test-{sid}",
    )
    with store.writer("test") as writer:
        staged = writer.stage_snapshot(meta, frame)
        writer.commit([staged], input_name=meta.input)
    return meta


def build_quiet(config: Config, *, full: bool = False) -> None:
    build(config, Console.silent(), full=full)


def analyst(config: Config) -> duckdb.DuckDBPyConnection:
    return connect(Path(config.data_dir) / WAREHOUSE_DIR / ANALYST_FILE, read_only=True)


def query(config: Config, sql: str, params: Iterable[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a query on the freshly published analyst copy."""
    con = analyst(config)
    try:
        return con.execute(sql, list(params) if params is not None else None).fetchall()
    finally:
        con.close()


def query_dicts(config: Config, sql: str) -> list[dict[str, Any]]:
    con = analyst(config)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


# ------------------------------------------------------------------------------- the tiny tenant
# Campaign A: 8 contacts over four snapshots around the end of summer time in Europe/Prague
# (Sunday 2026-10-25, 03:00 CEST -> 02:00 CET: that local day is 25 hours long).
#   S1 2026-10-24 20:00Z = Oct 24 22:00 CEST   local day Oct 24
#   S2 2026-10-24 22:30Z = Oct 25 00:30 CEST   local day Oct 25 (UTC day Oct 24)
#   S3 2026-10-25 22:30Z = Oct 25 23:30 CET    local day Oct 25 (its last snapshot)
#   S4 2026-10-25 23:30Z = Oct 26 00:30 CET    local day Oct 26 (UTC day Oct 25)
# Campaign B: one empty snapshot (2026-10-25 10:00Z). Campaign C: two contacts that never reach
# Sent (zero denominators), no snapshot on Oct 25 (stale) but an incomplete one that must be
# ignored (it would show c1 as Read).
S1, S2, S3, S4 = (
    "2026-10-24T20:00:00+00:00",
    "2026-10-24T22:30:00+00:00",
    "2026-10-25T22:30:00+00:00",
    "2026-10-25T23:30:00+00:00",
)
B1 = "2026-10-25T10:00:00+00:00"
C1 = "2026-10-24T20:00:00+00:00"
C_INCOMPLETE = "2026-10-25T12:00:00+00:00"

#: contact -> raw state in S1..S4 (None: not listed)
TINY_A: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    # skips Delivered: Sent -> Read
    "a1": ("Initial", "WA_SENT", "WA_READ", "WA_READ"),
    # Delivery failed counts as sent
    "a2": ("WA_SENT", "WA_DELIVERY_FAILED", "WA_DELIVERY_FAILED", "WA_DELIVERY_FAILED"),
    # legacy Successfully Submitted (mapped to sent), then Delivered, then Read
    "a3": ("Successfully Submitted", "WA_DELIVERED", "WA_DELIVERED", "WA_READ"),
    # unknown value (other), then Sending failed
    "a4": ("FOO", "FOO", "WA_SEND_FAILED", "WA_SEND_FAILED"),
    # In progress for a long time, then Retry scheduled
    "a5": ("CALLING", "CALLING", "CALLING", "RETRY_SCHEDULED"),
    # Read, then back to Delivered (goes backwards), then vanishes
    "a6": ("WA_READ", "WA_DELIVERED", None, None),
    # appears late, Removed
    "a7": (None, None, "REMOVED", "REMOVED"),
    # Initial for two snapshots, then Sent
    "a8": ("Initial", "Initial", "WA_SENT", "WA_SENT"),
}


def tiny_rows(i: int) -> list[tuple[str, str]]:
    return [(c, states[i]) for c, states in TINY_A.items() if states[i] is not None]


def build_tiny_tenant(data_dir: Path, *, builds: bool = True) -> Config:
    """The tiny tenant, built incrementally in three steps (as a nightly job would)."""
    config = make_config(data_dir, timezone="Europe/Prague", stuck_after_minutes=60)
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    ingest_snapshot(config, "C", C1, [("c1", "Initial"), ("c2", "INVALID_RECORD")])
    if builds:
        build_quiet(config)
    ingest_snapshot(config, "A", S2, tiny_rows(1))
    # S3 repeats a2's row: ingest quarantines the repeat and records one duplicate row
    ingest_snapshot(config, "A", S3, [*tiny_rows(2), ("a2", "WA_DELIVERY_FAILED")])
    write_snapshot(config, "B", B1, [])
    write_snapshot(
        config, "C", C_INCOMPLETE, [("c1", "WA_READ"), ("c2", "Initial")], complete=False
    )
    if builds:
        build_quiet(config)
    ingest_snapshot(config, "A", S4, tiny_rows(3))
    build_quiet(config)
    return config
