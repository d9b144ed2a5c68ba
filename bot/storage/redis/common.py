"""What every Redis store shares: key parts and replies as text."""

from __future__ import annotations

from urllib.parse import quote


def part(text: str) -> str:
    """One component of a key, percent-encoded so that ``:`` in an id cannot make two keys collide."""
    return quote(text, safe="")


def as_text(value: object) -> str:
    """A reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)
