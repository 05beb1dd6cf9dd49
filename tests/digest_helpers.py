"""Real receivers on loopback for the digest tests: an SMTP server (aiosmtpd, optionally with
STARTTLS and a login) and an HTTP webhook receiver; and a stand-in ``attention`` macro written
into a built warehouse's analyst copy, with hand-written rows."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.core.config import Config
from pipeline.warehouse.db import warehouse_paths

# The stand-in rows: the columns of queries/views/attention.sql. One row of another day
# (2026-11-26) must never show; the third row's link is a remote URL, which the digest drops.
ATTENTION_ROWS = """
    (DATE '2026-11-27', 'alpha', 'Alpha & <Promo>', 'failed_share', 'Sending failed 27.3 %',
     '3 of 11 contacts failed', 0.273, 0.2, 'high', 1, DATE '2026-11-26',
     'campaign-alpha.html#states'),
    (DATE '2026-11-27', 'beta', NULL, 'unknown_state', 'Unknown state values',
     '1 contact in a state the catalog does not know', 1, 0, 'medium', 2, DATE '2026-11-27',
     'campaign-beta.html#quality'),
    (DATE '2026-11-27', NULL, NULL, 'stale', 'Stale campaigns', 'gamma: no snapshot for 2 days',
     1, 0, 'low', 3, DATE '2026-11-26', 'https://evil.example/x.png'),
    (DATE '2026-11-26', 'alpha', 'Alpha & <Promo>', 'failed_share', 'Yesterday only', '', 1, 0,
     'high', 1, DATE '2026-11-26', 'campaign-alpha.html')
"""


def add_attention_macro(cfg: Config, rows: str = ATTENTION_ROWS) -> None:
    """Write a stand-in ``attention(day, tz)`` into the analyst copy (the real view is built by
    queries/views/attention.sql on another branch)."""
    _, analyst = warehouse_paths(cfg)
    con = duckdb.connect(str(analyst))
    try:
        con.execute(
            "CREATE OR REPLACE MACRO attention(day := NULL, tz := NULL) AS TABLE "
            "SELECT d AS day, campaign_id, campaign_name, rule, title, detail, "
            "value::DOUBLE AS value, threshold::DOUBLE AS threshold, severity, "
            "rank::INTEGER AS rank, since, link "
            f"FROM (VALUES {rows}) AS t(d, campaign_id, campaign_name, rule, title, detail, "
            "value, threshold, severity, rank, since, link) WHERE d = CAST(day AS DATE)"
        )
    finally:
        con.close()


# ------------------------------------------------------------------------------------- SMTP
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received, and how it answers: ``fail_next`` DATA commands get
    ``fail_reply`` (e.g. "451 4.3.0 try again later")."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    fail_next: int = 0
    fail_reply: str = "451 4.3.0 Try again later"
    password: str = ""
    logins: list[str] = field(default_factory=list)
    tried: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tried += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.fail_reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == self.password
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # a refusal answers 535


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, made by the openssl command (a real subprocess)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def smtp_server(box: Mailbox, *, tls: tuple[Path, Path] | None = None) -> Iterator[tuple[str, int]]:
    """A real SMTP server on loopback; with ``tls`` (cert, key) it requires STARTTLS and a
    login with ``box.password``."""
    import ssl

    kw: dict[str, Any] = {}
    if tls is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        kw = {
            "tls_context": ctx,
            "require_starttls": True,
            "authenticator": box.authenticate,
            "auth_required": True,
        }
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield "127.0.0.1", port
    finally:
        controller.stop()


# ----------------------------------------------------------------------------------- webhook
@dataclass
class Hook:
    """What the webhook receiver got (path, JSON body), and the statuses it answers with
    (one per request, then 200)."""

    posts: list[tuple[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@contextmanager
def webhook_server(hook: Hook) -> Iterator[str]:
    """An HTTP server on loopback in a thread; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.posts.append((self.path, json.loads(body)))
            status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
