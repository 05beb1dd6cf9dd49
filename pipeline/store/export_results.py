"""What an export run did, campaign by campaign: the result of each (its line, its record in
the load log) and the run's summary (its problems: failed or incomplete campaigns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.core.errors import PipelineError
from pipeline.sources.pull import SOURCE
from pipeline.store.meta import SnapshotMeta


@dataclass
class CampaignResult:
    campaign_id: str
    name: str
    status: str  # published | already_present | skipped | failed
    contacts: int = 0
    pulls: int = 0
    duplicates: int = 0
    complete: bool = True
    other_rows: int = 0
    unknown_states: dict[str, int] = field(default_factory=dict)
    snapshot: SnapshotMeta | None = None
    reason: str = ""
    error: PipelineError | None = None
    verified_by: str = ""
    slow_pull: str = ""  # how long a pull over the limit took, e.g. "14.2 min"; else ""
    #: identities not kept, by reason (an id that is not an integer or text, a bad state)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def problem(self) -> bool:
        """Failed, or published incomplete: the exit code and ``status`` say so."""
        return self.status == "failed" or (self.status == "published" and not self.complete)

    def load_record(self) -> dict[str, Any]:
        """This campaign's line in the load log (``pipeline.store.loads``)."""
        return {
            "source": SOURCE,
            "input": f"api:campaign/{self.campaign_id}",
            "status": {"published": "ok", "already_present": "ok"}.get(self.status, self.status),
            "outcome": self.status,
            "rows_loaded": self.contacts,
            "duplicates": self.duplicates,
            "complete": self.complete,
            "other_rows": self.other_rows,
            "published": [self.snapshot.snapshot_id]
            if self.snapshot is not None and self.status == "published"
            else [],
            "error": str(self.error) if self.error else (self.reason or None),
            "verified_by": self.verified_by or None,
            "slow_pull": bool(self.slow_pull),
            "dropped": self.dropped,
        }

    def line(self) -> str:
        head = f"campaign {self.campaign_id} ({self.name})"
        if self.status == "failed":
            return f"{head}: FAILED. {self.error or self.reason}"
        if self.status == "skipped":
            return f"{head}: skipped, {self.reason}"
        text = f"{head}: {self.contacts:,} contacts"
        if self.snapshot is not None:
            text += f", snapshot {self.snapshot.snapshot_id} at {self.snapshot.snapshot_time[:19]}Z"
        if self.status == "already_present":
            text += " (already in the store)"
        if self.pulls > 1:
            text += f", {self.pulls} pulls"
        if self.verified_by == "second_pass":
            text += ", ids checked by a second pass (the API gave no identityIds)"
        if self.slow_pull:
            text += f". SLOW PULL: it took {self.slow_pull}; published flagged"
        if not self.complete:
            text += (
                f". INCOMPLETE: {self.reason}. Published but kept out of reports; the next "
                "export will try again"
            )
        if self.unknown_states:
            text += ". States the catalog does not know, kept as 'other': " + ", ".join(
                f"{k!r} ({v:,})" for k, v in sorted(self.unknown_states.items())
            )
        return text


@dataclass
class ExportSummary:
    results: list[CampaignResult] = field(default_factory=list)
    requests: int = 0
    token_requests: int = 0
    retries: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def contacts(self) -> int:
        return sum(r.contacts for r in self.results if r.status in ("published", "already_present"))

    @property
    def ok(self) -> bool:
        """No campaign failed and none was published incomplete."""
        return not self.problems()

    def problems(self) -> list[str]:
        """One line per failed or incomplete campaign."""
        return [r.line() for r in self.results if r.problem]

    def text(self) -> str:
        incomplete = sum(1 for r in self.results if r.status == "published" and not r.complete)
        published = self.count("published")
        return (
            f"Export: {len(self.results)} campaign(s), {self.contacts:,} contacts, "
            f"{published} snapshot(s) published"
            + (f" ({incomplete} incomplete)" if incomplete else "")
            + (
                f", {self.count('already_present')} already present"
                if self.count("already_present")
                else ""
            )
            + f", {self.count('skipped')} skipped, {self.count('failed')} failed; "
            f"{self.requests:,} requests ({self.retries} retried) in {self.seconds:.1f} s"
        )
