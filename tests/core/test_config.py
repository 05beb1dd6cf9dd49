"""Configuration: defaults, then the file, then the environment, then options; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.config import Secret, load_config
from pipeline.core.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaign-reports.toml"
    path.write_text(text)
    return path


def test_defaults(tmp_path):
    cfg = load_config(None, environ={})
    assert (cfg.timezone, cfg.legacy_state, cfg.stuck_after_minutes) == (
        "Europe/Prague",
        "sent",
        60,
    )
    assert (cfg.ingest.encoding, cfg.ingest.max_invalid_fraction) == ("utf-8", 0.01)
    assert (cfg.retention.snapshots_days, cfg.retention.quarantine_days) == (400, 90)


def test_file_then_environment_then_overrides(tmp_path):
    path = write(
        tmp_path,
        'data_dir = "from-file"\ntimezone = "Europe/London"\n'
        '[ingest]\nencoding = "cp1250"\nmax_invalid_fraction = 0.05\n[retention]\nquarantine_days = 7\n',
    )
    env = {
        "CAMPAIGN_REPORTS_TIMEZONE": "UTC",
        "CAMPAIGN_REPORTS_INGEST_MAX_INVALID_FRACTION": "0.2",
    }
    cfg = load_config(path, environ=env, overrides={"data_dir": Path("from-option")})
    assert cfg.data_dir == Path("from-option")
    assert cfg.timezone == "UTC"  # environment beats the file
    assert cfg.ingest.encoding == "cp1250"  # the file beats the default
    assert cfg.ingest.max_invalid_fraction == 0.2
    assert cfg.retention.quarantine_days == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown setting 'colour'"),
        ("[ingest]\nencodign = 'x'\n", "unknown [ingest] setting(s) ['encodign']"),
        ("[api]\nclient_secret = 'x'\n", "secrets are read from the environment only"),
        ('timezone = "Mars/Olympus"\n', "not a known IANA time zone"),
        ("[ingest]\nencoding = 'latin-2'\n", "use utf-8, cp1250, or utf-8,cp1250"),
        ("stuck_after_minutes = 'soon'\n", "'soon' is not a valid int"),
        ("data_dir = \n", "campaign-reports.toml"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=None) as info:
        load_config(write(tmp_path, text), environ={})
    assert message in str(info.value)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_secrets_never_print():
    secret = Secret("hunter2-canary")
    assert (
        "hunter2" not in repr(secret)
        and "hunter2" not in str(secret)
        and "hunter2" not in f"{secret}"
    )
    assert secret.reveal() == "hunter2-canary"


def test_memory_limit_is_checked_and_reaches_duckdb(tmp_path):
    from pipeline.warehouse.db import connect

    with pytest.raises(ConfigError, match="memory_limit 'lots'"):
        load_config(write(tmp_path, 'memory_limit = "lots"\n'), environ={})
    cfg = load_config(None, environ={"CAMPAIGN_REPORTS_MEMORY_LIMIT": "256MiB"})
    assert cfg.memory_limit == "256MiB"
    con = connect(tmp_path / "w.duckdb", memory_limit=cfg.memory_limit)
    try:
        limit, temp = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
    finally:
        con.close()
    assert limit == "256.0 MiB"
    assert temp == str(tmp_path / ".tmp")
