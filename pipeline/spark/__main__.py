"""``python -m pipeline.spark``: the Spark job as a program, for ``spark-submit``.

    spark-submit --master yarn --py-files campaign_state_reports.zip \\
        "$(python -c 'import pipeline.spark.__main__ as m; print(m.__file__)')" \\
        --data-dir /mnt/campaigns --out s3a://bucket/spark-out --from 2026-11-01 --to 2026-11-30

The options are those of ``campaign-reports spark`` (which runs the same ``run_job``), but the
master and Spark settings come from spark-submit. Errors are a message on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pipeline.core.config import load_config
from pipeline.core.console import Console
from pipeline.core.errors import PipelineError
from pipeline.spark.job import run_job, session
from pipeline.spark.portable import Params
from pipeline.store.snapshots import Store


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.spark",
        description="The portable metrics (queries/portable/) of the store's complete snapshots, "
        "computed by Spark and written as Parquet folders under --out.",
    )
    parser.add_argument("--data-dir", type=Path, help="the data directory of the store")
    parser.add_argument("--config", type=Path, help="TOML config file (time zone, stuck minutes)")
    parser.add_argument("--out", required=True, help="output folder or URI (s3a://, abfss://)")
    parser.add_argument("--from", dest="day_from", type=date.fromisoformat, help="first day")
    parser.add_argument("--to", dest="day_to", type=date.fromisoformat, help="last day")
    parser.add_argument("--master", help="Spark master (default: spark-submit's)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(quiet=args.quiet)
    try:
        config = load_config(args.config, overrides={"data_dir": args.data_dir})
        params = Params.of(config, args.day_from, args.day_to)
        with session(args.master) as spark:
            run_job(spark, Store(config.data_dir), args.out, params, console)
    except PipelineError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
