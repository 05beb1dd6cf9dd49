"""The demo tenant: a synthetic, realistic mluvii WhatsApp tenant run through the real ingest.

``run_demo`` writes export files (API-shaped JSON, CSV in several dialects, Parquet) for a handful
of campaigns into ``<data-dir>/demo-exports/`` and ingests them with ``ingest_files``, exactly as a
user's files would be: same lock, same validation, same quarantine, same manifest.

Each contact's life is drawn once (seeded ``random.Random``, no hashing of values), as the times
at which it reaches each state: Initial -> In progress -> (Retry scheduled -> In progress)* ->
Sent / Sending failed / Error, then Delivered / Delivery failed, then Read. A snapshot is the state
of every contact at one moment, computed vectorised by comparing those times with the snapshot
time. The same seed, scale and as-of give byte-identical files, hence identical snapshots.

The cases analysts meet are all in it: a legacy campaign with Successfully Submitted rows, invalid
records, contacts stuck In progress or Retry scheduled for many hours, a day with a spike of
Sending failed, an API value the catalog does not know (``WA_PENDING_NEW``), a campaign canceled
by its admin, removed contacts, and one file with a few bad rows that go to quarantine.
"""

from __future__ import annotations

import codecs
import io
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import atomic_write
from pipeline.core.errors import PipelineError
from pipeline.store.ingest import FileReport, IngestOptions, ingest_files
from pipeline.store.snapshots import Store

HOUR = 3600
DAY = 86400
UNKNOWN_API_VALUE = "WA_PENDING_NEW"
MARKER = ".demo.json"  # a dot file: the inbox ingest job skips it
SETTLED_HOURS = (5, 13, 21)  # UTC hours of the exports once a campaign has settled


@dataclass(frozen=True)
class CampaignSpec:
    """One demo campaign. Times are relative to the as-of day (UTC midnight)."""

    campaign_id: str
    name: str
    contacts: int  # at scale 1.0
    start_days_before: int  # the campaign starts this many days before the as-of day ...
    start_hour: int  # ... at this UTC hour
    fmt: str  # json | csv-labels | csv-api | csv-cp1250 | parquet
    send_rate: int = 20_000  # contacts sent per hour at scale 1 (WhatsApp tier limits)
    send_delay_s: int = 600  # from upload to the first message
    sending_failed: float = 0.03
    error: float = 0.01
    daily_batches: bool = False  # an open-ended campaign: new contacts every morning
    legacy_share: float = 0.0  # share of sent contacts the export shows as Successfully Submitted
    cancel_after_h: float | None = None  # the admin cancels the campaign this long after start
    removed_share: float = 0.0  # contacts the admin removes before they are sent
    unknown_window_h: tuple[float, float] | None = None  # hours after start with WA_PENDING_NEW
    bad_rows_in_snapshot: int | None = None  # index of the snapshot file that gets bad rows
    hourly_hours: int = 12  # exported hourly at first, then at 05, 13 and 21 UTC
    story: str = ""


CAMPAIGNS: tuple[CampaignSpec, ...] = (
    CampaignSpec(
        "1101",
        "Loyalty points reminder",
        6_000,
        17,
        8,
        "csv-labels",
        send_rate=12_000,
        legacy_share=0.4,
        story="old campaign: its exports show Successfully Submitted (legacy) for 40% of sends; "
        "UTF-8 CSV with a BOM, semicolons, UI labels, local times",
    ),
    CampaignSpec(
        "1104",
        "Service survey (ongoing)",
        12_000,
        15,
        7,
        "json",
        daily_batches=True,
        send_delay_s=900,
        unknown_window_h=(24 * 9 + 2, 24 * 10 + 2),
        story="open-ended: new contacts every morning; API JSON; for a day the API sends "
        f"{UNKNOWN_API_VALUE}, a value the catalog does not know",
    ),
    CampaignSpec(
        "1105",
        "Winter promo",
        15_000,
        12,
        9,
        "csv-api",
        send_rate=1_500,
        cancel_after_h=5.5,
        bad_rows_in_snapshot=10,
        story="canceled by its admin 5.5 h after start: the rest goes to Canceled by admin; "
        "UTF-8 CSV with API values; one file has a few bad rows (quarantined)",
    ),
    CampaignSpec(
        "1107",
        "Card renewal",
        4_000,
        10,
        10,
        "json",
        send_delay_s=2 * HOUR,
        removed_share=0.01,
        story="scheduled 2 h after upload; the admin removes about 1% of contacts before sending",
    ),
    CampaignSpec(
        "1103",
        "Reactivation",
        40_000,
        7,
        8,
        "parquet",
        send_rate=30_000,
        sending_failed=0.35,
        story="a bought list: 35% of numbers have no WhatsApp, a spike of Sending failed that day",
    ),
    CampaignSpec(
        "1106",
        "VIP evening invitation",
        1_000,
        6,
        15,
        "csv-cp1250",
        story="small; a Czech Excel export: cp1250, semicolons, Czech headers and times",
    ),
    CampaignSpec(
        "1102",
        "Black Friday preview",
        200_000,
        1,
        6,
        "parquet",
        send_rate=60_000,
        story="the big one: 200k contacts over 3-4 hours, exported hourly",
    ),
)

FORMAT_NAMES = {
    "json": "API JSON",
    "csv-labels": "CSV (UTF-8 BOM, ';', UI labels)",
    "csv-api": "CSV (UTF-8, API values)",
    "csv-cp1250": "CSV (cp1250, Czech)",
    "parquet": "Parquet",
}
EXTENSIONS = {"json": "json", "parquet": "parquet"}


@dataclass
class DemoCampaign:
    campaign_id: str
    name: str
    contacts: int
    fmt: str
    snapshots: int
    rows: int
    story: str


@dataclass
class DemoResult:
    """What the demo built and what the ingest made of it."""

    data_dir: Path
    inbox: Path
    campaigns: list[DemoCampaign] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def published(self) -> int:
        return sum(len(r.published) for r in self.reports)

    @property
    def already_present(self) -> int:
        return sum(len(r.already_present) for r in self.reports)

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.reports)

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.reports)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.reports)

    @property
    def quarantine_files(self) -> list[str]:
        return [r.quarantine_file for r in self.reports if r.quarantine_file]


# ---------------------------------------------------------------------------------- the tenant
def run_demo(
    config: Config, console: Console, *, seed: int, scale: float, as_of: datetime
) -> DemoResult:
    """Write the demo tenant's export files and ingest them into ``config.data_dir``.

    Running it again on the same data directory (same seed, scale, as-of) adds nothing.
    """
    if scale <= 0:
        raise PipelineError(f"the demo's scale must be positive, not {scale}")
    started = time.perf_counter()
    as_of = as_of.astimezone(UTC)
    data_dir = Path(config.data_dir)
    # Not under inbox/: the scheduler's ingest job reads that folder with the tenant's settings,
    # and the demo's cp1250 file needs its own.
    inbox = data_dir / "demo-exports"
    _check_marker(data_dir, inbox, seed=seed, scale=scale, as_of=as_of)
    inbox.mkdir(parents=True, exist_ok=True)
    _write_marker(inbox, seed=seed, scale=scale, as_of=as_of)
    result = DemoResult(data_dir=data_dir, inbox=inbox)
    store = Store(data_dir)
    console.info(
        f"Demo tenant: seed {seed}, scale {scale:g}, history up to {as_of:%Y-%m-%d %H:%M} UTC, "
        f"{len(CAMPAIGNS)} campaigns; export files go to {inbox}"
    )
    day0 = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    for spec in CAMPAIGNS:
        t0 = time.perf_counter()
        start = day0 - timedelta(days=spec.start_days_before) + timedelta(hours=spec.start_hour)
        n = max(50, round(spec.contacts * scale))
        rng = random.Random(f"{seed}:{spec.campaign_id}")
        contacts = build_contacts(spec, n, start, as_of, rng)
        times = snapshot_times(start, as_of, spec.hourly_hours)
        paths, rows = write_exports(spec, contacts, times, start, inbox, rng, config.timezone)
        # Ingest messages are summed up per campaign below; warnings are passed on.
        quiet = Console.silent()
        options = IngestOptions(encoding="cp1250" if spec.fmt == "csv-cp1250" else None)
        reports = ingest_files(paths, store=store, config=config, console=quiet, options=options)
        for message in quiet.warnings:
            console.warn(message)
        result.reports.extend(reports)
        result.campaigns.append(
            DemoCampaign(spec.campaign_id, spec.name, n, spec.fmt, len(times), rows, spec.story)
        )
        rejected = [r for r in reports if not r.ok]
        if rejected:
            raise PipelineError(
                f"the demo's own file was rejected: {rejected[0].error}. "
                f"{len(rejected)} of {len(reports)} file(s) of campaign {spec.campaign_id} failed."
            )
        for r in reports:
            if r.rows_quarantined or r.unknown_states:
                console.info("  " + r.summary().replace("\n", "\n  "))
        console.info(
            f"campaign {spec.campaign_id} {spec.name!r}: {n:,} contacts, {len(times)} snapshots "
            f"({FORMAT_NAMES[spec.fmt]}), {rows:,} rows: "
            f"{sum(len(r.published) for r in reports)} published, "
            f"{sum(len(r.already_present) for r in reports)} already in the store, "
            f"{sum(r.rows_quarantined for r in reports):,} rows quarantined "
            f"[{time.perf_counter() - t0:.1f} s]"
        )
    # The names a real tenant's campaign list would give (the exporter records them the same way).
    with store.writer("demo") as writer:
        writer.record_campaigns(
            {spec.campaign_id: {"name": spec.name, "channel": "WhatsApp"} for spec in CAMPAIGNS}
        )
    result.seconds = time.perf_counter() - started
    console.info(
        f"Demo tenant ready in {result.seconds:.1f} s: {len(result.campaigns)} campaigns, "
        f"{sum(c.snapshots for c in result.campaigns)} snapshots "
        f"({result.published} published, {result.already_present} already in the store), "
        f"{result.rows_read:,} rows read = {result.rows_loaded:,} loaded "
        f"+ {result.rows_quarantined:,} quarantined"
        + (f" (in {', '.join(result.quarantine_files)})" if result.quarantine_files else "")
        + f".\nData directory: {data_dir.resolve()} (export files in {inbox.resolve()})"
    )
    return result


def _marker_text(*, seed: int, scale: float, as_of: datetime) -> str:
    return json.dumps({"seed": seed, "scale": scale, "as_of": as_of.isoformat()}) + "\n"


def _check_marker(data_dir: Path, inbox: Path, *, seed: int, scale: float, as_of: datetime) -> None:
    marker = inbox / MARKER
    if not marker.exists():
        return
    old = marker.read_text(encoding="utf-8")
    if old != _marker_text(seed=seed, scale=scale, as_of=as_of) and Store(data_dir).published():
        raise PipelineError(
            f"{data_dir} already holds a demo tenant built with other settings ({old.strip()}); "
            "published snapshots never change. Nothing was written; use a new --data-dir."
        )


def _write_marker(inbox: Path, *, seed: int, scale: float, as_of: datetime) -> None:
    atomic_write(inbox / MARKER, _marker_text(seed=seed, scale=scale, as_of=as_of).encode())


def snapshot_times(start: datetime, as_of: datetime, hourly_hours: int) -> list[datetime]:
    """Hourly for the first hours after the start, then at 05, 13 and 21 UTC, up to as_of."""
    first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    times = [first + timedelta(hours=h) for h in range(hourly_hours)]
    t = times[-1] + timedelta(hours=1)
    while t <= as_of:
        if t.hour in SETTLED_HOURS:
            times.append(t)
        t += timedelta(hours=1)
    return [t for t in times if t <= as_of]


# -------------------------------------------------------------------------- contacts' lifetimes
def _uniform(rng: random.Random, n: int) -> pl.Series:
    return pl.Series([rng.random() for _ in range(n)], dtype=pl.Float64)


def _flags(rng: random.Random, n: int, k: int, pool: list[int] | None = None) -> pl.Series:
    """Exactly k contacts (of ``pool``, default all) flagged: special cases appear at any scale."""
    chosen = set(rng.sample(pool if pool is not None else range(n), min(k, n)))
    return pl.Series([i in chosen for i in range(n)], dtype=pl.Boolean)


def build_contacts(
    spec: CampaignSpec, n: int, start: datetime, as_of: datetime, rng: random.Random
) -> pl.DataFrame:
    """One row per contact: its id and the time (epoch seconds, null = never) of each state."""
    t0 = int(start.timestamp())
    u = {
        name: _uniform(rng, n)
        for name in (
            "created",
            "jitter",
            "dur",
            "retry",
            "retry2",
            "delay1",
            "delay2",
            "outcome",
            "deliv",
            "deliv_delay",
            "read",
            "read_delay",
            "direct",
            "legacy",
            "unknown",
            "removal",
        )
    }
    idx = list(range(n))
    invalid = _flags(rng, n, max(1, round(n * 0.004)))
    removed = _flags(rng, n, max(2, round(n * spec.removed_share)) if spec.removed_share else 0)
    stuck_ip = _flags(rng, n, max(2, round(n * 0.002)))
    stuck_retry = _flags(rng, n, max(2, round(n * 0.003)))
    days = max(1, (int(as_of.timestamp()) - t0) // DAY + 1)

    frame = pl.DataFrame(
        {
            "i": pl.Series(idx, dtype=pl.Int64),
            **{f"u_{k}": v for k, v in u.items()},
            "invalid": invalid,
            "removed": removed,
            "stuck_ip": stuck_ip & ~invalid & ~removed,
            "stuck_retry": stuck_retry & ~stuck_ip & ~invalid & ~removed,
        }
    )
    i = pl.col("i")
    if spec.daily_batches:
        batch = i % days
        created = t0 + batch * DAY + pl.col("u_created") * 1200
        send_at = created + spec.send_delay_s + pl.col("u_jitter") * 1800
    else:
        created = t0 + i * 300.0 / n + pl.col("u_created") * 2  # the upload takes ~5 minutes
        # Sending takes as long at any scale (the timeline is the same, only sizes change).
        sending_s = spec.contacts / spec.send_rate * HOUR
        send_at = t0 + spec.send_delay_s + i * sending_s / n + pl.col("u_jitter") * 5
    dur = (
        pl.when(pl.col("stuck_ip"))
        .then(5 * HOUR + pl.col("u_dur") * 25 * HOUR)
        .otherwise(2 + pl.col("u_dur") * 40)
    )
    quick = 2 + pl.col("u_dur") * 40
    retried = pl.col("stuck_retry") | (pl.col("u_retry") < 0.05)
    delay1 = (
        pl.when(pl.col("stuck_retry"))
        .then(6 * HOUR + pl.col("u_delay1") * 24 * HOUR)
        .otherwise(300 + pl.col("u_delay1") * 1500)
    )
    twice = retried & (pl.col("u_retry2") < 0.3)

    frame = frame.with_columns(
        created.alias("t_created"),
        send_at.alias("t_ip1"),
    )
    # Removed contacts leave before their first message; they are never sent.
    frame = frame.with_columns(
        pl.when(pl.col("removed"))
        .then(pl.col("t_created") + 600 + pl.col("u_removal") * 3000)
        .alias("t_removed"),
        pl.when(pl.col("removed") | pl.col("invalid"))
        .then(None)
        .otherwise(pl.col("t_ip1"))
        .alias("t_ip1"),
    )
    frame = frame.with_columns(
        pl.when(retried).then(pl.col("t_ip1") + dur).alias("t_retry1"),
    )
    frame = frame.with_columns(
        (pl.col("t_retry1") + delay1).alias("t_ip2"),
    )
    frame = frame.with_columns(
        pl.when(twice).then(pl.col("t_ip2") + quick).alias("t_retry2"),
    )
    frame = frame.with_columns(
        (pl.col("t_retry2") + 900 + pl.col("u_delay2") * 2700).alias("t_ip3"),
    )
    frame = frame.with_columns(
        pl.coalesce(pl.col("t_ip3") + quick, pl.col("t_ip2") + quick, pl.col("t_ip1") + dur).alias(
            "t_end"
        ),
        pl.when(twice).then(2).when(retried).then(1).otherwise(0).alias("retries"),
    )
    # Outcome of the last attempt; if sent, delivery and reading.
    out = pl.col("u_outcome")
    sf, err = spec.sending_failed, spec.error
    sent = pl.col("t_end").is_not_null() & (out >= sf + err)
    dd = pl.col("u_deliv_delay")
    deliv_delay = (
        pl.when(dd < 0.85)
        .then(1 + dd / 0.85 * 120)
        .otherwise(HOUR + (dd - 0.85) / 0.15 * 30 * HOUR)
    )
    rd = pl.col("u_read_delay")
    read_delay = (
        pl.when(rd < 0.45)
        .then(30 + rd / 0.45 * 1800)
        .when(rd < 0.85)
        .then(1800 + (rd - 0.45) / 0.40 * 8 * HOUR)
        .otherwise(8 * HOUR + (rd - 0.85) / 0.15 * 64 * HOUR)
    )
    delivered = sent & (pl.col("u_deliv") >= 0.14)
    frame = frame.with_columns(
        pl.when(out < sf).then(pl.col("t_end")).alias("t_sfail"),
        pl.when((out >= sf) & (out < sf + err)).then(pl.col("t_end")).alias("t_err"),
        pl.when(sent).then(pl.col("t_end")).alias("t_sent"),
        pl.when(sent & (pl.col("u_deliv") < 0.02))
        .then(pl.col("t_end") + 60 + dd * 6 * HOUR)
        .alias("t_dfail"),
        pl.when(delivered).then(pl.col("t_end") + deliv_delay).alias("t_deliv_any"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("u_read") < 0.70).then(pl.col("t_deliv_any") + read_delay).alias("t_read"),
    ).with_columns(
        # a read receipt may come without a delivered one (6% of readers)
        pl.when(pl.col("t_read").is_not_null() & (pl.col("u_direct") < 0.06))
        .then(None)
        .otherwise(pl.col("t_deliv_any"))
        .alias("t_deliv"),
    )
    if spec.cancel_after_h is not None:
        t_cancel = t0 + spec.cancel_after_h * HOUR
        open_at_cancel = (
            ~pl.col("invalid")
            & (pl.col("t_removed").is_null() | (pl.col("t_removed") > t_cancel))
            & (pl.col("t_end").is_null() | (pl.col("t_end") > t_cancel))
        )
        frame = frame.with_columns(pl.when(open_at_cancel).then(t_cancel).alias("t_cancel"))
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("t_cancel"))

    times = [c for c in frame.columns if c.startswith("t_") and c != "t_deliv_any"]
    return frame.select(
        (48_000_000 + int(spec.campaign_id) * 2_000_000 + i * 7 + 3).alias("contact_id"),
        "invalid",
        "retries",
        (pl.col("u_legacy") < spec.legacy_share).alias("legacy"),
        (pl.col("u_unknown") < 0.3).alias("unknown"),
        *[pl.col(c).cast(pl.Int64) for c in times],
    )


def states_at(t: int, *, legacy: bool, unknown: bool) -> list[pl.Expr]:
    """(state, retry_count, retry_at) of every contact at epoch second ``t``, as API values."""
    at = lambda c: pl.col(c) <= t  # noqa: E731  (null -> never)
    state = (
        pl.when(pl.col("invalid"))
        .then(pl.lit("INVALID_RECORD"))
        .when(at("t_removed"))
        .then(pl.lit("REMOVED"))
        .when(at("t_cancel"))
        .then(pl.lit("CANCELLED_BY_ADMIN"))
        .when(at("t_read"))
        .then(pl.lit("WA_READ"))
        .when(at("t_dfail"))
        .then(pl.lit("WA_DELIVERY_FAILED"))
        .when(at("t_deliv"))
        .then(pl.lit("WA_DELIVERED"))
        .when(at("t_sent"))
        .then(pl.lit("WA_SENT"))
        .when(at("t_sfail"))
        .then(pl.lit("WA_SEND_FAILED"))
        .when(at("t_err"))
        .then(pl.lit("FAILING"))
        .when(at("t_ip3"))
        .then(pl.lit("CALL_IN_PROGRESS"))
        .when(at("t_retry2"))
        .then(pl.lit("RETRY_SCHEDULED"))
        .when(at("t_ip2"))
        .then(pl.lit("CALL_IN_PROGRESS"))
        .when(at("t_retry1"))
        .then(pl.lit("RETRY_SCHEDULED"))
        .when(at("t_ip1"))
        .then(pl.lit("CALLING"))
        .otherwise(pl.lit("INITIAL"))
    )
    if legacy:
        state = (
            pl.when(
                pl.col("legacy")
                & state.is_in(["WA_SENT", "WA_DELIVERED", "WA_READ", "WA_DELIVERY_FAILED"])
            )
            .then(pl.lit("SUCCESS"))
            .otherwise(state)
        )
    if unknown:
        state = (
            pl.when(pl.col("unknown") & state.is_in(["WA_SENT", "WA_DELIVERED"]))
            .then(pl.lit(UNKNOWN_API_VALUE))
            .otherwise(state)
        )
    retry_count = (
        pl.when(at("t_retry2"))
        .then(2)
        .when(at("t_retry1"))
        .then(1)
        .otherwise(0)
        .cast(pl.Int32)
        .alias("retry_count")
    )
    retry_at = (
        pl.when(state != "RETRY_SCHEDULED")
        .then(None)
        .when(at("t_retry2"))
        .then(pl.col("t_ip3"))
        .otherwise(pl.col("t_ip2"))
        .alias("retry_at")
    )
    return [state.alias("state"), retry_count, retry_at]


# ------------------------------------------------------------------------------ export formats
def _labels() -> dict[str, str]:
    cat = load_catalog()
    out = {v: s.label for s in cat.states for v in s.api_values}
    out.update(dict.fromkeys(cat.legacy_api_values, cat.legacy_label))
    return out


def _epoch(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").dt.replace_time_zone("UTC")


def _local_text(col: str, fmt: str, tz: str) -> pl.Expr:
    return _epoch(col).dt.convert_time_zone(tz).dt.strftime(fmt)


def write_exports(
    spec: CampaignSpec,
    contacts: pl.DataFrame,
    times: list[datetime],
    start: datetime,
    inbox: Path,
    rng: random.Random,
    tz: str,
) -> tuple[list[Path], int]:
    """Write one export file per snapshot time; returns the paths and the total rows."""
    fmt = spec.fmt
    # Time texts that do not change between snapshots are formatted once.
    if fmt == "json":
        tf = "%Y-%m-%dT%H:%M:%S%:z"  # the API's offsets: local time with +01:00
    elif fmt == "csv-labels":
        tf = "%Y-%m-%d %H:%M:%S"  # local time without an offset
    elif fmt == "csv-cp1250":
        tf = "%-d.%-m.%Y %-H:%M:%S"  # Czech Excel
    else:
        tf = ""
    if tf:
        contacts = contacts.with_columns(
            _local_text("t_created", tf, tz).alias("created_text"),
            _local_text("t_ip2", tf, tz).alias("ip2_text"),
            _local_text("t_ip3", tf, tz).alias("ip3_text"),
        )
    elif fmt == "csv-api":
        utc = "%Y-%m-%dT%H:%M:%SZ"
        contacts = contacts.with_columns(
            _epoch("t_created").dt.strftime(utc).alias("created_text"),
            _epoch("t_ip2").dt.strftime(utc).alias("ip2_text"),
            _epoch("t_ip3").dt.strftime(utc).alias("ip3_text"),
        )
    labels = _labels()
    t_start = start.timestamp()
    paths: list[Path] = []
    rows = 0
    for k, when in enumerate(times):
        t = int(when.timestamp())
        hours = (t - t_start) / HOUR
        window = spec.unknown_window_h
        unknown = window is not None and window[0] <= hours < window[1]
        snap = contacts.filter(pl.col("t_created") <= t).with_columns(
            states_at(t, legacy=spec.legacy_share > 0, unknown=unknown)
        )
        retry_text = (
            pl.when(pl.col("retry_at").is_null())
            .then(None)
            .when(pl.col("retry_at") == pl.col("t_ip3"))
            .then(pl.col("ip3_text"))
            .otherwise(pl.col("ip2_text"))
        )
        name = f"campaign-{spec.campaign_id}_{when:%Y%m%dT%H%M%S}Z.{EXTENSIONS.get(fmt, 'csv')}"
        path = inbox / name
        if fmt == "json":
            out = snap.select(
                pl.col("contact_id").alias("id"),
                "state",
                pl.col("created_text").alias("created"),
                retry_text.alias("retryScheduledDate"),
                pl.col("retry_count").alias("retryCount"),
            )
            data = out.write_json().encode()
        elif fmt == "parquet":
            out = snap.select(
                "contact_id",
                "state",
                _epoch("t_created").alias("created"),
                "retry_count",
                _epoch("retry_at").alias("retry_scheduled"),
            )
            buffer = io.BytesIO()
            out.write_parquet(buffer, compression="zstd")
            data = buffer.getvalue()
        elif fmt == "csv-api":
            out = snap.select(
                pl.col("contact_id").cast(pl.String),
                "state",
                pl.col("created_text").alias("created_at"),
                "retry_count",
                retry_text.alias("next_retry"),
            )
            if k == spec.bad_rows_in_snapshot:
                out = _with_bad_rows(out, rng)
            data = out.write_csv().encode()
        elif fmt == "csv-labels":
            out = snap.select(
                pl.col("contact_id").alias("Contact ID"),
                pl.col("state").replace_strict(labels, default=pl.col("state")).alias("State"),
                pl.col("created_text").alias("Created"),
                pl.col("retry_count").alias("Retry count"),
                retry_text.alias("Retry scheduled"),
            )
            data = codecs.BOM_UTF8 + out.write_csv(separator=";").encode()
        else:  # csv-cp1250
            out = snap.select(
                pl.col("contact_id").alias("ID kontaktu"),
                pl.col("state").replace_strict(labels, default=pl.col("state")).alias("Stav"),
                pl.col("created_text").alias("Vytvoreno"),
                pl.col("retry_count").alias("Pocet opakovani"),
                pl.lit("Věrnostní program \u2013 zlatá karta").alias("Poznámka"),
            )
            data = out.write_csv(separator=";").encode("cp1250")
        atomic_write(path, data)
        rows += out.height
        paths.append(path)
    return paths, rows


def _with_bad_rows(out: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """A few rows without a contact id (0.4% of the file) and one exact repeat of a row."""
    k = max(1, out.height // 250)
    picks = sorted(rng.sample(range(out.height), k + 1))
    missing = out[picks[:k]].with_columns(pl.lit("").alias("contact_id"))
    repeat = out[picks[k:]]
    return pl.concat([out, missing, repeat])
