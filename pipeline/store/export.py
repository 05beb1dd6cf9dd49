"""The export job: the state of every contact of the tenant's WhatsApp campaigns, from the mluvii
API, published as snapshots through the same store as file ingest.

For each WhatsApp campaign (or the ones asked for):

1. Skip it if it finished before its last complete snapshot: nothing can have changed since.
2. Pull every identity (offset/limit paging; ``pipeline.sources.pull``), without the store's
   lock, so that an ingest can run meanwhile. The snapshot time is when the pull started.
3. Check the pull: offset paging over data that changes can repeat contacts (a contact inserted
   in front of the cursor) or skip them (one removed). Contacts are deduplicated by id and the
   repeats counted; the campaign is then fetched again and its ``identityIds`` compared with the
   pulled ids (the re-count), or, when the API gives no ``identityIds``, the ids are paged a
   second time and compared (``verified_by``). A pull with repeats or a different re-count is
   done once more; if that one is inconsistent too, the snapshot is published with
   ``complete = false`` and its ``reason``: it is kept out of reports, and the export's exit code
   says so. A pull that took longer than ``api.slow_pull_minutes`` is published with
   ``slow_pull``; ``pull_started`` and ``pull_finished`` are recorded for every pull.
4. Normalise with the project's one normaliser (``pipeline.normalize.rows.api_rows``): unknown
   state values become ``other`` with their raw text.
5. Publish it under the store's lock, held only for the publication (one Delta commit per
   campaign, ``source = "api"``), so a failure in one campaign, or a kill, never loses or
   half-publishes another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
from pipeline.sources.api_errors import ApiAuthError, ApiError, ApiMaintenance
from pipeline.sources.mluvii_api import MluviiClient
from pipeline.sources.pull import (
    SOURCE,
    Pull,
    clean_text,
    fingerprint,
    pull_campaign,
    whatsapp_campaigns,
)
from pipeline.store.export_results import CampaignResult, ExportSummary
from pipeline.store.loads import LoadLog
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for
from pipeline.store.suppression import suppressed_hashes
from pipeline.store.writer import stage_new

#: How long a finished pull waits for the store's lock (an ingest may hold it) before the
#: campaign counts as failed for this run.
PUBLISH_WAIT = 600.0


class ExportError(PipelineError):
    """A campaign could not be exported; the others go on."""


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

    def run(self, campaign_ids: list[str] | None = None, *, force: bool = False) -> ExportSummary:
        """Pull each campaign (without the store's lock: an ingest may run meanwhile), then
        publish it under the lock, held only for the publication. ``force``: pull finished
        campaigns again too (a new snapshot; a published one never changes)."""
        started = time.monotonic()
        summary = ExportSummary()
        try:
            self.client.restart_deadline()
            self.client.on_wait = lambda what, why, wait: self.console.info(
                f"  {what}: {why}; trying again in {wait:.1f} s"
            )
            self.client.on_notice = self.console.info
            by_id = {str(c.get("id")): c for c in whatsapp_campaigns(self.client.campaigns())}
            with self.store.writer("export", wait=PUBLISH_WAIT) as writer:
                writer.record_campaigns({cid: campaign_info(c) for cid, c in by_id.items()})
            wanted = list(dict.fromkeys(campaign_ids)) if campaign_ids else list(by_id)
            last_complete = last_complete_times(self.store)
            self.console.info(
                f"Exporting {len(wanted)} WhatsApp campaign(s) from {self.config.api.base_url}"
            )
            broken: ApiError | None = None
            for cid in wanted:
                result = self._attempt(cid, by_id.get(cid), broken, last_complete, force)
                if isinstance(result.error, ApiAuthError | ApiMaintenance):
                    broken = result.error
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
        broken: ApiError | None,
        last_complete: dict[str, datetime],
        force: bool,
    ) -> CampaignResult:
        try:  # the id becomes part of the request's URL and of the store's paths
            safe_name("campaign id", cid)
        except UnsafeName as exc:
            return CampaignResult(cid, "?", "failed", error=ExportError(f"{exc}; not exported"))
        if camp is None:
            why = f"campaign {cid} is not among the tenant's WhatsApp campaigns"
            return CampaignResult(cid, "?", "failed", error=ExportError(why))
        if broken is not None:
            why = (
                "not attempted: the API is down for maintenance"
                if isinstance(broken, ApiMaintenance)
                else "not attempted: the API stopped accepting the credentials"
            )
            return CampaignResult(
                cid, clean_text(camp.get("name")), "failed", error=ExportError(why)
            )
        return self._one(cid, camp, None if force else last_complete)

    def _one(
        self, cid: str, camp: dict[str, Any], last_complete: dict[str, datetime] | None
    ) -> CampaignResult:
        """Pull one campaign (skipped if it finished before its last complete snapshot, unless
        ``last_complete`` is None: a forced re-pull) and publish it."""
        name = clean_text(camp.get("name"))
        result = CampaignResult(cid, name, "failed")
        finished_text = camp.get("finished")
        finished = (
            parse_time_text(str(finished_text), self.config.timezone) if finished_text else None
        )
        last = last_complete.get(cid) if last_complete is not None else None
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
        return pull_campaign(
            self.client,
            cid,
            clock=self.clock,
            progress=self.console.info,
            max_state_length=self.config.ingest.max_state_length,
        )

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
                    "verified_by": pull.verified_by,
                    "complete": pull.complete,
                    "dropped": pull.dropped,
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
        result.complete = pull.complete
        result.verified_by = pull.verified_by
        result.dropped = pull.dropped
        if not pull.complete:
            result.reason = pull.problems()
        finished = pull.finished or pull.snapshot_time
        took = (finished - pull.snapshot_time).total_seconds() / 60
        if took > self.config.api.slow_pull_minutes:
            span = f"{took:.1f} min" if took >= 1 else f"{took * 60:.0f} s"
            result.slow_pull = (
                f"{span} (api.slow_pull_minutes = {self.config.api.slow_pull_minutes:g}); "
                "contacts may have moved on while it was paged"
            )
        return SnapshotMeta(
            snapshot_id=sid,
            campaign_id=cid,
            snapshot_time=iso_utc(pull.snapshot_time),
            source=SOURCE,
            path=self.store.relative_path(cid, pull.snapshot_time, sid, complete=pull.complete),
            rows=rows.height,
            fingerprint=fingerprint(pull.frame),
            complete=pull.complete,
            other_rows=other.height,
            legacy_rows=int(rows.get_column("legacy").sum()),
            duplicate_rows=pull.duplicates,
            quarantined_rows=pull.missing_ids + sum(pull.dropped.values()),
            input=f"api:campaign/{cid}",
            reason=result.reason,
            verified_by=pull.verified_by,
            pull_started=iso_utc(pull.snapshot_time),
            pull_finished=iso_utc(finished),
            slow_pull=bool(result.slow_pull),
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
    force: bool = False,
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
            campaign_ids, force=force
        )
    except ApiError as exc:
        raise ExportError(f"{exc} Nothing was exported.") from None
    finally:
        if own:
            client.close()
