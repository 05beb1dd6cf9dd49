"""``[digest]``: the file, the environment, and secrets that only the environment may hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.config import load_config
from pipeline.core.errors import ConfigError

BODY = """
[digest]
smtp_host = "smtp.example.com"
from = "Reports <reports@example.com>"
to = ["a@example.com", "b@example.com"]
"""


def test_digest_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BODY)
    cfg = load_config(path, environ={}).digest
    assert (cfg.smtp_host, cfg.smtp_port, cfg.starttls) == ("smtp.example.com", 587, True)
    assert cfg.sender == "Reports <reports@example.com>"
    assert cfg.to == ("a@example.com", "b@example.com") and cfg.base_url == ""
    env = {
        "CAMPAIGN_REPORTS_DIGEST_TO": "c@example.com, d@example.com",
        "CAMPAIGN_REPORTS_DIGEST_STARTTLS": "false",
        "CAMPAIGN_REPORTS_SMTP_PASSWORD": "pw-canary",
        "CAMPAIGN_REPORTS_SMTP_USERNAME": "robot",
    }
    cfg = load_config(path, environ=env).digest
    assert cfg.to == ("c@example.com", "d@example.com") and cfg.starttls is False
    assert cfg.login(env) == "robot"
    password = cfg.password(env)
    assert password is not None and password.reveal() == "pw-canary"
    assert "pw-canary" not in repr(cfg) + repr(password)
    assert cfg.webhook_url({}) is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('password = "x"\n', "secrets are read from the environment only"),
        ('webhook_url = "https://hooks.example.com/x"\n', "environment only"),
        ("smtp_port = 0\n", "smtp_port 0 is not a port"),
        ('base_url = "reports.example.com"\n', "must start with https://"),
        ("colour = 1\n", "unknown [digest] setting(s) ['colour']"),
    ],
)
def test_bad_digest_settings_are_named(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BODY + extra)
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={})
    assert message in str(exc.value)
    assert "hooks.example.com" not in str(exc.value)


def test_a_bad_address_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(BODY.replace('"b@example.com"', '"nobody"'))
    with pytest.raises(ConfigError, match=r"digest\.to: 'nobody' is not an e-mail address"):
        load_config(path, environ={})
