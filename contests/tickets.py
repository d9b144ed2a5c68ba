"""Helpdesk tickets: a question handed to the organisers' operators, and its answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from contests.records import UserKey


def format_ticket_id(seq: int) -> str:
    return f"HD-{seq:06d}"


class TicketStatus(StrEnum):
    OPEN = "open"  # waiting for an operator
    ANSWERED = "answered"  # an operator replied; the reply was relayed
    CLOSED = "closed"  # done (answered, or dismissed by an operator)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A question the helpdesk could not answer, and what became of it."""

    id: str  # HD-000001
    contest_id: str | None
    user: UserKey
    question: str
    status: TicketStatus
    created_at: dt.datetime
    suggestion: str = ""  # the helpdesk's closest entry, for the operator; never sent to the entrant
    answered_at: dt.datetime | None = None
    reply: str = ""
    operator: str = ""
    closed_at: dt.datetime | None = None


class TicketNotFoundError(KeyError):
    """No ticket with that id."""


class TicketClosedError(Exception):
    """The ticket is closed: it takes no more replies."""
