"""The state catalog: every row, every alias, the legacy mapping and unknown values."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.core.catalog import load_catalog, normalize_state, state_exprs
from pipeline.core.errors import CatalogError

# The architecture doc's table, written out by hand: code, UI label, API values, category, stage.
EXPECTED = [
    ("initial", "Initial", ["INITIAL"], "pending", ""),
    ("in_progress", "In progress", ["CALLING", "CALL_IN_PROGRESS"], "pending", ""),
    ("retry_scheduled", "Retry scheduled", ["RETRY_SCHEDULED"], "pending", ""),
    ("sent", "Sent", ["WA_SENT"], "in_funnel", "sent"),
    ("delivered", "Delivered", ["WA_DELIVERED"], "in_funnel", "delivered"),
    ("read", "Read", ["WA_READ"], "in_funnel", "read"),
    ("delivery_failed", "Delivery failed", ["WA_DELIVERY_FAILED"], "failed", "sent"),
    ("sending_failed", "Sending failed", ["WA_SEND_FAILED"], "failed", ""),
    ("error", "Error", ["FAILING"], "failed", ""),
    ("invalid_record", "Invalid record", ["INVALID_RECORD"], "excluded", ""),
    ("removed", "Removed", ["REMOVED"], "excluded", ""),
    ("canceled_by_admin", "Canceled by admin", ["CANCELLED_BY_ADMIN"], "excluded", ""),
]


def test_catalog_has_exactly_the_twelve_states_of_the_design():
    cat = load_catalog()
    got = [(s.code, s.label, list(s.api_values), s.category, s.funnel_stage) for s in cat.states]
    assert got == EXPECTED


def test_vendor_texts_are_in_the_catalog():
    cat = load_catalog()
    assert cat.state("sending_failed").notes == (
        "The client's phone number does not have a registered WA account."
    )
    assert cat.state("read").description == (
        "The template message was successfully delivered to the client."
    )
    assert all(s.description and s.notes for s in cat.states)


@pytest.mark.parametrize(("code", "label", "api_values", "_cat", "_stage"), EXPECTED)
def test_every_alias_maps_to_its_state(code, label, api_values, _cat, _stage):
    for raw in [code, label, label.upper(), label.lower(), f"  {label}  ", *api_values]:
        assert normalize_state(raw) == (code, False), raw
    # extra inner spaces are folded
    assert normalize_state(label.replace(" ", "   ")) == (code, False)


def test_legacy_state_maps_to_sent_with_flag():
    for raw in ["Successfully Submitted", "successfully  submitted", "SUCCESS", " success "]:
        assert normalize_state(raw) == ("sent", True), raw


def test_legacy_mapping_is_configuration():
    assert normalize_state("SUCCESS", legacy_state="other") == ("other", True)
    assert normalize_state("Successfully Submitted", legacy_state="delivered") == (
        "delivered",
        True,
    )
    with pytest.raises(CatalogError, match="not a state code"):
        normalize_state("SUCCESS", legacy_state="bogus")


@pytest.mark.parametrize("raw", ["WA_PENDING_NEW", "Readd", "DIAL_FAILED", "BLACKLISTED", "", None])
def test_unknown_values_are_other_not_errors(raw):
    assert normalize_state(raw) == ("other", False)


def test_expressions_are_vectorised_and_keep_raw_text():
    df = pl.DataFrame({"raw": ["WA_READ", "Delivered", "SUCCESS", "NEW_ENUM", None]})
    state, legacy = state_exprs(pl.col("raw"))
    out = df.with_columns(state.alias("state"), legacy.alias("legacy"))
    assert out.get_column("state").to_list() == ["read", "delivered", "sent", "other", "other"]
    assert out.get_column("legacy").to_list() == [False, False, True, False, False]
    assert out.get_column("raw").to_list()[3] == "NEW_ENUM"


def test_catalog_frame_has_funnel_ranks():
    frame = load_catalog().frame()
    ranks = dict(zip(frame["state"], frame["funnel_rank"], strict=True))
    assert ranks["read"] == 3 and ranks["delivered"] == 2
    assert ranks["sent"] == ranks["delivery_failed"] == 1
    assert ranks["sending_failed"] == ranks["initial"] == ranks["other"] == 0
    assert frame.height == 13


def test_the_lookup_form_gives_the_same_states_as_the_expressions():
    from pipeline.core.catalog import state_exprs_for

    raw = ["WA_READ", " read ", "SUCCESS", None, "Successfully  Submitted", "NEW", "", "Sent"] * 3
    df = pl.DataFrame({"raw": raw}, schema={"raw": pl.String})
    for legacy_state in (None, "other", "delivered"):
        a = df.select(
            *(
                e.alias(n)
                for e, n in zip(
                    state_exprs(pl.col("raw"), legacy_state=legacy_state), "sl", strict=True
                )
            )
        )
        b = df.select(
            *(
                e.alias(n)
                for e, n in zip(
                    state_exprs_for(df["raw"], pl.col("raw"), legacy_state=legacy_state),
                    "sl",
                    strict=True,
                )
            )
        )
        assert a.equals(b)
        assert a["s"].to_list()[:8] == ["read", "read", legacy_state or "sent", "other",
                                        legacy_state or "sent", "other", "other", "sent"]  # fmt: skip
