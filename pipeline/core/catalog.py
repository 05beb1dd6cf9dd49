"""The state catalog (``states.toml``) and the one normaliser from raw state text to a state code.

Sources send UI labels ("Delivered", any case, extra spaces), API values (``WA_READ``), our own
codes (``delivered``), or the legacy "Successfully Submitted" / ``SUCCESS``. ``state_exprs`` maps
them all, vectorised in polars: the legacy state to the configured state with a legacy flag, and
anything else to ``other`` with the raw text kept in ``raw_state``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.errors import CatalogError, ConfigError

if TYPE_CHECKING:  # polars loads only when a mapping runs: the config checks aliases without it
    import polars as pl

CATALOG_PATH = Path(__file__).with_name("states.toml")
FUNNEL_STAGES = ("", "sent", "delivered", "read")
CATEGORIES = ("pending", "in_funnel", "failed", "excluded")
OTHER = "other"


@dataclass(frozen=True)
class State:
    code: str
    label: str
    api_values: tuple[str, ...]
    category: str
    funnel_stage: str
    description: str
    notes: str
    order: int

    @property
    def funnel_rank(self) -> int:
        """0 = never reached Sent, 1 = Sent, 2 = Delivered, 3 = Read."""
        return FUNNEL_STAGES.index(self.funnel_stage)


@dataclass(frozen=True)
class Catalog:
    states: tuple[State, ...]
    legacy_label: str
    legacy_api_values: tuple[str, ...]
    legacy_default: str
    legacy_description: str
    legacy_notes: str
    other: State

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.states)

    def state(self, code: str) -> State:
        for s in (*self.states, self.other):
            if s.code == code:
                return s
        raise KeyError(code)

    def aliases(self) -> dict[str, str]:
        """Normalised alias -> state code, for the twelve states (not the legacy state)."""
        out: dict[str, str] = {}
        for s in self.states:
            for alias in (s.code, s.label, *s.api_values):
                key = normalize_key(alias)
                if out.get(key, s.code) != s.code:
                    raise CatalogError(f"{CATALOG_PATH}: {alias!r} names two states")
                out[key] = s.code
        return out

    def legacy_keys(self) -> tuple[str, ...]:
        return tuple(normalize_key(v) for v in (self.legacy_label, *self.legacy_api_values))

    def frame(self) -> pl.DataFrame:
        """The catalog as a table (for the warehouse): one row per state, ``other`` last."""
        import polars as pl

        rows = [*self.states, self.other]
        return pl.DataFrame(
            {
                "state": [s.code for s in rows],
                "label": [s.label for s in rows],
                "category": [s.category for s in rows],
                "funnel_stage": [s.funnel_stage or None for s in rows],
                "funnel_rank": [s.funnel_rank for s in rows],
                "api_values": [", ".join(s.api_values) for s in rows],
                "description": [s.description for s in rows],
                "notes": [s.notes for s in rows],
                "sort_order": [s.order for s in rows],
            },
            schema_overrides={"funnel_rank": pl.Int8, "sort_order": pl.Int16},
        )

    def sha256(self) -> str:
        """A hash of the catalog's table: what a warehouse build, or a Spark job, records of the
        catalog its numbers were computed with."""
        return hashlib.sha256(self.frame().write_csv().encode()).hexdigest()


_SPACES = re.compile(r"\s+")


def normalize_key(text: str) -> str:
    """The matching key of a raw state: trimmed, inner whitespace folded to one space, lower case."""
    return _SPACES.sub(" ", text.strip()).lower()


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read the state catalog {path}: {exc}") from exc
    try:
        states = tuple(
            State(
                code=row["code"],
                label=row["label"],
                api_values=tuple(row["api_values"]),
                category=row["category"],
                funnel_stage=row["funnel_stage"],
                description=row["description"],
                notes=row["notes"],
                order=i,
            )
            for i, row in enumerate(data["state"])
        )
        legacy = data["legacy"]
        other_row = data["other"]
        other = State(
            code=other_row["code"],
            label=other_row["label"],
            api_values=(),
            category=other_row["category"],
            funnel_stage=other_row["funnel_stage"],
            description=other_row["description"],
            notes=other_row["notes"],
            order=len(states),
        )
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"state catalog {path}: missing or malformed field {exc}") from exc
    for s in states:
        if s.category not in CATEGORIES:
            raise CatalogError(f"{path}: state {s.code!r} has unknown category {s.category!r}")
        if s.funnel_stage not in FUNNEL_STAGES:
            raise CatalogError(
                f"{path}: state {s.code!r} has unknown funnel stage {s.funnel_stage!r}"
            )
    catalog = Catalog(
        states=states,
        legacy_label=legacy["label"],
        legacy_api_values=tuple(legacy["api_values"]),
        legacy_default=legacy["default_maps_to"],
        legacy_description=legacy["description"],
        legacy_notes=legacy["notes"],
        other=other,
    )
    catalog.aliases()  # raises on a clash
    return catalog


def check_legacy_state(catalog: Catalog, legacy_state: str) -> None:
    if legacy_state not in (*catalog.codes, OTHER):
        raise CatalogError(
            f"legacy_state = {legacy_state!r} is not a state code; use one of "
            + ", ".join((*catalog.codes, OTHER))
        )


def check_aliases(aliases: tuple[tuple[str, str], ...], catalog: Catalog | None = None) -> None:
    """Check ``[states.aliases]`` (raw label -> state code): each target is one of the twelve
    states, and no label is already the catalog's name of another state or the legacy state."""
    cat = catalog or load_catalog()
    known = cat.aliases()
    legacy = set(cat.legacy_keys())
    seen: dict[str, str] = {}
    for label, code in aliases:
        where = f"[states.aliases] {label!r} = {code!r}"
        key = normalize_key(label)
        if not key:
            raise ConfigError(f"{where}: the label is empty")
        if code not in cat.codes:
            raise ConfigError(
                f"{where}: {code!r} is not a state code; use one of " + ", ".join(cat.codes)
            )
        if known.get(key, code) != code:
            raise ConfigError(f"{where}: the catalog already reads {label!r} as {known[key]!r}")
        if key in legacy:
            raise ConfigError(f"{where}: {label!r} is the legacy state (setting legacy_state)")
        if seen.get(key, code) != code:
            raise ConfigError(
                f"{where}: the same label (ignoring case and spaces) is also mapped to {seen[key]!r}"
            )
        seen[key] = code


def state_exprs(
    raw: pl.Expr,
    *,
    catalog: Catalog | None = None,
    legacy_state: str | None = None,
    aliases: tuple[tuple[str, str], ...] = (),
) -> tuple[pl.Expr, pl.Expr]:
    """Polars expressions ``(state, legacy)`` for a column of raw state text.

    ``state`` is a catalog code or ``other``; ``legacy`` is true where the raw value was the
    legacy "Successfully Submitted" state (mapped to ``legacy_state``, default from the catalog).
    ``aliases`` are the config's extra labels (``[states.aliases]``), matched like the catalog's.
    """
    import polars as pl

    cat = catalog or load_catalog()
    target = legacy_state or cat.legacy_default
    check_legacy_state(cat, target)
    key = raw.cast(pl.String).str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()
    mapping = cat.aliases()
    mapping.update((normalize_key(label), code) for label, code in aliases)
    legacy_keys = cat.legacy_keys()
    mapping.update(dict.fromkeys(legacy_keys, target))
    state = key.replace_strict(mapping, default=OTHER, return_dtype=pl.String)
    legacy = key.is_in(list(legacy_keys)).fill_null(False)
    return state, legacy


def state_exprs_for(
    values: pl.Series,
    raw: pl.Expr,
    *,
    legacy_state: str | None = None,
    aliases: tuple[tuple[str, str], ...] = (),
) -> tuple[pl.Expr, pl.Expr]:
    """``state_exprs`` for a column whose values are known: the normalising (trim, fold spaces,
    lower case) runs once per distinct raw value, and the rows only look the result up. Same
    results as ``state_exprs``; much faster on big files, which hold few distinct states."""
    import polars as pl

    distinct = tuple(sorted(values.cast(pl.String).unique().drop_nulls().to_list()))
    mapping = _known_mapping if len(distinct) <= _CACHED_STATES else _known_mapping.__wrapped__
    return _lookup(raw, *mapping(distinct, legacy_state, aliases))


def state_exprs_known(
    distinct: list[str],
    column: str,
    *,
    legacy_state: str | None = None,
    aliases: tuple[tuple[str, str], ...] = (),
) -> tuple[pl.Expr, pl.Expr]:
    """``state_exprs_for`` of the text column ``column`` whose distinct values are ``distinct``.
    The expressions are kept for the next file with the same states (most files of a tenant
    hold the same dozen), so a small file does not rebuild the lookup."""
    key = tuple(sorted(distinct))
    if len(key) > _CACHED_STATES:  # a file of odd values: not worth keeping
        return _known_exprs.__wrapped__(key, column, legacy_state, aliases)
    return _known_exprs(key, column, legacy_state, aliases)


_CACHED_STATES = 200


@functools.lru_cache(maxsize=64)
def _known_exprs(
    distinct: tuple[str, ...],
    column: str,
    legacy_state: str | None,
    aliases: tuple[tuple[str, str], ...],
) -> tuple[pl.Expr, pl.Expr]:
    import polars as pl

    return _lookup(pl.col(column), *_known_mapping.__wrapped__(distinct, legacy_state, aliases))


def _lookup(
    raw: pl.Expr, mapping: dict[str, str], legacy_raw: list[str]
) -> tuple[pl.Expr, pl.Expr]:
    """The (state, legacy) expressions that look each raw value up in ``mapping``."""
    import polars as pl

    as_text = raw.cast(pl.String)
    return (
        as_text.replace_strict(mapping, default=OTHER, return_dtype=pl.String),
        as_text.is_in(legacy_raw).fill_null(False),
    )


@functools.lru_cache(maxsize=64)
def _known_mapping(
    distinct: tuple[str, ...],
    legacy_state: str | None,
    aliases: tuple[tuple[str, str], ...],
) -> tuple[dict[str, str], list[str]]:
    """Each distinct raw value's state, and the raw values that are the legacy state."""
    import polars as pl

    values = pl.DataFrame({"raw": list(distinct)}, schema={"raw": pl.String})
    state, legacy = state_exprs(pl.col("raw"), legacy_state=legacy_state, aliases=aliases)
    table = values.with_columns(state.alias("state"), legacy.alias("legacy"))
    mapping = dict(zip(table["raw"].to_list(), table["state"].to_list(), strict=True))
    return mapping, table.filter(pl.col("legacy"))["raw"].to_list()


def normalize_state(raw: str | None, *, legacy_state: str | None = None) -> tuple[str, bool]:
    """The same mapping for one value (for messages and tests); the pipeline uses ``state_exprs``."""
    import polars as pl

    s, legacy = state_exprs(pl.col("raw"), legacy_state=legacy_state)
    row = (
        pl.DataFrame({"raw": [raw]}, schema={"raw": pl.String}).select(s, legacy.alias("l")).row(0)
    )
    return row[0], row[1]
