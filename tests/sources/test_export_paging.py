"""Paging that cannot stop early, and how a pull is checked, over real loopback HTTP: a server
that silently serves fewer identities than asked for, with and without the campaign's
``identityIds``; contacts removed while the pages are read; HTTP 500 and maintenance pages; a
pull slower than the limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from export_helpers import (
    CLIENT_ID,
    SECRET,
    assert_equals_tenant,
    published,
    run_export,
)

from pipeline.sources.api_errors import ApiMaintenance
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant


@pytest.fixture(name="tenant")
def small_tenant() -> FakeTenant:
    return FakeTenant(seed=5, sizes=(130, 7))


@pytest.fixture(name="fake")
def small_fake(tenant: FakeTenant) -> Iterator[FakeMluvii]:
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server


def offsets(fake: FakeMluvii, cid: int) -> list[int]:
    return [int(r.params["offset"]) for r in fake.requests(f"/campaigns/{cid}/identities")]


# -------------------------------------------------------------------------- a silent page cap
@pytest.mark.parametrize("identity_ids", [True, False])
def test_a_silent_page_cap_still_pulls_every_contact(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path, identity_ids: bool
):
    fake.faults.page_cap = 20  # the client asks for 50 per page; the server sends 20
    fake.faults.hide_identity_ids = not identity_ids
    run = run_export(fake, data_dir, page_size=50)
    assert run.summary.ok
    for cid in (101, 102):
        [meta] = published(data_dir, cid)
        assert meta.complete and meta.reason == ""
        assert meta.verified_by == ("identity_ids" if identity_ids else "second_pass")
        assert_equals_tenant(data_dir, meta, tenant)
    # 130 contacts by 20: six full pages, one of 10, then the empty page that ends it; a second
    # pass over the same pages when the API gives no identityIds
    one_pass = [0, 20, 40, 60, 80, 100, 120, 130]
    assert offsets(fake, 101) == one_pass * (1 if identity_ids else 2)
    assert offsets(fake, 102) == [0, 7] * (1 if identity_ids else 2)
    notice = "the API serves at most 20 identities per page (asked for 50, api.page_size)"
    assert run.output.count(notice) == 1  # said once, not per page or per campaign


def test_a_server_that_ignores_offset_fails_the_campaign_instead_of_looping(
    fake: FakeMluvii, data_dir: Path
):
    fake.faults.ignore_offset = True
    run = run_export(fake, data_dir, page_size=50)
    r = run.result(101)
    assert r.status == "failed" and "is offset ignored?" in str(r.error)
    # the first page, then the same page three times more: stopped
    assert offsets(fake, 101) == [0, 50, 100, 150]
    assert not published(data_dir, 101)


# ------------------------------------------------------------ contacts removed while paging
def test_a_removal_during_paging_without_identity_ids_is_caught_and_pulled_again(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.hide_identity_ids = True
    fake.faults.mutate(101, at_offset=40, remove=3)  # once: only the first pass sees it
    run = run_export(fake, data_dir, page_size=20)
    r = run.result(101)
    assert r.status == "published" and r.pulls == 2 and r.complete
    assert "paging the ids again gave 127 contacts" in run.output  # 130 - 3
    [meta] = published(data_dir, 101)
    assert meta.complete and meta.rows == 127 and meta.verified_by == "second_pass"
    assert_equals_tenant(data_dir, meta, tenant)  # the removed gone, the shifted ones there


def test_removals_during_every_pass_are_never_published_as_complete(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.hide_identity_ids = True
    fake.faults.mutate(101, at_offset=40, remove=3, times=4)  # 2 pulls x 2 passes
    run = run_export(fake, data_dir, page_size=20)
    r = run.result(101)
    assert r.status == "published" and r.pulls == 2 and not r.complete
    assert not [m for m in published(data_dir, 101) if m.complete]
    [meta] = published(data_dir, 101)
    # The second pull starts with 130 - 6 = 124 contacts. Its first pass reads 40, then 3 are
    # removed in front: it reads the 121 - 40 = 81 after the cursor (40 + 81 = 121 ids, 3 of
    # them removed since and 3 live ones skipped). Its second pass: 40 + (118 - 40) = 118.
    assert meta.rows == 121
    assert meta.reason == (
        "paging the ids again gave 118 contacts, not the same as the 121 pulled "
        "(contacts added or removed during the pull)"
    )
    assert not run.summary.ok and run.summary.problems() == [r.line()]
    assert "INCOMPLETE" in r.line()


# ------------------------------------------------------------------------------ HTTP 500
def test_one_500_on_a_page_and_on_the_campaign_list_is_retried(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.add("status", path="/campaigns$", status=500)
    fake.faults.add("status", path="/campaigns/101/identities", status=500, skip=2)
    run = run_export(fake, data_dir, page_size=50)
    assert run.summary.ok and len(run.sleeps.waits) == 2  # one backoff each
    assert [r.status for r in fake.log].count(500) == 2
    for cid in (101, 102):
        [meta] = published(data_dir, cid)
        assert_equals_tenant(data_dir, meta, tenant)


def test_500_is_retried_only_retries_500_times(fake: FakeMluvii, data_dir: Path):
    fake.faults.add("status", path="/campaigns/102/identities", status=500, times=50)
    run = run_export(fake, data_dir, retries_500=1, max_attempts=6)
    r = run.result(102)
    assert r.status == "failed" and "failed 2 times, last: HTTP 500" in str(r.error)
    assert len(fake.requests("/campaigns/102/identities")) == 2  # 1 + retries_500
    assert run.result(101).status == "published"


# ------------------------------------------------------------------------ maintenance pages
@pytest.mark.parametrize("status", [503, 200])
def test_maintenance_three_times_in_a_row_backs_off_then_says_so(
    fake: FakeMluvii, data_dir: Path, status: int
):
    fake.faults.add("maintenance", path="/campaigns/101/identities", status=status, times=3)
    run = run_export(fake, data_dir, max_attempts=3)
    r = run.result(101)
    assert r.status == "failed" and isinstance(r.error, ApiMaintenance)
    assert "the API is down for maintenance" in str(r.error)
    assert len(run.sleeps.waits) == 2  # a backoff between the three attempts
    assert fake.token_requests == 1  # not taken for a credentials problem
    # the rest of the run is not spent on an API that is down
    assert "not attempted: the API is down for maintenance" in str(run.result(102).error)
    assert not fake.requests("/campaigns/102/identities")
    assert not run.summary.ok


def test_maintenance_twice_then_the_api_is_back(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.add("maintenance", path="/campaigns/101/identities", times=2)
    run = run_export(fake, data_dir, max_attempts=3)
    assert run.summary.ok and len(run.sleeps.waits) == 2 and fake.token_requests == 1
    assert "a maintenance page (HTTP 503); trying again" in run.output
    assert_equals_tenant(data_dir, published(data_dir, 101)[0], tenant)


# ------------------------------------------------------------------------------- slow pulls
def test_a_pull_longer_than_the_limit_is_published_flagged(fake: FakeMluvii, data_dir: Path):
    # The test's clock moves 1 s per reading; a pull reads it when it starts and when it ends:
    # 1 s = 0.0167 min, over a limit of 0.01 min.
    run = run_export(fake, data_dir, slow_pull_minutes=0.01)
    assert run.summary.ok  # flagged, not a failure
    meta = published(data_dir, 101)[0]
    assert meta.complete and meta.slow_pull
    assert (meta.pull_started, meta.pull_finished) == (
        "2026-11-28T06:00:00.000000Z",
        "2026-11-28T06:00:01.000000Z",
    )
    assert "SLOW PULL: it took 1 s (api.slow_pull_minutes = 0.01)" in run.output


# ----------------------------------------------------------------------- a larger campaign
def test_a_campaign_of_more_than_10000_contacts_equals_the_tenant(data_dir: Path):
    """Above 10,000 rows the times are parsed column-wise with the first value's format (the
    fast path): every created and retry time still equals the tenant's."""
    tenant = FakeTenant(seed=9, sizes=(10_500,), phone_campaign=False)
    tenant.now = tenant.start + timedelta(hours=3)  # contacts in retry, with retry times
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as fake:
        run = run_export(fake, data_dir, page_size=5000)
    assert run.summary.ok
    [meta] = published(data_dir, 101)
    assert meta.rows == 10_500
    assert_equals_tenant(data_dir, meta, tenant)
