"""One root exception; each stage raises subclasses that carry the facts and say what happens next.

The CLI turns any ``PipelineError`` into ``Error: <message>`` on stderr and exit code 1.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Root of every error a user can cause or fix (bad input, busy store, bad config)."""

    exit_code = 1


class ConfigError(PipelineError):
    """The configuration file or an environment variable is wrong."""


class CatalogError(PipelineError):
    """The state catalog data file is inconsistent."""


class StoreError(PipelineError):
    """The snapshot store cannot be read or written."""


class StoreLocked(StoreError):
    """Another writer holds the store's lock."""


class SnapshotConflict(StoreError):
    """A snapshot with the same id but different content is already published."""


class IngestError(PipelineError):
    """A file was rejected as a whole. Nothing from it was written."""

    def __init__(
        self,
        path: str,
        what: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.what = what
        self.line = line
        self.column = column
        self.hint = hint
        where = path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        msg = f"{where}: {what}. The file was rejected; nothing from it was written."
        if hint:
            msg += f" {hint}"
        super().__init__(msg)


class WarehouseError(PipelineError):
    """The DuckDB warehouse could not be built or queried."""


class QueryError(WarehouseError):
    """An SQL file or an ad-hoc query failed."""


class SparkJobError(PipelineError):
    """The Spark job cannot run, or its results cannot be loaded into the warehouse."""


class ScheduleError(PipelineError):
    """A cron expression or a job's settings are wrong, or the scheduler cannot start."""


class CronError(ScheduleError):
    """A cron expression cannot be parsed."""
