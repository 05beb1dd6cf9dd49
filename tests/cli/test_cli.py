"""The command line: help on every command, errors as messages, documented in the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from wait_helpers import GUARD

from pipeline.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "pipeline"]


def commands() -> list[str]:
    return sorted(cli.commands)


def run(
    *args: str, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, input=input, timeout=GUARD
    )


@pytest.mark.parametrize("name", commands())
def test_every_command_has_help_with_an_example(name):
    command = cli.commands[name]
    ctx = click.Context(
        command, info_name=name, parent=click.Context(cli, info_name="campaign-reports")
    )
    text = command.get_help(ctx)
    assert command.help and len(command.help) > 40, name
    assert "example" in text.lower(), f"{name} --help shows no example"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts} has no help text"
            assert has_example(param.help), f"{name} {param.opts}: no example in its help"


def has_example(text: str) -> bool:
    return "Example" in text or "e.g." in text


def test_every_global_option_has_help_with_an_example():
    for param in cli.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help and has_example(param.help), param.opts


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in commands():
        assert re.search(rf"campaign-reports[^\n`]* {re.escape(name)}\b", readme), name


def test_help_runs_as_a_program():
    result = run("--help")
    assert result.returncode == 0
    for name in commands():
        assert name in result.stdout


def test_bad_input_is_an_error_message_not_a_traceback(tmp_path):
    bad = tmp_path / "campaign-1_20261128T060000Z.csv"
    bad.write_text("contact_id,nope\n1,2\n")
    result = run("--data-dir", str(tmp_path / "data"), "ingest", str(bad))
    assert result.returncode == 1
    assert "Error: 1 of 1 file(s) rejected" in result.stderr
    assert "required column 'state' is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_misuse_exits_2(tmp_path):
    result = run("--data-dir", str(tmp_path), "ingest", str(tmp_path / "does-not-exist.csv"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_ingest_prints_the_accounting(tmp_path):
    f = tmp_path / "campaign-1_20261128T060000Z.csv"
    f.write_text("contact_id,state\n1,WA_READ\n2,WA_SENT\n")
    result = run("--data-dir", str(tmp_path / "data"), "ingest", str(f))
    assert result.returncode == 0, result.stderr
    assert "2 rows read = 2 loaded + 0 quarantined" in result.stderr
    again = run("--data-dir", str(tmp_path / "data"), "ingest", str(f))
    assert "already in the store, nothing added" in again.stderr


def test_the_readme_documents_the_exit_codes():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Exit codes\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    assert match, "README.md has no '## Exit codes' section"
    for code in ("0", "1", "2", "70", "130"):
        assert re.search(rf"^\| `?{code}`? \|", match.group(1), flags=re.M), code
