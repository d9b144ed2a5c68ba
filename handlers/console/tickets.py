"""The console's helpdesk desk: the tickets of the contests a viewer organises, and an answer
given from the page, relayed to the entrant by the helpdesk's own :meth:`HelpdeskService.reply`
(the very path of an operator's ``回复 HD-… 内容`` in the chat), then the ticket closed.

Only organisers see tickets, and only those of their contests; a ticket shows the entrant's
channel (微信, Telegram …), never their account or personal data.  Answers and closings are
written to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from contests.tickets import Ticket, TicketClosedError, TicketNotFoundError, TicketStatus
from handlers.console.service import ConsoleService, ConsoleUser
from handlers.console.views import CHANNEL_LABELS, channel_label, when
from handlers.helpdesk.service import HelpdeskService

__all__ = ["CHANNEL_LABELS", "STATUS_LABELS", "DeskTickets", "TicketOutcome", "TicketRow", "organised"]

log = logging.getLogger(__name__)

STATUS_LABELS = {"open": "待答复", "answered": "已答复", "closed": "已关闭", "all": "全部"}
MAX_ANSWER = 1500


def organised(viewer: ConsoleUser) -> list[str]:
    """The contests the viewer organises (their console pages for organisers only)."""
    return sorted(cid for cid, scope in viewer.scopes.items() if scope.role == "organiser")


@dataclass(frozen=True, slots=True)
class TicketRow:
    """A ticket as the page shows it: no account of the entrant, their channel only."""

    id: str
    contest_id: str
    status: str
    status_label: str
    created: str
    question: str
    channel: str
    suggestion: str
    reply: str
    answered: str
    operator: str

    @classmethod
    def of(cls, ticket: Ticket) -> TicketRow:
        return cls(
            id=ticket.id,
            contest_id=ticket.contest_id or "",
            status=ticket.status.value,
            status_label=STATUS_LABELS[ticket.status.value],
            created=when(ticket.created_at),
            question=ticket.question,
            channel=channel_label(ticket.user.channel),
            suggestion=ticket.suggestion,
            reply=ticket.reply,
            answered=when(ticket.answered_at) if ticket.answered_at else "",
            operator=ticket.operator,
        )


@dataclass(frozen=True, slots=True)
class TicketOutcome:
    """What an answer or a closing did: ``ok``, or the code and the Chinese text of why not."""

    ok: bool
    code: Literal["ok", "not_found", "closed", "empty", "not_relayed"]
    text: str


class DeskTickets:
    """Lists, answers and closes tickets for an organiser, through the helpdesk use case."""

    def __init__(self, helpdesk: HelpdeskService, console: ConsoleService) -> None:
        self.helpdesk = helpdesk
        self.console = console

    async def rows(self, viewer: ConsoleUser, contest_id: str, status: str = "open") -> list[TicketRow]:
        """The contest's tickets (``status``: open, answered, closed or all), newest first."""
        if contest_id not in organised(viewer):
            return []
        wanted = None if status == "all" else TicketStatus(status if status in STATUS_LABELS else "open")
        tickets = await self.helpdesk.store.list_tickets(status=wanted, contest_id=contest_id)
        return [TicketRow.of(t) for t in reversed(tickets)]

    async def ticket(self, viewer: ConsoleUser, ticket_id: str) -> Ticket | None:
        """The ticket when it belongs to a contest the viewer organises, else None."""
        found = await self.helpdesk.store.get(ticket_id)
        if found is None or (found.contest_id or "") not in organised(viewer):
            return None
        return found

    async def answer(
        self, viewer: ConsoleUser, ticket_id: str, text: str, *, close: bool, source: str
    ) -> TicketOutcome:
        """Relay ``text`` to the entrant as the operators' chat does, then close the ticket
        when asked (only once the answer went out)."""
        text = text.strip()
        if not text:
            return TicketOutcome(False, "empty", "答复内容是空的。")
        if len(text) > MAX_ANSWER:
            return TicketOutcome(False, "empty", f"答复超过 {MAX_ANSWER} 字，请精简后再发。")
        ticket = await self.ticket(viewer, ticket_id)
        if ticket is None:
            return TicketOutcome(False, "not_found", f"没有工单 {ticket_id}，或您无权处理。")
        relayed = True
        try:
            await self.helpdesk.reply(ticket.id, text, operator=str(viewer.user))
        except TicketNotFoundError:
            return TicketOutcome(False, "not_found", f"没有工单 {ticket_id}。")
        except TicketClosedError:
            return TicketOutcome(False, "closed", f"{ticket.id} 已关闭，不能再回复。")
        except Exception:
            # The reply is kept on the ticket (the store first); the entrant was not told.
            log.exception("console: the answer to %s was not relayed", ticket.id)
            relayed = False
        closed = close and relayed
        if closed:
            await self.helpdesk.close_ticket(ticket.id)
        await self.console.record(
            viewer,
            "ticket.answer",
            ticket.contest_id or "",
            target=ticket.id,
            source=source,
            detail={"relayed": relayed, "closed": closed, "chars": len(text)},
        )
        if not relayed:
            return TicketOutcome(
                False, "not_relayed", f"{ticket.id} 的答复已保存，但未能转告报名者，请稍后重试或直接联系。"
            )
        return TicketOutcome(
            True, "ok", f"{ticket.id} 的答复已转告报名者" + ("，工单已关闭。" if closed else "。")
        )

    async def close(self, viewer: ConsoleUser, ticket_id: str, *, source: str) -> TicketOutcome:
        ticket = await self.ticket(viewer, ticket_id)
        if ticket is None:
            return TicketOutcome(False, "not_found", f"没有工单 {ticket_id}，或您无权处理。")
        await self.helpdesk.close_ticket(ticket.id)
        await self.console.record(
            viewer, "ticket.close", ticket.contest_id or "", target=ticket.id, source=source
        )
        return TicketOutcome(True, "ok", f"{ticket.id} 已关闭。")
