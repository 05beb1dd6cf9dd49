"""Property: whatever happens to a campaign while it is paged, a snapshot marked complete holds
exactly the campaign's contacts, each once; anything else is marked incomplete."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from export_helpers import CLIENT_ID, SECRET, assert_equals_tenant, published, run_export
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

mutation = st.tuples(
    st.integers(1, 6),  # at which page
    st.integers(0, 4),  # contacts inserted
    st.integers(0, 4),  # contacts removed
    st.integers(0, 80),  # where in the API's order
    st.integers(1, 2),  # how many pulls it hits
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(page_size=st.integers(4, 25), mutations=st.lists(mutation, max_size=3))
def test_complete_snapshots_are_exact(page_size: int, mutations: list) -> None:
    tenant = FakeTenant(seed=9, sizes=(70,), phone_campaign=False)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as fake,
    ):
        for page, insert, remove, position, times in mutations:
            fake.faults.mutate(
                101,
                at_offset=page * page_size,
                insert=insert,
                remove=remove,
                position=position,
                times=times,
            )
        data_dir = Path(tmp) / "data"
        run = run_export(fake, data_dir, page_size=page_size)
        result = run.result(101)
        assert result.status == "published"
        [meta] = published(data_dir, 101)
        frame = pl.read_parquet(data_dir / meta.path)
        assert frame.height == meta.rows == frame.get_column("contact_id").n_unique()
        assert meta.complete == result.complete
        if meta.complete:
            assert_equals_tenant(data_dir, meta, tenant)
        else:
            assert result.pulls == 2 and result.reason
        hit = any(m.hits for m in fake.faults.mutations if m.insert or m.remove)
        if not hit:  # nothing changed during paging: one pull, complete
            assert meta.complete and result.pulls == 1
