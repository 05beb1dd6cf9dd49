"""What can go wrong talking to the mluvii API, and what the client counts: the errors a user
sees (``ApiError`` and kin), the two internal signals of the retry loop (a transient failure, an
auth failure), and the ``Retry-After`` header read as seconds."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.core.errors import PipelineError


class ApiError(PipelineError):
    """A request to the mluvii API failed. Carries the request (method, path) and the facts."""

    def __init__(
        self, message: str, *, path: str = "", status: int | None = None, attempts: int = 0
    ) -> None:
        super().__init__(message)
        self.path = path
        self.status = status
        self.attempts = attempts


class ApiAuthError(ApiError):
    """The API did not accept the credentials or the token (login redirect, 401, 403, bad token)."""


class ApiRetryAfterTooLong(ApiError):
    """The API asked to wait longer than ``api.max_retry_after`` before trying again."""


class ApiDeadlineExceeded(ApiError):
    """The export run's total deadline (``api.deadline``) has passed."""


class ApiMaintenance(ApiError):
    """The API kept answering with a maintenance page (HTML, or HTTP 503 with HTML)."""


class _Transient(Exception):
    """Internal: a failure worth another attempt (``maintenance``: a maintenance page)."""

    def __init__(
        self,
        what: str,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        maintenance: bool = False,
    ):
        super().__init__(what)
        self.what = what
        self.status = status
        self.retry_after = retry_after
        self.maintenance = maintenance


class _AuthFailure(Exception):
    """Internal: the API sent us to the login page (or said 401)."""

    def __init__(self, what: str, status: int | None) -> None:
        super().__init__(what)
        self.what = what
        self.status = status


@dataclass
class ClientStats:
    """What the client did: the tests and the export summary read it."""

    requests: int = 0  # every HTTP request, the token endpoint included
    token_requests: int = 0
    retries: int = 0
    auth_failures: int = 0
    waits: list[float] = field(default_factory=list)  # every backoff / Retry-After sleep


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: a number of seconds or an HTTP date; else None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
