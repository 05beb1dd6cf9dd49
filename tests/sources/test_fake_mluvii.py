"""The fake mluvii server speaks the documented API shapes, over real loopback HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import pytest
from export_helpers import (
    CLIENT_ID,
    SECRET,
    ManualMonotonic,
    fake_fixture,  # noqa: F401  (the fake fixture)
    tenant_fixture,  # noqa: F401  (the tenant fixture)
)

from pipeline.core.catalog import load_catalog
from pipeline.testing.faults import Fault
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant


def token(http: httpx.Client, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
    data.update(form)
    return http.post("/login/connect/token", data=data)


@pytest.fixture
def http(fake: FakeMluvii):
    with httpx.Client(base_url=fake.url, timeout=60) as client:
        yield client


def auth(http: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(http).json()['access_token']}"}


def test_token_endpoint(http: httpx.Client):
    ok = token(http)
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert token(http, client_secret="nope").json() == {"error": "invalid_client"}
    assert token(http, grant_type="password").status_code == 400


def test_missing_unknown_or_expired_token_redirects_to_login(tenant: FakeTenant):
    clock = ManualMonotonic()
    with (
        FakeMluvii(
            tenant, client_id=CLIENT_ID, client_secret=SECRET, token_lifetime=60, token_clock=clock
        ) as fake,
        httpx.Client(base_url=fake.url, timeout=60) as http,
    ):
        for headers in ({}, {"Authorization": "Bearer made-up"}):
            r = http.get("/api/v1/Campaigns", headers=headers)
            assert r.status_code == 302
            assert r.headers["location"].startswith("/login?ReturnUrl=")
            assert "text/html" in r.headers["content-type"]
        headers = auth(http)
        assert http.get("/api/v1/Campaigns", headers=headers).status_code == 200
        clock.t += 61
        assert http.get("/api/v1/Campaigns", headers=headers).status_code == 302
        login = http.get("/api/v1/Campaigns", headers=headers, follow_redirects=True)
        assert login.status_code == 200 and login.text.lstrip().startswith("<!DOCTYPE html>")


def test_campaign_json_shapes(http: httpx.Client, tenant: FakeTenant):
    campaigns = http.get("/api/v1/Campaigns", headers=auth(http)).json()
    assert [c["id"] for c in campaigns] == [101, 102, 103, 900]
    first = campaigns[0]
    for key in ("departmentId", "contactInfoField", "identityIds", "started", "finished", "mode"):
        assert key in first  # camelCase as the vendor serialises
    assert {c["channel"] for c in campaigns} == {"WhatsApp", "Phone"}
    assert datetime.fromisoformat(first["started"]).utcoffset() == timedelta(hours=1)
    assert len(first["identityIds"]) == 250
    one = http.get("/api/v1/campaigns/101", headers=auth(http)).json()  # paths are case-blind
    assert one["id"] == 101
    assert http.get("/api/v1/Campaigns/999", headers=auth(http)).status_code == 404


def test_identities_paging_and_shapes(http: httpx.Client, tenant: FakeTenant):
    headers = auth(http)
    pages = []
    offset = 0
    while True:
        page = http.get(
            "/api/v1/Campaigns/102/identities",
            params={"offset": offset, "limit": 500},
            headers=headers,
        ).json()
        pages.append(page)
        if len(page) < 500:
            break
        offset += 500
    assert [len(p) for p in pages] == [500, 500, 200]
    items = [i for p in pages for i in p]
    assert items == tenant.identities(102)
    assert len({i["id"] for i in items}) == 1200
    known = {v for s in load_catalog().states for v in s.api_values} | {"SUCCESS"}
    assert {i["state"] for i in items} <= known | {"INITIAL"}
    for item in items[:50]:
        assert set(item) == {"id", "state", "created", "retryScheduledDate", "retryCount"}
        assert datetime.fromisoformat(item["created"]).tzinfo is not None
        assert item["state"] == item["state"].upper()
    retrying = [i for i in items if i["state"] == "RETRY_SCHEDULED"]
    for item in retrying:
        assert item["retryCount"] >= 1 and item["retryScheduledDate"]


def test_tenant_is_deterministic_and_moves_forward():
    a, b = FakeTenant(seed=3), FakeTenant(seed=3)
    assert a.identities(102) == b.identities(102)
    assert FakeTenant(seed=4).identities(102) != a.identities(102)
    order = ["INITIAL", "CALLING", "WA_SENT", "WA_DELIVERED", "WA_READ"]
    early = {i["id"]: i["state"] for i in a.identities(102, at=a.start)}
    assert set(early.values()) == {"INITIAL"}
    mid = {i["id"]: i["state"] for i in a.identities(102, at=a.start + timedelta(hours=3))}
    late = {i["id"]: i["state"] for i in a.identities(102, at=a.start + timedelta(days=2))}
    assert "WA_READ" in late.values() and "INITIAL" in late.values()
    for cid, state in late.items():
        if state in order and mid[cid] in order:
            assert order.index(mid[cid]) <= order.index(state)


def test_faults_are_observable(fake: FakeMluvii, http: httpx.Client):
    headers = auth(http)
    url = "/api/v1/Campaigns/101/identities"
    fake.faults.add("status", path="identities", status=429, retry_after="3", skip=1, times=2)
    assert http.get(url, headers=headers).status_code == 200  # skipped
    r = http.get(url, headers=headers)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert http.get(url, headers=headers).status_code == 429
    assert http.get(url, headers=headers).status_code == 200  # spent

    fake.faults.add("truncate", path="identities")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(url, headers=headers)
    fake.faults.add("bad_json", path="identities")
    with pytest.raises(json.JSONDecodeError):
        http.get(url, headers=headers).json()
    fake.faults.add("drop", path="identities")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(url, headers=headers)
    fake.faults.add("html", path="identities")
    assert http.get(url, headers=headers).text.startswith("<!DOCTYPE html>")
    fake.faults.add("revoke", path="identities")
    assert http.get(url, headers=headers).status_code == 302
    assert http.get(url, headers=headers).status_code == 302  # the old token stays dead
    kinds = [r.fault for r in fake.requests("identities")]
    assert kinds.count("status") == 2 and "truncate" in kinds and "revoke" in kinds
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_mutations_change_the_tenant_while_paging(fake: FakeMluvii, http: httpx.Client, tenant):
    headers = auth(http)
    url = "/api/v1/Campaigns/101/identities"
    before = tenant.identities(101)
    fake.faults.mutate(101, at_offset=100, insert=2, remove=1)
    first = http.get(url, params={"offset": 0, "limit": 100}, headers=headers).json()
    second = http.get(url, params={"offset": 100, "limit": 100}, headers=headers).json()
    assert first == before[:100]
    assert len(tenant.identities(101)) == 251
    assert second[:1] == before[99:100]  # shifted by one: a repeat a client must notice


def test_unknown_enum_values():
    t = FakeTenant(seed=1, sizes=(50,), unknown_every=10)
    states = [i["state"] for i in t.identities(101)]
    assert states.count("WA_PENDING_OPT_IN") == 5


def test_fake_api_command_serves_a_tenant_the_exporter_can_read(tmp_path):
    """`campaign-reports fake-api` as a newcomer runs it, then `export` against it."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    from schedule_helpers import Watched
    from wait_helpers import GUARD

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Watched(
        subprocess.Popen(
            [
                *(sys.executable, "-m", "pipeline", "fake-api", "--port", str(port)),
                *("--contacts", "120,30", "--fault", "rate-limit", "--fault", "login-redirect"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    try:
        # it listens before it prints how to use it
        server.wait_for_text(f"export CAMPAIGN_REPORTS_API_BASE_URL=http://127.0.0.1:{port}")
        env = {
            **os.environ,
            "CAMPAIGN_REPORTS_API_BASE_URL": f"http://127.0.0.1:{port}",
            "CAMPAIGN_REPORTS_API_CLIENT_ID": "fake-client",
            "CAMPAIGN_REPORTS_API_CLIENT_SECRET": "fake-secret",
            "CAMPAIGN_REPORTS_API_PAGE_SIZE": "50",
        }
        data = tmp_path / "data"
        cmd = [sys.executable, "-m", "pipeline", "--data-dir", str(data), "export"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=GUARD)
        assert done.returncode == 0, done.stderr
        assert "Export: 2 campaign(s), 150 contacts, 2 snapshot(s) published" in done.stderr
        assert "'WA_PENDING_OPT_IN'" in done.stderr  # the fake's unknown enum value
    finally:
        server.proc.send_signal(signal.SIGINT)
        try:
            _code, err = server.wait()
        finally:
            server.kill()
    assert f"export CAMPAIGN_REPORTS_API_BASE_URL=http://127.0.0.1:{port}" in err
