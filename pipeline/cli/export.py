"""``campaign-reports export`` (the mluvii API -> snapshots) and ``campaign-reports fake-api``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from pipeline.cli.context import AsOf, CampaignId, Context, pass_ctx
from pipeline.core.clock import now as wall_now
from pipeline.core.errors import PipelineError


@click.command(
    epilog="Examples:\n\n\b\n"
    "  CAMPAIGN_REPORTS_API_CLIENT_ID=... CAMPAIGN_REPORTS_API_CLIENT_SECRET=... \\\n"
    "    campaign-reports --data-dir data export\n"
    "  campaign-reports export --campaign 101 --campaign 102\n"
    "  campaign-reports export --base-url http://127.0.0.1:8765 --page-size 500"
)
@click.option(
    "--campaign",
    "campaign_ids",
    multiple=True,
    type=CampaignId(),
    help="Export only this campaign id (repeat for more). Default: every WhatsApp campaign. "
    "Example: --campaign 101 --campaign 102",
)
@click.option(
    "--base-url",
    help="API root, e.g. https://app.mluvii.com (default: api.base_url from the config).",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 10_000),
    help="Identities per request (default: api.page_size, 1000). Example: --page-size 500",
)
@click.option(
    "--force",
    is_flag=True,
    help="Pull campaigns that finished before their last complete snapshot again (a new "
    "snapshot; a published one never changes). Example: --campaign 327 --force",
)
@click.option(
    "--as-of",
    type=AsOf(),
    help="Run as if the clock said this time (ISO-8601): snapshot times start there and move "
    "on with the real time (to replay against a fake API). "
    "Example: --as-of 2026-11-29T06:00:00+01:00",
)
@pass_ctx
def export(
    obj: Context,
    campaign_ids: tuple[str, ...],
    base_url: str | None,
    page_size: int | None,
    force: bool,
    as_of: datetime | None,
) -> None:
    """Pull every contact of the tenant's WhatsApp campaigns from the mluvii API into the store.

    One snapshot per campaign (the time the pull started), published like an ingested file.
    The client id comes from api.client_id or CAMPAIGN_REPORTS_API_CLIENT_ID, the secret only
    from CAMPAIGN_REPORTS_API_CLIENT_SECRET. Campaigns that finished before their last complete
    snapshot are skipped (--force pulls them again). A pull that looks inconsistent is repeated
    once, then published as incomplete (kept out of reports). A failed campaign does not stop
    the others; the exit code is 1 if any failed or was published incomplete, with one line per
    such campaign (also under --quiet).
    """
    from pipeline.core.clock import moving_clock
    from pipeline.store.export import run_export

    config = obj.config
    changes: dict[str, Any] = {
        k: v for k, v in {"base_url": base_url, "page_size": page_size}.items() if v
    }
    if changes:
        config = dataclasses.replace(config, api=dataclasses.replace(config.api, **changes))
    summary = run_export(
        config,
        obj.console,
        campaign_ids=list(campaign_ids) or None,
        force=force,
        clock=moving_clock(as_of) if as_of is not None else wall_now,
    )
    problems = summary.problems()
    if problems:
        # one line per problem (the first after "Error: "), also under --quiet
        raise PipelineError(
            "\n".join(problems) + f" ({len(problems)} of {len(summary.results)} campaign(s) "
            "failed or incomplete; the others were exported)"
        )


@click.command(
    "fake-api",
    epilog="Examples:\n\n\b\n"
    "  campaign-reports fake-api --port 8765\n"
    "  campaign-reports fake-api --contacts 5000,200 --fault rate-limit --fault login-redirect",
)
@click.option(
    "--port", default=8765, show_default=True, help="Port on 127.0.0.1. Example: --port 9000"
)
@click.option(
    "--seed", default=7, show_default=True, help="Seed of the generated tenant. Example: --seed 11"
)
@click.option(
    "--contacts",
    default="250,1200,40",
    show_default=True,
    help="Contacts per WhatsApp campaign, comma-separated (campaign ids 101, 102, ...). "
    "Example: --contacts 5000,200",
)
@click.option(
    "--minutes-per-second",
    default=10.0,
    show_default=True,
    help="How fast the tenant's simulated clock runs: contacts move on between exports. "
    "Example: --minutes-per-second 60",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    type=click.Choice(
        [
            "rate-limit",
            "server-errors",
            "server-500",
            "maintenance",
            "login-redirect",
            "slow",
            "truncated",
            "page-cap",
            "no-identity-ids",
        ]
    ),
    help="Misbehave on purpose (repeatable): 429 with Retry-After, 503 bursts, two HTTP 500, two "
    "maintenance pages, a login redirect mid-run, slow answers, cut-off JSON, at most 500 "
    "identities per page whatever is asked, campaigns without identityIds. "
    "Example: --fault rate-limit --fault page-cap",
)
@pass_ctx
def fake_api(
    obj: Context,
    port: int,
    seed: int,
    contacts: str,
    minutes_per_second: float,
    faults: tuple[str, ...],
) -> None:
    """Serve a fake mluvii API with a generated tenant, to try `export` without credentials.

    It speaks the documented endpoints and JSON shapes (token endpoint, campaigns, identities
    with offset/limit paging, the login redirect) on 127.0.0.1 until you press Ctrl-C. Its client
    id is "fake-client" and its secret "fake-secret" (printed below: they are not real).
    """
    import time

    from pipeline.testing.faults import PRESETS, FaultPlan
    from pipeline.testing.server import FakeMluvii
    from pipeline.testing.tenant import FakeTenant

    try:
        sizes = tuple(int(x) for x in contacts.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(
            "use whole numbers, e.g. 250,1200", param_hint="--contacts"
        ) from None
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    tenant = FakeTenant(seed=seed, sizes=sizes, start=start, unknown_every=97)
    plan = FaultPlan()
    for name in faults:
        PRESETS[name](plan)
    began = time.monotonic()

    def tick() -> None:
        elapsed = time.monotonic() - began
        tenant.now = start + timedelta(minutes=180 + elapsed * minutes_per_second)

    fake = FakeMluvii(tenant, faults=plan, port=port, on_request=tick)
    fake.start()
    console = obj.console
    console.info(f"Fake mluvii API at {fake.url} (Ctrl-C to stop). In another shell:")
    console.info(
        f"\n  export CAMPAIGN_REPORTS_API_BASE_URL={fake.url}\n"
        f"  export CAMPAIGN_REPORTS_API_CLIENT_ID={fake.client_id}\n"
        "  export CAMPAIGN_REPORTS_API_CLIENT_SECRET=fake-secret\n"
        "  campaign-reports --data-dir try-data export\n"
    )
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        console.info("Stopped.")
