"""Bad state values: a file mostly in unknown labels is rejected with the values and the fix
(``[states.aliases]``), an alias loads it, a state text too long to be a state quarantines its
row, and no huge value reaches a message or a log. Run through the CLI as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipeline.core.catalog import normalize_state
from pipeline.core.config import load_config
from pipeline.core.errors import ConfigError
from pipeline.store.snapshots import Store

NAME = "campaign-42_20261128T060000Z.csv"


def run(data_dir: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    cfg = ["--config", str(config)] if config else []
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), *cfg, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def czech_file(tmp_path: Path) -> Path:
    """10 rows: 4 'Doručeno' (one in other case and spacing), 2 'Přečteno', 4 Read.
    Unknown without aliases: 6 of 10 = 60 % > 50 %."""
    states = ["Doručeno", "doručeno ", "Doručeno", "DORUČENO", "Přečteno", "Přečteno"]
    states += ["Read"] * 4
    lines = ["contact_id,state", *(f"{i},{s}" for i, s in enumerate(states, start=1))]
    path = tmp_path / NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_file_mostly_in_unknown_labels_is_rejected_with_the_values_and_the_fix(tmp_path):
    data = tmp_path / "data"
    result = run(data, "ingest", str(czech_file(tmp_path)))
    assert result.returncode == 1, result.stderr
    err = result.stderr
    # 6 of the 10 loadable rows (60.0 %) are unknown; the values as written, each counted
    # (case and spaces fold: the four spellings of Doručeno are one value, shown as first written)
    assert "6 of 10 rows (60.0%) have a state the catalog does not know" in err
    assert "more than the 50% allowed" in err
    assert "2 distinct value(s)" in err
    assert "'Doručeno' (4)" in err and "'Přečteno' (2)" in err
    assert "[states.aliases]" in err
    assert "nothing from it was written" in err
    assert not Store(data).published_ids()


def test_the_same_file_loads_with_aliases_in_the_config(tmp_path):
    data = tmp_path / "data"
    cfg = tmp_path / "campaign-reports.toml"
    cfg.write_text('[states.aliases]\n"Doručeno" = "delivered"\n"Přečteno" = "read"\n')
    result = run(data, "ingest", str(czech_file(tmp_path)), config=cfg)
    assert result.returncode == 0, result.stderr
    snap = Store(data).scan().collect().sort(pl.col("contact_id").cast(pl.Int64))
    # every spelling of Doručeno is delivered (4), Přečteno read (2), Read read (4)
    assert snap["state"].to_list() == ["delivered"] * 4 + ["read"] * 6
    assert snap["raw_state"][1] == "doručeno "  # the raw text is kept as it came
    assert Store(data).published()[0].other_rows == 0


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ('"Doručeno" = "delivred"', "'delivred' is not a state code"),
        ('"Read" = "delivered"', "the catalog already reads 'Read' as 'read'"),
        ('"SUCCESS" = "read"', "is the legacy state"),
        ('"Doručeno" = "delivered"\n"DORUČENO" = "read"', "also mapped to 'delivered'"),
    ],
)
def test_a_wrong_alias_is_a_config_error(tmp_path, aliases, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[states.aliases]\n{aliases}\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(cfg, environ={})


def test_an_alias_of_the_same_state_as_the_catalog_is_accepted(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[states.aliases]\n"read" = "read"\n"Zugestellt" = "delivered"\n')
    config = load_config(cfg, environ={})
    assert normalize_state("  zugestellt ")[0] == "other"  # without the aliases
    from pipeline.core.catalog import state_exprs

    frame = pl.DataFrame({"raw": ["  zugestellt ", "READ", "x"]})
    state, _ = state_exprs(pl.col("raw"), aliases=config.states.aliases)
    assert frame.select(state).to_series().to_list() == ["delivered", "read", "other"]


def test_a_state_text_too_long_to_be_a_state_is_quarantined_and_never_printed(tmp_path):
    data = tmp_path / "data"
    huge = "Delivered" + "x" * 300_000
    body = (
        "contact_id,state\n1,Read\n2,"
        + huge
        + "\n3,WA_DELIVERED\n"
        + "".join(f"{i},Sent\n" for i in range(4, 201))
    )
    path = tmp_path / NAME
    path.write_text(body, encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[ingest]\nmax_state_length = 200\n")
    result = run(data, "ingest", str(path), config=cfg)
    assert result.returncode == 0, result.stderr
    # 200 rows read = 199 loaded + 1 quarantined (1 of 200 = 0.5 %, under the 1 % limit)
    assert "200 rows read = 199 loaded + 1 quarantined" in result.stdout + result.stderr
    assert "state text longer than 200 characters" in result.stdout + result.stderr
    assert "x" * 100 not in result.stdout + result.stderr
    log = (data / "logs" / "loads.jsonl").read_text()
    assert "x" * 100 not in log
    assert json.loads(log.splitlines()[-1])["quarantine_reasons"] == {
        "state text longer than 200 characters": 1
    }
    # nothing is lost: the row is in the quarantine file, whole
    [qfile] = list((data / "quarantine").rglob("*.csv"))
    assert huge in qfile.read_text(encoding="utf-8")


def test_unknown_values_in_a_loaded_file_are_shown_shortened(tmp_path):
    data = tmp_path / "data"
    long_value = "WA_" + "Y" * 150  # under the 200 limit: loaded as other, shown cut
    body = "contact_id,state\n1," + long_value + "\n2,Read\n3,Read\n"
    path = tmp_path / NAME
    path.write_text(body, encoding="utf-8")
    result = run(data, "ingest", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "Y" * 60 not in out
    assert "(153 characters)" in out  # 3 + 150
    entry = json.loads((data / "logs" / "loads.jsonl").read_text().splitlines()[-1])
    [(key, count)] = entry["unknown_states"].items()
    assert count == 1 and len(key) < 80 and key.startswith("WA_YYY")
