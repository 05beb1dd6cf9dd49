"""Two simulated days of hourly ``run``s replayed with ``run --as-of`` against the fake API,
whose tenant moves with the as-of time: the daily reports exist, with totals worked out by hand
from the tenant below."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from export_helpers import CLIENT_ID, SECRET

from pipeline.cli.main import main
from pipeline.store.snapshots import Store
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeContact, FakeTenant


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def hand_made_tenant() -> FakeTenant:
    """Campaign 101: A sent 28th 08:00, delivered 08:30, read 29th 09:00; B sent 28th 08:00,
    delivery failed 10:00; C never sent; D sent 29th 07:00, delivered 07:30. Campaign 102:
    E sent 27th 21:00, read 21:30; F send failed 28th 12:00 (all UTC)."""
    tenant = FakeTenant(seed=1, sizes=(4, 2), phone_campaign=False, start=utc(27, 20))
    created = utc(27, 19)
    paths = {
        101: [
            [(utc(28, 8), "WA_SENT"), (utc(28, 8, 30), "WA_DELIVERED"), (utc(29, 9), "WA_READ")],
            [(utc(28, 8), "WA_SENT"), (utc(28, 10), "WA_DELIVERY_FAILED")],
            [],
            [(utc(29, 7), "WA_SENT"), (utc(29, 7, 30), "WA_DELIVERED")],
        ],
        102: [
            [(utc(27, 21), "WA_SENT"), (utc(27, 21, 30), "WA_READ")],
            [(utc(28, 12), "WA_SEND_FAILED")],
        ],
    }
    for cid, contacts in paths.items():
        tenant.campaigns[cid].contacts = [
            FakeContact(id=cid * 100 + i, created=created, transitions=t)
            for i, t in enumerate(contacts)
        ]
    return tenant


def test_two_days_of_hourly_runs_replayed_against_the_fake_api(
    data_dir: Path, tmp_path: Path, monkeypatch, capsys
):
    tenant = hand_made_tenant()
    config = tmp_path / "config.toml"
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as fake:
        config.write_text(
            f'[api]\nbase_url = "{fake.url}"\nclient_id = "{CLIENT_ID}"\n'
            # the report of each local day at 23:00 local (22:00 UTC), on that same day
            '[[jobs]]\nkind = "export"\ncron = "0 * * * *"\n'
            '[[jobs]]\nkind = "report"\ncron = "0 23 * * *"\nday_lag = 0\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("CAMPAIGN_REPORTS_API_CLIENT_SECRET", SECRET)
        as_of = utc(27, 22)  # 23:00 in Prague: the first run also renders the 27th
        while as_of <= utc(29, 22):  # 49 hourly runs, the last at 23:00 on the 29th
            tenant.now = as_of
            try:
                main(
                    [
                        "--quiet",
                        "--data-dir",
                        str(data_dir),
                        "--config",
                        str(config),
                        "run",
                        "--as-of",
                        as_of.isoformat(),
                    ]
                )
            except SystemExit as exc:
                assert exc.code == 0, capsys.readouterr().err
            as_of += timedelta(hours=1)
    assert capsys.readouterr().err == ""
    reports = data_dir / "reports"
    days = sorted(p.name for p in reports.iterdir() if p.is_dir())
    assert days == ["2026-11-27", "2026-11-28", "2026-11-29"]
    # Each day's numbers are the last snapshot of that local day (22:00 UTC = 23:00 in Prague),
    # as (contacts, reached Sent, reached Delivered, reached Read), both campaigns together:
    # 27th: 101 all 4 never sent; 102 E read, F never sent              -> 6, 1, 1, 1
    # 28th: 101 A delivered, B delivery failed (counts as Sent), C, D not -> 2, 1, 0
    #       102 E read, F send failed (never sent)                        -> 1, 1, 1: 6, 3, 2, 1
    # 29th: 101 A read, B delivery failed, D delivered                    -> 3, 2, 1
    #       102 as before                                                 -> 1, 1, 1: 6, 4, 3, 2
    expected = {"2026-11-27": [6, 1, 1, 1], "2026-11-28": [6, 3, 2, 1], "2026-11-29": [6, 4, 3, 2]}
    for day, want in expected.items():
        totals = json.loads((reports / day / "overview.json").read_text())["totals"]
        assert totals["campaigns"] == 2 and totals["stale_campaigns"] == 0
        assert [s["count"] for s in totals["funnel"]["stages"]] == want, day
        assert (reports / day / "index.html").exists()
    # one export per hour, each a snapshot of both campaigns
    assert len(Store(data_dir).published()) == 2 * 49
