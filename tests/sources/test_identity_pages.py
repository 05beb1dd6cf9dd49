"""A page of identities from the API becomes text columns with every id's exact digits, whether
the page is plain (checked over whole columns, kept as it is) or odd (checked one by one)."""

from __future__ import annotations

from collections import Counter

from pipeline.sources.pull import checked_identities, identities_frame


def ids_of(items: list, limit: int = 200) -> tuple[list[str | None], Counter[str]]:
    dropped: Counter[str] = Counter()
    frame = identities_frame(checked_identities(items, limit, dropped))
    return frame.get_column("id").to_list(), dropped


def test_a_plain_page_keeps_every_id_as_its_digits() -> None:
    page = [{"id": 2262000003, "state": "WA_READ"}, {"id": 2**63 - 1, "state": None}]
    assert ids_of(page) == (["2262000003", "9223372036854775807"], Counter())


def test_an_id_beyond_64_bits_keeps_its_digits_too() -> None:
    # 2**64 + 1 = 18446744073709551617 does not fit 64 bits: the page is checked one by one
    page = [{"id": 2**64 + 1, "state": "WA_READ"}, {"id": 5, "state": "WA_SENT"}]
    assert ids_of(page) == (["18446744073709551617", "5"], Counter())


def test_one_odd_id_or_state_is_dropped_and_counted_and_the_others_keep_their_digits() -> None:
    page = [
        {"id": 2262000003, "state": "WA_READ"},
        {"id": 1.5, "state": "WA_READ"},  # a float id
        {"id": True, "state": "WA_READ"},  # bool is not an integer id
        {"id": 2262000004, "state": ["WA_READ"]},  # a state that is a list
        {"id": 2262000005, "state": "x" * 201},  # longer than the limit of 200
        {"id": "2262000006", "state": "WA_SENT"},  # an id as text stays as written
    ]
    ids, dropped = ids_of(page)
    assert ids == ["2262000003", "2262000006"]
    assert dropped == Counter(
        {
            "an id that is not an integer or text": 2,
            "a state that is not text": 1,
            "a state longer than 200 characters": 1,
        }
    )
