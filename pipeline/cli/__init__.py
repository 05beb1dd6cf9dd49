"""The command line: the only place where errors become messages and exit codes."""

from pipeline.cli.main import cli, main

__all__ = ["cli", "main"]
