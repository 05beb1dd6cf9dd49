"""The ``demo`` command: a synthetic tenant through the whole pipeline (registered in
``pipeline.cli``). The stages it drives load only when it runs."""

from __future__ import annotations

from datetime import datetime

import click

from pipeline.cli.context import AsOf, Context, pass_ctx


@click.command(epilog="Example: campaign-reports --data-dir demo-data demo --scale 0.1")
@click.option(
    "--seed", default=7, show_default=True, help="Seed of the synthetic tenant. Example: --seed 11"
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    help="Multiply every campaign's size (0.1 for a quick look). Example: --scale 0.1",
)
@click.option(
    "--as-of",
    type=AsOf(),
    default="2026-11-27T22:00:00Z",
    show_default=True,
    help="The end of the demo's history (the last report day is this day in the time zone). "
    "Example: --as-of 2026-11-20T22:00:00Z",
)
@pass_ctx
def demo(obj: Context, seed: int, scale: float, as_of: datetime) -> None:
    """Build a synthetic tenant and run the whole pipeline on it.

    Writes export files for several campaigns into <data-dir>/demo-exports, ingests them through the
    normal ingest path, builds the warehouse and renders the reports of its last 7 days. Deterministic
    for a given seed; running it again on the same data directory adds nothing.
    """
    from pipeline.demo.tenant import run_demo
    from pipeline.report import render_last_days
    from pipeline.warehouse.build import build

    run_demo(obj.config, obj.console, seed=seed, scale=scale, as_of=as_of)
    result = build(obj.config, obj.console)
    rendered = render_last_days(obj.config, obj.console, days=7)
    overview = rendered.overview(rendered.days[-1])
    obj.console.info(f"Analyst copy of the warehouse: {result.analyst}")
    obj.console.info(f"The report is ready: {overview}")
    obj.console.info(f"Open it in a browser: file://{overview.resolve()}")


COMMANDS = (demo,)
