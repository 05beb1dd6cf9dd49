"""Typed, layered configuration: environment variables beat the config file beat the defaults.

The config file is TOML (``campaign-reports.toml`` in the working directory, or ``--config``).
Secrets are never read from the file: only from the environment, wrapped in ``Secret``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.core.alerts import AlertsConfig, validate_alerts
from pipeline.core.catalog import check_aliases
from pipeline.core.cron import CronExpr, zone
from pipeline.core.digest_config import DigestConfig, load_digest
from pipeline.core.encodings import normalise_encoding
from pipeline.core.errors import ConfigError, ScheduleError
from pipeline.core.settings import coerce

#: The kinds of job the scheduler knows.
KINDS = ("ingest", "export", "build", "report", "retention")

ENV_PREFIX = "CAMPAIGN_REPORTS_"
PHONE_KEY_ENV = "CAMPAIGN_REPORTS_PHONE_HMAC_KEY"
API_SECRET_ENV = "CAMPAIGN_REPORTS_API_CLIENT_SECRET"
DEFAULT_CONFIG_NAME = "campaign-reports.toml"
# The default file name pattern: campaign-<id>_<UTC time>[_final].<ext>, e.g.
# campaign-1234_20261128T060000Z.csv; "_final" marks the campaign's final export (it finished).
DEFAULT_FILENAME_PATTERN = (
    r"campaign-(?P<campaign_id>[A-Za-z0-9][A-Za-z0-9_.-]*?)_(?P<snapshot_time>\d{8}T\d{4,6}Z?)"
    r"(?P<final>_final)?"
)


_T = TypeVar("_T")


class Secret:
    """A secret value. Its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class IngestConfig:
    encoding: str = "utf-8"  # utf-8 (a BOM is fine), cp1250, or utf-8,cp1250 (see encodings.py)
    delimiter: str = "auto"  # auto (from the header line), ",", ";" or "\t"
    max_invalid_fraction: float = 0.01
    #: a file whose loadable rows are more than this share in states the catalog does not know
    #: (``other``) is rejected: it is most likely in labels that need ``[states.aliases]``
    max_unknown_fraction: float = 0.5
    #: a raw state longer than this (characters) is not a state: the row is quarantined
    max_state_length: int = 200
    filename_pattern: str = DEFAULT_FILENAME_PATTERN


@dataclass(frozen=True)
class ApiConfig:
    """``[api]``: the mluvii public API (``export``). The client secret is env-only."""

    base_url: str = "https://app.mluvii.com"
    token_url: str = ""  # default: <base_url>/login/connect/token
    client_id: str = field(default="", repr=False)  # or CAMPAIGN_REPORTS_API_CLIENT_ID
    page_size: int = 1000  # identities per request (offset/limit paging)
    connect_timeout: float = 10.0  # seconds to connect
    read_timeout: float = 30.0  # seconds without a byte
    request_timeout: float = 120.0  # seconds for a whole response (a trickling server)
    deadline: float = 3600.0  # seconds for a whole export run
    max_retry_after: float = 120.0  # a longer Retry-After fails instead of sleeping
    max_attempts: int = 6  # per request, for transient failures (maintenance pages included)
    retries_500: int = 2  # a GET answered HTTP 500 is tried again this many times
    backoff_base: float = 0.5  # first retry wait (seconds), doubled each time
    backoff_max: float = 30.0  # cap of one wait
    token_margin: float = 120.0  # renew the token this many seconds before it expires
    slow_pull_minutes: float = 10.0  # a campaign's pull longer than this is published flagged

    def client_secret(self, environ: dict[str, str] | None = None) -> Secret | None:
        value = (os.environ if environ is None else environ).get(API_SECRET_ENV)
        return Secret(value) if value else None

    @property
    def token_endpoint(self) -> str:
        return self.token_url or self.base_url.rstrip("/") + "/login/connect/token"


@dataclass(frozen=True)
class StatesConfig:
    """``[states]``: what the catalog does not know. ``[states.aliases]`` maps extra raw labels
    (a localized admin UI, a new API value) to state codes, e.g. ``"Doručeno" = "delivered"``."""

    aliases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RetentionConfig:
    """``[retention]``: how long raw data is kept (days; 0 keeps it for ever)."""

    snapshots_days: int = 400  # raw snapshot Parquet files, by snapshot time
    quarantine_days: int = 90  # quarantine files, by when they were written
    compact: bool = True  # merge the snapshot files of each campaign's closed days (OPTIMIZE)


@dataclass(frozen=True)
class ReportConfig:
    """``[report]``: how the reports judge a campaign's lifecycle (``campaign_lifecycle``)."""

    #: no contact's state changed for this long while snapshots kept coming: finished
    finished_after_hours: float = 72.0
    #: no complete snapshot for longer than this (and not finished): stale
    stale_after_hours: float = 26.0
    #: finished campaigns needed before a running campaign's final rates are projected
    projection_min_campaigns: int = 3


@dataclass(frozen=True)
class ScheduleConfig:
    """``[schedule]``: how the scheduler catches up and retries (see ``pipeline.schedule``)."""

    timezone: str = ""  # time zone of the jobs' cron expressions (default: the top-level timezone)
    catch_up_days: int = 31  # missed intervals older than this are not caught up
    retry_minutes: float = 10.0  # a failed run is retried after this, doubled after each failure
    max_attempts: int = 3  # failures of one interval before the scheduler stops retrying it


@dataclass(frozen=True)
class JobConfig:
    """One ``[[jobs]]`` entry. Without any, the scheduler uses ``pipeline.schedule.jobs.DEFAULT_JOBS``."""

    kind: str = ""  # ingest, export, build, report or retention
    cron: str = ""  # e.g. "0 6 * * *" (06:00 every day), "0 * * * *" (hourly)
    name: str = ""  # default: the kind; unique
    timezone: str = ""  # default: [schedule] timezone
    enabled: bool = True
    catch_up: str = ""  # "each" missed interval or only the "latest" (default: by kind)
    day_lag: int = 1  # report: report on the day this many days before the run's local day
    inbox: str = "inbox"  # ingest: folder of export files (relative: to data_dir)
    build_first: bool = True  # report: bring the warehouse up to date before rendering
    digest: bool = False  # report: then send the day's digest ([digest]; once per day)


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")
    timezone: str = "Europe/Prague"
    legacy_state: str = "sent"
    stuck_after_minutes: int = 60
    #: DuckDB's memory limit for builds and reports (beyond it, DuckDB spills to disk in
    #: <data_dir>/warehouse/.tmp); "" leaves DuckDB's default (80 % of the machine's memory).
    memory_limit: str = "1.5GB"
    ingest: IngestConfig = field(default_factory=IngestConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    states: StatesConfig = field(default_factory=StatesConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    jobs: tuple[JobConfig, ...] = ()  # empty: the default jobs

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def phone_key(self) -> Secret | None:
        value = os.environ.get(PHONE_KEY_ENV)
        return Secret(value) if value else None


def load_config(
    path: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Defaults, then the TOML file, then ``CAMPAIGN_REPORTS_*`` variables, then explicit overrides."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        path = Path(DEFAULT_CONFIG_NAME)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from exc

    cfg = Config()
    known_top = {f.name for f in fields(Config)}
    for key in data:
        if key not in known_top:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")

    values: dict[str, Any] = {}
    for f in fields(Config):
        if f.name in (
            "ingest",
            "api",
            "states",
            "retention",
            "report",
            "alerts",
            "schedule",
            "jobs",
            "digest",
        ):
            continue
        default = getattr(cfg, f.name)
        env_name = f"{ENV_PREFIX}{f.name.upper()}"
        if env_name in env:
            values[f.name] = coerce(f.name, env[env_name], default)
        elif f.name in data:
            values[f.name] = coerce(f.name, data[f.name], default)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    ingest = _section(IngestConfig(), "ingest", data, env, path)
    api = _section(ApiConfig(), "api", data, env, path)
    retention = _section(RetentionConfig(), "retention", data, env, path)
    report = _section(ReportConfig(), "report", data, env, path)
    alerts = _section(AlertsConfig(), "alerts", data, env, path)
    schedule = _section(ScheduleConfig(), "schedule", data, env, path)
    jobs = _jobs(data.get("jobs", []), path)
    states = _states(data.get("states", {}), path)
    digest = load_digest(data.get("digest", {}), env, path)
    cfg = replace(
        cfg,
        ingest=ingest,
        api=api,
        states=states,
        retention=retention,
        report=report,
        alerts=alerts,
        schedule=schedule,
        digest=digest,
        jobs=jobs,
        **values,
    )
    validate(cfg)
    return cfg


def _section(default: _T, name: str, data: dict[str, Any], env: Any, path: Path | None) -> _T:
    """One ``[name]`` table: its defaults, then the file, then ``CAMPAIGN_REPORTS_<NAME>_<KEY>``."""
    table = data.get(name, {})
    known = {f.name for f in fields(default)}  # type: ignore[arg-type]
    unknown = set(table) - known
    if unknown:
        hint = " (secrets are read from the environment only)" if "client_secret" in unknown else ""
        raise ConfigError(
            f"config file {path}: unknown [{name}] setting(s) {sorted(unknown)}{hint}"
        )
    values = {}
    for f in fields(default):  # type: ignore[arg-type]
        env_name = f"{ENV_PREFIX}{name.upper()}_{f.name.upper()}"
        if env_name in env:
            values[f.name] = coerce(f.name, env[env_name], f.default)
        elif f.name in table:
            values[f.name] = coerce(f.name, table[f.name], f.default)
    return replace(default, **values)  # type: ignore[type-var]


def _states(table: Any, path: Path | None) -> StatesConfig:
    """The ``[states]`` table (file only): ``aliases``, a table of label = state code."""
    if not isinstance(table, dict) or set(table) - {"aliases"}:
        raise ConfigError(f"config file {path}: [states] has only an aliases table")
    aliases = table.get("aliases", {})
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise ConfigError(
            f'config file {path}: [states.aliases] maps labels to state codes, e.g. "Doručeno" = "delivered"'
        )
    return StatesConfig(aliases=tuple((str(k), v.strip()) for k, v in aliases.items()))


def _jobs(tables: Any, path: Path | None) -> tuple[JobConfig, ...]:
    """The ``[[jobs]]`` array of tables (no environment overrides: jobs live in the file)."""
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"config file {path}: jobs must be [[jobs]] tables")
    known = {f.name: f.default for f in fields(JobConfig)}
    out = []
    for n, table in enumerate(tables, start=1):
        unknown = set(table) - set(known)
        if unknown:
            raise ConfigError(f"config file {path}: job {n}: unknown setting(s) {sorted(unknown)}")
        values = {k: coerce(f"jobs.{k}", v, known[k]) for k, v in table.items()}
        job = JobConfig(**values)
        out.append(replace(job, name=job.name or job.kind))
    return tuple(out)


def _validate_schedule(cfg: Config) -> None:
    validate_jobs(cfg)


def validate_jobs(config: Config) -> None:
    """Check ``[schedule]`` and every ``[[jobs]]`` entry; raises ``ConfigError``."""
    s = config.schedule
    if s.timezone:
        try:
            ZoneInfo(s.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"schedule.timezone {s.timezone!r} is not a known IANA time zone"
            ) from None
    if s.catch_up_days < 1:
        raise ConfigError("schedule.catch_up_days must be at least 1")
    if s.retry_minutes <= 0:
        raise ConfigError("schedule.retry_minutes must be above 0")
    if s.max_attempts < 1:
        raise ConfigError("schedule.max_attempts must be at least 1")
    names: set[str] = set()
    for n, jc in enumerate(config.jobs, start=1):
        where = f"job {n} ({jc.name or jc.kind or 'no name'})"
        if jc.kind not in KINDS:
            raise ConfigError(f"{where}: kind {jc.kind!r} is not one of {', '.join(KINDS)}")
        if not jc.cron:
            raise ConfigError(f'{where}: cron is missing, e.g. cron = "0 6 * * *"')
        if jc.name in names:
            raise ConfigError(f"{where}: the name {jc.name!r} is used twice; give each job a name")
        names.add(jc.name)
        if jc.catch_up not in ("", "each", "latest"):
            raise ConfigError(f'{where}: catch_up {jc.catch_up!r} must be "each" or "latest"')
        if jc.day_lag < 0:
            raise ConfigError(f"{where}: day_lag must be 0 or more")
        try:
            CronExpr.parse(jc.cron)
            zone(jc.timezone or config.schedule.timezone or config.timezone)
        except ScheduleError as exc:
            raise ConfigError(f"{where}: {exc}") from None


#: A DuckDB memory size: a number and a unit.
MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def validate(cfg: Config) -> None:
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone {cfg.timezone!r} is not a known IANA time zone") from exc
    try:
        normalise_encoding(cfg.ingest.encoding)
    except ValueError as exc:
        raise ConfigError(f"ingest.encoding {exc}") from None
    if cfg.ingest.delimiter not in {"auto", ",", ";", "\t", "tab"}:
        raise ConfigError(f"ingest.delimiter {cfg.ingest.delimiter!r}: use auto, ',', ';' or tab")
    if not 0 <= cfg.ingest.max_invalid_fraction < 1:
        raise ConfigError("ingest.max_invalid_fraction must be between 0 and 1")
    if not 0 <= cfg.ingest.max_unknown_fraction <= 1:
        raise ConfigError("ingest.max_unknown_fraction must be between 0 and 1 (1: never reject)")
    if cfg.ingest.max_state_length < 1:
        raise ConfigError("ingest.max_state_length must be at least 1")
    check_aliases(cfg.states.aliases)
    if not 1 <= cfg.api.page_size <= 10_000:
        raise ConfigError(
            "api.page_size must be between 1 and 10000 (the vendor's clients use 1000)"
        )
    if not cfg.api.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"api.base_url {cfg.api.base_url!r} must start with https:// or http://")
    if not 0 <= cfg.api.retries_500 <= 10:
        raise ConfigError("api.retries_500 must be between 0 and 10")
    if cfg.api.slow_pull_minutes <= 0:
        raise ConfigError("api.slow_pull_minutes must be more than 0")
    if cfg.memory_limit and not MEMORY_LIMIT.fullmatch(cfg.memory_limit.strip()):
        raise ConfigError(
            f"memory_limit {cfg.memory_limit!r}: give a size such as 1.5GB, 800MB or 4GiB"
        )
    for key in ("finished_after_hours", "stale_after_hours"):
        if not getattr(cfg.report, key) > 0:
            raise ConfigError(f"report.{key} must be above 0 (hours)")
    validate_alerts(cfg.alerts)
    if cfg.report.projection_min_campaigns < 1:
        raise ConfigError("report.projection_min_campaigns must be at least 1")
    _validate_schedule(cfg)
