"""The fake mluvii API's misbehaviour on purpose: faults, contact mutations, and presets.

A ``FaultPlan`` makes the fake server misbehave (429 with Retry-After, 500/503 bursts, maintenance
pages, slow, stalled and trickling responses, login redirects, cut-off or invalid JSON, dropped
connections, a silent cap on the page size, campaigns without ``identityIds``, identities served
with hostile fields) and changes a
campaign's contacts while a client pages (``Mutation``: contacts inserted or removed).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = (
    "status",  # answer ``status`` (with ``retry_after`` as Retry-After)
    "redirect",  # 302 to the login page, as for a missing token
    "html",  # 200 with the HTML login page
    "maintenance",  # ``status`` (default 503) with an HTML maintenance page
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
    #: Serve at most this many identities per page, whatever ``limit`` asks (a silent cap).
    page_cap: int | None = None
    #: Leave ``identityIds`` out of the campaign models (the list of one campaign's contacts).
    hide_identity_ids: bool = False
    #: Answer every identities page from offset 0 (a server that ignores ``offset``).
    ignore_offset: bool = False
    #: Fields served in place of an identity's own: (campaign id, position in the campaign's
    #: contacts) -> fields, e.g. ``{"id": 1.5}`` or ``{"state": ["WA_READ"]}`` (hostile JSON).
    rewrites: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

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

    def rewrite_identity(self, campaign_id: int, position: int, **fields: Any) -> None:
        """Serve the identity at ``position`` of the campaign with ``fields`` instead."""
        with self._lock:
            self.rewrites.setdefault((campaign_id, position), {}).update(fields)

    def rewritten(self, campaign_id: int, offset: int, page: list[Any]) -> list[Any]:
        """The page (which starts at ``offset``) with its rewritten identities."""
        with self._lock:
            if not self.rewrites:
                return page
            return [
                {**item, **self.rewrites[(campaign_id, offset + i)]}
                if (campaign_id, offset + i) in self.rewrites
                else item
                for i, item in enumerate(page)
            ]

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
    "server-500": lambda p: p.add("status", status=500, times=2, skip=3),
    "maintenance": lambda p: p.add("maintenance", times=2, skip=2),
    "page-cap": lambda p: setattr(p, "page_cap", 500),
    "no-identity-ids": lambda p: setattr(p, "hide_identity_ids", True),
}
