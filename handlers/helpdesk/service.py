"""The helpdesk use case: an entrant's question answered from the notice, or handed to an operator.

:class:`HelpdeskService` asks :class:`handlers.helpdesk.answer.Helpdesk` (in a thread); a confident answer
goes straight back.  Otherwise the entrant is told the helpdesk is unsure, a :class:`Ticket` is
stored and the organisers' operators are notified; when an operator replies, the reply is kept
on the ticket and pushed to the entrant.  The service never reads or writes a draft, so a
question asked in the middle of a submission dialog leaves the draft as it was.

Tickets live behind :class:`TicketStore`: :class:`SqliteTicketStore` (its own file,
``DATA_DIR/helpdesk.sqlite3``) or :class:`RedisTicketStore` (keys under ``<prefix>:helpdesk:``).
Operator channels (a Telegram group, WeChat operator accounts) plug in as an
:class:`OperatorNotifier` and a :class:`Push`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from contests.ports import TicketStore
from contests.records import UserKey
from contests.tickets import Ticket, TicketClosedError, TicketNotFoundError, TicketStatus
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.sources import KnowledgeError

__all__ = [
    "HelpdeskService",
    "LoggingNotifier",
    "OperatorCommand",
    "OperatorNotifier",
    "Push",
    "format_for_operators",
    "parse_operator_command",
]

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the operators' side -----------------------------------------------------------------------


class OperatorNotifier(Protocol):
    """Tells the organisers' operators about a new ticket (a Telegram group, WeChat operator accounts)."""

    async def __call__(self, ticket: Ticket) -> None: ...


class Push(Protocol):
    """Sends a text to an entrant outside a reply (the channel's push / customer-service message)."""

    async def __call__(self, user: UserKey, text: str) -> None: ...


def format_for_operators(ticket: Ticket) -> str:
    """The message an operator sees: the question, who asked, the closest entry, how to reply."""
    lines = [
        f"【待回复】{ticket.id}（{ticket.contest_id or '未指定大赛'}，{ticket.user}）",
        f"问：{ticket.question}",
    ]
    if ticket.suggestion:
        lines.append(f"助手找到的最接近内容（未发送给报名者）：{ticket.suggestion}")
    lines.append(f"回复请发送：回复 {ticket.id} 您的答复；不需回复请发送：关闭 {ticket.id}")
    return "\n".join(lines)


class LoggingNotifier:
    """An :class:`OperatorNotifier` that only logs: the default until an operator channel is configured
    (operators then find open tickets with ``HelpdeskService.open_tickets``)."""

    async def __call__(self, ticket: Ticket) -> None:
        log.warning("helpdesk ticket needs an operator:\n%s", format_for_operators(ticket))


@dataclass(frozen=True, slots=True)
class OperatorCommand:
    action: str  # "reply" | "close"
    ticket_id: str
    text: str = ""


_COMMAND = re.compile(r"^\s*(回复|答复|reply|关闭|close)\s*#?\s*(HD-\d{6,})\s*[:：]?\s*(.*)$", re.I | re.S)


def parse_operator_command(text: str) -> OperatorCommand | None:
    """``回复 HD-000001 答复内容`` or ``关闭 HD-000001`` from an operator's chat; None for anything else."""
    match = _COMMAND.match(text)
    if not match:
        return None
    verb, ticket_id, rest = match.group(1).lower(), match.group(2).upper(), match.group(3).strip()
    if verb in ("回复", "答复", "reply"):
        return OperatorCommand("reply", ticket_id, rest) if rest else None
    return OperatorCommand("close", ticket_id)


# --- the service -------------------------------------------------------------------------------

EMPTY_QUESTION = "请直接输入您的问题，例如：视频可以多大？截止日期是哪天？"
HANDED_OFF = "已转交主办方工作人员（工单号 {id}），回复后会在这里转告您。您可以继续填写报名信息。"
HANDED_OFF_EN = (
    "Your question has gone to the organisers' staff (ticket {id}); their reply will be passed on "
    "here. You can go on filling in your entry."
)
HANDOFF_FAILED = "问题暂时无法转交，请稍后再问，或直接联系主办方。"
HANDOFF_FAILED_EN = (
    "The question could not be passed on just now: please ask again later, or contact the organisers."
)
RELAYED = "关于您的提问“{question}”（工单 {id}），主办方工作人员回复：\n{reply}"


class HelpdeskService:
    """Questions in, answers or tickets out; operator replies relayed to the entrant."""

    def __init__(
        self,
        helpdesk: Helpdesk,
        store: TicketStore,
        operators: OperatorNotifier,
        push: Push,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        own_submissions: Callable[[UserKey], Awaitable[str | None]] | None = None,
    ) -> None:
        self.helpdesk = helpdesk
        self.store = store
        self.operators = operators
        self.push = push
        self.clock = clock
        # 我的投稿 for a question about one's own submissions ("我的作品审核通过了吗"): the
        # answer is in the store, not in the notice, and needs no person.  None: no submissions.
        self.own_submissions = own_submissions

    async def answer(
        self,
        user: UserKey,
        contest_id: str | None,
        question: str,
        *,
        route: str | None = None,
        track: str | None = None,
        unit: str | None = None,
    ) -> list[str]:
        """The texts to send to ``user`` for ``question``: an answer with its source, or an honest
        "unsure" with the ticket number after the question was handed to the operators.  ``route``
        is the entry route of the asker's draft, if chosen (a question about "the form" is about its form);
        ``unit`` the unit it enters through (a question about "our places" is about that unit's)."""
        question = question.strip()
        if not question:
            return [EMPTY_QUESTION]
        try:
            result = await self.helpdesk.ask_async(contest_id, question, route, track, unit)
        except (KnowledgeError, KeyError):
            # A broken FAQ file or an unknown contest must not cost the entrant an answer: an operator
            # takes the question instead.
            log.exception("helpdesk could not search for contest %r", contest_id)
            answer_text, suggestion, picked = "这个问题我暂时无法查询。", "", contest_id
            english = False
        else:
            if result.confident:
                return [result.answer]
            if result.kind == "personal" and self.own_submissions is not None:
                own = await self.own_submissions(user)
                if own is not None:
                    return [own]
            answer_text, suggestion, picked = result.answer, result.suggestion, result.contest_id
            english = result.english
        try:
            ticket = await self.store.create(
                contest_id=picked, user=user, question=question, suggestion=suggestion, now=self.clock()
            )
        except Exception:
            log.exception("helpdesk could not store a ticket for %s", user)
            return [answer_text, HANDOFF_FAILED_EN if english else HANDOFF_FAILED]
        try:
            await self.operators(ticket)
        except Exception:
            # The ticket is kept open; operators still find it in the open list.
            log.exception("helpdesk could not notify operators about %s", ticket.id)
        return [answer_text, (HANDED_OFF_EN if english else HANDED_OFF).format(id=ticket.id)]

    async def reply(self, ticket_id: str, text: str, *, operator: str = "") -> Ticket:
        """Keep an operator's reply on the ticket, then push it to the entrant.

        The reply is stored first so that it is never lost; if the push fails, the exception
        propagates (the operator's channel says so) and the ticket stays ``answered`` with it.
        """
        ticket = await self.store.answer(ticket_id, reply=text, operator=operator, now=self.clock())
        await self.push(ticket.user, RELAYED.format(question=ticket.question, id=ticket.id, reply=text))
        return ticket

    async def close_ticket(self, ticket_id: str) -> Ticket:
        return await self.store.close_ticket(ticket_id, now=self.clock())

    async def open_tickets(self, contest_id: str | None = None) -> list[Ticket]:
        return await self.store.list_tickets(status=TicketStatus.OPEN, contest_id=contest_id)

    async def tickets_of(self, user: UserKey) -> list[Ticket]:
        return await self.store.list_tickets(user=user)

    async def handle_operator_message(self, text: str, *, operator: str = "") -> str | None:
        """Act on ``回复 HD-… 内容`` / ``关闭 HD-…`` from an operator chat; the confirmation to show
        the operator, or None when the message is not a command (ordinary chatter in the group)."""
        command = parse_operator_command(text)
        if command is None:
            return None
        try:
            if command.action == "close":
                ticket = await self.close_ticket(command.ticket_id)
                return f"{ticket.id} 已关闭。"
            ticket = await self.reply(command.ticket_id, command.text, operator=operator)
        except TicketNotFoundError:
            return f"没有工单 {command.ticket_id}。"
        except TicketClosedError:
            return f"{command.ticket_id} 已关闭，不能再回复。"
        except Exception:
            log.exception("helpdesk could not relay the reply to %s", command.ticket_id)
            return f"{command.ticket_id} 的答复已保存，但未能转告报名者，请稍后重试或直接联系。"
        return f"{ticket.id} 的答复已转告报名者。"
