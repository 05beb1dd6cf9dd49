"""The ``spark`` command (registered in ``pipeline.cli``): the Spark job, an optional extra.

pyspark (and the stage ``pipeline.spark``) are imported only when the command runs, so the rest of
the CLI works without the extra.
"""

from __future__ import annotations

from datetime import datetime

import click

from pipeline.cli.context import Context, pass_ctx
from pipeline.core.errors import ConfigError

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command(
    epilog="Examples:\n\n\b\n"
    "  campaign-reports spark --from 2026-11-01 --to 2026-11-30 --out spark-out\n"
    "  campaign-reports --data-dir /srv/campaigns spark --out /srv/spark-out --master 'local[4]'\n"
    "  campaign-reports build --from-spark spark-out   # then load the results into the warehouse"
)
@click.option(
    "--from",
    "day_from",
    type=DAY,
    help="First local day (configured time zone) to write daily and per-snapshot results for "
    "(default: the first with data). History before it is still read. Example: --from 2026-11-01",
)
@click.option(
    "--to",
    "day_to",
    type=DAY,
    help="Last local day (default: the last with data); later snapshots are ignored, as if they "
    "had not happened yet. Example: --to 2026-11-30",
)
@click.option(
    "--out",
    required=True,
    help="Folder (or URI Spark can write to) for the results: one Parquet folder per metric, "
    "replaced if there. Example: --out spark-out",
)
@click.option(
    "--master",
    default="local[*]",
    show_default=True,
    help="Spark master URL. Example: --master 'local[2]', --master yarn. On a cluster, prefer "
    "spark-submit with python -m pipeline.spark (README, section Spark).",
)
@click.option(
    "--conf",
    "conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="A Spark setting, repeatable. Example: --conf spark.sql.shuffle.partitions=4",
)
@pass_ctx
def spark(
    obj: Context,
    day_from: datetime | None,
    day_to: datetime | None,
    out: str,
    master: str,
    conf: tuple[str, ...],
) -> None:
    """Compute the metrics of queries/portable/ with Spark (needs the spark extra and Java).

    Reads the store's complete snapshots, and writes per snapshot the state counts, the funnel
    (current states and furthest stage ever) and stuck counts, per campaign and local day the
    end-of-day counts and the moves between states, and the compact state history and funnel
    milestones, as Parquet folders under --out. The same SQL runs on DuckDB; `build --from-spark`
    loads the results into the warehouse so that reports work on a tenant computed on a cluster.
    """
    settings = {}
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--conf")
        settings[key.strip()] = value.strip()
    from pipeline.spark.job import run_job, session
    from pipeline.spark.portable import Params
    from pipeline.store.snapshots import Store

    try:
        params = Params.of(
            obj.config,
            day_from.date() if day_from else None,
            day_to.date() if day_to else None,
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    with session(master, settings) as active:
        run_job(active, Store(obj.config.data_dir), out, params, obj.console)
