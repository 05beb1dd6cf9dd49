"""The export job: the state of every contact of the tenant's WhatsApp campaigns, from the mluvii
API, published as snapshots through the same store as file ingest.

For each WhatsApp campaign (or the ones asked for):

1. Skip it if it finished before its last complete snapshot: nothing can have changed since.
2. Pull every identity (offset/limit paging; ``pipeline.sources.pull``), without the store's
   lock, so that an ingest can run meanwhile. The snapshot time is when the pull started.
3. Check the pull: offset paging over data that changes can repeat contacts (a contact inserted
   in front of the cursor) or skip them (one removed). Contacts are deduplicated by id and the
   repeats counted; the campaign is then fetched again and its ``identityIds`` compared with the
   pulled ids (the re-count). A pull with repeats or a different re-count is done once more; if
   that one is inconsistent too, the snapshot is published with ``complete = false``: it is kept
   out of reports, and the report says so.
4. Normalise with the project's one normaliser (``pipeline.normalize.rows.api_rows``): unknown
   state values become ``other`` with their raw text.
5. Publish it under the store's lock, held only for the publication (one Delta commit per
   campaign, ``source = "api"``), so a failure in one campaign, or a kill, never loses or
   half-publishes another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from pipeline.core.catalog import OTHER
from pipeline.core.clock import iso_utc
from pipeline.core.clock import now as wall_now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError
from pipeline.core.names import UnsafeName, safe_name
from pipeline.normalize.rows import api_rows
from pipeline.normalize.suppression import drop_suppressed
from pipeline.normalize.times import parse_time_text
from pipeline.sources.api_errors import ApiAuthError, ApiError
from pipeline.sources.mluvii_api import MluviiClient
from pipeline.sources.pull import (
    SOURCE,
    Pull,
    clean_text,
    fingerprint,
    pull_campaign,
    whatsapp_campaigns,
)
from pipeline.store.loads import LoadLog
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for
from pipeline.store.suppression import suppressed_hashes
from pipeline.store.writer import stage_new

#: How long a finished pull waits for the store's lock (an ingest may hold it) before the
#: campaign counts as failed for this run.
PUBLISH_WAIT = 600.0


class ExportError(PipelineError):
    """A campaign could not be exported; the others go on."""


@dataclass
class CampaignResult:
    campaign_id: str
    name: str
    status: str  # published | already_present | skipped | failed
    contacts: int = 0
    pulls: int = 0
    duplicates: int = 0
    complete: bool = True
    other_rows: int = 0
    unknown_states: dict[str, int] = field(default_factory=dict)
    snapshot: SnapshotMeta | None = None
    reason: str = ""
    error: PipelineError | None = None

    def load_record(self) -> dict[str, Any]:
        """This campaign's line in the load log (``pipeline.store.loads``)."""
        return {
            "source": SOURCE,
            "input": f"api:campaign/{self.campaign_id}",
            "status": {"published": "ok", "already_present": "ok"}.get(self.status, self.status),
            "outcome": self.status,
            "rows_loaded": self.contacts,
            "duplicates": self.duplicates,
            "complete": self.complete,
            "other_rows": self.other_rows,
            "published": [self.snapshot.snapshot_id]
            if self.snapshot is not None and self.status == "published"
            else [],
            "error": str(self.error) if self.error else (self.reason or None),
        }

    def line(self) -> str:
        head = f"campaign {self.campaign_id} ({self.name})"
        if self.status == "failed":
            return f"{head}: FAILED. {self.error or self.reason}"
        if self.status == "skipped":
            return f"{head}: skipped, {self.reason}"
        text = f"{head}: {self.contacts:,} contacts"
        if self.snapshot is not None:
            text += f", snapshot {self.snapshot.snapshot_id} at {self.snapshot.snapshot_time[:19]}Z"
        if self.status == "already_present":
            text += " (already in the store)"
        if self.pulls > 1:
            text += f", {self.pulls} pulls"
        if not self.complete:
            text += (
                f". INCOMPLETE: {self.reason}. Published but kept out of reports; the next "
                "export will try again"
            )
        if self.unknown_states:
            text += ". States the catalog does not know, kept as 'other': " + ", ".join(
                f"{k!r} ({v:,})" for k, v in sorted(self.unknown_states.items())
            )
        return text


@dataclass
class ExportSummary:
    results: list[CampaignResult] = field(default_factory=list)
    requests: int = 0
    token_requests: int = 0
    retries: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def contacts(self) -> int:
        return sum(r.contacts for r in self.results if r.status in ("published", "already_present"))

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def text(self) -> str:
        incomplete = sum(1 for r in self.results if r.status == "published" and not r.complete)
        published = self.count("published")
        return (
            f"Export: {len(self.results)} campaign(s), {self.contacts:,} contacts, "
            f"{published} snapshot(s) published"
            + (f" ({incomplete} incomplete)" if incomplete else "")
            + (
                f", {self.count('already_present')} already present"
                if self.count("already_present")
                else ""
            )
            + f", {self.count('skipped')} skipped, {self.count('failed')} failed; "
            f"{self.requests:,} requests ({self.retries} retried) in {self.seconds:.1f} s"
        )


def last_complete_times(store: Store) -> dict[str, datetime]:
    """The time of each campaign's last complete snapshot (any source)."""
    out: dict[str, datetime] = {}
    for meta in store.published():
        if meta.complete and (meta.campaign_id not in out or meta.time > out[meta.campaign_id]):
            out[meta.campaign_id] = meta.time
    return out


# ------------------------------------------------------------------------------------ the job
class Exporter:
    def __init__(
        self,
        client: MluviiClient,
        store: Store,
        config: Config,
        console: Console,
        *,
        clock: Callable[[], datetime] = wall_now,
    ) -> None:
        self.client = client
        self.store = store
        self.config = config
        self.console = console
        self.clock = clock

    def run(self, campaign_ids: list[str] | None = None) -> ExportSummary:
        """Pull each campaign (without the store's lock: an ingest may run meanwhile), then
        publish it under the lock, held only for the publication."""
        started = time.monotonic()
        summary = ExportSummary()
        try:
            self.client.restart_deadline()
            self.client.on_wait = lambda what, why, wait: self.console.info(
                f"  {what}: {why}; trying again in {wait:.1f} s"
            )
            by_id = {str(c.get("id")): c for c in whatsapp_campaigns(self.client.campaigns())}
            with self.store.writer("export", wait=PUBLISH_WAIT) as writer:
                writer.record_campaigns({cid: campaign_info(c) for cid, c in by_id.items()})
            wanted = list(dict.fromkeys(campaign_ids)) if campaign_ids else list(by_id)
            last_complete = last_complete_times(self.store)
            self.console.info(
                f"Exporting {len(wanted)} WhatsApp campaign(s) from {self.config.api.base_url}"
            )
            auth_broken: ApiAuthError | None = None
            for cid in wanted:
                result = self._attempt(cid, by_id.get(cid), auth_broken, last_complete)
                if isinstance(result.error, ApiAuthError):
                    auth_broken = result.error
                if result.status not in ("published", "already_present"):
                    with self.store.writer("export", wait=PUBLISH_WAIT):
                        LoadLog(self.store.root).append(result.load_record())
                self.console.info(result.line())
                summary.results.append(result)
        finally:
            stats = self.client.stats
            summary.requests = stats.requests
            summary.token_requests = stats.token_requests
            summary.retries = stats.retries
            summary.seconds = time.monotonic() - started
        self.console.info(summary.text())
        return summary

    def _attempt(
        self,
        cid: str,
        camp: dict[str, Any] | None,
        auth_broken: ApiAuthError | None,
        last_complete: dict[str, datetime],
    ) -> CampaignResult:
        try:  # the id becomes part of the request's URL and of the store's paths
            safe_name("campaign id", cid)
        except UnsafeName as exc:
            return CampaignResult(cid, "?", "failed", error=ExportError(f"{exc}; not exported"))
        if camp is None:
            why = f"campaign {cid} is not among the tenant's WhatsApp campaigns"
            return CampaignResult(cid, "?", "failed", error=ExportError(why))
        if auth_broken is not None:
            why = "not attempted: the API stopped accepting the credentials"
            return CampaignResult(
                cid, clean_text(camp.get("name")), "failed", error=ExportError(why)
            )
        return self._one(cid, camp, last_complete)

    def _one(
        self, cid: str, camp: dict[str, Any], last_complete: dict[str, datetime]
    ) -> CampaignResult:
        name = clean_text(camp.get("name"))
        result = CampaignResult(cid, name, "failed")
        finished_text = camp.get("finished")
        finished = (
            parse_time_text(str(finished_text), self.config.timezone) if finished_text else None
        )
        last = last_complete.get(cid)
        if finished is not None and last is not None and finished < last:
            result.status = "skipped"
            result.reason = (
                f"it finished at {iso_utc(finished)[:19]}Z, before its last complete snapshot "
                f"at {iso_utc(last)[:19]}Z"
            )
            return result
        try:
            pull = self._pull(cid)
            result.pulls = 1
            if not pull.consistent:
                self.console.info(
                    f"campaign {cid} ({name}): the pull looks inconsistent ({pull.problems()}); "
                    "pulling it once more"
                )
                pull = self._pull(cid)
                result.pulls = 2
            self._publish(cid, pull, result)
        except PipelineError as exc:
            result.status = "failed"
            result.error = exc
        return result

    def _pull(self, cid: str) -> Pull:
        return pull_campaign(self.client, cid, clock=self.clock, progress=self.console.info)

    def _publish(self, cid: str, pull: Pull, result: CampaignResult) -> None:
        sid = snapshot_id_for(cid, pull.snapshot_time)
        rows = api_rows(
            pull.frame,
            snapshot_id=sid,
            snapshot_time=pull.snapshot_time,
            source=SOURCE,
            config=self.config,
        )
        with self.store.writer("export", wait=PUBLISH_WAIT) as writer:
            # Contacts erased with `erase` never come back (they are dropped and counted).
            rows, suppressed = drop_suppressed(rows, suppressed_hashes(self.store))
            meta = self._meta(cid, sid, pull, rows, result)
            published = self.store.published_ids()
            staged = stage_new(writer, meta, rows, published)
            if staged is None:
                result.status = "already_present"
                result.snapshot = published[sid]
                LoadLog(self.store.root).append(result.load_record())
                return
            extra = {
                "export": {
                    "pulls": result.pulls,
                    "rows_received": pull.rows_received,
                    "duplicates": pull.duplicates,
                    "recount": pull.recount,
                    "complete": pull.consistent,
                    "erased_contacts_dropped": suppressed,
                }
            }
            commit = writer.commit([staged], input_name=meta.input, extra=extra)
            result.status = "published"
            result.snapshot = commit.published[0]
            LoadLog(self.store.root).append(result.load_record())

    def _meta(
        self, cid: str, sid: str, pull: Pull, rows: pl.DataFrame, result: CampaignResult
    ) -> SnapshotMeta:
        other = rows.filter(pl.col("state") == OTHER)
        result.unknown_states = dict(other.group_by("raw_state").len().iter_rows())
        result.other_rows = other.height
        result.contacts = rows.height
        result.duplicates = pull.duplicates
        result.complete = pull.consistent
        if not pull.consistent:
            result.reason = pull.problems()
        return SnapshotMeta(
            snapshot_id=sid,
            campaign_id=cid,
            snapshot_time=iso_utc(pull.snapshot_time),
            source=SOURCE,
            path=self.store.relative_path(cid, pull.snapshot_time, sid, complete=pull.consistent),
            rows=rows.height,
            fingerprint=fingerprint(pull.frame),
            complete=pull.consistent,
            other_rows=other.height,
            legacy_rows=int(rows.get_column("legacy").sum()),
            duplicate_rows=pull.duplicates,
            quarantined_rows=pull.missing_ids,
            input=f"api:campaign/{cid}",
        )


def campaign_info(camp: dict[str, Any]) -> dict[str, Any]:
    """What the store keeps of a campaign from the API's list (``campaigns.json``)."""
    return {
        "name": clean_text(camp.get("name"), 200),
        "channel": camp.get("channel"),
        "started": camp.get("started"),
        "finished": camp.get("finished"),
    }


def run_export(
    config: Config,
    console: Console,
    *,
    store: Store | None = None,
    client: MluviiClient | None = None,
    campaign_ids: list[str] | None = None,
    clock: Callable[[], datetime] = wall_now,
) -> ExportSummary:
    """Export every WhatsApp campaign (or ``campaign_ids``) into the store at ``config.data_dir``."""
    own = client is None
    if client is None:
        api = config.api
        secret = api.client_secret()
        if secret is None:
            raise ApiAuthError(
                "no API client secret: set CAMPAIGN_REPORTS_API_CLIENT_SECRET in the environment "
                "(it is never read from the config file). Nothing was exported."
            )
        client = MluviiClient(api, client_id=api.client_id, client_secret=secret)
    try:
        return Exporter(client, store or Store(config.data_dir), config, console, clock=clock).run(
            campaign_ids
        )
    except ApiError as exc:
        raise ExportError(f"{exc} Nothing was exported.") from None
    finally:
        if own:
            client.close()
