"""Turning a setting's value (TOML or an environment variable's text) into its default's type:
the one rule of every config section (``pipeline.core.config`` and the sections kept apart)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError


def coerce(name: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default``. A list setting (a tuple default) takes a TOML list or
    a comma-separated text (as environment variables give it); a flag takes true/false or 1/yes."""
    try:
        if isinstance(default, Path):
            return Path(str(value)).expanduser()
        if isinstance(default, tuple):
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            return tuple(str(v).strip() for v in items if str(v).strip())
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {name!r}: {value!r} is not a valid {type(default).__name__}"
        ) from exc
