"""Shared pieces of the CLI: the context object every command receives, and parameter types.

Commands that live in their stage's module (``warehouse``, ``report``...) import ``pass_ctx``
from here and are registered in ``pipeline.cli``.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return parse_as_of(str(value))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO-8601 time, e.g. 2026-11-28T06:00:00+01:00", param, ctx
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
