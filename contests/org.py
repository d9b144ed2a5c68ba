"""Who is who in a contest, and who holds which place: the organisation store.

Beside :class:`~contests.ports.Storage` (drafts and submissions) this protocol keeps, per
contest:

* **units** – the recommending units an organiser imported (name, quota kind, province);
* **memberships** – which chat user is a unit's member (代表) or an organiser;
* **invite codes** – single-use, expiring, stored only as a SHA-256 hash;
* **places** – one per entry that counts against a quota.  A place is *reserved* (pending)
  at confirm time, *committed* once the submission exists, *released* if creating it
  failed, and *withdrawn* when a member takes the recommendation back.  Pending places count
  as used, so two confirmations can never both take the last place; a pending place that was
  never committed (a crash in between) stops counting after its ``ttl``.
* **attempts** – counters of tries (binding with an invite code) in fixed time windows,
  kept here so that every worker counts against the same limit;
* **claims** – contest-wide unique keys that a place holds (``author:<first author>``,
  ``work:<title>|<first author>``): how "one work per first author" and "one channel per
  work" are enforced in the same atomic step as the quota.

Backends: :mod:`bot.storage.sqlite.org` (``BEGIN IMMEDIATE``) and :mod:`bot.storage.redis.org`
(Lua), one contract suite (``tests/test_org_contract.py``) over both.  The store knows nothing
of contests' rules: the caller computes the limit and the claims (see :mod:`handlers.quota`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from contests.names import fold
from contests.records import UserKey

Track = Literal["work", "account"]


#: How long a reserved place counts without being committed: far longer than creating a
#: submission takes, short enough that a crash between the two does not lose a place for long.
DEFAULT_HOLD_TTL = dt.timedelta(minutes=10)


class Role(StrEnum):
    MEMBER = "member"  # the representative of one recommending unit
    ORGANISER = "organiser"


class PlaceState(StrEnum):
    PENDING = "pending"
    COMMITTED = "committed"
    WITHDRAWN = "withdrawn"


class RedeemStatus(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"  # no such code: mistyped or forged
    USED = "used"
    EXPIRED = "expired"


def normalise_name(name: str) -> str:
    """The comparison form of a unit's or person's name: NFKC, no whitespace, case-folded.

    Full-width and half-width forms, stray spaces (also U+3000) and Latin case do not make
    two names different; everything else does ("exact after normalisation")."""
    return fold(name)


def unit_holder(name: str) -> str:
    """The place holder of an imported unit."""
    return "unit:" + normalise_name(name)


def self_holder(user: UserKey) -> str:
    """The place holder of a self-entrant: the entrant is their own unit."""
    return f"self:{user.channel}:{user.user_id}"


def hash_code(code: str) -> str:
    """How an invite code is stored: only its SHA-256.  Codes carry 80 random bits, so an
    unsalted hash cannot be reversed by trying codes."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class Unit:
    """A recommending unit of one contest, as the organiser imported it."""

    contest_id: str
    name: str
    kind: str
    province: str = ""

    @property
    def key(self) -> str:
        return normalise_name(self.name)

    @property
    def holder(self) -> str:
        return unit_holder(self.name)


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's role in one contest; ``unit_key`` (a normalised unit name) for members."""

    user: UserKey
    contest_id: str
    role: Role
    unit_key: str | None
    bound_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Invite:
    code_hash: str
    contest_id: str
    role: Role
    unit_key: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    used_by: UserKey | None = None


@dataclass(frozen=True, slots=True)
class RedeemResult:
    status: RedeemStatus
    invite: Invite | None = None
    membership: Membership | None = None


@dataclass(frozen=True, slots=True)
class Reservation:
    """A place held at confirm time; :meth:`OrgStore.commit` or :meth:`OrgStore.release` it."""

    token: str
    contest_id: str
    holder: str
    track: Track
    claims: tuple[str, ...]
    expires_at: dt.datetime
    # Places of the holder's track that counted when it was made, itself included: the count
    # the entrant is told, taken in the same atomic step.
    used: int


@dataclass(frozen=True, slots=True)
class QuotaRefusal:
    """Why a place was not given.

    ``full``: ``used`` of ``limit`` places are taken.  ``claimed``: ``claim`` is held by
    another entry (``claim_number``, when that entry is committed).  ``no_unit``: the entry
    names no known recommending unit (produced by the quota use case, never by a store).
    The use case fills in ``unit_name``, ``min_works`` and ``label`` for the message.
    """

    reason: Literal["full", "claimed", "no_unit"]
    contest_id: str
    holder: str
    track: Track
    used: int = 0
    limit: int | None = None
    claim: str | None = None
    claim_number: str | None = None
    unit_name: str = ""
    label: str = ""
    min_works: int | None = None
    detail: str = ""  # the claim as the entrant wrote it (name, title), for the message


@dataclass(frozen=True, slots=True)
class AttemptLimit:
    """At most ``limit`` attempts under ``key`` in each ``window`` (fixed windows counted from
    the Unix epoch, so every worker and both backends agree on where a window starts)."""

    key: str
    limit: int
    window: dt.timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < dt.timedelta(seconds=1):
            raise ValueError("an attempt limit needs limit >= 1 and a window of a second or more")

    def window_start(self, now: dt.datetime) -> int:
        """Unix seconds at which the window holding ``now`` began."""
        seconds = int(self.window.total_seconds())
        return int(now.timestamp()) // seconds * seconds

    def window_end(self, now: dt.datetime) -> dt.datetime:
        start = self.window_start(now)
        return dt.datetime.fromtimestamp(start, dt.UTC) + self.window


@dataclass(frozen=True, slots=True)
class Place:
    """One entry counted against a holder's quota."""

    token: str
    contest_id: str
    holder: str
    track: Track
    state: PlaceState
    number: str | None
    claims: tuple[str, ...]
    owner: UserKey
    created_at: dt.datetime
    expires_at: dt.datetime | None  # pending only

    def counts(self, now: dt.datetime) -> bool:
        """Whether the place uses up quota at ``now``."""
        if self.state is PlaceState.COMMITTED:
            return True
        return self.state is PlaceState.PENDING and self.expires_at is not None and now < self.expires_at
