"""The one gate for names from outside that become part of a path.

Campaign ids (from the API, file names, columns, options), snapshot ids and the stems of input
file names end up in file and folder names of the store, the quarantine and the reports. Every
such value passes ``safe_name`` (which refuses it) or ``name_part`` (which makes a file name
stem out of any text), and every write checks with ``inside`` that its resolved path stays
inside its root. One rule for ingest, export, report and erase.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.core.errors import PipelineError

#: A name that is safe as one path component on every file system we meet: it starts with a
#: letter or digit (so never ``.``, ``..`` or a hidden file), then letters, digits, ``_ . -``.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
#: The same rule anchored, for polars' ``str.contains`` (rows of a file).
NAME_RE = f"^{NAME_PATTERN}$"
_NAME = re.compile(NAME_PATTERN)
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
#: the longest text of a rejected name quoted back (never the whole value: it came from outside)
_QUOTE = 40


class UnsafeName(PipelineError):
    """A name from outside cannot be used in a path."""


def safe_name(kind: str, value: object) -> str:
    """``value`` as text if it is a safe path component (``NAME_PATTERN``), else ``UnsafeName``
    naming ``kind`` ("campaign id", "snapshot id")."""
    text = value if isinstance(value, str) else str(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not _NAME.fullmatch(text):
        shown = text if len(text) <= _QUOTE else text[: _QUOTE - 1] + "…"
        raise UnsafeName(
            f"the {kind} {shown!r} is not allowed: it must be 1 to 64 letters, digits, _ . or -, "
            "starting with a letter or digit (it becomes part of file names)"
        )
    return text


def is_safe_name(value: object) -> bool:
    try:
        safe_name("name", value)
    except UnsafeName:
        return False
    return True


def name_part(text: str, *, default: str = "input", limit: int = 80) -> str:
    """A file name stem made from any text (e.g. an input file's name): every run of other
    characters becomes ``_``, a leading ``.`` or ``-`` is dropped, at most ``limit`` characters."""
    part = _UNSAFE_CHARS.sub("_", text).lstrip("._-")[:limit]
    return part or default


def inside(root: Path, path: Path | str) -> Path:
    """``path`` (absolute, or relative to ``root``) resolved, if it stays inside ``root``;
    else ``UnsafeName``. Symbolic links are followed, so a link out of the root is caught."""
    base = Path(root).resolve()
    target = (base / path).resolve()
    if target != base and base not in target.parents:
        raise UnsafeName(
            f"refusing to write {str(path)[:120]!r}: it resolves outside {base}. Nothing was "
            "written there."
        )
    return target
