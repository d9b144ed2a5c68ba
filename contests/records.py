"""The records the service keeps: who is talking, their draft, their submission."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class UserKey:
    """Who is talking: the channel (``terminal``, ``telegram``, ``wechat``, ``web``) and its user id."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(slots=True)
class Draft:
    """An unfinished submission: where the entrant is in the dialog and what they have answered.

    ``data`` is the dialog's own state (see :mod:`dialogs.engine`), stored as JSON.
    ``version`` grows by one on every save; a save with a stale version is refused so that
    two workers can never overwrite each other's answers.
    """

    user: UserKey
    data: dict[str, Any]
    version: int = 0
    updated_at: dt.datetime | None = None


@dataclass(slots=True)
class Submission:
    """A confirmed submission.  ``number`` (e.g. ``KP2024-000123``) is assigned by the store."""

    number: str
    contest_id: str
    user: UserKey
    channel_id: str
    form_id: str
    answers: dict[str, Any]
    video: dict[str, Any]
    created_at: dt.datetime
    status: str = "submitted"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FingerprintRecord:
    """The perceptual fingerprint of one accepted video, kept to find the same work entered
    again: in the same contest (two channels, two units) or in a later edition (``lineage``,
    :attr:`contests.rules.Contest.lineage`).  ``data`` is the fingerprint's own bytes
    (``validators.fingerprint.Fingerprint.to_bytes``); ``title`` names the work to organisers."""

    contest_id: str
    lineage: str
    number: str
    data: bytes
    title: str = ""
    created_at: dt.datetime | None = None


class StaleDraftError(Exception):
    """The draft changed since it was read (another worker saved it first)."""


class AlreadyClaimed(Exception):
    """The incoming message was claimed already: another attempt handles (or handled) it, and
    this one must not act on it nor answer it."""


@dataclass(frozen=True, slots=True)
class InboundClaim:
    """What :meth:`Storage.claim_inbound` takes: the message's key, how long the claim holds,
    and who wrote when (the contact record, made only with ``contact``: an event such as a
    subscribe or a menu click is no message the user wrote, and records none)."""

    key: str
    ttl: dt.timedelta
    user: UserKey
    when: dt.datetime
    contact: bool = True


@dataclass(slots=True)
class Turn:
    """A user's turn while it is held (:meth:`~contests.ports.EventIsolation.turn`).

    ``draft_read`` says whether the isolation read the user's draft together with taking the
    lock (one round trip instead of two on Redis); then ``draft`` is what was stored.  A
    turn marked ``may_end_in_save`` may be ended by the save of the draft
    (:meth:`~contests.ports.Storage.save_draft` with ``turn=``), which then sets ``ended``
    so that the isolation does not release it again.  ``handle`` is the isolation's own.
    ``claims``: the messages claimed in this turn before their effects
    (:meth:`~contests.ports.Storage.claim_inbound` with ``turn=``), pending until the turn
    ends, so that the claim of a turn whose worker died is taken over by a redelivery.
    ``id`` names the turn in what it leaves behind (a quota place held in it).
    """

    user: UserKey
    draft: Draft | None = None
    draft_read: bool = False
    may_end_in_save: bool = False
    ended: bool = False
    handle: object = None
    claims: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Work a stored submission is owed after its turn (its form drawn and delivered), kept in
    the store from the submission's own write until done: another worker does it when the one
    that owes it dies (:meth:`~contests.ports.Storage.take_follow_ups`).

    ``owner`` is the token of the worker holding it, until ``due``; a live owner renews it
    (:meth:`~contests.ports.Storage.keep_follow_up`).  ``data`` says what is owed and how far
    it went (see :mod:`handlers.follow_ups`).
    """

    number: str
    user: UserKey
    owner: str
    due: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)


def merge_extra(extra: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``extra`` with ``patch`` applied: keys set, and keys whose value is None removed."""
    merged = {**extra, **patch}
    return {k: v for k, v in merged.items() if v is not None}


def apply_update(
    doc: dict[str, Any],
    *,
    status: str | None,
    video: dict[str, Any] | None,
    extra: dict[str, Any] | None,
    answers: dict[str, Any] | None,
    history: dict[str, Any] | None,
) -> dict[str, Any]:
    """A stored submission's fields after :meth:`~contests.ports.Storage.update_submission`:
    one rule for every backend.  ``doc`` holds ``status``, ``video``, ``answers``, ``extra``."""
    new_extra = merge_extra(doc.get("extra") or {}, extra or {})
    if history is not None:
        new_extra["history"] = [*(new_extra.get("history") or []), history]
    return {
        "status": status or doc["status"],
        "video": doc["video"] if video is None else video,
        "answers": doc["answers"] if answers is None else answers,
        "extra": new_extra,
    }


def format_number(prefix: str, seq: int) -> str:
    """``KP2024`` and 123 -> ``KP2024-000123``."""
    return f"{prefix}-{seq:06d}"
