"""The mluvii public API client: OAuth2 client credentials, campaigns, paged campaign identities.

Rules (see ``/work/shared/reference/mluvii-api.md``):

- The token comes from ``POST /login/connect/token`` (form, ``client_credentials``). It is cached
  and a new one is asked for ``token_margin`` seconds before it expires (there is no refresh token).
- Redirects are never followed: the API answers a missing or expired token with a redirect to its
  login page. A 3xx, a 401 or the HTML login page is an auth failure: the client gets a new token once and
  repeats the request; a second auth failure is an ``ApiAuthError``.
- Only transient failures are retried: connect/read errors, timeouts, a cut-off or unparsable body,
  429, 502, 503, 504, a maintenance page (HTML that is not the login page, or a 503 with HTML),
  up to ``max_attempts`` in all; and HTTP 500 on a GET (the vendor's generic error) up to
  ``retries_500`` more times. The wait is capped exponential backoff with jitter, at least
  ``Retry-After`` (seconds or an HTTP date); a ``Retry-After`` above ``max_retry_after`` fails at
  once instead. Maintenance pages until the last attempt give ``ApiMaintenance``.
- Identities are paged with offset/limit until an empty page; a short page is not the end (the
  API may cap ``limit``), the next offset is where the page ended.
- Every request has connect and read timeouts and a limit on the whole response (a server that
  trickles bytes), and the run has a total deadline.
- The client id, the secret and the token never appear in a log line, an error or a repr: errors
  carry the method, the path and the status, never a header or a body from the token endpoint.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from pipeline.core.clock import now as wall_now
from pipeline.core.config import ApiConfig, Secret
from pipeline.sources.api_errors import (
    ApiAuthError,
    ApiDeadlineExceeded,
    ApiError,
    _AuthFailure,
    _Transient,
    parse_retry_after,
)
from pipeline.sources.retries import Retrying

log = logging.getLogger("campaign_reports.api")

TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
CAMPAIGNS_PATH = "/api/v1/Campaigns"


class MluviiClient(Retrying):
    """A synchronous client for the parts of the mluvii API the export needs.

    ``sleep`` (waits between attempts), ``token_clock`` (monotonic seconds, for the token's
    lifetime), ``wall_clock`` (for HTTP-date ``Retry-After``) and ``rng`` (jitter) are parameters
    so that tests can observe and control them. The run deadline and the whole-response limit use
    the real monotonic clock: they guard against a hanging server, which only real time shows.
    """

    def __init__(
        self,
        api: ApiConfig,
        *,
        client_id: str,
        client_secret: Secret,
        sleep: Callable[[float], None] = time.sleep,
        token_clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = wall_now,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not client_id:
            raise ApiAuthError(
                "no API client id: set api.client_id in the config file or "
                "CAMPAIGN_REPORTS_API_CLIENT_ID in the environment"
            )
        if not client_secret:
            raise ApiAuthError(
                "no API client secret: set CAMPAIGN_REPORTS_API_CLIENT_SECRET in the environment "
                "(it is never read from the config file)"
            )
        super().__init__(api, sleep=sleep, rng=rng)
        self._client_id = client_id
        self._secret = client_secret
        self._token_clock = token_clock
        self._wall_clock = wall_clock
        self._token: str | None = None
        self._token_expires = 0.0
        #: Called once with what the client learnt of the API (its real page size).
        self.on_notice: Callable[[str], None] | None = None
        self.served_page_size: int | None = None  # identities per page, once a page followed
        self._http = httpx.Client(
            base_url=api.base_url.rstrip("/"),
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=api.connect_timeout,
                read=api.read_timeout,
                write=api.read_timeout,
                pool=api.connect_timeout,
            ),
            headers={"Accept": "application/json", "User-Agent": "campaign-reports"},
            transport=transport,
            verify=_tls_context(),
        )

    def __repr__(self) -> str:
        return f"MluviiClient(base_url={self.api.base_url!r})"

    # ------------------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MluviiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------- endpoints
    def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign of the tenant (``GET /api/v1/Campaigns``)."""
        data = self.get_json(CAMPAIGNS_PATH)
        if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
            raise ApiError(
                f"GET {CAMPAIGNS_PATH}: expected a JSON array of campaigns, got "
                f"{type(data).__name__}",
                path=CAMPAIGNS_PATH,
            )
        return data

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        path = f"{CAMPAIGNS_PATH}/{campaign_id}"
        data = self.get_json(path)
        if not isinstance(data, dict):
            raise ApiError(f"GET {path}: expected a JSON object", path=path)
        return data

    def identity_pages(self, campaign_id: str) -> Iterator[list[Any]]:
        """A campaign's identities (contacts), page by page, until the API answers an empty page.

        A short page is not the end: the API may serve fewer than asked for (a maximum page size
        of its own, unknown and undocumented), so the next offset is where the page ended. The
        page size the API really serves is said once per client (``on_notice``). Items are
        passed on as the API sent them; the caller decides what a bad item means.
        """
        path = f"{CAMPAIGNS_PATH}/{campaign_id}/identities"
        limit = self.api.page_size
        offset = 0
        previous: list[Any] = []
        repeats = 0  # pages in a row the same as the one before (a server ignoring offset)
        while True:
            page = self.get_json(path, params={"offset": offset, "limit": limit})
            if not isinstance(page, list):
                raise ApiError(
                    f"GET {path}?offset={offset}&limit={limit}: expected a JSON array of "
                    f"identities, got {type(page).__name__}. Nothing from this campaign was used.",
                    path=path,
                )
            if not page:
                return
            same = bool(previous) and page[0] == previous[0] and page[-1] == previous[-1]
            repeats = repeats + 1 if same else 0  # once: a page's worth inserted in front
            if len(page) > limit or repeats >= 3:
                raise ApiError(
                    f"GET {path}?offset={offset}&limit={limit}: the API does not page as "
                    f"expected (more identities than asked for, or the same page again and "
                    "again: is offset ignored?). Nothing from this campaign was used.",
                    path=path,
                )
            if previous:
                self._learn_page_size(len(previous), limit)
            yield page
            previous = page
            offset += len(page)

    def _learn_page_size(self, served: int, limit: int) -> None:
        """A full page was followed by another one: ``served`` is what the API serves per page."""
        if self.served_page_size is not None:
            return
        self.served_page_size = served
        if served < limit:
            message = (
                f"the API serves at most {served:,} identities per page (asked for {limit:,}, "
                "api.page_size); paging on by what it sends"
            )
            log.info(message)
            if self.on_notice is not None:
                self.on_notice(message)

    def identities(self, campaign_id: str) -> list[Any]:
        """Every identity of a campaign in one list (for small campaigns and tests)."""
        return [item for page in self.identity_pages(campaign_id) for item in page]

    # ---------------------------------------------------------------------------------- token
    def _get_token(self) -> str:
        if self._token is not None and self._token_clock() < self._token_expires:
            return self._token
        self._token = None
        url = self.api.token_endpoint
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.reveal(),
        }
        what = "POST /login/connect/token"

        def post() -> tuple[httpx.Response, bytes]:
            self.stats.token_requests += 1
            response, body = self._send("POST", url, what=what, data=form)
            if response.status_code in TRANSIENT_STATUS:
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), self._wall_clock()
                )
                raise _Transient(f"HTTP {response.status_code}", response.status_code, retry_after)
            return response, body

        started = self._token_clock()
        response, body = self._with_retries(what, post)
        if response.status_code != 200:
            detail = ""
            try:
                error = json.loads(body).get("error")
                if isinstance(error, str) and error.isidentifier():
                    detail = f" ({error})"
            except (ValueError, AttributeError):
                pass
            raise ApiAuthError(
                f"the token endpoint refused the API credentials: HTTP {response.status_code}"
                f"{detail}. Check api.client_id / CAMPAIGN_REPORTS_API_CLIENT_ID and "
                "CAMPAIGN_REPORTS_API_CLIENT_SECRET.",
                path="/login/connect/token",
                status=response.status_code,
            )
        try:
            data = json.loads(body)
            token = data["access_token"]
            expires_in = float(data.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ApiAuthError(
                "the token endpoint answered 200 without a usable access_token/expires_in",
                path="/login/connect/token",
                status=200,
            ) from None
        if not isinstance(token, str) or not token:
            raise ApiAuthError(
                "the token endpoint answered an empty access_token", path="/login/connect/token"
            )
        # Renew ahead of expiry; for short-lived tokens, at half their life at the latest.
        margin = min(self.api.token_margin, expires_in / 2)
        self._token = token
        self._token_expires = started + expires_in - margin
        log.debug("new API token, valid for %.0f s", expires_in)
        return token

    # -------------------------------------------------------------------------------- requests
    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET an API path as JSON, with the auth, retry and timeout rules of this module."""
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        what = f"GET {path}" + (f"?{query}" if query else "")
        auth_retried = False
        while True:
            token = self._get_token()
            try:
                return self._with_retries(
                    what, functools.partial(self._get_once, path, params, token, what)
                )
            except _AuthFailure as exc:
                self.stats.auth_failures += 1
                self._token = None  # never reuse a token the API refused
                if auth_retried:
                    raise ApiAuthError(
                        f"{what}: {exc.what} again with a new token. The API does not accept "
                        "these credentials for this request (wrong tenant or missing rights?); "
                        "nothing from this request was used.",
                        path=path,
                        status=exc.status,
                    ) from None
                log.debug("%s: %s; asking for a new token", what, exc.what)
                auth_retried = True

    def _get_once(self, path: str, params: dict[str, Any] | None, token: str, what: str) -> Any:
        response, body = self._send(
            "GET", path, what=what, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        status = response.status_code
        ctype = response.headers.get("content-type", "").lower()
        html = "html" in ctype or body.lstrip()[:1] == b"<"
        if 300 <= status < 400:
            raise _AuthFailure(f"redirected (HTTP {status}) to the login page", status)
        if status == 401:
            raise _AuthFailure("HTTP 401 (token not accepted)", status)
        if status == 403:
            raise ApiAuthError(
                f"{what}: HTTP 403 forbidden: the API user lacks the rights for this "
                "(campaigns need a tenant or campaigns admin role)",
                path=path,
                status=status,
            )
        if status in TRANSIENT_STATUS or status == 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall_clock())
            maintenance = status == 503 and html
            why = f"a maintenance page (HTTP {status})" if maintenance else f"HTTP {status}"
            raise _Transient(why, status, retry_after, maintenance=maintenance)
        if status != 200:
            raise ApiError(
                f"{what}: HTTP {status}, which is not retried. Nothing from this request was used.",
                path=path,
                status=status,
            )
        if html:
            if _is_login_page(body):
                raise _AuthFailure("answered with the login page (HTML)", status)
            raise _Transient("a maintenance page (HTML)", status, maintenance=True)
        try:
            return json.loads(body)
        except ValueError:
            raise _Transient("the body is not valid JSON (cut off?)", status) from None

    def _send(
        self, method: str, url: str, *, what: str, **kwargs: Any
    ) -> tuple[httpx.Response, bytes]:
        """One HTTP exchange, body read in full within ``request_timeout`` and the deadline.

        Connection problems and timeouts become ``_Transient``; the body is returned as bytes.
        """
        started = time.monotonic()
        remaining = self._deadline - started
        if remaining <= 0:
            raise ApiDeadlineExceeded(
                f"{what}: the run's deadline (api.deadline = {self.api.deadline:g} s) has "
                "passed. Stopped.",
                path=what,
            )
        limit = min(self.api.request_timeout, remaining)
        timeout = httpx.Timeout(
            connect=min(self.api.connect_timeout, limit),
            read=min(self.api.read_timeout, limit),
            write=min(self.api.read_timeout, limit),
            pool=min(self.api.connect_timeout, limit),
        )
        self.stats.requests += 1
        chunks: list[bytes] = []
        try:
            with self._http.stream(method, url, timeout=timeout, **kwargs) as response:
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() - started > limit:
                        raise _Transient(
                            f"the response took longer than {limit:.0f} s (a trickling server)"
                        )
        except httpx.TimeoutException as exc:
            if time.monotonic() - started >= remaining:
                raise ApiDeadlineExceeded(
                    f"{what}: the run's deadline (api.deadline = {self.api.deadline:g} s) "
                    "passed during the request. Stopped.",
                    path=what,
                ) from None
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        body = b"".join(chunks)
        log.debug(
            "%s -> HTTP %d, %d bytes in %.3f s",
            what,
            response.status_code,
            len(body),
            time.monotonic() - started,
        )
        if time.monotonic() - started > limit:  # the last chunk came late: a trickle too
            raise _Transient(f"the response took longer than {limit:.0f} s (a trickling server)")
        return response, body


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certificate checks on), made once per process: loading the
    CA store takes tens of milliseconds, and every export run makes a client."""
    return httpx.create_ssl_context()


def _is_login_page(body: bytes) -> bool:
    """An HTML answer that asks for a password is the login page (an auth problem); any other
    HTML page (a proxy's or the vendor's maintenance page) is a transient outage."""
    return b"password" in body[:20_000].lower()
