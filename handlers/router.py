"""Which use case a message is for.  Every channel hands its events to :class:`Assistant`.

Order matters and is deliberate: operators' ticket replies first (they are commands in an
operator chat), then the organisation commands (绑定/配额/撤回/导出, the recommending units'
推荐列表/推荐/取消推荐/推荐表, also 广播/退订 when the reminders are configured), then
questions for the helpdesk ("问：…" or "？…"), and everything else is the submission dialog.
A question asked in the middle of the dialog leaves the draft exactly as it was and reminds
the entrant where they are.  A question typed without a prefix goes to the dialog, which
knows the step being asked and so whether the message is an answer that merely reads like a
question (:mod:`dialogs.questions`); the ones it finds are answered by the helpdesk here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from contests.events import EventKind, Incoming, Reply
from contests.ports import EventIsolation, Storage
from contests.records import Turn, UserKey
from handlers.admin.commands import OrgCommands
from handlers.claims import ClaimGate
from handlers.helpdesk.service import HelpdeskService
from handlers.outbound import turn_key
from handlers.submit import AskHelpdesk, SubmitHandler

log = logging.getLogger(__name__)

# "问：视频多大", "问 截止日期", "？三区是什么意思", "?ai素材可以用吗"; a lone "？" is the help command.
_QUESTION = re.compile(r"^\s*(?:问|提问|咨询|[?？])\s*[:：]?\s*(?P<q>\S.*)$", re.DOTALL)


class ChatCommand(Protocol):
    """A command tried before the dialog (:attr:`Assistant.extra`)."""

    def matches(self, user: UserKey, text: str) -> bool:
        """Whether calling the command may act on ``text`` (pure, no I/O); when False, the
        call must return None."""

    async def __call__(self, user: UserKey, text: str) -> list[Reply] | None:
        """The replies, or None when ``text`` is not this command."""


Respond = Callable[[list[Reply]], Awaitable[None]]


class Assistant:
    """The front door: one event in, the replies out, under the user's turn.

    The turn (the user's lock in :class:`EventIsolation`, shared by every worker on Redis) is
    taken here and only here, for every channel and every command, as aiogram's
    ``FSMContextMiddleware`` takes its lock around a whole update: two events of one user are
    never handled at once, and a channel that sends its replies itself (``respond``) sends them
    before the next event of that user starts, so replies never interleave.
    """

    def __init__(
        self,
        submit: SubmitHandler,
        storage: Storage,
        isolation: EventIsolation,
        *,
        org: OrgCommands | None = None,
        helpdesk: HelpdeskService | None = None,
        operators: frozenset[str] = frozenset(),
        extra: list[ChatCommand] | None = None,
    ) -> None:
        self.submit = submit
        self.storage = storage
        self.isolation = isolation
        self.org = org
        self.helpdesk = helpdesk
        self.operators = operators  # "telegram:-100123", "wechat:oAbc": who may answer tickets
        self.extra = extra or []

    async def handle(
        self,
        event: Incoming,
        *,
        contest_hint: str | None = None,
        gate: ClaimGate | None = None,
        respond: Respond | None = None,
    ) -> list[Reply]:
        """The replies to ``event``, handled under the user's turn; ``respond`` (the channel's
        sending) runs inside the turn too.  With ``gate`` (a message not claimed yet), a
        command is claimed before it runs and the dialog claims as it sees fit
        (:class:`ClaimGate`); raises :class:`~contests.records.AlreadyClaimed` when another
        attempt has it."""
        async with self.isolation.turn(turn_key(event.user), event.user) as turn:
            # Without replies to send inside the turn, the draft's save may end it.
            turn.may_end_in_save = respond is None
            replies = await self._handle(event, contest_hint, gate, turn)
            if respond is not None:
                await respond(replies)
            return replies

    async def operators_chat(
        self, chat: UserKey, text: str, respond: Respond, *, gate: ClaimGate | None = None
    ) -> None:
        """A message in an operators' group chat, where only ticket answers are for us (the
        rest is the operators talking among themselves), under the chat's turn; with ``gate``
        it is claimed first (raises :class:`~contests.records.AlreadyClaimed`)."""
        async with self.isolation.lock(turn_key(chat)):
            if gate is not None:
                await gate.ensure()
            replies = await self.operator_reply(chat, text)
            if replies:
                await respond(replies)

    async def _handle(
        self, event: Incoming, contest_hint: str | None, gate: ClaimGate | None, turn: Turn
    ) -> list[Reply]:
        text = event.text.strip() if event.kind is EventKind.TEXT else ""
        if text and (gate is None or self._may_be_command(event.user, text)):
            if gate is not None:
                await gate.ensure(turn)
            try:
                routed = await self._route_text(event.user, text, contest_hint, turn)
            except Exception:
                log.exception("command of %s failed", event.user)
                return [Reply(self.submit.engine.msg.render("internal_error"), meta={"error": "internal"})]
            if routed is not None:
                return routed
        if text and self.helpdesk is not None and self.submit.engine.asks_without_draft(text):
            answered = await self._asked_after_submitting(event.user, text, gate, turn)
            if answered is not None:
                return answered
        ask = None if self.helpdesk is None else self._answers_for(event.user)
        return await self.submit.handle(event, contest_hint=contest_hint, gate=gate, ask=ask, turn=turn)

    async def _asked_after_submitting(
        self, user: UserKey, question: str, gate: ClaimGate | None, turn: Turn
    ) -> list[Reply] | None:
        """A question from an entrant with no draft whose submission is in: answered, and no new
        dialog begun (a welcome and the contests after 我的作品审核通过了吗 read as if the work
        were lost); None where there is a draft or no submission, for the dialog to take."""
        assert self.helpdesk is not None
        draft = turn.draft if turn.draft_read else await self.storage.get_draft(user)
        if draft is not None:
            return None
        submitted = await self.storage.list_submissions(user=user)
        if not submitted:
            return None
        if gate is not None:
            await gate.ensure(turn)
        last = submitted[-1]
        said = await self.helpdesk.answer(user, last.contest_id, question, route=last.channel_id)
        hint = self.submit.engine.msg.render("asked_after_submitting")
        return [*(Reply(t) for t in said), Reply(hint)]

    def _answers_for(self, user: UserKey) -> AskHelpdesk:
        """The helpdesk's answer to a question typed in the dialog without a prefix."""

        async def answers(
            question: str, contest_id: str | None, route: str | None, track: str | None, unit: str | None
        ) -> list[Reply]:
            assert self.helpdesk is not None
            said = await self.helpdesk.answer(user, contest_id, question, route=route, track=track, unit=unit)
            return [Reply(t) for t in said]

        return answers

    def _may_be_command(self, user: UserKey, text: str) -> bool:
        """Whether :meth:`_route_text` may act on ``text``; False means it returns None.
        Pure, so that a plain answer in the dialog need not be claimed before it is read."""
        if self.helpdesk is not None and (str(user) in self.operators or _QUESTION.match(text)):
            return True
        if self.org is not None and self.org.matches(text):
            return True
        return any(command.matches(user, text) for command in self.extra)

    async def operator_reply(self, user: UserKey, text: str) -> list[Reply] | None:
        """An operator's answer to a ticket ("回复 HD-000123 …"), or None when ``user`` is not an
        operator or the text is not such an answer.  Channels call this alone for an operators'
        group chat, where every other message is the operators talking among themselves."""
        if self.helpdesk is None or str(user) not in self.operators:
            return None
        confirmation = await self.helpdesk.handle_operator_message(text.strip(), operator=str(user))
        return None if confirmation is None else [Reply(confirmation)]

    async def _route_text(
        self, user: UserKey, text: str, contest_hint: str | None, turn: Turn
    ) -> list[Reply] | None:
        answered = await self.operator_reply(user, text)
        if answered is not None:
            return answered
        if self.org is not None:
            replies = await self.org.handle(user, text, contest_hint=contest_hint)
            if replies is not None:
                return replies
        for command in self.extra:
            replies = await command(user, text)
            if replies is not None:
                return replies
        m = _QUESTION.match(text)
        if self.helpdesk is not None and m:
            return await self._ask(user, m["q"], contest_hint, turn)
        return None

    async def _ask(self, user: UserKey, question: str, contest_hint: str | None, turn: Turn) -> list[Reply]:
        assert self.helpdesk is not None
        draft = turn.draft if turn.draft_read else await self.storage.get_draft(user)
        contest_id = (draft.data.get("contest") if draft else None) or contest_hint
        route = draft.data.get("channel") if draft else None
        track = draft.data.get("track") if draft else None
        unit = self.submit.engine.unit_named(draft.data) if draft and draft.data.get("contest") else None
        said = await self.helpdesk.answer(user, contest_id, question, route=route, track=track, unit=unit)
        replies = [Reply(t) for t in said]
        if draft is not None:
            replies.append(Reply(self.submit.engine.msg.render("draft_kept_after_question")))
        return replies
