"""Export benchmark: N contacts from the fake mluvii server over loopback HTTP into a store.

    .venv/bin/python bench/export_bench.py                 # 100,000 contacts, page size 1000
    .venv/bin/python bench/export_bench.py --contacts 20000 --page-size 500 --campaigns 4

The fake server runs in a separate process (``campaign-reports fake-api``), so that it does not
share the exporter's interpreter lock. Each run first pages over the same identities with a bare
httpx loop (token, then GET page by page until an empty page: the floor the server and the
loopback allow), then exports into one store (run 1 a first pull, the later runs repeat pulls),
and prints both rates in contacts per second (the export's is the whole run: token, campaign
list, paging, re-count, normalising, Parquet, publication) and the export's share of the bare
loop's rate.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.core.config import (
    ApiConfig,
    Config,
    Secret,
)
from pipeline.core.console import Console
from pipeline.sources.mluvii_api import MluviiClient
from pipeline.store.export import Exporter
from pipeline.store.snapshots import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the fake server did not start")


def bare_loop(api: ApiConfig, *, campaigns: int) -> float:
    """Contacts per second of a bare httpx loop over every campaign's identity pages."""
    started = time.perf_counter()
    contacts = 0
    with httpx.Client(base_url=api.base_url) as http:
        token = http.post(
            "/login/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "fake-client",
                "client_secret": "fake-secret",
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for cid in range(101, 101 + campaigns):
            offset = 0
            while True:
                page = http.get(
                    f"/api/v1/Campaigns/{cid}/identities",
                    params={"offset": offset, "limit": api.page_size},
                    headers=headers,
                ).json()
                if not page:
                    break
                contacts += len(page)
                offset += len(page)
    return contacts / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    port = free_port()
    sizes = ",".join([str(args.contacts // args.campaigns)] * args.campaigns)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "pipeline", "-q", "fake-api", "--port", str(port)),
            *("--contacts", sizes, "--minutes-per-second", "0"),
        ],
        env=os.environ,
    )
    try:
        wait_for(port)
        api = ApiConfig(
            base_url=f"http://127.0.0.1:{port}", client_id="fake-client", page_size=args.page_size
        )
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            for run in range(1, args.runs + 1):
                bare = bare_loop(api, campaigns=args.campaigns)
                client = MluviiClient(
                    api, client_id="fake-client", client_secret=Secret("fake-secret")
                )
                exporter = Exporter(
                    client, Store(data_dir), Config(data_dir=data_dir, api=api), Console.silent()
                )
                started = time.perf_counter()
                summary = exporter.run()
                seconds = time.perf_counter() - started
                client.close()
                assert summary.ok and summary.contacts == args.contacts, summary.text()
                rate = summary.contacts / seconds
                print(
                    f"run {run} ({'first' if run == 1 else 'repeat'} pull): export "
                    f"{summary.contacts:,} contacts in {seconds:.2f} s = {rate:,.0f} contacts/s "
                    f"({summary.requests} requests, page size {args.page_size}, "
                    f"{args.campaigns} campaign(s)); bare httpx loop {bare:,.0f} contacts/s; "
                    f"export/bare = {rate / bare:.2f}"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
