"""A fake mluvii public API over real HTTP, for tests and for trying ``export`` without credentials.

It speaks what is known of the vendor's API (``/work/shared/reference/mluvii-api.md``): the
token endpoint (form-urlencoded ``client_credentials`` -> ``access_token``, ``expires_in``), the
campaign list, one campaign, and a campaign's identities paged with ``offset``/``limit``; camelCase
JSON, string enums, ISO-8601 times with offsets; a missing, unknown or expired token is answered
with a 302 redirect to the login page, never a 401.

It serves a ``FakeTenant`` (``pipeline.testing.tenant``). A ``FaultPlan``
(``pipeline.testing.faults``) makes it misbehave on purpose. Every request is logged in
``FakeMluvii.log`` for tests to inspect.
"""

from __future__ import annotations

import json
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from pipeline.testing.faults import Fault, FaultPlan
from pipeline.testing.tenant import FakeCampaign, FakeTenant

LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>mluvii - Login</title></head>"
    b"<body><form method='post'><input name='username'><input name='password' type='password'>"
    b"</form></body></html>"
)
MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>mluvii - Maintenance</title></head>"
    b"<body><h1>We will be back soon</h1><p>mluvii is down for scheduled maintenance.</p>"
    b"</body></html>"
)
TOKEN_PATH = "/login/connect/token"


@dataclass
class LoggedRequest:
    method: str
    path: str
    params: dict[str, str]
    status: int
    fault: str | None
    at: float  # time.monotonic() when it arrived

    def done(self, status: int, fault: Fault | None) -> None:
        self.status = status
        self.fault = fault.kind if fault else None


@dataclass
class _Request:
    """One request as it arrived, with its log entry and the fault (if any) that hits it."""

    method: str
    path: str
    lower: str  # the path in lower case, without a trailing slash
    params: dict[str, str]
    body: bytes
    entry: LoggedRequest
    fault: Fault | None

    @property
    def is_token(self) -> bool:
        return self.lower == TOKEN_PATH


class FakeMluvii:
    """The fake API server. ``start()`` serves on 127.0.0.1 in a thread; use it as a context."""

    def __init__(
        self,
        tenant: FakeTenant | None = None,
        *,
        client_id: str = "fake-client",
        client_secret: str = "fake-secret",
        token_lifetime: float = 3600.0,
        token_factory: Callable[[], str] | None = None,
        token_clock: Callable[[], float] = time.monotonic,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        self.tenant = tenant or FakeTenant()
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_lifetime = token_lifetime
        self._token_factory = token_factory or (lambda: secrets.token_urlsafe(24))
        self._token_clock = token_clock
        self.faults = faults or FaultPlan()
        self.log: list[LoggedRequest] = []
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._host = host
        self._on_request = on_request
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"FakeMluvii(url={self.url if self._server else None!r})"

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None, "the fake server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeMluvii:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer((self._host, self._port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-mluvii", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeMluvii:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (``campaign-reports fake-api``); starts the server if needed."""
        if self._server is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    # ---------------------------------------------------------------------------- inspecting
    def requests(self, path: str = "", method: str | None = None) -> list[LoggedRequest]:
        """Logged requests whose path contains ``path`` (case-insensitive)."""
        with self._lock:
            items = list(self.log)
        return [
            r
            for r in items
            if path.lower() in r.path.lower() and (method is None or r.method == method)
        ]

    @property
    def token_requests(self) -> int:
        return len(self.requests(TOKEN_PATH, "POST"))

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # ---------------------------------------------------------------------------- handling
    def _arrived(self, method: str, path: str, params: dict[str, str]) -> LoggedRequest:
        entry = LoggedRequest(method, path, params, 0, None, time.monotonic())
        with self._lock:
            self.log.append(entry)
        return entry

    def handle(self, h: _Handler, method: str) -> None:
        if self._on_request is not None:
            self._on_request()
        req = self._receive(h, method)
        if self._answer_fault(h, req):
            return
        self._answer(h, req)

    def _receive(self, h: _Handler, method: str) -> _Request:
        """Parse the request, read its body, log it and take the fault that hits it."""
        split = urlsplit(h.path)
        path = split.path
        params = {k.lower(): v[-1] for k, v in parse_qs(split.query).items()}
        lower = path.lower().rstrip("/")
        body_in = b""
        length = int(h.headers.get("content-length") or 0)
        if length:
            body_in = h.rfile.read(length)
        entry = self._arrived(method, path, params)
        fault = self.faults.take(path, token_endpoint=lower == TOKEN_PATH)
        return _Request(method, path, lower, params, body_in, entry, fault)

    def _answer_fault(self, h: _Handler, req: _Request) -> bool:
        """Faults that act before the request is served; True if one answered it instead."""
        fault = req.fault
        if fault is None:
            return False
        if fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault.kind in ("drop", "stall"):
            if fault.kind == "stall":
                self._stall(h)
            req.entry.done(0, fault)
            h.close_connection = True
            return True
        elif fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            body = json.dumps({"error": f"fault {fault.status}"}).encode()
            req.entry.done(fault.status, fault)
            h.reply(fault.status, body, headers=headers)
            return True
        elif fault.kind == "redirect":
            req.entry.done(302, fault)
            self._login_redirect(h, req.path)
            return True
        elif fault.kind == "html":
            req.entry.done(200, fault)
            h.reply(200, LOGIN_PAGE, ctype="text/html; charset=utf-8")
            return True
        elif fault.kind == "maintenance":
            req.entry.done(fault.status, fault)
            h.reply(fault.status, MAINTENANCE_PAGE, ctype="text/html; charset=utf-8")
            return True
        elif fault.kind == "revoke":
            self.revoke_tokens()
        return False

    def _answer(self, h: _Handler, req: _Request) -> None:
        """Serve the token endpoint, the login page or the API (behind a valid token)."""
        fault = req.fault
        if req.is_token and req.method == "POST":
            status, payload = self._token(req.body)
            req.entry.done(status, fault)
            h.reply(status, json.dumps(payload).encode())
            return
        if req.lower == "/login" and req.method == "GET":
            req.entry.done(200, fault)
            h.reply(200, LOGIN_PAGE, ctype="text/html; charset=utf-8")
            return
        if not req.lower.startswith("/api/"):
            req.entry.done(404, fault)
            h.reply(404, b'{"error":"not found"}')
            return
        if not self._authorized(h.headers.get("authorization", "")):
            req.entry.done(302, fault)
            self._login_redirect(h, req.path)
            return
        status, payload = self._api(req.method, req.lower, req.params)
        body = json.dumps(payload, separators=(",", ":")).encode()
        req.entry.done(status, fault)
        self._send_api(h, status, body, fault)

    def _send_api(self, h: _Handler, status: int, body: bytes, fault: Fault | None) -> None:
        """An API answer, spoiled by a body fault (truncate, bad_json, trickle) if one hits it."""
        kind = fault.kind if fault else None
        if fault is not None and kind == "truncate":
            h.reply(status, body[: len(body) // 2], length=len(body))
            h.close_connection = True
        elif fault is not None and kind == "bad_json":
            h.reply(status, body[: len(body) // 2])
        elif fault is not None and kind == "trickle":
            h.reply(status, body, chunk=fault.chunk, delay=fault.delay)
        else:
            h.reply(status, body)

    def _stall(self, h: _Handler) -> None:
        """Wait, answering nothing, until the client closes the connection or sends more."""
        while not self._stopping.is_set():
            readable, _, _ = select.select([h.connection], [], [], 0.05)
            if readable:
                return

    def _login_redirect(self, h: _Handler, path: str) -> None:
        h.reply(
            302,
            b"<html><body>Object moved</body></html>",
            ctype="text/html; charset=utf-8",
            headers={"Location": "/login?ReturnUrl=" + quote(path, safe="")},
        )

    def _token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self._client_secret
        ):
            return 400, {"error": "invalid_client"}
        token = self._token_factory()
        with self._lock:
            self._tokens[token] = self._token_clock() + self.token_lifetime
        return 200, {
            "access_token": token,
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
            "scope": "mluviiPublicApi",
        }

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self._lock:
            expires = self._tokens.get(token.strip())
        return expires is not None and self._token_clock() < expires

    def _api(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if method != "GET":
            return 405, {"error": "method not allowed"}
        parts = path.split("/")[3:]  # after /api/v1
        if parts == ["campaigns"]:
            return 200, [self._model(c) for c in self.tenant.campaigns.values()]
        if len(parts) >= 2 and parts[0] == "campaigns":
            try:
                cid = int(parts[1])
            except ValueError:
                return 400, {"campaignId": ["The value is not valid."]}
            if cid not in self.tenant.campaigns:
                return 404, {"error": "campaign not found"}
            if len(parts) == 2:
                return 200, self._model(self.tenant.campaigns[cid])
            if parts[2:] == ["identities"]:
                try:
                    offset = int(params.get("offset", "0"))
                    limit = int(params.get("limit", "100"))
                except ValueError:
                    return 400, {"offset": ["The value is not valid."]}
                for m in self.faults.take_mutations(cid, offset):
                    if m.remove:
                        self.tenant.remove_contacts(cid, m.remove, position=m.position)
                    if m.insert:
                        self.tenant.insert_contacts(cid, m.insert, position=m.position)
                cap = self.faults.page_cap
                offset = 0 if self.faults.ignore_offset else offset
                page = self.tenant.page(cid, offset, min(limit, cap) if cap else limit)
                return 200, self.faults.rewritten(cid, offset, page)
        return 404, {"error": "not found"}

    def _model(self, campaign: FakeCampaign) -> dict[str, Any]:
        model = campaign.model()
        if self.faults.hide_identity_ids:
            del model["identityIds"]
        return model


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeMluvii

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces it
        pass

    def do_GET(self) -> None:
        self._safely("GET")

    def do_POST(self) -> None:
        self._safely("POST")

    def _safely(self, method: str) -> None:
        try:
            self.fake.handle(self, method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): nothing to do

    def reply(
        self,
        status: int,
        body: bytes,
        *,
        ctype: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
        length: int | None = None,
        chunk: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if chunk:
            for i in range(0, len(body), chunk):
                self.wfile.write(body[i : i + chunk])
                self.wfile.flush()
                time.sleep(delay)
        else:
            self.wfile.write(body)
        self.wfile.flush()


@contextmanager
def running(tenant: FakeTenant | None = None, **kwargs: Any) -> Iterator[FakeMluvii]:
    """``with running(tenant) as fake: ...`` serves on an ephemeral loopback port."""
    fake = FakeMluvii(tenant, **kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
