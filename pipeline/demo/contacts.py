"""The demo contacts' lives, drawn once, and their state at any moment.

Each contact's life is drawn once (seeded ``random.Random``, no hashing of values), as the times
at which it reaches each state: Initial -> In progress -> (Retry scheduled -> In progress)* ->
Sent / Sending failed / Error, then Delivered / Delivery failed, then Read. A snapshot is the state
of every contact at one moment, computed vectorised by comparing those times with the snapshot
time (``states_at``).
"""

from __future__ import annotations

import random
from datetime import datetime

import polars as pl

from pipeline.demo.campaigns import DAY, HOUR, UNKNOWN_API_VALUE, CampaignSpec

# One uniform draw per contact for each of these, in this order (the order fixes the output).
DRAWS = (
    "created",
    "jitter",
    "dur",
    "retry",
    "retry2",
    "delay1",
    "delay2",
    "outcome",
    "deliv",
    "deliv_delay",
    "read",
    "read_delay",
    "direct",
    "legacy",
    "unknown",
    "removal",
)


def _uniform(rng: random.Random, n: int) -> pl.Series:
    return pl.Series([rng.random() for _ in range(n)], dtype=pl.Float64)


def _flags(rng: random.Random, n: int, k: int, pool: list[int] | None = None) -> pl.Series:
    """Exactly k contacts (of ``pool``, default all) flagged: special cases appear at any scale."""
    chosen = set(rng.sample(pool if pool is not None else range(n), min(k, n)))
    return pl.Series([i in chosen for i in range(n)], dtype=pl.Boolean)


def build_contacts(
    spec: CampaignSpec, n: int, start: datetime, as_of: datetime, rng: random.Random
) -> pl.DataFrame:
    """One row per contact: its id and the time (epoch seconds, null = never) of each state."""
    t0 = int(start.timestamp())
    frame = _draw(spec, n, rng)
    days = max(1, (int(as_of.timestamp()) - t0) // DAY + 1)
    created, send_at = _schedule(spec, n, t0, days)
    frame = _attempts(frame, created, send_at)
    frame = _outcomes(frame, spec)
    frame = _cancellation(frame, spec, t0)
    times = [c for c in frame.columns if c.startswith("t_") and c != "t_deliv_any"]
    return frame.select(
        (48_000_000 + int(spec.campaign_id) * 2_000_000 + pl.col("i") * 7 + 3).alias("contact_id"),
        "invalid",
        "retries",
        (pl.col("u_legacy") < spec.legacy_share).alias("legacy"),
        (pl.col("u_unknown") < 0.3).alias("unknown"),
        *[pl.col(c).cast(pl.Int64) for c in times],
    )


def _draw(spec: CampaignSpec, n: int, rng: random.Random) -> pl.DataFrame:
    """Every random draw of a campaign: the uniforms ``u_*`` and the special-case flags."""
    u = {name: _uniform(rng, n) for name in DRAWS}
    invalid = _flags(rng, n, max(1, round(n * 0.004)))
    removed = _flags(rng, n, max(2, round(n * spec.removed_share)) if spec.removed_share else 0)
    stuck_ip = _flags(rng, n, max(2, round(n * 0.002)))
    stuck_retry = _flags(rng, n, max(2, round(n * 0.003)))
    return pl.DataFrame(
        {
            "i": pl.Series(list(range(n)), dtype=pl.Int64),
            **{f"u_{k}": v for k, v in u.items()},
            "invalid": invalid,
            "removed": removed,
            "stuck_ip": stuck_ip & ~invalid & ~removed,
            "stuck_retry": stuck_retry & ~stuck_ip & ~invalid & ~removed,
        }
    )


def _schedule(spec: CampaignSpec, n: int, t0: int, days: int) -> tuple[pl.Expr, pl.Expr]:
    """When each contact is created (uploaded) and when its first message is due."""
    i = pl.col("i")
    if spec.daily_batches:
        batch = i % days
        created = t0 + batch * DAY + pl.col("u_created") * 1200
        send_at = created + spec.send_delay_s + pl.col("u_jitter") * 1800
    else:
        created = t0 + i * 300.0 / n + pl.col("u_created") * 2  # the upload takes ~5 minutes
        # Sending takes as long at any scale (the timeline is the same, only sizes change).
        sending_s = spec.contacts / spec.send_rate * HOUR
        send_at = t0 + spec.send_delay_s + i * sending_s / n + pl.col("u_jitter") * 5
    return created, send_at


def _attempts(frame: pl.DataFrame, created: pl.Expr, send_at: pl.Expr) -> pl.DataFrame:
    """Creation, removal, up to three attempts with retries between them, and the last one's end."""
    dur = (
        pl.when(pl.col("stuck_ip"))
        .then(5 * HOUR + pl.col("u_dur") * 25 * HOUR)
        .otherwise(2 + pl.col("u_dur") * 40)
    )
    quick = 2 + pl.col("u_dur") * 40
    retried = pl.col("stuck_retry") | (pl.col("u_retry") < 0.05)
    delay1 = (
        pl.when(pl.col("stuck_retry"))
        .then(6 * HOUR + pl.col("u_delay1") * 24 * HOUR)
        .otherwise(300 + pl.col("u_delay1") * 1500)
    )
    twice = retried & (pl.col("u_retry2") < 0.3)

    frame = frame.with_columns(
        created.alias("t_created"),
        send_at.alias("t_ip1"),
    )
    # Removed contacts leave before their first message; they are never sent.
    frame = frame.with_columns(
        pl.when(pl.col("removed"))
        .then(pl.col("t_created") + 600 + pl.col("u_removal") * 3000)
        .alias("t_removed"),
        pl.when(pl.col("removed") | pl.col("invalid"))
        .then(None)
        .otherwise(pl.col("t_ip1"))
        .alias("t_ip1"),
    )
    frame = frame.with_columns(
        pl.when(retried).then(pl.col("t_ip1") + dur).alias("t_retry1"),
    )
    frame = frame.with_columns(
        (pl.col("t_retry1") + delay1).alias("t_ip2"),
    )
    frame = frame.with_columns(
        pl.when(twice).then(pl.col("t_ip2") + quick).alias("t_retry2"),
    )
    frame = frame.with_columns(
        (pl.col("t_retry2") + 900 + pl.col("u_delay2") * 2700).alias("t_ip3"),
    )
    return frame.with_columns(
        pl.coalesce(pl.col("t_ip3") + quick, pl.col("t_ip2") + quick, pl.col("t_ip1") + dur).alias(
            "t_end"
        ),
        pl.when(twice).then(2).when(retried).then(1).otherwise(0).alias("retries"),
    )


def _outcomes(frame: pl.DataFrame, spec: CampaignSpec) -> pl.DataFrame:
    """Outcome of the last attempt; if sent, delivery and reading."""
    out = pl.col("u_outcome")
    sf, err = spec.sending_failed, spec.error
    sent = pl.col("t_end").is_not_null() & (out >= sf + err)
    dd = pl.col("u_deliv_delay")
    deliv_delay = (
        pl.when(dd < 0.85)
        .then(1 + dd / 0.85 * 120)
        .otherwise(HOUR + (dd - 0.85) / 0.15 * 30 * HOUR)
    )
    rd = pl.col("u_read_delay")
    read_delay = (
        pl.when(rd < 0.45)
        .then(30 + rd / 0.45 * 1800)
        .when(rd < 0.85)
        .then(1800 + (rd - 0.45) / 0.40 * 8 * HOUR)
        .otherwise(8 * HOUR + (rd - 0.85) / 0.15 * 64 * HOUR)
    )
    delivered = sent & (pl.col("u_deliv") >= 0.14)
    frame = frame.with_columns(
        pl.when(out < sf).then(pl.col("t_end")).alias("t_sfail"),
        pl.when((out >= sf) & (out < sf + err)).then(pl.col("t_end")).alias("t_err"),
        pl.when(sent).then(pl.col("t_end")).alias("t_sent"),
        pl.when(sent & (pl.col("u_deliv") < 0.02))
        .then(pl.col("t_end") + 60 + dd * 6 * HOUR)
        .alias("t_dfail"),
        pl.when(delivered).then(pl.col("t_end") + deliv_delay).alias("t_deliv_any"),
    )
    return frame.with_columns(
        pl.when(pl.col("u_read") < 0.70).then(pl.col("t_deliv_any") + read_delay).alias("t_read"),
    ).with_columns(
        # a read receipt may come without a delivered one (6% of readers)
        pl.when(pl.col("t_read").is_not_null() & (pl.col("u_direct") < 0.06))
        .then(None)
        .otherwise(pl.col("t_deliv_any"))
        .alias("t_deliv"),
    )


def _cancellation(frame: pl.DataFrame, spec: CampaignSpec, t0: int) -> pl.DataFrame:
    """``t_cancel``: when the admin's cancel reaches a contact still open then (else null)."""
    if spec.cancel_after_h is None:
        return frame.with_columns(pl.lit(None, pl.Float64).alias("t_cancel"))
    t_cancel = t0 + spec.cancel_after_h * HOUR
    open_at_cancel = (
        ~pl.col("invalid")
        & (pl.col("t_removed").is_null() | (pl.col("t_removed") > t_cancel))
        & (pl.col("t_end").is_null() | (pl.col("t_end") > t_cancel))
    )
    return frame.with_columns(pl.when(open_at_cancel).then(t_cancel).alias("t_cancel"))


# ----------------------------------------------------------------------------- state at a time
def states_at(t: int, *, legacy: bool, unknown: bool) -> list[pl.Expr]:
    """(state, retry_count, retry_at) of every contact at epoch second ``t``, as API values."""
    state = _api_state(t)
    if legacy:
        state = (
            pl.when(
                pl.col("legacy")
                & state.is_in(["WA_SENT", "WA_DELIVERED", "WA_READ", "WA_DELIVERY_FAILED"])
            )
            .then(pl.lit("SUCCESS"))
            .otherwise(state)
        )
    if unknown:
        state = (
            pl.when(pl.col("unknown") & state.is_in(["WA_SENT", "WA_DELIVERED"]))
            .then(pl.lit(UNKNOWN_API_VALUE))
            .otherwise(state)
        )
    return [state.alias("state"), *_retry_columns(t, state)]


def _reached(col: str, t: int) -> pl.Expr:
    return pl.col(col) <= t  # null -> never


def _api_state(t: int) -> pl.Expr:
    """The latest state reached by ``t`` (terminal states first), as an API value."""
    return (
        pl.when(pl.col("invalid"))
        .then(pl.lit("INVALID_RECORD"))
        .when(_reached("t_removed", t))
        .then(pl.lit("REMOVED"))
        .when(_reached("t_cancel", t))
        .then(pl.lit("CANCELLED_BY_ADMIN"))
        .when(_reached("t_read", t))
        .then(pl.lit("WA_READ"))
        .when(_reached("t_dfail", t))
        .then(pl.lit("WA_DELIVERY_FAILED"))
        .when(_reached("t_deliv", t))
        .then(pl.lit("WA_DELIVERED"))
        .when(_reached("t_sent", t))
        .then(pl.lit("WA_SENT"))
        .when(_reached("t_sfail", t))
        .then(pl.lit("WA_SEND_FAILED"))
        .when(_reached("t_err", t))
        .then(pl.lit("FAILING"))
        .when(_reached("t_ip3", t))
        .then(pl.lit("CALL_IN_PROGRESS"))
        .when(_reached("t_retry2", t))
        .then(pl.lit("RETRY_SCHEDULED"))
        .when(_reached("t_ip2", t))
        .then(pl.lit("CALL_IN_PROGRESS"))
        .when(_reached("t_retry1", t))
        .then(pl.lit("RETRY_SCHEDULED"))
        .when(_reached("t_ip1", t))
        .then(pl.lit("CALLING"))
        .otherwise(pl.lit("INITIAL"))
    )


def _retry_columns(t: int, state: pl.Expr) -> list[pl.Expr]:
    """``retry_count`` and ``retry_at`` (the next attempt, only while Retry scheduled)."""
    retry_count = (
        pl.when(_reached("t_retry2", t))
        .then(2)
        .when(_reached("t_retry1", t))
        .then(1)
        .otherwise(0)
        .cast(pl.Int32)
        .alias("retry_count")
    )
    retry_at = (
        pl.when(state != "RETRY_SCHEDULED")
        .then(None)
        .when(_reached("t_retry2", t))
        .then(pl.col("t_ip3"))
        .otherwise(pl.col("t_ip2"))
        .alias("retry_at")
    )
    return [retry_count, retry_at]
