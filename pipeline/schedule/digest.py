"""Send the daily digest once per day and recipient, and remember every try.

``<data_dir>/logs/digest.jsonl`` gets one line per recipient per send (``JsonlLog``)::

    {"v": 1, "day": "2026-11-27", "channel": "email", "recipient": "a@example.com",
     "status": "sent", "attempts": 1, "error": null, "subject": "…", "attention": 3,
     "at": "2026-11-28T05:00:04Z", "trigger": "digest"}

A (day, channel, recipient) with a ``sent`` line is not sent again unless asked (``--resend``);
the webhook's recipient is the word ``webhook`` (its URL is a secret and is never written). A
``failed`` line with no later ``sent`` line for the same day and recipient is a problem that
``campaign-reports status`` shows. Sends hold ``logs/digest.lock``, so that two runs (the CLI
and the report job) never send the same day twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.core.clock import iso_utc, now
from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.durable import JsonlLog, file_lock
from pipeline.core.errors import PipelineError
from pipeline.report.digest import Digest, compose_digest, webhook_payload
from pipeline.schedule.send import (
    SendFailed,
    email_message,
    mask,
    post_webhook,
    smtp_send,
    with_retries,
)

DIGEST_LOG = Path("logs") / "digest.jsonl"
DIGEST_LOCK = Path("logs") / "digest.lock"
WEBHOOK = "webhook"


class DigestNotSent(PipelineError):
    """The digest has no recipient, or a recipient could not be reached."""


@dataclass
class Delivery:
    channel: str  # email | webhook
    recipient: str
    status: str  # sent | failed | skipped (sent before)
    attempts: int = 0
    error: str | None = None


@dataclass
class DigestResult:
    day: date
    subject: str
    attention: int
    deliveries: list[Delivery] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def summary(self) -> str:
        text = (
            f"digest {self.day}: {self.count('sent')} sent, {self.count('skipped')} already "
            f"sent, {self.count('failed')} failed ({self.subject})"
        )
        failed = [f"{d.recipient}: {d.error}" for d in self.deliveries if d.status == "failed"]
        return text + ("; " + "; ".join(failed) if failed else "")

    def detail(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "attention": self.attention,
            **{s: self.count(s) for s in ("sent", "skipped", "failed")},
        }


class DigestLog:
    """Read and append ``logs/digest.jsonl`` of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DIGEST_LOG
        self._log = JsonlLog(self.path)

    def records(self) -> list[dict[str, Any]]:
        return self._log.read()

    def sent(self, day: date) -> set[tuple[str, str]]:
        """The (channel, recipient) pairs the digest of ``day`` went out to."""
        return {
            (r.get("channel", ""), r.get("recipient", ""))
            for r in self.records()
            if r.get("day") == day.isoformat() and r.get("status") == "sent"
        }

    def append(self, record: dict[str, Any]) -> None:
        self._log.append(record)

    def problems(self) -> list[dict[str, Any]]:
        """The last failed try of each (day, channel, recipient) never sent since."""
        last: dict[tuple[str, str, str], dict[str, Any]] = {}
        for r in self.records():
            last[(r.get("day", ""), r.get("channel", ""), r.get("recipient", ""))] = r
        return [r for r in last.values() if r.get("status") == "failed"]


def targets(config: Config, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Whom the digest goes to: each ``to`` address (with an SMTP host), then the webhook."""
    cfg = config.digest
    out = [("email", a) for a in cfg.to] if cfg.email_configured else []
    if cfg.webhook_url(environ):
        out.append(("webhook", WEBHOOK))
    return out


def send_digest(
    config: Config,
    console: Console | None = None,
    *,
    day: date | None = None,
    resend: bool = False,
    trigger: str = "digest",
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DigestResult:
    """Compose the digest of ``day`` (default: the latest day with data) and send it to every
    recipient it has not gone to yet (all of them with ``resend``), recording each send."""
    console = console or Console.silent()
    todo = targets(config, environ)
    if not todo:
        raise DigestNotSent(
            "the digest has no recipient: set [digest] smtp_host, from and to in the config, "
            "or CAMPAIGN_REPORTS_DIGEST_WEBHOOK_URL in the environment"
        )
    digest = compose_digest(config, day)
    result = DigestResult(digest.day, digest.subject, digest.attention)
    log = DigestLog(config.data_dir)
    lock = Path(config.data_dir) / DIGEST_LOCK
    with file_lock(lock, "digest", busy=_busy, wait=60.0):
        done = set() if resend else log.sent(digest.day)
        for channel, recipient in todo:
            if (channel, recipient) in done:
                result.deliveries.append(Delivery(channel, recipient, "skipped"))
                continue
            delivery = _deliver(config, digest, channel, recipient, environ, sleep)
            result.deliveries.append(delivery)
            log.append(_record(digest, delivery, trigger))
            console.info(
                f"digest {digest.day} to {recipient}: {delivery.status}"
                + (f": {delivery.error}" if delivery.error else "")
            )
    return result


def _busy(holder: str) -> Exception:
    return DigestNotSent(f"another digest is being sent ({holder}); try again when it is done")


def _deliver(
    config: Config,
    digest: Digest,
    channel: str,
    recipient: str,
    environ: Mapping[str, str] | None,
    sleep: Callable[[float], None],
) -> Delivery:
    cfg = config.digest
    secrets = [cfg.password(environ), cfg.webhook_url(environ)]
    if channel == "email":
        msg = email_message(cfg, recipient, digest.subject, digest.text, digest.html)

        def attempt() -> None:
            smtp_send(cfg, msg, recipient, environ)
    else:
        url, payload = cfg.webhook_url(environ), webhook_payload(digest)

        def attempt() -> None:
            if url is None:
                raise SendFailed("webhook: no URL", transient=False)
            post_webhook(url, payload, timeout=cfg.timeout)

    attempts, error = with_retries(
        attempt, max_attempts=cfg.max_attempts, first_wait=cfg.retry_seconds, sleep=sleep
    )
    status = "failed" if error else "sent"
    return Delivery(channel, recipient, status, attempts, mask(error, secrets) if error else None)


def _record(digest: Digest, d: Delivery, trigger: str) -> dict[str, Any]:
    return {
        "v": 1,
        "day": digest.day.isoformat(),
        "channel": d.channel,
        "recipient": d.recipient,
        "status": d.status,
        "attempts": d.attempts,
        "error": d.error,
        "subject": digest.subject,
        "attention": digest.attention,
        "at": iso_utc(now()),
        "trigger": trigger,
    }
