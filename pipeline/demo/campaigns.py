"""The demo tenant's campaigns: what each one is, how it is exported, and when.

Times are relative to the as-of day (UTC midnight). Each campaign exercises one of the cases
analysts meet (see ``pipeline.demo.tenant``); ``story`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = 3600
DAY = 86400
UNKNOWN_API_VALUE = "WA_PENDING_NEW"
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
