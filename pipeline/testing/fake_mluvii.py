"""A fake mluvii public API over real HTTP, for tests and for trying ``export`` without credentials.

It speaks what is known of the vendor's API (``/work/shared/reference/mluvii-api.md``): the
token endpoint (form-urlencoded ``client_credentials`` -> ``access_token``, ``expires_in``), the
campaign list, one campaign, and a campaign's identities paged with ``offset``/``limit``; camelCase
JSON, string enums, ISO-8601 times with offsets; a missing, unknown or expired token is answered
with a 302 redirect to the login page, never a 401.

The tenant is generated from a seed: WhatsApp campaigns (and a phone campaign, which the export
must skip) whose contacts move through their states as the tenant's simulated clock moves.

A ``FaultPlan`` makes it misbehave on purpose (429 with Retry-After, 500/503 bursts, slow,
stalled and trickling responses, login redirects, cut-off or invalid JSON, dropped connections, contacts
inserted or removed while a client pages, unknown enum values). Every request is logged in
``FakeMluvii.log`` for tests to inspect.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

PRAGUE = ZoneInfo("Europe/Prague")
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>mluvii - Login</title></head>"
    b"<body><form method='post'><input name='username'><input name='password' type='password'>"
    b"</form></body></html>"
)
UNKNOWN_STATE = "WA_PENDING_OPT_IN"  # a value the catalog does not know (the vendor adds some)


# ------------------------------------------------------------------------------------- tenant
@dataclass
class FakeContact:
    id: int
    created: datetime
    transitions: list[tuple[datetime, str]]  # (from when, state), in time order

    def at(self, t: datetime) -> dict[str, Any]:
        """The CampaignIdentity JSON of this contact at time ``t``."""
        state = "INITIAL"
        retries = 0
        retry_at: datetime | None = None
        for i, (when, value) in enumerate(self.transitions):
            if when > t:
                break
            state = value
            if value == "RETRY_SCHEDULED":
                retries += 1
                nxt = self.transitions[i + 1][0] if i + 1 < len(self.transitions) else None
                retry_at = nxt
        if state != "RETRY_SCHEDULED":
            retry_at = None
        return {
            "id": self.id,
            "state": state,
            "created": _iso(self.created),
            "retryScheduledDate": _iso(retry_at) if retry_at else None,
            "retryCount": retries,
        }


@dataclass
class FakeCampaign:
    id: int
    name: str
    channel: str  # "WhatsApp" or "Phone"
    created: datetime
    started: datetime | None
    finished: datetime | None
    contacts: list[FakeContact]

    def model(self) -> dict[str, Any]:
        """The CampaignModel JSON."""
        return {
            "id": self.id,
            "departmentId": 1,
            "name": self.name,
            "description": f"Generated campaign {self.id}",
            "goal": "no_contacts",
            "channel": self.channel,
            "mode": "Automated" if self.channel == "WhatsApp" else "Preview",
            "pickupRate": None,
            "created": _iso(self.created),
            "started": _iso(self.started) if self.started else None,
            "finished": _iso(self.finished) if self.finished else None,
            "contactInfoField": "oo1_guest_phone",
            "identityIds": [c.id for c in self.contacts],
        }


def _ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _iso(t: datetime) -> str:
    """ISO-8601 with the Prague offset and milliseconds, as a .NET DateTimeOffset serialises."""
    return t.astimezone(PRAGUE).isoformat(timespec="milliseconds")


_OUTCOMES: list[tuple[float, list[str]]] = [
    (0.30, ["CALLING", "WA_SENT", "WA_DELIVERED", "WA_READ"]),
    (0.22, ["CALLING", "WA_SENT", "WA_DELIVERED"]),
    (0.10, ["CALLING", "WA_SENT"]),
    (0.06, ["CALLING", "WA_SENT", "WA_DELIVERY_FAILED"]),
    (0.05, ["RETRY_SCHEDULED", "RETRY_SCHEDULED", "WA_SEND_FAILED"]),
    (0.03, ["RETRY_SCHEDULED", "FAILING"]),
    (0.03, ["INVALID_RECORD"]),
    (0.02, ["REMOVED"]),
    (0.02, ["CANCELLED_BY_ADMIN"]),
    (0.03, ["SUCCESS"]),
    (0.14, []),  # never sent: stays INITIAL
]


class FakeTenant:
    """A deterministic generated tenant. ``now`` is its simulated clock (set it, or ``advance``)."""

    def __init__(
        self,
        *,
        seed: int = 7,
        sizes: tuple[int, ...] = (250, 1200, 40),
        phone_campaign: bool = True,
        finished: tuple[int, ...] = (),
        start: datetime = datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
        now: datetime | None = None,
        unknown_every: int = 0,
    ) -> None:
        """``sizes``: contacts per WhatsApp campaign (ids 101, 102, ...); ``finished``: indexes of
        campaigns that finished a day after ``start``; ``unknown_every``: every n-th contact ends
        in a state value the catalog does not know."""
        rng = random.Random(seed)
        self.start = start
        self.now = now or start + timedelta(hours=12)
        self.campaigns: dict[int, FakeCampaign] = {}
        self._next_contact = 1_000_000
        self._lock = threading.Lock()
        for i, size in enumerate(sizes):
            cid = 101 + i
            started = start + timedelta(minutes=rng.randint(0, 120))
            contacts = [self._contact(rng, started) for _ in range(size)]
            self.campaigns[cid] = FakeCampaign(
                id=cid,
                name=f"WhatsApp campaign {cid}",
                channel="WhatsApp",
                created=_ms(started - timedelta(days=1)),
                started=_ms(started),
                finished=_ms(start + timedelta(days=1)) if i in finished else None,
                contacts=contacts,
            )
        if phone_campaign:
            self.campaigns[900] = FakeCampaign(
                id=900,
                name="Phone campaign 900",
                channel="Phone",
                created=start,
                started=start,
                finished=None,
                contacts=[self._contact(rng, start) for _ in range(5)],
            )
        if unknown_every:
            self.inject_unknown_states(UNKNOWN_STATE, every=unknown_every)

    def _contact(self, rng: random.Random, started: datetime) -> FakeContact:
        self._next_contact += rng.randint(1, 3)
        created = _ms(started - timedelta(seconds=rng.randint(60, 7200)))
        r = rng.random()
        path: list[str] = []
        for weight, outcome in _OUTCOMES:
            if r < weight:
                path = outcome
                break
            r -= weight
        t = started + timedelta(seconds=rng.uniform(0, 6 * 3600))
        transitions = []
        for state in path:
            transitions.append((_ms(t), state))
            t += timedelta(seconds=rng.expovariate(1 / 900) + 1)
        return FakeContact(id=self._next_contact, created=created, transitions=transitions)

    # ---------------------------------------------------------------------------- changing it
    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def inject_unknown_states(self, value: str = UNKNOWN_STATE, *, every: int = 10) -> None:
        """Every n-th contact of each campaign moves into ``value`` right after the start."""
        for camp in self.campaigns.values():
            for contact in camp.contacts[::every]:
                contact.transitions = [(self.start + timedelta(minutes=1), value)]

    def insert_contacts(self, campaign_id: int, count: int, *, position: int = 0) -> list[int]:
        """New contacts at ``position`` in the API's order (0: in front of everything paged)."""
        with self._lock:
            camp = self.campaigns[campaign_id]
            rng = random.Random(self._next_contact)
            new = [self._contact(rng, camp.started or self.start) for _ in range(count)]
            camp.contacts[position:position] = new
            return [c.id for c in new]

    def remove_contacts(self, campaign_id: int, count: int, *, position: int = 0) -> list[int]:
        with self._lock:
            camp = self.campaigns[campaign_id]
            gone = camp.contacts[position : position + count]
            del camp.contacts[position : position + count]
            return [c.id for c in gone]

    # ------------------------------------------------------------------------------- reading
    def whatsapp_ids(self) -> list[int]:
        return [c.id for c in self.campaigns.values() if c.channel == "WhatsApp"]

    def identities(self, campaign_id: int, at: datetime | None = None) -> list[dict[str, Any]]:
        """Every identity of a campaign at a time (default ``now``): what a perfect export sees."""
        t = at or self.now
        return [c.at(t) for c in self.campaigns[campaign_id].contacts]

    def page(self, campaign_id: int, offset: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            contacts = self.campaigns[campaign_id].contacts[offset : offset + limit]
        t = self.now
        return [c.at(t) for c in contacts]


# -------------------------------------------------------------------------------------- faults
FAULT_KINDS = (
    "status",  # answer ``status`` (with ``retry_after`` as Retry-After)
    "redirect",  # 302 to the login page, as for a missing token
    "html",  # 200 with the HTML login page
    "revoke",  # every token issued so far stops working (then: the login redirect)
    "slow",  # wait ``delay`` seconds before answering
    "stall",  # answer nothing until the client hangs up (a timeout) or the server stops
    "trickle",  # send the body ``chunk`` bytes at a time, ``delay`` seconds apart
    "truncate",  # promise the whole body, send half, close the connection
    "bad_json",  # a well-framed body that is half the JSON
    "drop",  # close the connection without an answer
)


@dataclass
class Fault:
    kind: str
    path: str = ""  # regex searched in the lower-case path; "" matches every API request
    times: int = 1  # how many matching requests it hits (then it is spent)
    skip: int = 0  # let this many matching requests through first
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    chunk: int = 16
    token_endpoint: bool = False  # match the token endpoint instead of the API
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


@dataclass
class Mutation:
    """Change a campaign's contacts when a client asks for the page at ``at_offset``."""

    campaign_id: int
    at_offset: int
    insert: int = 0
    remove: int = 0
    position: int = 0
    times: int = 1
    hits: int = 0


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    mutations: list[Mutation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(kind, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def mutate(self, campaign_id: int, at_offset: int, **kwargs: Any) -> Mutation:
        m = Mutation(campaign_id, at_offset, **kwargs)
        with self._lock:
            self.mutations.append(m)
        return m

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.mutations.clear()

    def take(self, path: str, *, token_endpoint: bool) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.token_endpoint != token_endpoint or f.times <= 0:
                    continue
                if f.path and not re.search(f.path, path.lower()):
                    continue
                if f.skip > 0:
                    f.skip -= 1
                    continue
                f.times -= 1
                f.hits += 1
                return f
        return None

    def take_mutations(self, campaign_id: int, offset: int) -> list[Mutation]:
        with self._lock:
            out = []
            for m in self.mutations:
                if m.campaign_id == campaign_id and m.at_offset == offset and m.times > 0:
                    m.times -= 1
                    m.hits += 1
                    out.append(m)
            return out


PRESETS: dict[str, Callable[[FaultPlan], object]] = {
    "rate-limit": lambda p: p.add("status", status=429, retry_after="1", times=3, skip=2),
    "server-errors": lambda p: p.add("status", status=503, times=4, skip=3),
    "login-redirect": lambda p: p.add("revoke", path="identities", skip=4),
    "slow": lambda p: p.add("slow", delay=0.5, times=5),
    "truncated": lambda p: p.add("truncate", path="identities", times=2, skip=1),
}


# -------------------------------------------------------------------------------------- server
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
        return len(self.requests("/login/connect/token", "POST"))

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
        split = urlsplit(h.path)
        path = split.path
        params = {k.lower(): v[-1] for k, v in parse_qs(split.query).items()}
        lower = path.lower().rstrip("/")
        is_token = lower == "/login/connect/token"
        body_in = b""
        length = int(h.headers.get("content-length") or 0)
        if length:
            body_in = h.rfile.read(length)
        entry = self._arrived(method, path, params)
        fault = self.faults.take(path, token_endpoint=is_token)
        kind = fault.kind if fault else None

        if fault is not None and kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and kind == "drop":
            entry.done(0, fault)
            h.close_connection = True
            return
        if fault is not None and kind == "stall":
            self._stall(h)
            entry.done(0, fault)
            h.close_connection = True
            return
        if fault is not None and kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            body = json.dumps({"error": f"fault {fault.status}"}).encode()
            entry.done(fault.status, fault)
            h.reply(fault.status, body, headers=headers)
            return
        if fault is not None and kind == "redirect":
            entry.done(302, fault)
            self._login_redirect(h, path)
            return
        if fault is not None and kind == "html":
            entry.done(200, fault)
            h.reply(200, LOGIN_PAGE, ctype="text/html; charset=utf-8")
            return
        if fault is not None and kind == "revoke":
            self.revoke_tokens()

        if is_token and method == "POST":
            status, payload = self._token(body_in)
            entry.done(status, fault)
            h.reply(status, json.dumps(payload).encode())
            return
        if lower == "/login" and method == "GET":
            entry.done(200, fault)
            h.reply(200, LOGIN_PAGE, ctype="text/html; charset=utf-8")
            return
        if not lower.startswith("/api/"):
            entry.done(404, fault)
            h.reply(404, b'{"error":"not found"}')
            return
        if not self._authorized(h.headers.get("authorization", "")):
            entry.done(302, fault)
            self._login_redirect(h, path)
            return
        status, payload = self._api(method, lower, params)
        body = json.dumps(payload, separators=(",", ":")).encode()
        entry.done(status, fault)
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
            return 200, [c.model() for c in self.tenant.campaigns.values()]
        if len(parts) >= 2 and parts[0] == "campaigns":
            try:
                cid = int(parts[1])
            except ValueError:
                return 400, {"campaignId": ["The value is not valid."]}
            if cid not in self.tenant.campaigns:
                return 404, {"error": "campaign not found"}
            if len(parts) == 2:
                return 200, self.tenant.campaigns[cid].model()
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
                return 200, self.tenant.page(cid, offset, limit)
        return 404, {"error": "not found"}


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
