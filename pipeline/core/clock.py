"""The clock is a parameter: everything that depends on time takes ``as_of`` from here or the CLI.

Also the one set of ISO-8601 helpers for times the project writes and reads back itself (logs,
lock notes, the store's records). Times from outside (files, the API) are parsed by
``pipeline.normalize.times``, which knows the time zone rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current time in UTC. The only place that reads the wall clock."""
    return datetime.now(UTC)


def moving_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that says ``start`` now and moves on with real (monotonic) time: ``--as-of`` for
    commands that run jobs (``run``, ``export``), so that a schedule can be replayed."""
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def parse_as_of(text: str, tz: str) -> datetime:
    """Parse a time given as an option (``--as-of``, ``--snapshot-time``...): ISO-8601, as UTC.

    The one rule for a time without an offset, as for times in files: it is wall time in the
    configured time zone ``tz``. An autumn hour that happens twice is the earlier one; a time the
    spring change skips does not exist and is a ``ValueError``.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        zone = ZoneInfo(tz)
        local = value.replace(tzinfo=zone, fold=0)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
            raise ValueError(f"{text.strip()} does not exist in {tz}: the clocks skip it")
        value = local
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO-8601 UTC with microseconds: ``2026-11-28T06:00:00.000000Z`` (the store's records)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso(value: datetime) -> str:
    """ISO-8601 UTC to the second: ``2026-11-28T06:00:00Z`` (fire times, run keys)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds, for start and end times."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> datetime:
    """Read back any of the above (or any ISO-8601 time with an offset) as UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
