"""The larger fuzz run: many broken files from a seed (``pipeline.testing.mutations``), ingested
in batches, with the outcome counted per kind of mutation.

Each file must end in a load with exact accounting (rows read = loaded + quarantined) or a
clear rejection; "internal" counts files that reached the catch-all for an unexpected error
(a bug to fix), "leaks" messages that quote row content. Prints one line per kind.

    python bench/fuzz_bench.py --count 3000 --seed 16
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.core.config import Config  # noqa: E402
from pipeline.core.console import Console  # noqa: E402
from pipeline.store.ingest import ingest_files  # noqa: E402
from pipeline.store.snapshots import Store  # noqa: E402
from pipeline.testing.mutations import mutants  # noqa: E402

ROW_CONTENT = re.compile(r"22620\d{5}|42060\d{7}")
BATCH = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    start = datetime(2026, 11, 28, tzinfo=UTC)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder, data = Path(tmp) / "in", Path(tmp) / "data"
        folder.mkdir()
        files: list[tuple[str, Path]] = []
        for n, (kind, suffix, content) in enumerate(mutants(args.seed, args.count)):
            path = folder / f"campaign-F_{start + timedelta(minutes=n):%Y%m%dT%H%M%S}Z{suffix}"
            path.write_bytes(content)
            files.append((kind, path))
        config = Config(data_dir=data)
        for at in range(0, len(files), BATCH):
            batch = files[at : at + BATCH]
            reports = ingest_files(
                [p for _, p in batch], store=Store(data), config=config, console=Console.silent()
            )
            for (kind, _), r in zip(batch, reports, strict=True):
                text = str(r.error) if r.error else ""
                if r.ok and r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_suppressed:
                    counts[kind]["quarantined rows" if r.rows_quarantined else "loaded"] += 1
                elif r.ok:
                    counts[kind]["ACCOUNTING WRONG"] += 1
                elif "could not be read (" in text:
                    counts[kind]["INTERNAL"] += 1
                else:
                    counts[kind]["rejected"] += 1
                if ROW_CONTENT.search(text):
                    counts[kind]["LEAKS ROW CONTENT"] += 1
    seconds = time.perf_counter() - began
    print(f"fuzz: {args.count} files from seed {args.seed} in {seconds:.1f} s")
    total: Counter[str] = Counter()
    for kind in sorted(counts):
        total.update(counts[kind])
        print(f"  {kind:18} " + ", ".join(f"{k} {v}" for k, v in sorted(counts[kind].items())))
    print("  total              " + ", ".join(f"{k} {v}" for k, v in sorted(total.items())))


if __name__ == "__main__":
    main()
