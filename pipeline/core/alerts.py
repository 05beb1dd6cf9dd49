"""``[alerts]``: the rules of "Needs attention" (queries/views/attention.sql) and their settings.

The build writes every value to the warehouse's ``settings`` table (keys ``alerts.<name>``; ``off``
as a comma-separated list), where the ``attention`` view reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from pipeline.core.errors import ConfigError

#: The rules of ``[alerts]`` (the ``attention`` view), each can be listed in ``off``.
ALERT_RULES = (
    "sending_failed_share",
    "error_share",
    "delivery_failed_share",
    "canceled_by_admin_share",
    "removed_share",
    "read_of_sent_below_peers",
    "delivered_of_sent_below_peers",
    "read_of_sent_below_own",
    "delivered_of_sent_below_own",
    "stuck_growing",
    "stale",
    "incomplete_export",
    "export_failed",
    "quarantined_rows",
    "unknown_state",
)


@dataclass(frozen=True)
class AlertsConfig:
    """``[alerts]``: the rules of "Needs attention" (the ``attention`` view) and their
    thresholds; shares are fractions of the campaign's contacts (0.10 = 10 %)."""

    enabled: bool = True  # false: no rule raises anything
    off: tuple[str, ...] = ()  # rules turned off, e.g. ["removed_share", "stuck_growing"]
    sending_failed_share: float = 0.10
    error_share: float = 0.05
    delivery_failed_share: float = 0.10
    canceled_by_admin_share: float = 0.20
    removed_share: float = 0.10
    min_contacts: int = 50  # share rules: campaigns with fewer contacts are not judged
    min_sent: int = 200  # rate rules: the campaign and each peer need this many reached Sent
    min_peers: int = 4  # rate rules: other campaigns at the same age needed to compare
    min_days: int = 3  # rate rules: earlier days of the campaign itself needed to compare
    mad_factor: float = 3.0  # flag below median - mad_factor x 1.4826 x MAD ...
    min_gap: float = 0.05  # ... and at least this far below the median (0.05 = 5 points)
    stuck_min: int = 10  # stuck_growing: stuck contacts at the day's end at least this
    quarantined_rows: int = 0  # quarantined_rows: flag more rows than this on the day
    lookback_days: int = 14  # how far back "since" looks for an unbroken run of days


def validate_alerts(alerts: AlertsConfig) -> None:
    unknown = sorted(set(alerts.off) - set(ALERT_RULES))
    if unknown:
        raise ConfigError(
            f"alerts.off: unknown rule(s) {unknown}; the rules: {', '.join(ALERT_RULES)}"
        )
    for key in ALERT_RULES:
        if key.endswith("_share") and not 0 <= getattr(alerts, key) <= 1:
            raise ConfigError(f"alerts.{key} must be a fraction between 0 and 1 (0.10 = 10 %)")
    if not 0 <= alerts.min_gap <= 1:
        raise ConfigError("alerts.min_gap must be a fraction between 0 and 1 (0.05 = 5 points)")
    if alerts.lookback_days < 1:
        raise ConfigError("alerts.lookback_days must be at least 1")


def alert_settings(alerts: AlertsConfig) -> dict[str, str]:
    """The ``settings`` rows of ``[alerts]``: ``alerts.<name>`` -> text."""
    out = {}
    for f in fields(alerts):
        value = getattr(alerts, f.name)
        if isinstance(value, tuple):
            text = ",".join(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        out[f"alerts.{f.name}"] = text
    return out
