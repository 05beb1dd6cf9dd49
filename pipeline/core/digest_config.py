"""``[digest]``: who receives the daily digest, and how (``campaign-reports digest``).

Read by ``pipeline.core.config.load_config``; kept apart so that the config module stays small.
The SMTP password and the webhook URL are secrets: environment only, wrapped in ``Secret``. The
SMTP user name may come from the file or the environment (the environment wins).

    [digest]
    smtp_host = "smtp.example.com"
    smtp_port = 587
    starttls = true
    from = "Campaign reports <reports@example.com>"
    to = ["analyst@example.com", "lead@example.com"]
    base_url = ""        # optional: https://reports.example.com/ makes the items links
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.core.errors import ConfigError
from pipeline.core.settings import coerce

if TYPE_CHECKING:
    from pipeline.core.config import Secret

SMTP_USERNAME_ENV = "CAMPAIGN_REPORTS_SMTP_USERNAME"
SMTP_PASSWORD_ENV = "CAMPAIGN_REPORTS_SMTP_PASSWORD"
WEBHOOK_URL_ENV = "CAMPAIGN_REPORTS_DIGEST_WEBHOOK_URL"
#: Keys that are secrets: refused in the file, with a hint.
SECRET_KEYS = {"password", "smtp_password", "webhook_url", "webhook"}


@dataclass(frozen=True)
class DigestConfig:
    """``[digest]``: the daily digest's recipients and transport."""

    smtp_host: str = ""  # empty: no e-mail
    smtp_port: int = 587
    starttls: bool = True  # upgrade the connection with STARTTLS before logging in
    sender: str = ""  # the file's key is ``from``
    to: tuple[str, ...] = ()
    username: str = field(default="", repr=False)  # or CAMPAIGN_REPORTS_SMTP_USERNAME
    ca_file: str = ""  # a CA bundle to verify the SMTP server with (default: the system's)
    base_url: str = ""  # optional: where the reports are served; items then link to them
    timeout: float = 30.0  # seconds for one SMTP connection or webhook post
    max_attempts: int = 3  # per recipient, for transient failures
    retry_seconds: float = 5.0  # first wait before a retry, doubled each time

    def password(self, environ: Mapping[str, str] | None = None) -> Secret | None:
        return _secret(SMTP_PASSWORD_ENV, environ)

    def login(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        return env.get(SMTP_USERNAME_ENV) or self.username

    def webhook_url(self, environ: Mapping[str, str] | None = None) -> Secret | None:
        return _secret(WEBHOOK_URL_ENV, environ)

    @property
    def email_configured(self) -> bool:
        return bool(self.smtp_host and self.to)


def _secret(name: str, environ: Mapping[str, str] | None) -> Secret | None:
    from pipeline.core.config import Secret  # the one secret type (config imports this module)

    value = (os.environ if environ is None else environ).get(name)
    return Secret(value) if value else None


def load_digest(table: Any, env: Mapping[str, str], path: Path | None) -> DigestConfig:
    """The ``[digest]`` table, then ``CAMPAIGN_REPORTS_DIGEST_<KEY>`` (``TO`` comma-separated)."""
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [digest] must be a table")
    table = dict(table)
    if "from" in table:
        table["sender"] = table.pop("from")
    secret = set(table) & SECRET_KEYS
    if secret:
        raise ConfigError(
            f"config file {path}: [digest] {sorted(secret)}: secrets are read from the "
            f"environment only ({SMTP_PASSWORD_ENV}, {WEBHOOK_URL_ENV})"
        )
    known = {f.name: f.default for f in fields(DigestConfig)}
    unknown = set(table) - set(known)
    if unknown:
        raise ConfigError(f"config file {path}: unknown [digest] setting(s) {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, default in known.items():
        env_name = f"CAMPAIGN_REPORTS_DIGEST_{_key(name).upper()}"
        if env_name in env:
            values[name] = coerce(f"digest.{_key(name)}", env[env_name], default)
        elif name in table:
            values[name] = coerce(f"digest.{_key(name)}", table[name], default)
    cfg = replace(DigestConfig(), **values)
    _validate(cfg)
    return cfg


def _key(name: str) -> str:
    """The name a setting has in the file (``sender`` is ``from`` there)."""
    return "from" if name == "sender" else name


def _validate(cfg: DigestConfig) -> None:
    if not 1 <= cfg.smtp_port <= 65535:
        raise ConfigError(f"digest.smtp_port {cfg.smtp_port} is not a port (1-65535)")
    if cfg.to and not cfg.sender:
        raise ConfigError('digest.from is missing, e.g. from = "reports@example.com"')
    bad = [a for a in cfg.to if "@" not in a]
    if bad:
        raise ConfigError(f"digest.to: {bad[0]!r} is not an e-mail address")
    if cfg.base_url and not cfg.base_url.startswith(("https://", "http://")):
        raise ConfigError(f"digest.base_url {cfg.base_url!r} must start with https:// or http://")
    if not 1 <= cfg.max_attempts <= 10:
        raise ConfigError("digest.max_attempts must be between 1 and 10")
    if cfg.retry_seconds < 0 or cfg.timeout <= 0:
        raise ConfigError("digest.retry_seconds must be 0 or more and digest.timeout above 0")
