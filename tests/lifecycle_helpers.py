"""A small tenant for the campaign lifecycle (view ``campaign_lifecycle``, report totals).

Time zone Europe/Prague (CET, UTC+1, in November and December). The report day is 2026-12-25,
whose end is 2026-12-25 23:00Z.

- ``fin``: the API says it started 2026-11-19 08:00Z and finished 2026-11-21 05:00Z; snapshots
  on 2026-11-20 06:00Z and 2026-11-21 06:00Z (the exporter's last pull after the end). Its last
  day, 2026-11-21, is 34 days before the report day: outside the 30-day window, still listed.
- ``live``: files only, snapshots 2026-12-24 07:00Z and 2026-12-25 07:00Z: lifecycle unknown,
  with a snapshot on the day.
- ``gap``: the API says it started 2026-12-20 and has not finished; one snapshot, 2026-12-23
  21:00Z: 50 hours before the day's end (> 26): stale.
- ``quiet``: files only, the same single contact Read on 2026-12-21, 12-22 and 12-24 06:00Z: no
  change for 72 hours between its first and last snapshot (>= 72): finished.
- ``cxl``: one snapshot 2026-12-25 08:00Z, two contacts Canceled by admin and none left to send:
  canceled.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from report_helpers import build_tenant

from pipeline.core.config import Config

DAY = date(2026, 12, 25)
TZ = "Europe/Prague"

TENANT: dict[str, dict[str, list[tuple[str, str]]]] = {
    "fin": {
        "20261120T060000Z": [("f1", "WA_READ"), ("f2", "WA_DELIVERED"), ("f3", "WA_SENT")],
        "20261121T060000Z": [("f1", "WA_READ"), ("f2", "WA_READ"), ("f3", "WA_DELIVERED")],
    },
    "live": {
        "20261224T070000Z": [("l1", "WA_SENT"), ("l2", "Initial")],
        "20261225T070000Z": [("l1", "WA_READ"), ("l2", "WA_SENT")],
    },
    "gap": {"20261223T210000Z": [("g1", "WA_DELIVERED"), ("g2", "WA_SENT")]},
    "quiet": {
        "20261221T060000Z": [("q1", "WA_READ")],
        "20261222T060000Z": [("q1", "WA_READ")],
        "20261224T060000Z": [("q1", "WA_READ")],
    },
    "cxl": {
        "20261225T080000Z": [
            ("c1", "WA_READ"),
            ("c2", "CANCELLED_BY_ADMIN"),
            ("c3", "CANCELLED_BY_ADMIN"),
        ]
    },
}

#: What the exporter records from the API's campaign list (store's campaigns.json).
CAMPAIGNS = {
    "fin": {
        "name": "Finished one",
        "channel": "WhatsApp",
        "started": "2026-11-19T08:00:00Z",
        "finished": "2026-11-21T05:00:00Z",
    },
    "gap": {"name": "Gap", "channel": "WhatsApp", "started": "2026-12-20T08:00:00Z"},
}


def build_lifecycle_tenant(data_dir: Path) -> Config:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "campaigns.json").write_text(json.dumps(CAMPAIGNS), encoding="utf-8")
    return build_tenant(data_dir, TENANT, config=Config(data_dir=data_dir, timezone=TZ))
