"""Ids as text on the export path: identities whose id is a float, NaN, bool, object or list, or
whose state is not text or too long, are dropped and counted; the other contacts keep their
exact ids (one float among them once turned every id into ``2262000003.0``)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from export_helpers import (
    expected_frame,
    fake_fixture,  # noqa: F401  (the fake fixture)
    published,
    run_export,
    snapshot_frame,
    tenant_fixture,  # noqa: F401  (the tenant fixture)
)

from pipeline.store.loads import LoadLog
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

CAMPAIGN = 103  # the tenant's third campaign: 40 contacts
HOSTILE = {
    3: {"id": 1.5},
    7: {"id": math.nan},
    11: {"id": True},
    15: {"id": {"value": 2262000003}},
    19: {"id": [2262000003]},
    23: {"state": ["WA_READ"]},
    27: {"state": {"name": "WA_READ"}},
    31: {"state": "WA_READ" + "x" * 194},  # 7 + 194 = 201 characters: one over the 200
}
REASON = (
    "5 identities with an id that is not an integer or text; "
    "2 identities with a state that is not text; "
    "1 identity with a state longer than 200 characters"
)


def test_hostile_ids_and_states_are_dropped_counted_and_the_others_keep_their_ids(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
) -> None:
    for position, fields in HOSTILE.items():
        fake.faults.rewrite_identity(CAMPAIGN, position, **fields)
    run = run_export(fake, data_dir, campaign_ids=[str(CAMPAIGN)])

    result = run.result(CAMPAIGN)
    assert result.status == "published" and not result.complete
    assert result.pulls == 1  # the pull itself was consistent: no second pull
    assert result.reason == REASON
    assert result.contacts == 40 - 8
    assert result.dropped == {
        "an id that is not an integer or text": 5,
        "a state that is not text": 2,
        "a state longer than 200 characters": 1,
    }

    (meta,) = published(data_dir, CAMPAIGN)
    assert not meta.complete and meta.reason == REASON and meta.rows == 32
    assert meta.quarantined_rows == 8
    (record,) = [r for r in LoadLog(data_dir).records() if r["input"].endswith(f"/{CAMPAIGN}")]
    assert record["complete"] is False and record["error"] == REASON
    assert record["dropped"] == result.dropped

    # every other contact exactly as the tenant has it: the same text ids, states, times
    kept = [i for i in range(40) if i not in HOSTILE]
    ids = [str(tenant.identities(CAMPAIGN)[i]["id"]) for i in kept]
    want = expected_frame(tenant, CAMPAIGN).filter(pl.col("contact_id").is_in(ids))
    got = snapshot_frame(data_dir, meta)
    assert want.height == 32
    assert got.select(want.columns).equals(want)
    assert all(cid.isdigit() for cid in got.get_column("contact_id"))


def test_other_campaigns_of_the_run_are_untouched(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
) -> None:
    fake.faults.rewrite_identity(CAMPAIGN, 0, id=1.5)
    run = run_export(fake, data_dir)
    assert [r.campaign_id for r in run.summary.results if not r.complete] == [str(CAMPAIGN)]
    assert run.result(CAMPAIGN).reason == "1 identity with an id that is not an integer or text"
    for cid in (101, 102):
        (meta,) = published(data_dir, cid)
        assert meta.complete and meta.rows == len(tenant.identities(cid))
