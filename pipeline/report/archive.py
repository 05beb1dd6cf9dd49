"""The archive: ``index.html`` (every rendered day, newest first, with its main figures) and a
page per campaign (``campaign-<id>.html``) listing the days it appears on.

Both are made from the ``overview.json`` beside each rendered day, so that they cover every day
in the folder, also those rendered by earlier runs; a day whose JSON cannot be read is listed
with its link and no figures.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment

from pipeline import __version__
from pipeline.core.durable import atomic_write_many
from pipeline.core.names import is_safe_name
from pipeline.report.model import ArchiveCampaign, ArchiveCampaignDay, ArchiveDay, ArchivePage
from pipeline.report.render import render


def write_archive(env: Environment, out: Path, tz: str, days: list[date]) -> None:
    """Write the archive index and the campaigns' own indexes for the rendered ``days``."""
    rows: list[ArchiveDay] = []
    per_campaign: dict[str, list[ArchiveCampaignDay]] = {}
    names: dict[str, str] = {}
    for d in sorted(days, reverse=True):
        summary = _summary(out / d.isoformat() / "overview.json")
        rows.append(_day_row(d, summary.get("totals", {})))
        for c in summary.get("campaigns", []):
            cid = str(c.get("campaign_id", ""))
            if not is_safe_name(cid):
                continue
            names.setdefault(cid, c.get("name") or cid)
            per_campaign.setdefault(cid, []).append(_campaign_row(d, c))
    campaigns = tuple(
        ArchiveCampaign(cid, names[cid], f"campaign-{cid}.html", tuple(per_campaign[cid]))
        for cid in sorted(per_campaign, key=lambda k: names[k].casefold())
    )
    page = ArchivePage(timezone=tz, version=__version__, days=tuple(rows), campaigns=campaigns)
    texts: dict[Path, str | bytes] = {
        out / c.href: render(env, "campaign_days.html", (page, c)) for c in campaigns
    }
    texts[out / "index.html"] = render(env, "archive.html", page)
    atomic_write_many(texts)


def _summary(path: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text("utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def _rate(funnel: dict[str, Any], key: str) -> float | None:
    for r in funnel.get("rates", []):
        if r.get("key") == key:
            value = r.get("value")
            return float(value) if value is not None else None
    return None


def _stage(funnel: dict[str, Any], key: str) -> int | None:
    for s in funnel.get("stages", []):
        if s.get("key") == key:
            return int(s.get("count", 0))
    return None


def _day_row(d: date, totals: dict[str, Any]) -> ArchiveDay:
    funnel = totals.get("funnel", {})
    return ArchiveDay(
        day=d,
        href=f"{d.isoformat()}/index.html",
        campaigns=int(totals.get("campaigns", 0)),
        stale_campaigns=int(totals.get("stale_campaigns", 0)),
        contacts=int(totals.get("contacts", 0)),
        findings=int(totals.get("findings", 0)),
        reached_sent=_stage(funnel, "sent"),
        read_of_sent=_rate(funnel, "read_of_sent"),
        attention=int(totals.get("attention", 0)),
    )


def _campaign_row(d: date, c: dict[str, Any]) -> ArchiveCampaignDay:
    funnel = c.get("funnel", {})
    cid = str(c["campaign_id"])
    return ArchiveCampaignDay(
        day=d,
        href=f"{d.isoformat()}/campaign-{cid}.html",
        lifecycle=str(c.get("lifecycle", "unknown")),
        fresh=bool(c.get("fresh", False)),
        contacts=int(c.get("contacts", 0)),
        reached_sent=_stage(funnel, "sent"),
        read_of_sent=_rate(funnel, "read_of_sent"),
        attention=int(c.get("attention_count", 0)),
    )
