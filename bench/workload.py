"""The deterministic scale workload (issue 7): campaigns that start on different days, snapshots
hourly in each campaign's first 48 hours and four a day (00, 06, 12, 18 UTC) after that.

Shapes (``WORKLOADS``):

- ``M``: 20 campaigns, 1M contacts in all, over 30 days (about 104M snapshot rows),
- ``L``: ten times M in contacts: 200 campaigns, 10M contacts (about 1.04B rows),
- ``S``: 1/100 of M in contacts (20 campaigns, 10k contacts, about 1M rows), for a quick check.

Campaign ``c`` starts on day ``c * days // campaigns`` (0-based, so they start across the whole
period) and lists all its contacts from its first snapshot on (a few join a day late, a few
vanish after they read). Each contact's path (Initial -> In progress / Retry scheduled -> Sent ->
Delivered -> Read, some failing, a few legacy "Successfully Submitted") is decided by times drawn
once per contact from a counter-based integer hash written in polars arithmetic (``mix32``:
multiply, xor-shift, all below 2**64, so the same on every platform and polars version; polars'
own ``hash()`` is not stable across versions and is not used). Nothing depends on the order in
which days or campaigns are generated: day 30 written alone equals day 30 written after 1..29.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline.core.catalog import state_exprs
from pipeline.core.clock import iso_utc
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for

#: Day 1 of every workload starts here (UTC).
START = datetime(2026, 10, 1, tzinfo=UTC)
UTC_US = pl.Datetime("us", "UTC")
M32 = 1 << 32


@dataclass(frozen=True)
class Workload:
    name: str
    campaigns: int
    contacts: int  # in all campaigns together
    days: int = 30
    seed: int = 7

    # --------------------------------------------------------------------------------- shape
    def campaign_id(self, c: int) -> str:
        return f"{self.name.lower()}{c:03d}"

    def start_day(self, c: int) -> int:
        """0-based day on which campaign ``c`` takes its first snapshot."""
        return c * self.days // self.campaigns

    def contacts_of(self, c: int) -> int:
        base, extra = divmod(self.contacts, self.campaigns)
        return base + (1 if c < extra else 0)

    def hours(self, c: int, day: int) -> list[int]:
        """Snapshot hours (since START) of campaign ``c`` on 0-based ``day``: every hour in the
        campaign's first 48 hours, then at 00, 06, 12 and 18 UTC."""
        first = self.start_day(c) * 24
        return [
            h
            for h in range(day * 24, day * 24 + 24)
            if h >= first and (h - first < 48 or h % 6 == 0)
        ]

    def snapshots(self, day: int | None = None) -> int:
        days = range(self.days) if day is None else [day]
        return sum(len(self.hours(c, d)) for c in range(self.campaigns) for d in days)

    def nominal_rows(self, day: int | None = None) -> int:
        """Contacts x snapshots (the few late joiners and leavers make the real count a little
        lower; ``write_days`` returns the exact count)."""
        days = range(self.days) if day is None else [day]
        return sum(
            self.contacts_of(c) * len(self.hours(c, d)) for c in range(self.campaigns) for d in days
        )

    def day_start(self, day: int) -> datetime:
        return START + timedelta(days=day)

    # ------------------------------------------------------------------------------ contacts
    def people(self, c: int) -> pl.DataFrame:
        """One row per contact of campaign ``c``: its id and the hours (relative to the
        campaign's first snapshot) at which its state changes."""
        n = pl.int_range(0, self.contacts_of(c), eager=True, dtype=pl.UInt64)
        frame = pl.DataFrame({"n": n})
        h = lambda salt: mix32(pl.col("n"), self.seed * 1_000_003 + c * 1_009 + salt)  # noqa: E731
        return frame.select(
            pl.format("{}-{}", pl.lit(self.campaign_id(c)), pl.col("n")).alias("contact_id"),
            (h(1) % 36).cast(pl.Int64).alias("t_send"),  # sending spread over 36 h
            (h(2) % 100).cast(pl.Int64).alias("outcome"),
            (h(3) % 3 + 1).cast(pl.Int64).alias("d_progress"),
            (h(4) % 12 + 1).cast(pl.Int64).alias("d_delivered"),
            (h(5) % 240 + 1).cast(pl.Int64).alias("d_read"),  # reads keep coming for 10 days
        )

    def frames(self, c: int, day: int, people: pl.DataFrame | None = None) -> Iterator[tuple]:
        """(snapshot time, frame of contact_id and raw_state) of campaign ``c`` on ``day``."""
        hours = self.hours(c, day)
        if not hours:
            return
        people = self.people(c) if people is None else people
        first = self.start_day(c) * 24
        slots = pl.DataFrame({"hour": pl.Series(hours, dtype=pl.Int64)})
        frame = (
            people.join(slots, how="cross")
            .with_columns((pl.col("hour") - first).alias("r"))
            .filter(present())
            .select("hour", "contact_id", raw_state().alias("raw_state"))
        )
        for (hour,), part in frame.partition_by("hour", as_dict=True, maintain_order=True).items():
            yield START + timedelta(hours=int(hour)), part.drop("hour")  # type: ignore[arg-type]


def mix32(n: pl.Expr, salt: int) -> pl.Expr:
    """A counter-based 32-bit integer hash of ``n`` (a UInt64 counter) and ``salt``: the
    "lowbias32" finaliser (xor-shift, multiply) on ``n * golden + salt`` modulo 2**32. Every
    product stays below 2**64, so it never depends on overflow behaviour."""
    x = (n * 0x9E3779B1 + (salt % M32)) % M32
    x = x.xor(x // (1 << 16))
    x = (x * 0x7FEB352D) % M32
    x = x.xor(x // (1 << 15))
    x = (x * 0x846CA68B) % M32
    return x.xor(x // (1 << 16))


def present() -> pl.Expr:
    """Is the contact listed at relative hour ``r``? Outcome 94 joins a day late, outcome 95
    vanishes from the list once it has read."""
    read_at = pl.col("t_send") + pl.col("d_progress") + pl.col("d_delivered") + pl.col("d_read")
    o = pl.col("outcome")
    return ~(((o == 94) & (pl.col("r") < 24)) | ((o == 95) & (pl.col("r") >= read_at)))


def raw_state() -> pl.Expr:
    """The API value of each contact at relative hour ``r``."""
    r = pl.col("r")
    sent_at = pl.col("t_send") + pl.col("d_progress")
    delivered_at = sent_at + pl.col("d_delivered")
    read_at = delivered_at + pl.col("d_read")
    o = pl.col("outcome")
    return (
        pl.when(r < pl.col("t_send"))
        .then(pl.lit("INITIAL"))
        .when(r < sent_at)
        .then(pl.when(o % 7 == 0).then(pl.lit("RETRY_SCHEDULED")).otherwise(pl.lit("CALLING")))
        .when(o < 5)
        .then(pl.lit("WA_SEND_FAILED"))
        .when(o < 7)
        .then(pl.lit("FAILING"))
        .when(r < delivered_at)
        .then(pl.when(o == 50).then(pl.lit("SUCCESS")).otherwise(pl.lit("WA_SENT")))
        .when(o < 11)
        .then(pl.lit("WA_DELIVERY_FAILED"))
        .when(o < 30)
        .then(pl.when(o == 29).then(pl.lit("WA_SOMETHING_NEW")).otherwise(pl.lit("WA_SENT")))
        .when((r < read_at) | (o < 50))
        .then(pl.lit("WA_DELIVERED"))
        .otherwise(pl.lit("WA_READ"))
    )


WORKLOADS = {
    "S": Workload("S", 20, 10_000),
    "M": Workload("M", 20, 1_000_000),
    "L": Workload("L", 200, 10_000_000),
}


# ---------------------------------------------------------------------------------- writing
def snapshot_frame(sid: str, t: datetime, part: pl.DataFrame) -> pl.DataFrame:
    """A snapshot's rows in the store's SNAPSHOT_SCHEMA (what ingest would have written)."""
    state, legacy = state_exprs(pl.col("raw_state"))
    return part.select(
        pl.lit(sid).alias("snapshot_id"),
        pl.lit(t).cast(UTC_US).alias("snapshot_time"),
        pl.lit("bench").alias("source"),
        "contact_id",
        state.alias("state"),
        "raw_state",
        legacy.alias("legacy"),
        pl.lit(None, UTC_US).alias("created"),
        pl.lit(None, pl.Int32).alias("retry_count"),
        pl.lit(None, UTC_US).alias("retry_scheduled"),
        pl.lit(None, pl.String).alias("phone_hash"),
    )


def write_days(wl: Workload, data_dir: Path, days: range) -> int:
    """Publish the snapshots of ``days`` (0-based) straight into the store through its writer
    (one commit per campaign and day); returns the rows written."""
    store = Store(data_dir)
    rows = 0
    with store.writer("scale-bench") as writer:
        for c in range(wl.campaigns):
            if not any(wl.hours(c, d) for d in days):
                continue
            people = wl.people(c)
            cid = wl.campaign_id(c)
            for day in days:
                staged = []
                for t, part in wl.frames(c, day, people):
                    sid = snapshot_id_for(cid, t)
                    out = snapshot_frame(sid, t, part)
                    meta = SnapshotMeta(
                        snapshot_id=sid,
                        campaign_id=cid,
                        snapshot_time=iso_utc(t),
                        source="bench",
                        path=store.relative_path(cid, t, sid),
                        rows=out.height,
                        fingerprint=hashlib.sha256(sid.encode()).hexdigest(),
                        input=f"scale-{cid}-day{day + 1}",
                    )
                    staged.append(writer.stage_snapshot(meta, out))
                    rows += out.height
                if staged:
                    writer.commit(staged, input_name=f"scale-{cid}-day{day + 1}")
    return rows


def export_day(wl: Workload, day: int, folder: Path, fmt: str) -> tuple[list[Path], int]:
    """Write the snapshots of one day as export files (``contact_id,state``, named
    ``campaign-<id>_<time>Z.<fmt>``), the form the ingest step reads; returns (files, rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    files, rows = [], 0
    for c in range(wl.campaigns):
        for t, part in wl.frames(c, day):
            path = folder / f"campaign-{wl.campaign_id(c)}_{t:%Y%m%dT%H%M%S}Z.{fmt}"
            out = part.select("contact_id", pl.col("raw_state").alias("state"))
            if fmt == "csv":
                out.write_csv(path)
            else:
                out.write_parquet(path)
            files.append(path)
            rows += out.height
    return files, rows
