"""Invite codes: making them, reading a typed one, and how often one may be tried.

A user becomes a member or organiser only by sending an invite code that an organiser (or
the operator, ``python -m bot invite``) created: codes carry 80 random bits, are
single-use, expire, and are stored only as a hash.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal

from contests.org import AttemptLimit, Membership, Role
from contests.records import UserKey
from contests.rules import SHANGHAI

__all__ = [
    "CODE_PREFIX",
    "DEFAULT_INVITE_VALIDITY",
    "BindLimits",
    "BindResult",
    "IssuedInvite",
    "limited_text",
    "new_code",
    "normalise_code",
    "parse_bind",
]

# Crockford's base32: no I, L, O or U, so a code read aloud or retyped survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 16  # 80 bits: not guessable, not worth brute-forcing
CODE_PREFIX = "KP"
DEFAULT_INVITE_VALIDITY = dt.timedelta(days=7)
_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_BARE_CODE = re.compile(r"^KP[-\s]?(?:[0-9A-Z]{4}[-\s]?){3}[0-9A-Z]{4}$")
# "绑定 <code>": only code-like text after the word, so that an answer such as "绑定一生的科学"
# (a title) still reaches the dialog.
_BIND = re.compile(r"^(?:绑定|/?bind(?=[\s:]))\s*:?\s*([0-9A-Za-z][0-9A-Za-z\s\-_]*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A new invite code, for whoever asked for it: shown once, never stored in clear."""

    code: str  # shown once; only its hash is stored
    contest_id: str
    role: Role
    unit: str | None
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class BindResult:
    """The answer to a 绑定 (binding) message."""

    ok: bool
    status: Literal["ok", "unknown", "used", "expired", "malformed", "limited"]
    text: str
    membership: Membership | None = None
    retry_at: dt.datetime | None = None  # "limited": when a code may be tried again


@dataclass(frozen=True, slots=True)
class BindLimits:
    """How many codes may be tried: a few a minute per user, and more an hour per code prefix
    (its first four characters), so that many chats together cannot sweep one region of the
    code space either.  Counted in the org store, shared by every worker."""

    per_user: int = 5
    user_window: dt.timedelta = dt.timedelta(minutes=1)
    per_prefix: int = 30
    prefix_window: dt.timedelta = dt.timedelta(hours=1)

    def for_try(self, user: UserKey, canonical: str) -> tuple[AttemptLimit, AttemptLimit]:
        prefix = canonical.removeprefix(CODE_PREFIX + "-")[:4]
        return (
            AttemptLimit(f"bind:user:{user.channel}:{user.user_id}", self.per_user, self.user_window),
            AttemptLimit(f"bind:prefix:{prefix}", self.per_prefix, self.prefix_window),
        )


def new_code() -> str:
    """A fresh invite code such as ``KP-7H3Q-M9X2-4RTB-ZK5N``."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_CHARS))
    return CODE_PREFIX + "-" + "-".join(body[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalise_code(text: str) -> str | None:
    """The canonical form of a typed code (case, spaces, dashes, full-width and O/0 I/1 L/1
    confusions do not matter), or None when it cannot be a code."""
    raw = unicodedata.normalize("NFKC", text).upper()
    raw = re.sub(r"[\s\-_—–]", "", raw)
    raw = raw.removeprefix(CODE_PREFIX).translate(_LOOKALIKE)
    if len(raw) != CODE_CHARS or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return CODE_PREFIX + "-" + "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def limited_text(retry_at: dt.datetime, now: dt.datetime) -> str:
    """Why a code may not be tried now, and when it may (Beijing time)."""
    minutes = max(1, -(-int((retry_at - now).total_seconds()) // 60))
    at = retry_at.astimezone(SHANGHAI).strftime("%H:%M")
    return (
        f"邀请码尝试次数过多，请于北京时间 {at} 之后（约 {minutes} 分钟后）再试。"
        "如果邀请码确实无误，请向主办方核对。"
    )


def parse_bind(text: str) -> str | None:
    """The code of a binding message: "绑定 KP-…", "/bind KP-…", or the bare code alone.

    Returns the text after 绑定 even when it is not a valid code (so the user hears why);
    a bare message counts only when it looks exactly like a code, so that no answer to a
    form field is ever taken for one.
    """
    stripped = unicodedata.normalize("NFKC", text).strip()
    if m := _BIND.match(stripped):
        return m.group(1).strip()
    if _BARE_CODE.match(stripped.upper()) and normalise_code(stripped):
        return stripped
    return None
