"""The encodings an export file can be declared in (``--encoding``, ``ingest.encoding``)."""

from __future__ import annotations

#: Encodings that can be declared; ``utf-8,cp1250`` (a folder of both kinds) decodes each file as
#: UTF-8 when all its bytes are valid UTF-8 and as cp1250 otherwise. That is a rule, not a guess:
#: Czech text in cp1250 is not valid UTF-8 (its letters are single bytes above 0x7F, which UTF-8
#: never has alone), and a file declared cp1250 that is valid UTF-8 is refused anyway.
ENCODINGS = ("utf-8", "cp1250", "utf-8,cp1250")


def normalise_encoding(encoding: str) -> str:
    """The canonical spelling of a declared encoding (``utf8``, ``windows-1250`` and spaces
    accepted); raises ``ValueError`` for one that is not supported."""
    names = {"utf8": "utf-8", "utf-8": "utf-8", "windows-1250": "cp1250", "cp1250": "cp1250"}
    parts = [p.strip().lower().replace("_", "-") for p in encoding.split(",")]
    enc = ",".join(dict.fromkeys(names.get(p, p) for p in parts))
    if enc == "cp1250,utf-8":
        enc = "utf-8,cp1250"  # the same rule: a file is one or the other, never both
    if enc not in ENCODINGS:
        raise ValueError(
            f"{encoding!r} is not supported: use utf-8, cp1250, or utf-8,cp1250 for a mix"
        )
    return enc
