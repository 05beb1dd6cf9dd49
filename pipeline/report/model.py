"""The typed context of every report page: what a template may show, and nothing else.

Every number in these objects was computed by the warehouse's SQL (``queries/``); the Python code
that fills them (``pipeline.report.data``) only moves values, it never does arithmetic on them.
Templates read these dataclasses; a name a template uses that is not here is an error
(``StrictUndefined``), not an empty cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pipeline.report.by_age import AgeData


@dataclass(frozen=True)
class Formula:
    """A rate's definition, printed on every page that shows the rate."""

    key: str  # delivery_rate, read_rate, read_of_sent
    label: str  # "Delivery rate"
    numerator: str  # "reached Delivered"
    denominator: str  # "reached Sent"
    explanation: str


#: The rates of the funnel, as the architecture defines them (the SQL computes the values).
FORMULAS: tuple[Formula, ...] = (
    Formula(
        "delivery_rate",
        "Delivery rate",
        "reached Delivered",
        "reached Sent",
        "Of the contacts the template message was sent to, the share it reached.",
    ),
    Formula(
        "read_rate",
        "Read rate",
        "reached Read",
        "reached Delivered",
        "Of the contacts the message reached, the share that displayed it.",
    ),
    Formula(
        "read_of_sent",
        "Read of sent",
        "reached Read",
        "reached Sent",
        "Of the contacts the message was sent to, the share that displayed it.",
    ),
)

#: How each funnel stage is counted (printed beside the funnel).
STAGE_DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "reached Sent",
        "Sent + Delivered + Read + Delivery failed (legacy Successfully Submitted counts as Sent)",
    ),
    ("reached Delivered", "Delivered + Read"),
    ("reached Read", "Read"),
)


@dataclass(frozen=True)
class Rate:
    """One funnel rate for one campaign (or the total) on one day. ``value`` is None when the
    denominator is zero: shown as "n/a", never as 0."""

    key: str
    label: str
    numerator: int
    denominator: int
    value: float | None
    previous: float | None = None  # the same rate on the day before (None: no data or n/a)
    change_pp: float | None = None  # value - previous, in percentage points


@dataclass(frozen=True)
class Stage:
    """A cumulative funnel stage: contacts that reached it (now or, with history, ever)."""

    key: str  # contacts, sent, delivered, read
    label: str  # "Contacts", "reached Sent"...
    count: int
    share_of_contacts: float | None
    change: int | None = None  # against the day before (None: no snapshot the day before)


@dataclass(frozen=True)
class Funnel:
    stages: tuple[Stage, ...]
    rates: tuple[Rate, ...]

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(key)

    def rate(self, key: str) -> Rate:
        for r in self.rates:
            if r.key == key:
                return r
        raise KeyError(key)


@dataclass(frozen=True)
class StateCount:
    """One of the twelve catalog states (or ``other``) with its count in the day's snapshot."""

    code: str
    label: str
    category: str  # pending, in_funnel, failed, excluded, other
    description: str  # the vendor's description
    notes: str  # the vendor's notes
    count: int
    share: float | None  # count / contacts
    change: int | None = None  # against the day before


@dataclass(frozen=True)
class RawState:
    """A raw state text the catalog does not know (counted as ``other``), kept verbatim."""

    raw_state: str
    count: int


@dataclass(frozen=True)
class Failure:
    """One kind of failure, with what it means for the analyst."""

    code: str
    label: str
    meaning: str  # "no WhatsApp account", "platform trouble", "sent but not delivered"
    count: int
    share: float | None  # of contacts


@dataclass(frozen=True)
class TrendPoint:
    """One day of a campaign's history: the counts of that day's last snapshot."""

    day: date
    snapshot_time: datetime | None  # None: no snapshot that day (a gap, not a zero)
    contacts: int | None
    reached_sent: int | None
    reached_delivered: int | None
    reached_read: int | None
    read_of_sent: float | None
    states: dict[str, int] = field(default_factory=dict)  # state code -> count


@dataclass(frozen=True)
class Transition:
    """Contacts that moved between two states between the day's first and last snapshots
    (or from the previous day's last snapshot)."""

    from_code: str
    from_label: str
    to_code: str
    to_label: str
    contacts: int


@dataclass(frozen=True)
class StuckContact:
    contact_id: str
    state_label: str
    since: datetime
    minutes: int  # whole minutes in state, for display
    seconds: int  # whole seconds in state: stuck means more than the threshold, to the second


@dataclass(frozen=True)
class Finding:
    """A warning shown on the page: data quality, stale data, stuck contacts."""

    severity: str  # error | warning | info
    kind: str  # e.g. unknown_state, stale, stuck, went_backwards
    message: str
    count: int | None = None
    label: str = ""  # what the page calls the check, e.g. "Legacy state mapped"


@dataclass(frozen=True)
class DataFile:
    """A file beside the page (metrics, drill-downs), as a relative link."""

    href: str
    label: str
    rows: int | None = None


@dataclass(frozen=True)
class CampaignDay:
    """One campaign on one report day."""

    campaign_id: str
    name: str | None  # display name from the warehouse, if it has one
    fresh: bool  # True: a snapshot on the day; False: stale (numbers are from an earlier day)
    snapshot_time: datetime | None  # the snapshot the numbers come from (UTC)
    snapshot_id: str | None
    snapshots_on_day: int
    previous_snapshot_time: datetime | None  # the snapshot the changes are measured against
    previous_day: date | None  # its day: normally the day before; None: no earlier snapshot
    contacts: int
    contacts_change: int | None
    states: tuple[StateCount, ...]
    funnel: Funnel
    trend: tuple[TrendPoint, ...]
    findings: tuple[Finding, ...]
    legacy_as_sent: int  # legacy Successfully Submitted contacts counted as Sent
    unknown_states: tuple[RawState, ...]
    failed: int  # Sending failed + Error + Delivery failed
    failures: tuple[Failure, ...]
    transitions: tuple[Transition, ...]
    stuck: tuple[StuckContact, ...]
    stuck_count: int
    files: tuple[DataFile, ...] = ()
    #: campaign_lifecycle at the day's end: running, finished, canceled, stale or unknown
    lifecycle: str = "unknown"
    final: bool = False  # finished or canceled: its numbers are final, counted in the totals
    lifecycle_reason: str | None = None
    hours_since_snapshot: float | None = None  # from its last snapshot to the day's end
    failed_share: float | None = None  # failed / contacts (None: no contacts)
    #: findings of the "Needs attention" list for this campaign (0 until that list fills it)
    attention_count: int = 0

    @property
    def in_totals(self) -> bool:
        """Counted in the day's totals: a snapshot on the day, or final numbers."""
        return self.fresh or self.final

    @property
    def title(self) -> str:
        return self.name or self.campaign_id

    @property
    def page(self) -> str:
        return f"campaign-{self.campaign_id}.html"

    def state(self, code: str) -> StateCount:
        for s in self.states:
            if s.code == code:
                return s
        raise KeyError(code)


@dataclass(frozen=True)
class Totals:
    """The campaigns of the day (a snapshot on the day, or final) together (computed by SQL)."""

    campaigns: int
    stale_campaigns: int
    contacts: int
    contacts_change: int | None
    funnel: Funnel
    failed: int
    stuck: int
    findings: int
    final_campaigns: int = 0  # in the totals with their final numbers, no snapshot on the day
    failed_share: float | None = None  # failed / contacts (None: no contacts)
    attention: int = 0  # findings of the "Needs attention" list (0 until that list fills it)


@dataclass(frozen=True)
class PageMeta:
    """What every page prints in its header and footer."""

    day: date
    timezone: str
    day_start_utc: datetime  # the day D in the time zone, as UTC instants
    day_end_utc: datetime
    latest_data: datetime | None  # the newest complete snapshot in the warehouse
    version: str
    stuck_after_minutes: int
    previous_day: date | None = None  # links to neighbouring rendered days
    next_day: date | None = None


@dataclass(frozen=True)
class Freshness:
    """How fresh one campaign's data is at the end of the report day (report_freshness)."""

    campaign_id: str
    title: str
    latest_complete: datetime
    age_hours: float
    incomplete_on_day: int  # snapshots of the day published incomplete: kept out of the numbers


@dataclass(frozen=True)
class ExportProblem:
    """An export run that failed or caught up missed hours since the last report."""

    job: str
    problem: str  # failed | caught up
    started: datetime
    missed: int | None
    error: str | None


@dataclass(frozen=True)
class Attention:
    """One finding of "Needs attention" (a row of the view ``attention``)."""

    rank: int
    campaign_id: str | None  # None: about the whole tenant
    campaign_name: str | None
    rule: str  # the rule's code (data attribute only; the page shows the title)
    title: str
    detail: str
    severity: str  # high | medium | low
    since: date | None
    link: str | None
    repeats: bool = False  # since is before the day: the finding held on earlier days too
    value: float | None = None  # the number the rule measured
    threshold: float | None = None  # the rule's limit


@dataclass(frozen=True)
class OverviewPage:
    """The daily overview (``<day>/index.html``)."""

    meta: PageMeta
    totals: Totals
    campaigns: tuple[CampaignDay, ...]  # in the totals (fresh or final), ordered for reading
    stale: tuple[CampaignDay, ...]  # no snapshot on the day and not final (stale or unknown)
    findings: tuple[Finding, ...]  # tenant-wide findings
    files: tuple[DataFile, ...]
    freshness: tuple[Freshness, ...] = ()
    export_problems: tuple[ExportProblem, ...] = ()
    runs_recorded: bool = False  # the warehouse holds scheduler runs (else problems are unknown)
    formulas: tuple[Formula, ...] = FORMULAS
    attention: tuple[Attention, ...] = ()  # the day's "Needs attention" list, ranked
    by_age: AgeData = field(default_factory=AgeData)  # campaigns side by side by age


@dataclass(frozen=True)
class CampaignPage:
    """One campaign's page (``<day>/campaign-<id>.html``)."""

    meta: PageMeta
    campaign: CampaignDay
    legacy_label: str
    formulas: tuple[Formula, ...] = FORMULAS
    attention: tuple[Attention, ...] = ()  # the campaign's own findings of the day, ranked
    by_age: AgeData = field(default_factory=AgeData)  # its curve, the median, its projection


@dataclass(frozen=True)
class ArchiveDay:
    day: date
    href: str
    campaigns: int
    stale_campaigns: int
    contacts: int
    findings: int
    reached_sent: int | None = None
    read_of_sent: float | None = None
    attention: int = 0


@dataclass(frozen=True)
class ArchiveCampaignDay:
    """One day of a campaign in its own index across days."""

    day: date
    href: str  # that day's campaign page, relative to the archive
    lifecycle: str
    fresh: bool  # a snapshot on the day (else its last numbers: final, stale or unknown)
    contacts: int
    reached_sent: int | None
    read_of_sent: float | None
    attention: int = 0


@dataclass(frozen=True)
class ArchiveCampaign:
    """A campaign's own index (``reports/campaign-<id>.html``): its days, newest first."""

    campaign_id: str
    title: str
    href: str
    days: tuple[ArchiveCampaignDay, ...]


@dataclass(frozen=True)
class ArchivePage:
    """The archive index (``reports/index.html``): every rendered day, newest first, and the
    campaigns with their own indexes."""

    timezone: str
    version: str
    days: tuple[ArchiveDay, ...]
    campaigns: tuple[ArchiveCampaign, ...] = ()
