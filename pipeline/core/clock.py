"""The clock is a parameter: everything that depends on time takes ``as_of`` from here or the CLI."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time in UTC. The only place that reads the wall clock."""
    return datetime.now(UTC)


def parse_as_of(text: str) -> datetime:
    """Parse ``--as-of`` (ISO-8601; a time without offset is UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
