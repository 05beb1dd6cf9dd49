"""A canary client id, secret and token run through every failure path with debug logging on:
they appear nowhere in logs, console output, errors, reprs, Parquet, the manifest, DuckDB or HTML."""

from __future__ import annotations

import io
import itertools
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from export_helpers import api_config
from wait_helpers import GUARD

from pipeline.core.config import Config, Secret
from pipeline.core.console import Console
from pipeline.sources.mluvii_api import MluviiClient
from pipeline.store.export import Exporter
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

CANARY_ID = "CANARY-CLIENT-1d7f"
CANARY_SECRET = "CANARY-SECRET-9e3a"
CANARY_TOKEN = "CANARY-TOKEN-"
CANARIES = (CANARY_ID, CANARY_SECRET, CANARY_TOKEN)

#: (name, how to set the fault up, api overrides)
SCENARIOS: list[tuple[str, Any, dict[str, Any]]] = [
    ("happy", lambda f: None, {}),
    ("429", lambda f: f.faults.add("status", status=429, retry_after="1", path="identities"), {}),
    ("503 burst", lambda f: f.faults.add("status", status=503, times=3, path="identities"), {}),
    ("500", lambda f: f.faults.add("status", status=500, path="identities"), {}),
    ("404", lambda f: f.faults.add("status", status=404, path="identities"), {}),
    (
        "retry-after too long",
        lambda f: f.faults.add("status", status=429, retry_after="9999", path="identities"),
        {},
    ),
    (
        "attempts exhausted",
        lambda f: f.faults.add("status", status=502, times=9),
        {"max_attempts": 2},
    ),
    ("login redirect", lambda f: f.faults.add("revoke", path="identities", skip=1), {}),
    ("persistent redirect", lambda f: f.faults.add("redirect", times=99, path="identities"), {}),
    ("html", lambda f: f.faults.add("html", times=99, path="identities"), {}),
    ("truncated", lambda f: f.faults.add("truncate", path="identities"), {}),
    ("bad json", lambda f: f.faults.add("bad_json", path="identities"), {}),
    ("dropped", lambda f: f.faults.add("drop", path="identities"), {}),
    ("stall", lambda f: f.faults.add("stall", path="identities"), {"read_timeout": 0.2}),
    (
        "trickle",
        lambda f: f.faults.add("trickle", chunk=50, delay=0.02, path="identities"),
        {"request_timeout": 0.3},
    ),
    ("token 503", lambda f: f.faults.add("status", status=503, token_endpoint=True), {}),
    ("token refused", lambda f: setattr(f, "_client_secret", "other"), {}),
    ("churn", lambda f: f.faults.mutate(101, at_offset=100, insert=3, times=2), {}),
    ("deadline", lambda f: f.faults.add("slow", delay=0.4, times=99), {"deadline": 0.5}),
]


def find_canaries(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def scan_data_dir(data_dir: Path) -> list[str]:
    """Every file under the data directory: raw bytes, Parquet decoded, DuckDB tables dumped."""
    hits = []
    for path in data_dir.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        texts = [raw.decode("utf-8", "replace")]
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            texts.append(frame.write_csv())
        if path.suffix == ".duckdb":
            con = duckdb.connect(str(path), read_only=True)
            try:
                for (table,) in con.sql(
                    "SELECT table_name FROM information_schema.tables"
                ).fetchall():
                    texts.append(str(con.sql(f'SELECT * FROM "{table}"').fetchall()))
            finally:
                con.close()
        for text in texts:
            hits += [f"{path}: {c}" for c in find_canaries(text)]
    return hits


def test_canaries_never_leak_in_process(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    counter = itertools.count()
    caplog.set_level(logging.DEBUG)  # root: httpx and httpcore debug logging included
    for name in ("httpx", "httpcore", "campaign_reports"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    data_dir = tmp_path / "data"
    texts: list[str] = []
    for name, setup, overrides in SCENARIOS:
        tenant = FakeTenant(seed=1, sizes=(250, 30), phone_campaign=False)
        fake = FakeMluvii(
            tenant,
            client_id=CANARY_ID,
            client_secret=CANARY_SECRET,
            token_factory=lambda: f"{CANARY_TOKEN}{next(counter)}",
        )
        with fake:
            setup(fake)
            api = api_config(fake, client_id=CANARY_ID, backoff_base=0.01, **overrides)
            client = MluviiClient(
                api, client_id=CANARY_ID, client_secret=Secret(CANARY_SECRET), sleep=lambda s: None
            )
            stream = io.StringIO()
            try:
                summary = Exporter(
                    client, _store(data_dir), Config(data_dir=data_dir, api=api), Console(stream)
                ).run()
                texts += [str(r.error) for r in summary.results] + [
                    repr(r.error) for r in summary.results
                ]
                texts.append(repr(summary))
            except Exception as exc:  # the whole run failed: its message must be clean too
                texts += [str(exc), repr(exc), repr(exc.__cause__), repr(exc.__context__)]
            finally:
                client.close()
            texts += [stream.getvalue(), repr(client), repr(client.api), repr(fake)]
            assert fake.log, name
    assert next(counter) > 5  # canary tokens were issued (and sent)
    assert "httpcore" in caplog.text  # debug logging really was on
    log_text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert find_canaries(log_text) == []
    assert find_canaries("\n".join(texts)) == []
    assert scan_data_dir(data_dir) == []
    assert len(_store(data_dir).published()) >= 2


def _store(data_dir: Path) -> Any:
    from pipeline.store.snapshots import Store

    return Store(data_dir)


def test_canaries_never_leak_from_the_cli_with_debug_and_later_stages(tmp_path: Path):
    """The real CLI with --debug (tracebacks and debug logging on) through failures, then the
    warehouse and the report built from what was exported: no canary anywhere."""
    tenant = FakeTenant(seed=1, sizes=(120, 30), phone_campaign=False)
    counter = itertools.count()
    data_dir = tmp_path / "data"
    with FakeMluvii(
        tenant,
        client_id=CANARY_ID,
        client_secret=CANARY_SECRET,
        token_factory=lambda: f"{CANARY_TOKEN}{next(counter)}",
    ) as fake:
        env = {
            **os.environ,
            "CAMPAIGN_REPORTS_API_BASE_URL": fake.url,
            "CAMPAIGN_REPORTS_API_CLIENT_ID": CANARY_ID,
            "CAMPAIGN_REPORTS_API_CLIENT_SECRET": CANARY_SECRET,
            "CAMPAIGN_REPORTS_API_PAGE_SIZE": "50",
            "CAMPAIGN_REPORTS_API_BACKOFF_BASE": "0.01",
            "CAMPAIGN_REPORTS_API_MAX_RETRY_AFTER": "5",
        }
        cli = [sys.executable, "-m", "pipeline", "--debug", "--data-dir", str(data_dir)]
        outputs = []
        fake.faults.add("status", status=503, times=2, path="identities")
        fake.faults.add("revoke", path="/campaigns/101/identities", skip=1)
        fake.faults.add("truncate", path="/campaigns/102/identities")
        outputs.append(_run([*cli, "export"], env))
        fake.faults.add("redirect", times=99, path="identities")  # fails: auth, with traceback
        outputs.append(_run([*cli, "export"], env))
        fake.faults.clear()
        fake.faults.add("status", status=429, retry_after="600", path="identities")
        outputs.append(_run([*cli, "export"], env))
        setattr(fake, "_client_secret", "other")  # noqa: B010  the token endpoint refuses
        outputs.append(_run([*cli, "export"], env))
        assert next(counter) >= 3  # tokens were issued and used
    assert any("Traceback" in o for o in outputs)  # --debug really showed tracebacks
    assert any("DEBUG" in o for o in outputs)
    later = [
        _run([*cli, "build"], env),
        _run([*cli, "report"], env),
    ]
    for i, out in enumerate(outputs + later):
        assert find_canaries(out) == [], (i, out[-2000:])
    assert scan_data_dir(tmp_path) == []
    assert any(p.suffix == ".parquet" for p in data_dir.rglob("*"))
    produced = {p.suffix for p in data_dir.rglob("*")} | {p.suffix for p in tmp_path.rglob("*")}
    if ".duckdb" not in produced or ".html" not in produced:
        pytest.xfail(f"later stages produced {sorted(produced)}: DuckDB/HTML not checked")


def _run(cmd: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=GUARD)
    return proc.stdout + proc.stderr
