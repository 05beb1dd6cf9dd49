"""The ``campaign-reports digest`` command (registered in ``pipeline.cli``)."""

from __future__ import annotations

from datetime import datetime

import click

from pipeline.cli.context import Context, pass_ctx


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports digest\n"
    "  campaign-reports digest --date 2026-11-27\n"
    "  campaign-reports digest --date 2026-11-27 --resend\n"
    "  CAMPAIGN_REPORTS_SMTP_PASSWORD=… campaign-reports --config prod.toml digest"
)
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The report day whose digest to send, in the configured time zone (default: the "
    "latest day with data in the warehouse). Example: --date 2026-11-27",
)
@click.option(
    "--resend",
    is_flag=True,
    help="Send again to recipients that already received this day's digest. "
    "Example: campaign-reports digest --date 2026-11-27 --resend",
)
@pass_ctx
def digest(obj: Context, day: datetime | None, resend: bool) -> None:
    """E-mail the day's attention list and totals, and post them to a webhook.

    Sends to each address of [digest] to (over SMTP, with STARTTLS unless starttls = false)
    and, if CAMPAIGN_REPORTS_DIGEST_WEBHOOK_URL is set, to that incoming webhook. Each day goes
    to each recipient once (logs/digest.jsonl remembers); transient failures are retried. Exits 1
    if a recipient could not be reached. Run `campaign-reports build` first.
    """
    from pipeline.schedule.digest import DigestNotSent, send_digest

    result = send_digest(
        obj.config, obj.console, day=day.date() if day is not None else None, resend=resend
    )
    click.echo(result.summary())
    if not result.ok:
        raise DigestNotSent(
            f"the digest of {result.day} did not reach {result.count('failed')} recipient(s); "
            "`campaign-reports status` lists them, and the next run tries them again"
        )
