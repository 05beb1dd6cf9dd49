"""The daily digest, received by a real SMTP server and a real webhook receiver on loopback.

The tenant is report_helpers' (report day 2026-11-27, Europe/Prague). Its totals by hand:
alpha 11 contacts, reached Sent 7 / Delivered 6 / Read 4, failed 3 (a04 a07 a08); beta 5
contacts, reached Sent 2 (b1 legacy, b3) / Delivered 1 / Read 1 (b3); zero 2 contacts, nothing
sent; gamma is stale (no snapshot on the 27th), so not in the totals.
  contacts 11 + 5 + 2 = 18, reached Sent 7 + 2 = 9, Delivered 6 + 1 = 7, Read 4 + 1 = 5,
  failed 3, delivery rate 7 / 9 = 77.8 %, read rate 5 / 7 = 71.4 %, read of sent 5 / 9 = 55.6 %.
The attention list is a stand-in macro with three rows on the 27th (digest_helpers).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from digest_helpers import (
    Hook,
    Mailbox,
    add_attention_macro,
    self_signed_cert,
    smtp_server,
    webhook_server,
)
from report_helpers import REPORT_DAY, build_tenant

from pipeline.core.config import Config
from pipeline.core.digest_config import DigestConfig
from pipeline.report import render_reports
from pipeline.report.digest import compose_digest
from pipeline.schedule.digest import DigestLog, send_digest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "pw-canary-7Qx"
HOOK_TOKEN = "T0KEN-canary-9zz"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tenant built, rendered for 2026-11-27, with the stand-in attention macro."""
    data = tmp_path_factory.mktemp("tenant") / "data"
    data.mkdir()
    cfg = build_tenant(data)
    render_reports(cfg, day=REPORT_DAY)
    add_attention_macro(cfg)
    return data


@pytest.fixture
def data_dir(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built tenant (each test has its own digest log)."""
    target = tmp_path / "data"
    shutil.copytree(built, target)
    return target


def config(data_dir: Path, **digest: Any) -> Config:
    base = {"sender": "Reports <reports@example.com>", "retry_seconds": 0.0, "timeout": 10.0}
    return Config(
        data_dir=data_dir, timezone="Europe/Prague", digest=DigestConfig(**{**base, **digest})
    )


def parts(msg: EmailMessage) -> tuple[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_email_received_with_both_parts_and_the_pages_numbers(data_dir: Path) -> None:
    box = Mailbox()
    with smtp_server(box) as (host, port):
        cfg = config(data_dir, smtp_host=host, smtp_port=port, starttls=False,
                     to=("ana@example.com", "lead@example.com"))  # fmt: skip
        result = send_digest(cfg, day=REPORT_DAY, environ={})
    assert result.ok and result.count("sent") == 2
    assert sorted(r[1][0] for r in box.received) == ["ana@example.com", "lead@example.com"]
    mail_from, rcpts, msg = box.received[0]
    assert mail_from == "reports@example.com" and msg["To"] == rcpts[0]
    # three rows on the 27th (the 26th's row is not listed)
    assert msg["Subject"] == "Campaign report 2026-11-27: 3 need attention"
    text, html = parts(msg)
    # no remote resource: no http(s) URL anywhere (the row linking to evil.example lost its link)
    assert not re.search(r"https?://", text + html)
    assert not re.search(r"<(link|img|script|style)\b", html)
    assert "evil.example" not in html
    # the names are escaped in HTML, plain in text
    assert "Alpha &amp; &lt;Promo&gt;" in html and "Alpha & <Promo>" in text
    assert text.index("Sending failed 27.3 %") < text.index("Unknown state values")
    assert "Yesterday only" not in text
    # the numbers (worked by hand in the module docstring) equal the overview's JSON
    overview = json.loads((data_dir / "reports" / "2026-11-27" / "overview.json").read_text())
    totals = overview["totals"]
    stages = {s["key"]: s["count"] for s in totals["funnel"]["stages"]}
    rates = {r["key"]: r["value"] for r in totals["funnel"]["rates"]}
    assert (totals["contacts"], stages["sent"], stages["delivered"], stages["read"]) == (
        18, 9, 7, 5,
    )  # fmt: skip
    assert rates["delivery_rate"] == pytest.approx(7 / 9)
    for line in ("Contacts: 18", "reached Sent: 9", "reached Delivered: 7", "reached Read: 5",
                 "Delivery rate: 77.8 %", "Read rate: 71.4 %", "Read of sent: 55.6 %",
                 f"Failed: {totals['failed']}", f"Stuck: {totals['stuck']}",
                 "Campaigns: 3 (1 stale)"):  # fmt: skip
        assert line in text.replace("\u00a0", " "), line  # rates print a no-break space
    assert totals["failed"] == 3


def test_sent_once_per_day_and_recipient_resend_forces(data_dir: Path) -> None:
    box = Mailbox()
    with smtp_server(box) as (host, port):
        cfg = config(data_dir, smtp_host=host, smtp_port=port, starttls=False,
                     to=("ana@example.com",))  # fmt: skip
        send_digest(cfg, day=REPORT_DAY, environ={})
        again = send_digest(cfg, day=REPORT_DAY, environ={})
        assert len(box.received) == 1 and again.count("skipped") == 1
        # a recipient added later gets it; the first one still not twice
        more = replace(cfg, digest=replace(cfg.digest, to=("ana@example.com", "new@example.com")))
        send_digest(more, day=REPORT_DAY, environ={})
        assert [r[1] for r in box.received] == [["ana@example.com"], ["new@example.com"]]
        send_digest(cfg, day=REPORT_DAY, resend=True, environ={})
        assert len(box.received) == 3
    sent = [r for r in DigestLog(data_dir).records() if r["status"] == "sent"]
    assert [(r["day"], r["recipient"]) for r in sent] == [
        ("2026-11-27", "ana@example.com"), ("2026-11-27", "new@example.com"),
        ("2026-11-27", "ana@example.com"),
    ]  # fmt: skip


def test_a_4xx_is_retried_then_sent_a_5xx_is_not(data_dir: Path) -> None:
    box = Mailbox(fail_next=1)
    waits: list[float] = []
    with smtp_server(box) as (host, port):
        cfg = config(data_dir, smtp_host=host, smtp_port=port, starttls=False,
                     to=("ana@example.com",), retry_seconds=2.0)  # fmt: skip
        result = send_digest(cfg, day=REPORT_DAY, environ={}, sleep=waits.append)
        assert result.ok and result.deliveries[0].attempts == 2 and waits == [2.0]
        assert len(box.received) == 1
        box.fail_next, box.fail_reply = 5, "554 5.7.1 Rejected"
        result = send_digest(cfg, day=REPORT_DAY, resend=True, environ={}, sleep=waits.append)
    assert not result.ok and result.deliveries[0].attempts == 1 and waits == [2.0]
    assert "554" in (result.deliveries[0].error or "")


def test_starttls_and_login_secret_never_logged(data_dir: Path, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    box = Mailbox(password=PASSWORD)
    env = {"CAMPAIGN_REPORTS_SMTP_USERNAME": "robot", "CAMPAIGN_REPORTS_SMTP_PASSWORD": PASSWORD}
    with smtp_server(box, tls=(cert, key)) as (host, port):
        cfg = config(data_dir, smtp_host=host, smtp_port=port, ca_file=str(cert),
                     to=("ana@example.com",))  # fmt: skip
        assert send_digest(cfg, day=REPORT_DAY, environ=env).ok
        assert box.logins == ["robot"] and len(box.received) == 1
        # a wrong password: refused (535), not retried, and the password is in no message
        wrong = {**env, "CAMPAIGN_REPORTS_SMTP_PASSWORD": PASSWORD + "x"}
        failed = send_digest(cfg, day=REPORT_DAY, resend=True, environ=wrong)
        # without our CA the server's certificate does not verify: nothing is sent
        untrusted = replace(cfg, digest=replace(cfg.digest, ca_file=""))
        unverified = send_digest(untrusted, day=REPORT_DAY, resend=True, environ=env)
    assert not failed.ok and failed.deliveries[0].attempts == 1
    assert "535" in (failed.deliveries[0].error or "")
    assert "certificate" in (unverified.deliveries[0].error or "")
    assert len(box.received) == 1
    assert PASSWORD not in (data_dir / "logs" / "digest.jsonl").read_text()


def test_webhook_payload_retried_on_5xx(data_dir: Path) -> None:
    hook = Hook(statuses=[503, 429])
    with webhook_server(hook) as base:
        env = {"CAMPAIGN_REPORTS_DIGEST_WEBHOOK_URL": f"{base}/hooks/{HOOK_TOKEN}"}
        result = send_digest(config(data_dir), day=REPORT_DAY, environ=env, sleep=lambda s: None)
    assert result.ok and result.deliveries[0].attempts == 3  # 503, 429, then 200
    path, body = hook.posts[-1]
    assert path == f"/hooks/{HOOK_TOKEN}"
    assert body["text"].startswith("Campaign report 2026-11-27: 3 need attention")
    assert body["blocks"][0]["text"]["text"] == "Campaign report 2026-11-27: 3 need attention"
    d = body["digest"]
    assert [a["rank"] for a in d["attention"]] == [1, 2, 3]
    assert d["attention"][0]["campaign"] == "Alpha & <Promo>"
    assert d["attention"][1]["campaign"] == "beta"  # no name: the id
    assert d["attention"][2]["link"] is None  # the remote URL was dropped
    t = d["totals"]
    assert (t["contacts"], t["reached_sent"], t["reached_delivered"], t["reached_read"]) == (
        18, 9, 7, 5,
    )  # fmt: skip
    assert t["read_of_sent"] == pytest.approx(5 / 9)
    assert HOOK_TOKEN not in (data_dir / "logs" / "digest.jsonl").read_text()


def test_cli_failure_shows_in_status_without_secrets(data_dir: Path) -> None:
    """Through the real command: a webhook that keeps answering 500 and an SMTP server that
    refuses the login; exit 1, status lists both, and no secret is printed or written."""
    hook = Hook(statuses=[500] * 10)
    box = Mailbox()
    toml = data_dir.parent / "c.toml"
    with webhook_server(hook) as base, smtp_server(box) as (host, port):
        toml.write_text(
            f'timezone = "Europe/Prague"\n[digest]\nsmtp_host = "{host}"\nsmtp_port = {port}\n'
            'starttls = false\nfrom = "reports@example.com"\nto = ["ana@example.com"]\n'
            "retry_seconds = 0\nmax_attempts = 2\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO),
               "CAMPAIGN_REPORTS_DIGEST_WEBHOOK_URL": f"{base}/hooks/{HOOK_TOKEN}",
               "CAMPAIGN_REPORTS_SMTP_USERNAME": "robot",
               "CAMPAIGN_REPORTS_SMTP_PASSWORD": PASSWORD}  # fmt: skip
        cmd = [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), "--config",
               str(toml)]  # fmt: skip
        sent = subprocess.run([*cmd, "digest", "--date", "2026-11-27"], env=env,
                              capture_output=True, text=True)  # fmt: skip
        status = subprocess.run([*cmd, "status"], env=env, capture_output=True, text=True)
    assert sent.returncode == 1, sent.stderr
    assert len(hook.posts) == 2  # two attempts, both 500
    assert "webhook answered HTTP 500 (transient, after 2 attempt(s))" in sent.stdout
    problems = [ln for ln in status.stdout.splitlines() if "PROBLEM digest" in ln]
    assert len(problems) == 2, status.stdout
    assert "2026-11-27 to webhook" in problems[1] and "ana@example.com" in problems[0]
    everything = sent.stdout + sent.stderr + status.stdout + status.stderr
    everything += "".join(p.read_text() for p in (data_dir / "logs").glob("*.jsonl"))
    assert HOOK_TOKEN not in everything and PASSWORD not in everything


def test_missing_attention_view_is_named(data_dir: Path) -> None:
    import duckdb

    from pipeline.warehouse.db import warehouse_paths

    cfg = config(data_dir, to=("ana@example.com",))
    con = duckdb.connect(str(warehouse_paths(cfg)[1]))
    con.execute("DROP MACRO TABLE attention")
    con.close()
    # the day's data (the pages' own) reads the view first: a warehouse without it predates this
    # version, and the message says so and what to run
    from pipeline.core.errors import PipelineError

    with pytest.raises(PipelineError, match=r"attention does not exist") as caught:
        compose_digest(cfg, REPORT_DAY)
    assert "run `campaign-reports build`" in str(caught.value)


def test_report_job_with_digest_sends_and_its_retry_sends_only_the_missing(data_dir: Path) -> None:
    """kind = "report" with digest = true, run by the scheduler on a frozen clock: the first
    recipient's send is refused for good (554), so the run fails; the scheduler's retry sends to
    that recipient only."""
    from schedule_helpers import FakeClock, job, utc

    from pipeline.core.config import ScheduleConfig
    from pipeline.core.console import Console
    from pipeline.schedule.runner import Scheduler
    from pipeline.store.runlog import RunLog

    box = Mailbox(fail_next=1, fail_reply="554 5.7.1 Rejected")
    clock = FakeClock(utc(2026, 11, 28, 5, 30))  # 06:30 in Prague: the report of the 27th is due
    with smtp_server(box) as (host, port):
        cfg = replace(
            config(data_dir, smtp_host=host, smtp_port=port, starttls=False,
                   to=("ana@example.com", "lead@example.com")),
            jobs=(job("report", "0 6 * * *", digest=True, build_first=False),),
            schedule=ScheduleConfig(catch_up_days=1, retry_minutes=10),
        )  # fmt: skip
        s = Scheduler(cfg, Console.silent(), clock=clock, sleep=clock.sleep)
        (first,) = s.run_due()
        assert first.status == "failed" and "554" in (first.error or "")
        assert [r[1] for r in box.received] == [["lead@example.com"]]
        clock.advance(minutes=11)
        (retry,) = s.run_due()
    assert retry.status == "ok" and retry.reason == "retry"
    assert [r[1] for r in box.received] == [["lead@example.com"], ["ana@example.com"]]
    assert {r[2]["Subject"] for r in box.received} == {
        "Campaign report 2026-11-27: 3 need attention"
    }
    logged = RunLog(data_dir).records()[-1].detail["digest"]
    assert logged == {"day": "2026-11-27", "attention": 3, "sent": 1, "skipped": 1, "failed": 0}
