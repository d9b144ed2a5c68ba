"""Tickets as the stores keep them: one row or hash of text fields, the same in every backend."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.storage.base import parse_utc
from contests.records import UserKey
from contests.tickets import Ticket, TicketNotFoundError, TicketStatus


def ticket_from_row(row: dict[str, Any]) -> Ticket:
    """A ticket from its stored text fields."""

    def when(key: str) -> dt.datetime | None:
        return parse_utc(row[key]) if row.get(key) else None

    created = when("created_at")
    assert created is not None
    return Ticket(
        id=str(row["id"]),
        contest_id=row.get("contest_id") or None,
        user=UserKey(str(row["channel"]), str(row["user_id"])),
        question=str(row["question"]),
        status=TicketStatus(row["status"]),
        created_at=created,
        suggestion=str(row.get("suggestion") or ""),
        answered_at=when("answered_at"),
        reply=str(row.get("reply") or ""),
        operator=str(row.get("operator") or ""),
        closed_at=when("closed_at"),
    )


def ticket_matches(
    t: Ticket, status: TicketStatus | None, contest_id: str | None, user: UserKey | None
) -> bool:
    """Whether a ticket passes a listing's filters (None: any)."""
    return (
        (status is None or t.status is status)
        and (contest_id is None or t.contest_id == contest_id)
        and (user is None or t.user == user)
    )


_ID = re.compile(r"^HD-(\d{6,})$")


def ticket_seq(ticket_id: str) -> int:
    """``HD-000123`` -> 123; :class:`TicketNotFoundError` for anything else."""
    match = _ID.match(ticket_id)
    if not match:
        raise TicketNotFoundError(ticket_id)
    return int(match.group(1))
