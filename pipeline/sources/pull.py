"""The API side of an export: one campaign's identities pulled, deduplicated and checked.

Offset paging over data that changes can repeat contacts (a contact inserted in front of the
cursor) or skip them (one removed). ``pull_campaign`` deduplicates by id and counts the repeats,
then fetches the campaign again and compares its ``identityIds`` with the pulled ids (the
re-count); where the API does not give ``identityIds`` it pages the ids a second time and
compares the two passes instead. Either way the pull says which check it passed. The rows stay text here; ``pipeline.normalize.rows.api_rows`` normalises them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from pipeline.sources.api_errors import ApiError
from pipeline.sources.mluvii_api import MluviiClient

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


@dataclass
class Pull:
    """One pull of a campaign's identities, deduplicated and checked."""

    snapshot_time: datetime  # when the pull started
    frame: pl.DataFrame  # one row per contact id (the last one seen), API fields as text
    rows_received: int
    duplicates: int
    missing_ids: int  # rows without an id (cannot be kept)
    recount: int | None  # len(identityIds) after the pull; None if the API does not give it
    recount_differs: bool
    #: How the pulled ids were checked: ``identity_ids`` (the campaign's list after the pull)
    #: or ``second_pass`` (the API has no list: the ids paged again and compared).
    verified_by: str = "identity_ids"
    finished: datetime | None = None  # when the pull and its check ended

    @property
    def consistent(self) -> bool:
        return self.duplicates == 0 and self.missing_ids == 0 and not self.recount_differs

    def problems(self) -> str:
        parts = []
        if self.duplicates:
            parts.append(f"{self.duplicates:,} contacts came twice")
        if self.missing_ids:
            parts.append(f"{self.missing_ids:,} rows had no id")
        if self.recount_differs and self.verified_by == "second_pass":
            parts.append(
                f"paging the ids again gave {self.recount:,} contacts, not the same as the "
                f"{self.frame.height:,} pulled (contacts added or removed during the pull)"
            )
        elif self.recount_differs:
            parts.append(
                f"the campaign lists {self.recount:,} contacts after the pull, "
                f"{self.frame.height:,} were pulled or the ids differ"
            )
        return "; ".join(parts) or "consistent"


# ----------------------------------------------------------------------------------- helpers
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_text(text: Any, limit: int = 80) -> str:
    """A name from the API, safe to print on a terminal."""
    return _CONTROL.sub("?", str(text if text is not None else ""))[:limit]


def whatsapp_campaigns(campaigns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in campaigns if str(c.get("channel", "")).lower() == "whatsapp"]


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


def pull_campaign(
    client: MluviiClient,
    cid: str,
    *,
    clock: Callable[[], datetime],
    progress: Callable[[str], None],
) -> Pull:
    """Pull every identity of a campaign (offset/limit paging) and check the pull: repeats,
    rows without an id, and the ids against the campaign's ``identityIds`` after the pull (the
    re-count) or, when the API does not give them, against a second pass over the pages."""
    snapshot_time = clock()
    frame, received = _page_all(client, cid, progress)
    has_id = pl.col("id").is_not_null() & (pl.col("id") != "")
    missing = frame.filter(~has_id).height
    frame = frame.filter(has_id)
    unique = frame.unique(subset="id", keep="last", maintain_order=True)
    duplicates = frame.height - unique.height
    ids = recount_ids(client, cid)
    verified_by = "identity_ids"
    if isinstance(ids, list):
        listed = pl.Series("id", [str(i).strip() for i in ids], dtype=pl.String).unique()
    else:
        log.debug("campaign %s: no identityIds in the campaign model; paging the ids again", cid)
        verified_by = "second_pass"
        again, _ = _page_all(client, cid, progress)
        listed = again.filter(has_id).get_column("id")
        duplicates += listed.len() - listed.unique().len()  # a repeat in either pass
        listed = listed.unique()
    recount = listed.len()
    pulled = unique.get_column("id")
    differs = recount != unique.height or not bool(pulled.is_in(listed.implode()).all())
    return Pull(
        snapshot_time=snapshot_time,
        frame=unique,
        rows_received=received,
        duplicates=duplicates,
        missing_ids=missing,
        recount=recount,
        recount_differs=differs,
        verified_by=verified_by,
        finished=clock(),
    )


def _page_all(
    client: MluviiClient, cid: str, progress: Callable[[str], None]
) -> tuple[pl.DataFrame, int]:
    """Every page of a campaign's identities as one frame of text columns, and the row count."""
    frames = []
    received = 0
    for n, page in enumerate(client.identity_pages(cid), start=1):
        frames.append(identities_frame(page))  # a page at a time: no million-dict lists
        received += len(page)
        if n % 50 == 0:
            progress(f"  campaign {cid}: {received:,} contacts so far")
    frame = (pl.concat(frames) if frames else identities_frame([])).with_columns(
        pl.col("id").str.strip_chars()
    )
    return frame, received


def recount_ids(client: MluviiClient, cid: str) -> Any:
    """The campaign's ``identityIds`` now: from ``GET /Campaigns/{id}``, or, where the API
    does not have that path, from the campaign list."""
    try:
        return client.campaign(cid).get("identityIds")
    except ApiError as exc:
        if exc.status not in (404, 405):
            raise
    for camp in client.campaigns():
        if str(camp.get("id")) == cid:
            return camp.get("identityIds")
    return None
