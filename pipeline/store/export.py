"""The export job: the state of every contact of the tenant's WhatsApp campaigns, from the mluvii
API, published as snapshots through the same store as file ingest.

For each WhatsApp campaign (or the ones asked for):

1. Skip it if it finished before its last complete snapshot: nothing can have changed since.
2. Pull every identity (offset/limit paging). The snapshot time is when the pull started.
3. Check the pull: offset paging over data that changes can repeat contacts (a contact inserted
   in front of the cursor) or skip them (one removed). Contacts are deduplicated by id and the
   repeats counted; the campaign is then fetched again and its ``identityIds`` compared with the
   pulled ids (the re-count). A pull with repeats or a different re-count is done once more; if
   that one is inconsistent too, the snapshot is published with ``complete = false``: it is kept
   out of reports, and the report says so.
4. Normalise with the project's one normaliser (``state_exprs``, ``parse_time``): unknown state
   values become ``other`` with their raw text.
5. Publish it (one manifest line per campaign, ``source = "api"``), so a failure in one campaign,
   or a kill, never loses or half-publishes another.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from pipeline.core.catalog import OTHER, state_exprs
from pipeline.core.clock import iso_utc
from pipeline.core.clock import now as wall_now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError
from pipeline.sources.mluvii_api import ApiAuthError, ApiError, MluviiClient
from pipeline.store.ingest import parse_time, parse_time_text
from pipeline.store.retention import drop_suppressed
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for

log = logging.getLogger("campaign_reports.export")

SOURCE = "api"
#: The identity fields as the API sends them (camelCase), read as text and normalised in polars.
IDENTITY_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "state": pl.String,
    "created": pl.String,
    "retryScheduledDate": pl.String,
    "retryCount": pl.String,
}


class ExportError(PipelineError):
    """A campaign could not be exported; the others go on."""


@dataclass
class Pull:
    """One pull of a campaign's identities, deduplicated and checked."""

    snapshot_time: datetime
    frame: pl.DataFrame  # one row per contact id (the last one seen), API fields as text
    rows_received: int
    duplicates: int
    missing_ids: int  # rows without an id (cannot be kept)
    recount: int | None  # len(identityIds) after the pull; None if the API does not give it
    recount_differs: bool

    @property
    def consistent(self) -> bool:
        return self.duplicates == 0 and self.missing_ids == 0 and not self.recount_differs

    def problems(self) -> str:
        parts = []
        if self.duplicates:
            parts.append(f"{self.duplicates:,} contacts came twice")
        if self.missing_ids:
            parts.append(f"{self.missing_ids:,} rows had no id")
        if self.recount_differs:
            parts.append(
                f"the campaign lists {self.recount:,} contacts after the pull, "
                f"{self.frame.height:,} were pulled or the ids differ"
            )
        return "; ".join(parts) or "consistent"


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


# ----------------------------------------------------------------------------------- helpers
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(text: Any, limit: int = 80) -> str:
    """A name from the API, safe to print on a terminal."""
    return _CONTROL.sub("?", str(text if text is not None else ""))[:limit]


def whatsapp_campaigns(campaigns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in campaigns if str(c.get("channel", "")).lower() == "whatsapp"]


def last_complete_times(store: Store) -> dict[str, datetime]:
    """The time of each campaign's last complete snapshot (any source)."""
    out: dict[str, datetime] = {}
    for meta in store.published():
        if meta.complete and (meta.campaign_id not in out or meta.time > out[meta.campaign_id]):
            out[meta.campaign_id] = meta.time
    return out


def identities_frame(items: list[dict[str, Any]]) -> pl.DataFrame:
    """The pulled identities as a frame of text columns (no per-row normalising here).

    Field names are matched without regard to case (the vendor's own clients read them so):
    ``Id``/``RetryCount`` arrive under the schema's camelCase names.
    """
    if not items:
        return pl.DataFrame(schema=IDENTITY_SCHEMA)
    items = [item if isinstance(item, dict) else {} for item in items]  # {}: a row without id
    sent = {key.lower(): key for item in items[:1] for key in item}
    names = {sent.get(name.lower(), name): name for name in IDENTITY_SCHEMA}
    frame = pl.from_dicts(
        items, schema={src: pl.String for src in names}, strict=False, infer_schema_length=None
    )
    return frame.rename({src: dst for src, dst in names.items() if src != dst})


def fingerprint(frame: pl.DataFrame) -> str:
    """sha256 of the sorted content: the same contacts in the same states, the same fingerprint."""
    data = frame.select(list(IDENTITY_SCHEMA)).sort("id").write_csv().encode()
    return hashlib.sha256(data).hexdigest()


def snapshot_rows(
    frame: pl.DataFrame, *, snapshot_id: str, snapshot_time: datetime, config: Config
) -> pl.DataFrame:
    """API fields -> the store's SNAPSHOT_SCHEMA columns, with the project's one normaliser."""
    state, legacy = state_exprs(pl.col("state"), legacy_state=config.legacy_state)
    tz = config.timezone
    return (
        frame.lazy()
        .select(
            pl.lit(snapshot_id).alias("snapshot_id"),
            pl.lit(snapshot_time).cast(pl.Datetime("us", "UTC")).alias("snapshot_time"),
            pl.lit(SOURCE).alias("source"),
            pl.col("id").alias("contact_id"),
            state.alias("state"),
            pl.col("state").alias("raw_state"),
            legacy.alias("legacy"),
            parse_time(pl.col("created"), tz).alias("created"),
            pl.col("retryCount").cast(pl.Int32, strict=False).alias("retry_count"),
            parse_time(pl.col("retryScheduledDate"), tz).alias("retry_scheduled"),
            pl.lit(None, pl.String).alias("phone_hash"),
        )
        .collect()
    )


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
        started = time.monotonic()
        summary = ExportSummary()
        try:
            with self.store.writer("export") as writer:
                self.client.restart_deadline()
                self.client.on_wait = lambda what, why, wait: self.console.info(
                    f"  {what}: {why}; trying again in {wait:.1f} s"
                )
                campaigns = whatsapp_campaigns(self.client.campaigns())
                by_id = {str(c.get("id")): c for c in campaigns}
                writer.record_campaigns(
                    {
                        cid: {
                            "name": _clean(c.get("name"), 200),
                            "channel": c.get("channel"),
                            "started": c.get("started"),
                            "finished": c.get("finished"),
                        }
                        for cid, c in by_id.items()
                    }
                )
                wanted = list(dict.fromkeys(campaign_ids)) if campaign_ids else list(by_id)
                last_complete = last_complete_times(self.store)
                self.console.info(
                    f"Exporting {len(wanted)} WhatsApp campaign(s) from {self.config.api.base_url}"
                )
                auth_broken: ApiAuthError | None = None
                for cid in wanted:
                    camp = by_id.get(cid)
                    if camp is None:
                        result = CampaignResult(
                            cid,
                            "?",
                            "failed",
                            error=ExportError(
                                f"campaign {cid} is not among the tenant's WhatsApp campaigns"
                            ),
                        )
                    elif auth_broken is not None:
                        result = CampaignResult(
                            cid,
                            _clean(camp.get("name")),
                            "failed",
                            error=ExportError(
                                "not attempted: the API stopped accepting the credentials"
                            ),
                        )
                    else:
                        result = self._one(cid, camp, writer, last_complete)
                        if isinstance(result.error, ApiAuthError):
                            auth_broken = result.error
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

    def _one(
        self,
        cid: str,
        camp: dict[str, Any],
        writer: Any,
        last_complete: dict[str, datetime],
    ) -> CampaignResult:
        name = _clean(camp.get("name"))
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
            self._publish(cid, pull, writer, result)
        except PipelineError as exc:
            result.status = "failed"
            result.error = exc
        return result

    def _pull(self, cid: str) -> Pull:
        snapshot_time = self.clock()
        frames = []
        received = 0
        for n, page in enumerate(self.client.identity_pages(cid), start=1):
            frames.append(identities_frame(page))  # a page at a time: no million-dict lists
            received += len(page)
            if n % 50 == 0:
                self.console.info(f"  campaign {cid}: {received:,} contacts so far")
        frame = (pl.concat(frames) if frames else identities_frame([])).with_columns(
            pl.col("id").str.strip_chars()
        )
        has_id = pl.col("id").is_not_null() & (pl.col("id") != "")
        missing = frame.filter(~has_id).height
        frame = frame.filter(has_id)
        unique = frame.unique(subset="id", keep="last", maintain_order=True)
        duplicates = frame.height - unique.height
        ids = self._recount_ids(cid)
        recount: int | None = None
        differs = False
        if isinstance(ids, list):
            listed = pl.Series("id", [str(i).strip() for i in ids], dtype=pl.String).unique()
            recount = listed.len()
            pulled = unique.get_column("id")
            differs = recount != unique.height or not bool(pulled.is_in(listed.implode()).all())
        else:
            log.debug("campaign %s: no identityIds in the campaign model; no re-count", cid)
        return Pull(
            snapshot_time=snapshot_time,
            frame=unique,
            rows_received=received,
            duplicates=duplicates,
            missing_ids=missing,
            recount=recount,
            recount_differs=differs,
        )

    def _recount_ids(self, cid: str) -> Any:
        """The campaign's ``identityIds`` now: from ``GET /Campaigns/{id}``, or, where the API
        does not have that path, from the campaign list."""
        try:
            return self.client.campaign(cid).get("identityIds")
        except ApiError as exc:
            if exc.status not in (404, 405):
                raise
        for camp in self.client.campaigns():
            if str(camp.get("id")) == cid:
                return camp.get("identityIds")
        return None

    def _publish(self, cid: str, pull: Pull, writer: Any, result: CampaignResult) -> None:
        sid = snapshot_id_for(cid, pull.snapshot_time)
        rows = snapshot_rows(
            pull.frame, snapshot_id=sid, snapshot_time=pull.snapshot_time, config=self.config
        )
        # Contacts erased with `erase` never come back (they are dropped and counted).
        rows, suppressed = drop_suppressed(rows, self.store)
        other = rows.filter(pl.col("state") == OTHER)
        result.unknown_states = dict(other.group_by("raw_state").len().iter_rows())
        result.other_rows = other.height
        result.contacts = rows.height
        result.duplicates = pull.duplicates
        result.complete = pull.consistent
        if not pull.consistent:
            result.reason = pull.problems()
        meta = SnapshotMeta(
            snapshot_id=sid,
            campaign_id=cid,
            snapshot_time=iso_utc(pull.snapshot_time),
            source=SOURCE,
            path=self.store.relative_path(cid, pull.snapshot_time, sid),
            rows=rows.height,
            fingerprint=fingerprint(pull.frame),
            complete=pull.consistent,
            other_rows=other.height,
            legacy_rows=int(rows.get_column("legacy").sum()),
            duplicate_rows=pull.duplicates,
            quarantined_rows=pull.missing_ids,
            input=f"api:campaign/{cid}",
        )
        published = self.store.published_ids()
        if not writer.check(meta, published):
            result.status = "already_present"
            result.snapshot = published[sid]
            return
        staged = writer.stage_snapshot(meta, rows)
        commit = writer.commit(
            [staged],
            input_name=f"api:campaign/{cid}",
            extra={
                "export": {
                    "pulls": result.pulls,
                    "rows_received": pull.rows_received,
                    "duplicates": pull.duplicates,
                    "recount": pull.recount,
                    "complete": pull.consistent,
                    "erased_contacts_dropped": suppressed,
                }
            },
        )
        result.status = "published"
        result.snapshot = commit.published[0]


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
