"""Compose the daily digest: the day's attention list and totals, as an e-mail and a chat post.

The numbers are the report's: the totals come from ``data.load_day`` (``report_totals`` and the
queries beside it, exactly what the overview and its ``overview.json`` show), the findings from
the warehouse's ``attention(day, tz)`` view as the pages read it (``DayData.attention``), ranked
as it ranks them. Nothing is sent here
(``pipeline.schedule.digest`` sends): this module only reads the analyst copy and renders
``reports/digest_email.html`` and ``reports/digest.txt``.

The e-mail loads nothing from the network: inline styles, no images, and links only when a
``[digest] base_url`` says where the reports are served (off by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.core.catalog import load_catalog
from pipeline.core.config import Config
from pipeline.report.data import load_day
from pipeline.report.model import Attention, Totals
from pipeline.report.pages import TREND_DAYS, ReportError, choose_days, default_out_dir
from pipeline.report.queries import available_days, cache_daily
from pipeline.report.render import fmt_int, fmt_pct, make_environment

#: A link of the view: a path inside the day's report folder (no scheme, no "..", not absolute).
SAFE_LINK = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./%#-]+$")
SEVERITY_COLOURS = {"high": "#b42318", "medium": "#b54708", "low": "#475467"}


class DigestError(ReportError):
    """The digest could not be composed."""


@dataclass(frozen=True)
class AttentionItem:
    """One row of ``attention(day, tz)``; ``href`` only with a configured base URL."""

    rank: int
    severity: str
    campaign_id: str | None
    campaign_name: str | None
    rule: str
    title: str
    detail: str
    value: float | None
    threshold: float | None
    since: date | None
    link: str | None
    href: str | None

    @property
    def campaign(self) -> str:
        if self.campaign_id is None:
            return "All campaigns"
        return self.campaign_name or self.campaign_id

    @property
    def colour(self) -> str:
        return SEVERITY_COLOURS.get(self.severity, SEVERITY_COLOURS["low"])


@dataclass(frozen=True)
class DigestPage:
    """What the digest templates see as ``page``."""

    day: date
    timezone: str
    subject: str
    totals: Totals
    lines: tuple[tuple[str, str], ...]  # the totals as (label, value), see ``totals_lines``
    items: tuple[AttentionItem, ...]
    report_path: str  # the overview on disk
    report_url: str | None  # the overview under base_url, if configured
    version: str


@dataclass(frozen=True)
class Digest:
    day: date
    subject: str
    text: str
    html: str
    page: DigestPage

    @property
    def attention(self) -> int:
        return len(self.page.items)


def subject_for(day: date, needing: int) -> str:
    """'Campaign report 2026-11-27: 3 need attention' (1: 'needs'; 0: 'nothing needs')."""
    if needing == 0:
        return f"Campaign report {day.isoformat()}: nothing needs attention"
    verb = "needs" if needing == 1 else "need"
    return f"Campaign report {day.isoformat()}: {needing} {verb} attention"


def compose_digest(config: Config, day: date | None = None) -> Digest:
    """The digest of ``day`` (default: the latest day with data), from the analyst copy."""
    from pipeline.warehouse.analyst import open_analyst

    con = open_analyst(config)
    try:
        (day,) = choose_days(available_days(con, config.timezone), day, None, None)
        cache_daily(con, config.timezone)
        data = load_day(
            con,
            day=day,
            tz=config.timezone,
            days=TREND_DAYS,
            stuck_minutes=config.stuck_after_minutes,
            catalog=load_catalog(),
        )
    finally:
        con.close()
    base = config.digest.base_url.rstrip("/")
    items = tuple(_item(a, day, base) for a in data.attention)  # the pages' own list
    overview = default_out_dir(config) / day.isoformat() / "index.html"
    page = DigestPage(
        day=day,
        timezone=config.timezone,
        subject=subject_for(day, len(items)),
        totals=data.totals,
        lines=tuple(totals_lines(data.totals)),
        items=items,
        report_path=str(Path(overview)),
        report_url=f"{base}/{day.isoformat()}/index.html" if base else None,
        version=__version__,
    )
    env = make_environment(config.timezone)
    text = env.get_template("digest.txt").render(page=page)
    html = env.get_template("digest_email.html").render(page=page)
    return Digest(day, page.subject, text, html, page)


def _item(a: Attention, day: date, base: str) -> AttentionItem:
    link = a.link if a.link and SAFE_LINK.match(a.link) else None
    return AttentionItem(
        rank=a.rank,
        severity=a.severity,
        campaign_id=a.campaign_id,
        campaign_name=a.campaign_name,
        rule=a.rule,
        title=a.title,
        detail=a.detail or "",
        value=a.value,
        threshold=a.threshold,
        since=a.since,
        link=link,
        href=f"{base}/{day.isoformat()}/{link}" if base and link else None,
    )


def totals_lines(totals: Totals) -> list[tuple[str, str]]:
    """The totals as (label, value) pairs, in the overview's words and formats."""
    f = totals.funnel
    return [
        ("Campaigns", f"{fmt_int(totals.campaigns)} ({fmt_int(totals.stale_campaigns)} stale)"),
        ("Contacts", fmt_int(totals.contacts)),
        *[(s.label, fmt_int(s.count)) for s in f.stages if s.key != "contacts"],
        *[(r.label, fmt_pct(r.value)) for r in f.rates],
        ("Failed", fmt_int(totals.failed)),
        ("Stuck", fmt_int(totals.stuck)),
    ]


def totals_figures(totals: Totals) -> dict[str, Any]:
    """The totals as numbers (rates as fractions, None for n/a), named as in ``overview.json``."""
    f = totals.funnel
    return {
        "campaigns": totals.campaigns,
        "stale_campaigns": totals.stale_campaigns,
        "contacts": totals.contacts,
        **{f"reached_{s.key}": s.count for s in f.stages if s.key != "contacts"},
        **{r.key: r.value for r in f.rates},
        "failed": totals.failed,
        "stuck": totals.stuck,
    }


def webhook_payload(digest: Digest) -> dict[str, Any]:
    """A Slack/Teams-style incoming-webhook body: ``text`` for any client, Slack ``blocks``,
    and the same figures as data (``digest``)."""
    page = digest.page
    items = page.items
    listed = "\n".join(
        f"{i.rank}. [{i.severity}] {i.campaign}: {i.title}" + (f" ({i.detail})" if i.detail else "")
        for i in items
    )
    totals = "\n".join(f"{k}: {v}" for k, v in totals_lines(page.totals))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": page.subject}},
        {"type": "section", "text": {"type": "mrkdwn", "text": totals}},
    ]
    if items:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": listed[:2900]}})
    return {
        "text": page.subject + ("\n" + listed if listed else ""),
        "blocks": blocks,
        "digest": {
            "day": page.day.isoformat(),
            "timezone": page.timezone,
            "totals": totals_figures(page.totals),
            "attention": [
                {
                    "rank": i.rank,
                    "severity": i.severity,
                    "campaign_id": i.campaign_id,
                    "campaign": i.campaign,
                    "rule": i.rule,
                    "title": i.title,
                    "detail": i.detail,
                    "value": i.value,
                    "threshold": i.threshold,
                    "since": i.since.isoformat() if i.since else None,
                    "link": i.link,
                }
                for i in items
            ],
        },
    }
