"""The ``ingest``, ``erase``, ``retention`` and ``migrate`` commands: the snapshot store (registered in
``pipeline.cli``). The store's modules (polars, pyarrow) load only when a command runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from pipeline.cli.context import (
    AsOf,
    CampaignId,
    Context,
    delimiter_option,
    encoding_option,
    pass_ctx,
)
from pipeline.core.errors import PipelineError


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports ingest inbox/campaign-1234_20261128T060000Z.csv\n"
    "  campaign-reports ingest --campaign 1234 --snapshot-time 2026-11-28T06:00:00+01:00 export.csv\n"
    "  campaign-reports ingest --encoding cp1250 excel-export.csv\n"
    "  campaign-reports ingest --replace campaign-1234_20261128T060000Z.csv"
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--campaign",
    "campaign_id",
    type=CampaignId(),
    help="Campaign id for every row (beats a column and the file name). Example: --campaign 1234",
)
@click.option(
    "--snapshot-time",
    type=AsOf(),
    help="Snapshot time for every row, ISO-8601 (without an offset: in the configured timezone). "
    "Example: --snapshot-time 2026-11-28T06:00:00+01:00",
)
@encoding_option
@delimiter_option
@click.option(
    "--finished",
    is_flag=True,
    help="The files are their campaigns' final exports: record each campaign as finished at its "
    "last snapshot time here (a file name ending in _final says the same). "
    "Example: --finished",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Publish the files' snapshots in place of published ones with the same campaign and "
    "time (a wrong or cut-short export replaced on purpose; recorded as a replacement, and the "
    "next build rebuilds those campaigns). Example: --replace",
)
@pass_ctx
def ingest(
    obj: Context,
    files: tuple[Path, ...],
    campaign_id: str | None,
    snapshot_time: datetime | None,
    encoding: str | None,
    delimiter: str | None,
    finished: bool,
    replace: bool,
) -> None:
    """Load export files (CSV, Parquet, JSON) into the snapshot store.

    Each file is accounted for: rows read = rows loaded + rows quarantined. Bad rows go to
    quarantine/ with a reason; a file that cannot be trusted as a whole is rejected and nothing
    from it is written. Ingesting the same file twice adds nothing; a different file for a
    campaign and time already published is refused unless --replace is given. Exit code 1 if
    any file was rejected.
    """
    from pipeline.store.ingest import IngestOptions, ingest_files
    from pipeline.store.snapshots import Store

    options = IngestOptions(
        campaign_id=campaign_id,
        snapshot_time=snapshot_time,
        encoding=encoding,
        delimiter=delimiter,
        finished=finished,
        replace=replace,
    )
    reports = ingest_files(
        list(files),
        store=Store(obj.config.data_dir),
        config=obj.config,
        console=obj.console,
        options=options,
    )
    rejected = [r for r in reports if not r.ok]
    if rejected:
        raise PipelineError(f"{len(rejected)} of {len(reports)} file(s) rejected (see above)")


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports erase --contact 123456\n"
    "  campaign-reports erase --contact 123456 --yes"
)
@click.option(
    "--contact", "contact_id", required=True, help="The contact id to erase, e.g. --contact 123456."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation. Example: --yes")
@pass_ctx
def erase(obj: Context, contact_id: str, yes: bool) -> None:
    """Remove one contact everywhere, for good.

    Rewrites every snapshot and quarantine file that holds the contact without it, rebuilds the
    warehouse and the rendered reports from the cleaned store, and keeps the contact on a
    suppression list so that a later file or export does not bring it back.
    """
    from pipeline.report.rebuild import erase_everywhere

    if not yes:
        click.confirm(
            f"Erase contact {contact_id} from {obj.config.data_dir} for good?", abort=True
        )
    # Every lock first (busy: refused, nothing changed), then the store, then the warehouse and
    # reports rebuilt from the cleaned store.
    erase_everywhere(obj.config, obj.console, contact_id)


@click.command(epilog="Example: campaign-reports retention --as-of 2026-11-28T06:00:00Z")
@click.option(
    "--as-of",
    type=AsOf(),
    help="The time that ages are measured from (default: now). "
    "Example: --as-of 2026-11-28T06:00:00Z",
)
@pass_ctx
def retention(obj: Context, as_of: datetime | None) -> None:
    """Remove raw snapshots and quarantine files older than the configured limits.

    Limits are retention.snapshots_days (default 400) and retention.quarantine_days (default 90);
    0 keeps data for ever. Each removal is a commit of the snapshot table, and the removed
    files are deleted at once (a vacuum).
    """
    from pipeline.store.retention import apply_retention

    apply_retention(obj.config, obj.console, as_of)


@click.command(
    epilog="Examples:\n\n\b\n  campaign-reports --data-dir data migrate --dry-run\n"
    "  campaign-reports --data-dir data migrate"
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would be migrated; change nothing. Example: migrate --dry-run",
)
@pass_ctx
def migrate(obj: Context, dry_run: bool) -> None:
    """Turn a store written by an older version (manifest.jsonl) into the Delta table.

    The snapshot files stay where they are; one Delta commit adds the complete ones and records
    what the manifest knew of every snapshot and quarantine file; manifest.jsonl is then renamed
    manifest.jsonl.migrated. Safe to run again: a store that is already a Delta table is left
    as it is.
    """
    from pipeline.store.migrate import migrate as run_migrate

    obj.console.info(run_migrate(obj.config, obj.console, dry_run=dry_run).text())


COMMANDS = (ingest, erase, retention, migrate)
