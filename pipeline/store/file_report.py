"""What one ingest is asked to do (``IngestOptions``) and what happened to each file
(``FileReport``): the accounting printed per file and kept in the load log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.core.errors import PipelineError
from pipeline.normalize.rows import shorten
from pipeline.store.snapshots import SnapshotMeta


@dataclass
class IngestOptions:
    campaign_id: str | None = None
    snapshot_time: datetime | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: str = "file"
    finished: bool = False  # the files are their campaigns' final exports (``--finished``)
    #: publish a file's snapshots in place of published ones with the same campaign and time
    #: (``--replace``), instead of refusing the file
    replace: bool = False


@dataclass
class FileReport:
    """What happened to one input file.

    ``rows_read == rows_loaded + rows_quarantined + rows_suppressed`` (the last is only non-zero
    for contacts that were erased).
    """

    path: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_suppressed: int = 0  # rows of erased contacts (``erase``), dropped and not kept anywhere
    reasons: Counter[str] = field(default_factory=Counter)
    unknown_states: Counter[str] = field(default_factory=Counter)
    legacy_rows: int = 0
    published: list[SnapshotMeta] = field(default_factory=list)
    already_present: list[SnapshotMeta] = field(default_factory=list)
    replaced: list[SnapshotMeta] = field(default_factory=list)  # published in place of others
    quarantine_file: str | None = None
    error: PipelineError | None = None
    #: campaign id -> its last snapshot time in the file, when the file is a final export
    #: (``ingest --finished``, or ``final`` in the file name)
    finished: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def status_word(self) -> str:
        """A few words of progress while the files are checked (before the commit)."""
        if self.error is not None:
            return "rejected"
        return f"{self.rows_read:,} rows checked"

    def summary(self) -> str:
        if self.error is not None:
            return f"{self.path}: rejected. {self.error}"
        parts = [
            f"{self.path}: {self.rows_read:,} rows read = {self.rows_loaded:,} loaded "
            f"+ {self.rows_quarantined:,} quarantined"
            + (
                f" + {self.rows_suppressed:,} of erased contacts dropped"
                if self.rows_suppressed
                else ""
            )
        ]
        if self.reasons:
            parts.append(
                "  quarantined: "
                + "; ".join(f"{n:,} {r}" for r, n in self.reasons.most_common())
                + (f" (in {self.quarantine_file})" if self.quarantine_file else "")
            )
        if self.published:
            parts.append(
                f"  {len(self.published)} snapshot(s) published: " + _describe(self.published)
            )
        if self.replaced:
            parts.append(
                f"  {len(self.replaced)} snapshot(s) replaced (--replace): "
                + _describe(self.replaced)
            )
        if self.already_present:
            parts.append(
                f"  {len(self.already_present)} snapshot(s) already in the store, nothing added: "
                + _describe(self.already_present)
            )
        if self.unknown_states:
            parts.append(
                f"  {sum(self.unknown_states.values()):,} rows with states the catalog does not know, "
                "loaded as 'other': "
                + ", ".join(
                    f"{shorten(raw)!r} ({n:,})" for raw, n in self.unknown_states.most_common(10)
                )
            )
        if self.legacy_rows:
            parts.append(
                f"  {self.legacy_rows:,} rows in the legacy state Successfully Submitted, mapped"
            )
        return "\n".join(parts)


def _describe(metas: list[SnapshotMeta]) -> str:
    shown = ", ".join(
        f"campaign {m.campaign_id} at {m.snapshot_time[:19]}Z ({m.rows:,} rows)" for m in metas[:5]
    )
    return shown + (f" and {len(metas) - 5} more" if len(metas) > 5 else "")


# ---------------------------------------------------------------------------------------- ingest
