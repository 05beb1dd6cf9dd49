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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
    #: identities not kept, by reason (an id that is not an integer or text, a bad state)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        """The pull itself went right (else it is pulled once more)."""
        return self.duplicates == 0 and self.missing_ids == 0 and not self.recount_differs

    @property
    def complete(self) -> bool:
        """Every contact the API listed is in the snapshot."""
        return self.consistent and not self.dropped

    def problems(self) -> str:
        parts = [
            f"{n:,} {'identity' if n == 1 else 'identities'} with {why}"
            for why, n in self.dropped.items()
        ]
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


#: why an identity from the API is not kept (counted by reason; its content is never shown)
BAD_ID = "an id that is not an integer or text"
BAD_STATE = "a state that is not text"
LONG_STATE = "a state longer than {} characters"


def checked_identities(
    items: list[Any], max_state_length: int, dropped: Counter[str]
) -> list[dict[str, Any]]:
    """The identities whose id is an integer or text (the integer as its digits: a float, NaN,
    bool, object or list among them must not turn the others' ids into floats) and whose state
    is text of at most ``max_state_length`` characters (or missing). The others are counted in
    ``dropped`` by reason. An item that is not an object, or has no id, is kept as a row
    without id (counted by the pull as such).

    A page is normally plain (objects with the same field names, integer or text ids, text
    states): that is checked over whole columns at once and the page is kept as it is
    (``identities_frame`` writes integer ids as their digits); only an odd page is checked
    identity by identity."""
    if _plain_page(items, max_state_length):
        return items
    kept: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            kept.append({})
            continue
        keys = {key.lower(): key for key in item if key.lower() in ("id", "state")}
        ident = item.get(keys.get("id", "id"))
        state = item.get(keys.get("state", "state"))
        if type(ident) is int:  # not bool, a subclass of int
            item = {**item, keys["id"]: str(ident)}
        elif ident is not None and type(ident) is not str:
            dropped[BAD_ID] += 1
            continue
        if state is not None and type(state) is not str:
            dropped[BAD_STATE] += 1
            continue
        if state is not None and len(state) > max_state_length:
            dropped[LONG_STATE.format(max_state_length)] += 1
            continue
        kept.append(item)
    return kept


_ABSENT = object()
_INT64 = (-(2**63), 2**63 - 1)


def _plain_page(items: list[Any], max_state_length: int) -> bool:
    """True when every item is an object with the first one's id and state field names, the
    ids all integers within 64 bits or all text, and every state text of at most
    ``max_state_length`` characters or missing: nothing to drop or rewrite."""
    if not items or not all(type(item) is dict for item in items):
        return False
    names = {key.lower(): key for key in items[0] if key.lower() in ("id", "state")}
    if "id" not in names:
        return False
    ids = [item.get(names["id"], _ABSENT) for item in items]
    id_types = set(map(type, ids))
    if id_types == {int}:
        if min(ids) < _INT64[0] or max(ids) > _INT64[1]:
            return False
    elif id_types != {str}:
        return False  # bool, float, None, an object, a list, a missing or renamed field
    key = names.get("state", "state")
    states = [item.get(key) for item in items]
    if not set(map(type, states)) <= {str, type(None)}:
        return False
    longest = max((len(s) for s in states if s is not None), default=0)
    return longest <= max_state_length


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
    max_state_length: int = 200,
) -> Pull:
    """Pull every identity of a campaign (offset/limit paging) and check the pull: repeats,
    rows without an id, and the ids against the campaign's ``identityIds`` after the pull (the
    re-count) or, when the API does not give them, against a second pass over the pages.
    Identities with an id or state that cannot be kept are dropped and counted by reason."""
    snapshot_time = clock()
    dropped: Counter[str] = Counter()
    frame, received = _page_all(client, cid, progress, max_state_length, dropped)
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
        again, _ = _page_all(client, cid, progress, max_state_length, Counter())
        listed = again.filter(has_id).get_column("id")
        duplicates += listed.len() - listed.unique().len()  # a repeat in either pass
        listed = listed.unique()
    recount = listed.len()
    pulled = unique.get_column("id")
    # the dropped identities were received: the count they make up is not a difference
    kept = unique.height + dropped.total()
    differs = recount != kept or not bool(pulled.is_in(listed.implode()).all())
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
        dropped=dict(dropped),
    )


def _page_all(
    client: MluviiClient,
    cid: str,
    progress: Callable[[str], None],
    max_state_length: int,
    dropped: Counter[str],
) -> tuple[pl.DataFrame, int]:
    """Every page of a campaign's identities as one frame of text columns, and the row count
    (the identities dropped by ``checked_identities`` counted in ``dropped``)."""
    frames = []
    received = 0
    for n, page in enumerate(client.identity_pages(cid), start=1):
        # a page at a time: no million-dict lists
        frames.append(identities_frame(checked_identities(page, max_state_length, dropped)))
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
