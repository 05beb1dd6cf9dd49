"""The retry rule of the mluvii API client: which failures are tried again, how often, and how
long to wait in between (see ``pipeline.sources.mluvii_api`` for the whole policy)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from pipeline.core.config import ApiConfig
from pipeline.sources.api_errors import (
    ApiDeadlineExceeded,
    ApiError,
    ApiMaintenance,
    ApiRetryAfterTooLong,
    ClientStats,
    _Transient,
)

log = logging.getLogger("campaign_reports.api")


class Retrying:
    """The part of the client that retries: ``max_attempts`` in all, ``retries_500`` more after
    an HTTP 500, capped exponential backoff with jitter, at least ``Retry-After``, never past the
    run's deadline. ``sleep`` and ``rng`` are parameters so that tests control them."""

    def __init__(
        self, api: ApiConfig, *, sleep: Callable[[float], None], rng: random.Random | None
    ) -> None:
        self.api = api
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._deadline = time.monotonic() + api.deadline
        self.stats = ClientStats()
        #: Called before each wait between attempts with (request, reason, seconds): progress.
        self.on_wait: Callable[[str, str, float], None] | None = None

    def restart_deadline(self) -> None:
        self._deadline = time.monotonic() + self.api.deadline

    def _with_retries(self, what: str, attempt: Callable[[], Any]) -> Any:
        """Try ``attempt`` until it succeeds or a limit is reached: ``max_attempts`` in all,
        ``retries_500`` more after an HTTP 500; a maintenance page each time: ``ApiMaintenance``."""
        api = self.api
        errors_500 = maintenance = 0  # HTTP 500s met, maintenance pages in a row
        for n in range(1, api.max_attempts + 1):
            try:
                return attempt()
            except _Transient as exc:
                errors_500 += exc.status == 500
                maintenance = maintenance + 1 if exc.maintenance else 0
                if n == api.max_attempts or errors_500 > api.retries_500:
                    raise self._gave_up(what, exc, n, maintenance) from None
                if exc.retry_after is not None and exc.retry_after > api.max_retry_after:
                    raise ApiRetryAfterTooLong(
                        f"{what}: {exc.what} asking to wait {exc.retry_after:.0f} s (Retry-After), "
                        f"more than api.max_retry_after = {api.max_retry_after:.0f} s. Stopped "
                        "instead of waiting; try again later.",
                        path=what,
                        status=exc.status,
                        attempts=n,
                    ) from None
                wait = self._backoff(n)
                if exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                remaining = self._deadline - time.monotonic()
                if wait >= remaining:
                    raise ApiDeadlineExceeded(
                        f"{what}: {exc.what}, and waiting {wait:.1f} s would pass the run's "
                        f"deadline (api.deadline = {api.deadline:g} s). Stopped.",
                        path=what,
                        status=exc.status,
                        attempts=n,
                    ) from None
                log.debug("%s: %s (attempt %d); waiting %.2f s", what, exc.what, n, wait)
                self.stats.retries += 1
                self.stats.waits.append(wait)
                if self.on_wait is not None:
                    self.on_wait(what, exc.what, wait)
                self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _gave_up(what: str, exc: _Transient, attempts: int, maintenance: int) -> ApiError:
        """The error after the last attempt: the maintenance one if the last attempts met
        maintenance pages, else what the last attempt met."""
        if maintenance:
            return ApiMaintenance(
                f"{what}: the API is down for maintenance (a maintenance page {maintenance} "
                "time(s) in a row, with backoff). Nothing from this request was used; try again "
                "later.",
                path=what,
                status=exc.status,
                attempts=attempts,
            )
        return ApiError(
            f"{what}: failed {attempts} times, last: {exc.what}. Gave up; nothing from this "
            "request was used.",
            path=what,
            status=exc.status,
            attempts=attempts,
        )

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter: half fixed, half random."""
        cap = min(self.api.backoff_max, self.api.backoff_base * 2 ** (attempt - 1))
        return cap / 2 + self._rng.uniform(0, cap / 2)
