"""The demo tenant: a synthetic, realistic mluvii WhatsApp tenant run through the real ingest.

``run_demo`` writes export files (API-shaped JSON, CSV in several dialects, Parquet) for a handful
of campaigns into ``<data-dir>/demo-exports/`` and ingests them with ``ingest_files``, exactly as a
user's files would be: same lock, same validation, same quarantine, same table.

The campaigns are defined in ``campaigns``, the contacts' lives are drawn in ``contacts``, and the
files are written in ``exports``. The same seed, scale and as-of give byte-identical files, hence
identical snapshots.

The cases analysts meet are all in it: a legacy campaign with Successfully Submitted rows, invalid
records, contacts stuck In progress or Retry scheduled for many hours, a day with a spike of
Sending failed, an API value the catalog does not know (``WA_PENDING_NEW``), a campaign canceled
by its admin, removed contacts, and one file with a few bad rows that go to quarantine.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import atomic_write
from pipeline.core.errors import PipelineError
from pipeline.demo.campaigns import CAMPAIGNS, FORMAT_NAMES, CampaignSpec, snapshot_times
from pipeline.demo.contacts import build_contacts
from pipeline.demo.exports import write_exports
from pipeline.store.ingest import FileReport, IngestOptions, ingest_files
from pipeline.store.snapshots import Store

MARKER = ".demo.json"  # a dot file: the inbox ingest job skips it


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
    for spec in CAMPAIGNS:
        _run_campaign(spec, result, store, config, console, seed=seed, scale=scale, as_of=as_of)
    # The names a real tenant's campaign list would give (the exporter records them the same way).
    with store.writer("demo") as writer:
        writer.record_campaigns(
            {spec.campaign_id: {"name": spec.name, "channel": "WhatsApp"} for spec in CAMPAIGNS}
        )
    result.seconds = time.perf_counter() - started
    console.info(_summary(result))
    return result


def _run_campaign(
    spec: CampaignSpec,
    result: DemoResult,
    store: Store,
    config: Config,
    console: Console,
    *,
    seed: int,
    scale: float,
    as_of: datetime,
) -> None:
    """Draw one campaign's contacts, write its export files, ingest them; add to ``result``."""
    t0 = time.perf_counter()
    day0 = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    start = day0 - timedelta(days=spec.start_days_before) + timedelta(hours=spec.start_hour)
    n = max(50, round(spec.contacts * scale))
    rng = random.Random(f"{seed}:{spec.campaign_id}")
    contacts = build_contacts(spec, n, start, as_of, rng)
    times = snapshot_times(start, as_of, spec.hourly_hours)
    paths, rows = write_exports(spec, contacts, times, start, result.inbox, rng, config.timezone)
    reports = _ingest(spec, paths, store, config, console)
    result.reports.extend(reports)
    result.campaigns.append(
        DemoCampaign(spec.campaign_id, spec.name, n, spec.fmt, len(times), rows, spec.story)
    )
    console.info(
        f"campaign {spec.campaign_id} {spec.name!r}: {n:,} contacts, {len(times)} snapshots "
        f"({FORMAT_NAMES[spec.fmt]}), {rows:,} rows: "
        f"{sum(len(r.published) for r in reports)} published, "
        f"{sum(len(r.already_present) for r in reports)} already in the store, "
        f"{sum(r.rows_quarantined for r in reports):,} rows quarantined "
        f"[{time.perf_counter() - t0:.1f} s]"
    )


def _ingest(
    spec: CampaignSpec, paths: list[Path], store: Store, config: Config, console: Console
) -> list[FileReport]:
    """Ingest one campaign's files; a rejected file is the demo's own bug and stops it."""
    # Ingest messages are summed up per campaign by the caller; warnings are passed on.
    quiet = Console.silent()
    options = IngestOptions(encoding="cp1250" if spec.fmt == "csv-cp1250" else None)
    reports = ingest_files(paths, store=store, config=config, console=quiet, options=options)
    for message in quiet.warnings:
        console.warn(message)
    rejected = [r for r in reports if not r.ok]
    if rejected:
        raise PipelineError(
            f"the demo's own file was rejected: {rejected[0].error}. "
            f"{len(rejected)} of {len(reports)} file(s) of campaign {spec.campaign_id} failed."
        )
    for r in reports:
        if r.rows_quarantined or r.unknown_states:
            console.info("  " + r.summary().replace("\n", "\n  "))
    return reports


def _summary(result: DemoResult) -> str:
    return (
        f"Demo tenant ready in {result.seconds:.1f} s: {len(result.campaigns)} campaigns, "
        f"{sum(c.snapshots for c in result.campaigns)} snapshots "
        f"({result.published} published, {result.already_present} already in the store), "
        f"{result.rows_read:,} rows read = {result.rows_loaded:,} loaded "
        f"+ {result.rows_quarantined:,} quarantined"
        + (f" (in {', '.join(result.quarantine_files)})" if result.quarantine_files else "")
        + f".\nData directory: {result.data_dir.resolve()} (export files in {result.inbox.resolve()})"
    )


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
