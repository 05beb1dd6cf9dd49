"""Shared pieces of the CLI: the context object every command receives, and parameter types.

Commands that live in their stage's module (``warehouse``, ``report``...) import ``pass_ctx``
from here and are registered in ``pipeline.cli``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click

from pipeline.core.clock import parse_as_of
from pipeline.core.config import Config
from pipeline.core.console import Console


@dataclass
class Context:
    config: Config
    console: Console
    debug: bool


pass_ctx = click.make_pass_decorator(Context)


class AsOf(click.ParamType):
    """A time option: ISO-8601; without an offset, in the configured time zone (the same rule
    as times in files)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        found = ctx.find_object(Context) if ctx is not None else None
        tz = found.config.timezone if found is not None else Config().timezone
        try:
            return parse_as_of(str(value), tz)
        except ValueError as exc:
            reason = str(exc) if "does not exist" in str(exc) else "is not an ISO-8601 time"
            if reason.startswith(str(value).strip()):
                reason = reason[len(str(value).strip()) :].strip()
            self.fail(
                f"{value!r} {reason}; e.g. 2026-11-28T06:00:00+01:00, or without an offset "
                f"in {tz} (the configured timezone)",
                param,
                ctx,
            )


class CampaignId(click.ParamType):
    """A campaign id from the command line: the same gate as ids from files and the API."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from pipeline.core.names import UnsafeName, safe_name

        try:
            return safe_name("campaign id", str(value))
        except UnsafeName as exc:
            self.fail(str(exc), param, ctx)


#: The CSV options of the commands that read export files (``ingest``, ``daily``).
encoding_option = click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp1250", "utf-8,cp1250"]),
    help=(
        "CSV encoding (default: ingest.encoding, utf-8). utf-8,cp1250: each file UTF-8 if its "
        "bytes are valid UTF-8, cp1250 otherwise (a folder of both). Example: --encoding cp1250"
    ),
)
delimiter_option = click.option(
    "--delimiter",
    type=click.Choice([",", ";", "tab", "auto"]),
    help="CSV delimiter (default: auto, from the header line). Example: --delimiter ';'",
)
