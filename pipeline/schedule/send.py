"""Deliver a digest: SMTP (with STARTTLS and a login from the environment) and an incoming
webhook, each try classified as done, worth retrying, or hopeless.

Transient (retried, a bounded number of times with a doubling wait): an SMTP 4xx reply, a
dropped or refused connection, a timeout; a webhook's HTTP 429 or 5xx, or a connection error.
Anything else (an SMTP 5xx, a refused login, a certificate that does not verify, a webhook 4xx)
fails at once. Error texts are built here from codes and our own words, never from an
exception's text that could carry the webhook URL, and every secret is masked out of them.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from pipeline.core.clock import now
from pipeline.core.config import Secret
from pipeline.core.digest_config import SMTP_PASSWORD_ENV, DigestConfig


class SendFailed(Exception):
    """One try failed; ``transient`` says whether another try may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def mask(text: str, secrets: Iterable[Secret | None]) -> str:
    """``text`` with every secret's value replaced by ********."""
    for s in secrets:
        if s:
            text = text.replace(s.reveal(), "********")
    return text


def with_retries(
    attempt: Callable[[], None],
    *,
    max_attempts: int,
    first_wait: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, str | None]:
    """Call ``attempt`` until it succeeds, fails for good, or ``max_attempts`` are used.
    Returns (attempts made, the last error or None)."""
    for n in range(1, max_attempts + 1):
        try:
            attempt()
            return n, None
        except SendFailed as exc:
            if not exc.transient or n == max_attempts:
                kind = "transient, " if exc.transient else ""
                return n, f"{exc} ({kind}after {n} attempt(s))"
            sleep(min(first_wait * 2 ** (n - 1), 300.0))
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------------------- e-mail
def email_message(
    cfg: DigestConfig, recipient: str, subject: str, text: str, html: str
) -> EmailMessage:
    """A multipart/alternative message: the plain text part first, then the HTML part."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now())
    domain = parseaddr(cfg.sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid("digest", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def smtp_send(
    cfg: DigestConfig, msg: EmailMessage, recipient: str, environ: Mapping[str, str] | None = None
) -> None:
    """One try to hand ``msg`` to the SMTP server for ``recipient``; raises ``SendFailed``."""
    user, password = cfg.login(environ), cfg.password(environ)
    if user and not password:
        raise SendFailed(f"{SMTP_PASSWORD_ENV} is not set (a login is configured)", transient=False)
    where = f"SMTP {cfg.smtp_host}:{cfg.smtp_port}"
    try:
        with smtplib.SMTP(
            cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout, local_hostname=socket.gethostname()
        ) as smtp:
            smtp.ehlo()
            if cfg.starttls:
                smtp.starttls(context=_tls_context(cfg))
                smtp.ehlo()
            if user and password:
                smtp.login(user, password.reveal())
            smtp.send_message(msg, from_addr=parseaddr(cfg.sender)[1], to_addrs=[recipient])
    except smtplib.SMTPNotSupportedError:
        raise SendFailed(f"{where} does not offer STARTTLS", transient=False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        raise _reply_error(where, "refused the recipient", code, reply, password) from None
    except smtplib.SMTPResponseException as exc:
        raise _reply_error(where, "answered", exc.smtp_code, exc.smtp_error, password) from None
    except ssl.SSLCertVerificationError:
        raise SendFailed(f"{where}: its certificate does not verify", transient=False) from None
    except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out
        what = type(exc).__name__
        raise SendFailed(f"{where}: connection failed ({what})", transient=True) from None


def _tls_context(cfg: DigestConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cfg.ca_file or None)


def _reply_error(
    where: str, verb: str, code: int, reply: bytes | str, password: Secret | None
) -> SendFailed:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    text = mask(" ".join(text.split())[:120], [password])
    return SendFailed(f"{where} {verb} {code} {text}".rstrip(), transient=400 <= code < 500)


# ------------------------------------------------------------------------------------ webhook
def post_webhook(url: Secret, payload: dict[str, Any], *, timeout: float) -> None:
    """One try to post ``payload`` as JSON; raises ``SendFailed`` (never naming the URL)."""
    import httpx

    try:
        response = httpx.post(url.reveal(), json=payload, timeout=timeout)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise SendFailed("webhook: the URL is not a valid http(s) URL", transient=False) from None
    except httpx.HTTPError as exc:
        raise SendFailed(
            f"webhook: connection failed ({type(exc).__name__})", transient=True
        ) from None
    code = response.status_code
    if 200 <= code < 300:
        return
    raise SendFailed(f"webhook answered HTTP {code}", transient=code == 429 or code >= 500)
