"""Write one report day's folder: the campaign pages, the CSV and JSON files beside them, and
the overview (see ``pages`` for the layout).

Every file is written aside and renamed into place, so a reader never sees half a page.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment

from pipeline.core.durable import atomic_write, atomic_write_many
from pipeline.core.names import inside, safe_name
from pipeline.report.attention import of_campaign
from pipeline.report.data import FAILURE_MEANING, DayData
from pipeline.report.model import (
    FORMULAS,
    CampaignDay,
    CampaignPage,
    DataFile,
    Finding,
    OverviewPage,
    PageMeta,
)
from pipeline.report.render import csv_text, frame_csv_text, json_text, plain, render


@dataclass
class DayFiles:
    """The files of one day's folder: path -> text, in the order they were made, and which of
    them are pages and which data."""

    folder: Path
    texts: dict[Path, str] = field(default_factory=dict)
    pages: list[Path] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)

    def put(self, name: str, text: str, *, page: bool = False) -> None:
        path = self.folder / name
        self.texts[path] = text
        (self.pages if page else self.data_files).append(path)


def write_day(
    env: Environment, folder: Path, meta: PageMeta, data: DayData, legacy_label: str
) -> DayFiles:
    """Render one day into ``folder``: each campaign's page and files, then the overview's.

    Returns what was written (``pages`` and ``data_files`` in the order they were made).
    """
    files = DayFiles(folder)
    for c in data.campaigns:  # ids become file names: the one gate (a store of an old version)
        safe_name("campaign id", c.campaign_id)
    # The drill-down files are made by polars, outside the interpreter lock: in a thread, a
    # campaign ahead of the pages, which Jinja renders meanwhile.
    with ThreadPoolExecutor(1, thread_name_prefix="report-csv") as pool:
        lists = [
            pool.submit(_contact_csvs, data.contacts.get(c.campaign_id)) for c in data.campaigns
        ]
        campaigns = [
            _put_campaign(files, env, meta, c, data, legacy_label, later.result())
            for c, later in zip(data.campaigns, lists, strict=True)
        ]
    _put_overview(files, env, meta, data, campaigns)
    _publish(files)
    return files


def _put_campaign(
    files: DayFiles,
    env: Environment,
    meta: PageMeta,
    c: CampaignDay,
    data: DayData,
    legacy_label: str,
    lists: dict[str, tuple[str, int]],
) -> CampaignDay:
    """A campaign's CSV files (``lists``: its drill-down files, ``_contact_csvs``), its JSON and
    its page; returns the campaign with the links to its files (the overview lists it so)."""
    links, csvs = _campaign_files(c, data, lists)
    c = replace(c, files=tuple(links))
    for name, text in csvs.items():
        files.put(name, text)
    files.put(
        f"campaign-{c.campaign_id}.json",
        json_text(
            {"day": meta.day, "timezone": meta.timezone, "formulas": FORMULAS, "campaign": c}
        ),
    )
    page = CampaignPage(
        meta,
        c,
        legacy_label,
        attention=of_campaign(data.attention, c.campaign_id),
        by_age=data.by_age,
    )
    files.put(c.page, render(env, "campaign.html", page), page=True)
    return c


def _put_overview(
    files: DayFiles,
    env: Environment,
    meta: PageMeta,
    data: DayData,
    campaigns: list[CampaignDay],
) -> None:
    """The overview's CSV, JSON and page."""
    tenant_findings = _tenant_findings(data)
    overview_files = (
        DataFile("overview.csv", "Metrics of every campaign (CSV)", len(campaigns)),
        DataFile("overview.json", "All metrics of this page (JSON)", None),
    )
    page = OverviewPage(
        meta,
        data.totals,
        tuple(c for c in campaigns if c.in_totals),
        tuple(c for c in campaigns if not c.in_totals),
        tenant_findings,
        overview_files,
        freshness=tuple(data.freshness),
        export_problems=tuple(data.export_problems),
        runs_recorded=data.runs_recorded,
        attention=tuple(data.attention),
        by_age=data.by_age,
    )
    files.put("overview.csv", _overview_csv(data))
    files.put(
        "overview.json",
        json_text(
            {
                "day": meta.day,
                "timezone": meta.timezone,
                "formulas": FORMULAS,
                "totals": data.totals,
                "campaigns": [_summary(c) for c in campaigns],
                "findings": tenant_findings,
            }
        ),
    )
    files.put("index.html", render(env, "overview.html", page), page=True)


def _tenant_findings(data: DayData) -> tuple[Finding, ...]:
    """Findings about the whole tenant: campaigns left off the report as too long stale."""
    if not data.other_stale:
        return ()
    return (
        Finding(
            "info",
            "stale",
            f"{data.other_stale:,} more campaign(s) have had no snapshot for longer than "
            "the report's window; they are not listed.",
            data.other_stale,
        ),
    )


def _publish(files: DayFiles) -> None:
    """Put the day's files in place, the overview last, and remove the folder's other files."""
    folder, written = files.folder, files.texts
    # The overview goes last: it links only to files already in place.
    overview_path = folder / "index.html"
    for path in written:
        inside(folder, path)
    atomic_write_many({p: t for p, t in written.items() if p != overview_path})
    atomic_write(overview_path, written[overview_path])
    # Files of an earlier render of this day that this render did not write (a campaign that
    # is no longer listed) are removed, so the folder matches the overview.
    for old in folder.iterdir():
        if old.is_file() and old not in written and not old.name.startswith("."):
            old.unlink()


# ------------------------------------------------------------------------------ file contents
_CONTACT_LISTS = (
    ("failed", "failed", "Failed contacts with the reason (CSV)"),
    ("delivered_not_read", "delivered-not-read", "Delivered but not read (CSV)"),
    ("stuck", "stuck", "Stuck contacts (CSV)"),
)
_CONTACT_HEADER = (
    "contact_id",
    "state",
    "reason",
    "state_since_utc",
    "minutes_in_state",
    "seconds_in_state",
)


def _contact_csvs(contacts: pl.DataFrame | None) -> dict[str, tuple[str, int]]:
    """A campaign's drill-down files, written a list at a time: list -> (CSV text, rows).

    ``contacts`` is the campaign's rows of report_contacts, in its order (kept in each file); the
    reason is the state's label, and for a failure what it means (FAILURE_MEANING).
    """
    if contacts is None or contacts.is_empty():
        return {}
    meaning = pl.col("state").replace_strict(FAILURE_MEANING, default=None, return_dtype=pl.String)
    table = contacts.select(
        "list",
        pl.col("contact_id").alias(_CONTACT_HEADER[0]),
        pl.col("state").alias(_CONTACT_HEADER[1]),
        pl.when(meaning.is_null())
        .then(pl.col("label"))
        .otherwise(pl.concat_str(pl.col("label"), pl.lit(": "), meaning))
        .alias(_CONTACT_HEADER[2]),
        pl.col("state_since").alias(_CONTACT_HEADER[3]),
        pl.col("minutes").alias(_CONTACT_HEADER[4]),
        pl.col("seconds").alias(_CONTACT_HEADER[5]),
    )
    return {
        str(key[0]): (frame_csv_text(part), part.height)
        for key, part in table.partition_by(
            "list", as_dict=True, include_key=False, maintain_order=True
        ).items()
    }


def _campaign_files(
    c: CampaignDay, data: DayData, lists: dict[str, tuple[str, int]]
) -> tuple[list[DataFile], dict[str, str]]:
    """The files beside a campaign page: name -> content, and the links the page shows."""
    base = f"campaign-{c.campaign_id}"
    files: dict[str, str] = {}
    links: list[DataFile] = []
    state_rows = data.state_rows.get(c.campaign_id, [])
    files[f"{base}-states.csv"] = csv_text(
        ("campaign_id", "snapshot_time_utc", "state", "label", "category", "contacts", "share",
         "change"),
        (
            (c.campaign_id, c.snapshot_time, s["state"], s["label"], s["category"],
             s["contacts"], s["share"], s["change"])
            for s in state_rows
        ),
    )  # fmt: skip
    links.append(DataFile(f"{base}-states.csv", "State counts (CSV)", len(state_rows)))
    links.append(DataFile(f"{base}.json", "All metrics of this page (JSON)", None))
    for key, suffix, label in _CONTACT_LISTS:
        text, count = lists.get(key, (csv_text(_CONTACT_HEADER, ()), 0))
        files[f"{base}-{suffix}.csv"] = text
        links.append(DataFile(f"{base}-{suffix}.csv", label, count))
    return links, files


def _overview_csv(data: DayData) -> str:
    header = (
        "campaign_id", "name", "status", "snapshot_time_utc", "contacts", "contacts_change",
        "reached_sent", "reached_delivered", "reached_read", "delivery_rate", "read_rate",
        "read_of_sent", "failed", "sending_failed", "error", "delivery_failed",
        "legacy_as_sent", "stuck",
    )  # fmt: skip
    out = []
    for c in data.campaigns:
        f = c.funnel
        out.append(
            (
                c.campaign_id, c.name or "", _status(c), c.snapshot_time,
                c.contacts, c.contacts_change, f.stage("sent").count,
                f.stage("delivered").count, f.stage("read").count,
                f.rate("delivery_rate").value, f.rate("read_rate").value,
                f.rate("read_of_sent").value, c.failed, *(x.count for x in c.failures),
                c.legacy_as_sent, c.stuck_count,
            )
        )  # fmt: skip
    return csv_text(header, out)


def _status(c: CampaignDay) -> str:
    """The overview CSV's status: fresh (a snapshot on the day), final (finished or canceled,
    its final numbers), stale (a gap in the data) or unknown (files only, no recent snapshot)."""
    if c.fresh:
        return "fresh"
    return "final" if c.final else c.lifecycle


def _summary(c: CampaignDay) -> dict[str, Any]:
    d: dict[str, Any] = plain(c)
    d.pop("trend")
    d.pop("stuck")
    return d
