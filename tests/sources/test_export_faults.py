"""Every fault of the fake server, over real loopback HTTP: the attempts made, the waits asked
for, the token requests, and what was published."""

from __future__ import annotations

import email.utils
from datetime import timedelta
from pathlib import Path

import pytest
from export_helpers import (
    CLIENT_ID,
    PATIENT,
    SECRET,
    T0,
    ManualMonotonic,
    Sleeps,
    assert_equals_tenant,
    fake_fixture,  # noqa: F401  (the fake fixture)
    make_client,
    published,
    run_export,
    tenant_fixture,  # noqa: F401  (the tenant fixture)
)

from pipeline.sources.api_errors import (
    ApiAuthError,
    ApiDeadlineExceeded,
    ApiRetryAfterTooLong,
    parse_retry_after,
)
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

#: Identity requests of a clean pull: the pages of 100, then the empty page that ends it
#: (250 contacts: 100 + 100 + 50 + 0; 1,200: 12 x 100 + 0; 40: 40 + 0).
PAGES = {"101": 4, "102": 13, "103": 2}


def identity_requests(fake: FakeMluvii, cid: int | str) -> list:
    return fake.requests(f"/campaigns/{cid}/identities")


def all_published_equal_tenant(data_dir: Path, tenant: FakeTenant, cids=(101, 102, 103)) -> None:
    for cid in cids:
        metas = published(data_dir, cid)
        assert metas and metas[-1].complete
        assert_equals_tenant(data_dir, metas[-1], tenant)


# ----------------------------------------------------------------------------- retried codes
def test_429_retry_after_is_honoured_with_a_real_wait(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    import time

    fault = fake.faults.add(
        "status", path="/campaigns/102/identities", status=429, retry_after="1", skip=2
    )
    run = run_export(fake, data_dir, sleep=time.sleep)  # type: ignore[arg-type]
    assert fault.hits == 1 and run.summary.ok
    reqs = identity_requests(fake, 102)
    assert [r.status for r in reqs].count(429) == 1
    assert len(reqs) == PAGES["102"] + 1  # one attempt more
    i = next(i for i, r in enumerate(reqs) if r.status == 429)
    assert reqs[i + 1].params["offset"] == reqs[i].params["offset"]  # the same page again
    assert reqs[i + 1].at - reqs[i].at >= 1.0  # waited at least Retry-After, really
    assert run.client.stats.waits == [pytest.approx(1.0, abs=0.5)]
    assert run.client.stats.waits[0] >= 1.0
    assert "identities?offset=200&limit=100: HTTP 429; trying again in 1.0 s" in run.output
    all_published_equal_tenant(data_dir, tenant)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_status_burst_is_retried_with_capped_backoff(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path, status: int
):
    fake.faults.add("status", path="/campaigns/101/identities", status=status, times=4, skip=1)
    run = run_export(fake, data_dir, backoff_base=0.1, backoff_max=0.4, max_attempts=6)
    assert run.summary.ok
    assert len(identity_requests(fake, 101)) == PAGES["101"] + 4
    waits = run.sleeps.waits
    assert len(waits) == 4
    caps = [0.1, 0.2, 0.4, 0.4]  # doubling, capped
    for wait, cap in zip(waits, caps, strict=True):
        assert cap / 2 <= wait <= cap  # jitter within the upper half
    assert fake.token_requests == 1
    all_published_equal_tenant(data_dir, tenant)


def test_retry_after_http_date(fake: FakeMluvii, tenant: FakeTenant, data_dir: Path):
    later = email.utils.format_datetime(T0 + timedelta(seconds=30), usegmt=True)
    fake.faults.add("status", path="identities", status=503, retry_after=later)
    sleeps = Sleeps()
    client = make_client(fake, sleep=sleeps, client_kw={"wall_clock": lambda: T0})
    run = run_export(fake, data_dir, client=client, sleep=sleeps)
    assert run.summary.ok
    assert sleeps.waits == [pytest.approx(30.0)]
    assert parse_retry_after("garbage", T0) is None
    assert parse_retry_after("7", T0) == 7.0


def test_retry_after_above_the_limit_fails_at_once_without_sleeping(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.add("status", path="/campaigns/102/identities", status=429, retry_after="3600")
    run = run_export(fake, data_dir, max_retry_after=60)
    r = run.result(102)
    assert r.status == "failed" and isinstance(r.error, ApiRetryAfterTooLong)
    assert "3600 s" in str(r.error) and "max_retry_after" in str(r.error)
    assert run.sleeps.waits == []
    assert len(identity_requests(fake, 102)) == 1
    assert not published(data_dir, 102)
    all_published_equal_tenant(data_dir, tenant, cids=(101, 103))  # the others are kept
    assert not run.summary.ok and "1 failed" in run.output


def test_attempts_are_bounded(fake: FakeMluvii, data_dir: Path):
    fake.faults.add("status", path="/campaigns/103/identities", status=503, times=50)
    run = run_export(fake, data_dir, max_attempts=3)
    r = run.result(103)
    assert r.status == "failed" and "failed 3 times" in str(r.error)
    assert len(identity_requests(fake, 103)) == 3 and len(run.sleeps.waits) == 2


# ------------------------------------------------------------------------- not retried codes
@pytest.mark.parametrize("status", [400, 404, 409])
def test_non_retryable_codes_are_not_retried(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path, status: int
):
    fake.faults.add("status", path="/campaigns/102/identities", status=status, times=5)
    run = run_export(fake, data_dir)
    r = run.result(102)
    assert r.status == "failed" and f"HTTP {status}" in str(r.error)
    assert len(identity_requests(fake, 102)) == 1  # zero retries
    assert run.sleeps.waits == []
    assert not published(data_dir, 102)
    all_published_equal_tenant(data_dir, tenant, cids=(101, 103))


def test_a_failing_campaign_list_fails_the_run_cleanly(fake: FakeMluvii, data_dir: Path):
    from pipeline.core.config import Config
    from pipeline.core.console import Console
    from pipeline.store.export import ExportError
    from pipeline.store.export import run_export as run_export_job

    # HTTP 500 is tried again api.retries_500 = 2 times: three in a row give up
    fake.faults.add("status", path="/campaigns$", status=500, times=3)
    client = make_client(fake)
    with pytest.raises(ExportError, match=r"failed 3 times, last: HTTP 500.*Nothing was exported"):
        run_export_job(Config(data_dir=data_dir), Console.silent(), client=client)
    assert not published(data_dir, 101)


# --------------------------------------------------------------------- timeouts and bad bodies
def test_slow_response_times_out_and_is_retried(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    # no answer at all to the second page (until the client gives up on it)
    fake.faults.add("stall", path="/campaigns/101/identities", skip=1)
    run = run_export(fake, data_dir, read_timeout=PATIENT)
    assert run.summary.ok and len(run.sleeps.waits) == 1
    assert len(identity_requests(fake, 101)) == PAGES["101"] + 1
    all_published_equal_tenant(data_dir, tenant)


def test_trickling_response_is_cut_by_the_whole_response_limit(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    # Two bytes every 20 ms (the page's 4.7 kB would take 47 s) never trip the read timeout; the
    # whole-response limit cuts it.
    fake.faults.add("trickle", path="/campaigns/103/identities", chunk=2, delay=0.02)
    run = run_export(fake, data_dir, read_timeout=2 * PATIENT, request_timeout=PATIENT)
    assert run.summary.ok and len(run.sleeps.waits) == 1
    assert len(identity_requests(fake, 103)) == PAGES["103"] + 1
    all_published_equal_tenant(data_dir, tenant)


@pytest.mark.parametrize("kind", ["truncate", "bad_json", "drop"])
def test_cut_off_or_invalid_json_is_retried(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path, kind: str
):
    fake.faults.add(kind, path="/campaigns/102/identities", skip=3, times=2)
    run = run_export(fake, data_dir)
    assert run.summary.ok and len(run.sleeps.waits) == 2
    assert len(identity_requests(fake, 102)) == PAGES["102"] + 2
    all_published_equal_tenant(data_dir, tenant)


def test_deadline_stops_a_slow_run(fake: FakeMluvii, data_dir: Path):
    # every page takes a quarter of the deadline: the 17 pages would take four times as long
    fake.faults.add("slow", path="identities", delay=PATIENT / 4, times=1000)
    run = run_export(fake, data_dir, deadline=PATIENT, read_timeout=2 * PATIENT)
    failed = [r for r in run.summary.results if r.status == "failed"]
    assert failed and all(isinstance(r.error, ApiDeadlineExceeded) for r in failed)
    assert "deadline" in str(failed[0].error)
    assert len(fake.log) < 12  # it stopped, it did not keep asking
    for m in published(data_dir, 101) + published(data_dir, 102):
        assert m.rows > 0  # whatever was published is whole


# ------------------------------------------------------------------------------------- auth
def test_login_redirect_mid_run_gets_one_new_token(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.add("revoke", path="/campaigns/102/identities", skip=5)
    run = run_export(fake, data_dir)
    assert run.summary.ok
    assert fake.token_requests == 2
    assert [r.status for r in fake.log].count(302) == 1
    assert run.sleeps.waits == []  # auth is not a transient error: no backoff
    all_published_equal_tenant(data_dir, tenant)


@pytest.mark.parametrize("kind", ["redirect", "html"])
def test_persistent_login_page_fails_after_one_new_token(
    fake: FakeMluvii, data_dir: Path, kind: str
):
    fake.faults.add(kind, path="/campaigns/101/identities", times=100)
    run = run_export(fake, data_dir)
    r = run.result(101)
    assert r.status == "failed" and isinstance(r.error, ApiAuthError)
    assert "again with a new token" in str(r.error)
    assert fake.token_requests == 2  # the first, and one new one: no more
    assert len(identity_requests(fake, 101)) == 2
    # the remaining campaigns are not attempted with credentials the API refuses
    assert run.result(102).status == run.result(103).status == "failed"
    assert "not attempted" in str(run.result(102).error)
    assert not identity_requests(fake, 102)
    assert not run.summary.ok


def test_a_single_html_answer_is_treated_as_auth_and_recovers(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.add("html", path="/campaigns/102/identities", skip=2)
    run = run_export(fake, data_dir)
    assert run.summary.ok and fake.token_requests == 2
    all_published_equal_tenant(data_dir, tenant)


def test_token_is_renewed_before_it_expires(data_dir: Path):
    """Tokens live 1000 s; every request takes 100 s of the shared clock. The client asks for
    a new token before expiry: never a redirect, at most one token request per lifetime."""
    clock = ManualMonotonic()
    tenant = FakeTenant(seed=2, sizes=(2000,), phone_campaign=False)

    def tick() -> None:
        clock.t += 100

    with FakeMluvii(
        tenant,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        token_lifetime=1000,
        token_clock=clock,
        on_request=tick,
    ) as server:
        client = make_client(server, client_kw={"token_clock": clock}, token_margin=120)
        run = run_export(server, data_dir, client=client)
    assert run.summary.ok
    assert [r.status for r in server.log].count(302) == 0
    elapsed = len(server.log) * 100
    assert server.token_requests <= elapsed // (1000 - 120) + 1
    assert server.token_requests >= elapsed // 1000  # it did renew
    assert_equals_tenant(data_dir, published(data_dir, 101)[0], tenant)


def test_wrong_secret_is_not_retried(fake: FakeMluvii, data_dir: Path):
    from pipeline.core.config import Config
    from pipeline.core.console import Console
    from pipeline.store.export import ExportError
    from pipeline.store.export import run_export as run_export_job

    client = make_client(fake, secret="wrong")
    with pytest.raises(
        ExportError, match=r"refused the API credentials: HTTP 400 \(invalid_client\)"
    ):
        run_export_job(Config(data_dir=data_dir), Console.silent(), client=client)
    assert fake.token_requests == 1 and len(fake.log) == 1


def test_token_endpoint_503_is_retried(fake: FakeMluvii, tenant: FakeTenant, data_dir: Path):
    fake.faults.add("status", token_endpoint=True, status=503, retry_after="2")
    run = run_export(fake, data_dir)
    assert run.summary.ok and fake.token_requests == 2
    assert run.sleeps.waits[0] >= 2.0
    all_published_equal_tenant(data_dir, tenant)


# ------------------------------------------------------------------------ paging consistency
def test_contacts_inserted_during_paging_are_deduplicated_and_pulled_again(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    m = fake.faults.mutate(102, at_offset=500, insert=7)  # in front of the cursor: repeats
    run = run_export(fake, data_dir)
    assert m.hits == 1
    r = run.result(102)
    assert r.status == "published" and r.pulls == 2 and r.complete
    assert "came twice" in run.output and "pulling it once more" in run.output
    [meta] = published(data_dir, 102)
    assert meta.complete and meta.rows == 1207
    assert_equals_tenant(data_dir, meta, tenant)


def test_contacts_removed_during_paging_are_caught_by_the_recount(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.mutate(102, at_offset=500, remove=4)  # skips contacts: no repeat to see
    run = run_export(fake, data_dir)
    r = run.result(102)
    assert r.status == "published" and r.pulls == 2 and r.complete
    assert "the campaign lists 1,196 contacts after the pull" in run.output
    [meta] = published(data_dir, 102)
    assert meta.rows == 1196
    assert_equals_tenant(data_dir, meta, tenant)


def test_persistent_churn_publishes_an_incomplete_snapshot(
    fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    fake.faults.mutate(102, at_offset=300, insert=5, times=2)
    run = run_export(fake, data_dir)
    r = run.result(102)
    assert r.status == "published" and r.pulls == 2 and not r.complete
    assert r.duplicates == 5
    [meta] = published(data_dir, 102)
    assert not meta.complete and meta.duplicate_rows == 5
    assert meta.rows == 1205  # deduplicated: every contact pulled, once
    assert "INCOMPLETE" in run.output and "(1 incomplete)" in run.output
    # 5 inserted in front during each of the 2 pulls: 1,200 + 10 listed after the second one
    assert meta.reason == (
        "5 contacts came twice; the campaign lists 1,210 contacts after the pull, 1,205 were "
        "pulled or the ids differ"
    )
    assert not run.summary.ok  # published, marked, and a problem the exit code shows
    assert run.summary.problems() == [r.line()]
    assert [c["export"]["complete"] for c in run.store.commits() if "102" in c["input"]] == [False]
