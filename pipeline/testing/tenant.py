"""The fake mluvii API's tenant: generated campaigns whose contacts move through their states.

The tenant is generated from a seed: WhatsApp campaigns (and a phone campaign, which the export
must skip) whose contacts move through their states as the tenant's simulated clock moves. Its
JSON is the vendor's (``/work/shared/reference/mluvii-api.md``): camelCase, string enums, ISO-8601
times with offsets.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PRAGUE = ZoneInfo("Europe/Prague")
UNKNOWN_STATE = "WA_PENDING_OPT_IN"  # a value the catalog does not know (the vendor adds some)


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
    #: the id the campaign list gives (default ``id``): a test of hostile ids sets another
    api_id: Any = None

    def model(self) -> dict[str, Any]:
        """The CampaignModel JSON."""
        return {
            "id": self.id if self.api_id is None else self.api_id,
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
