"""A confirmed submission's documents (its filled-in form, its receipt) on their way to the entrant.

Drawn before the reply where the user's channel cannot be reached later; given in the reply as
links and drawn after it where the channel gives documents as links (WeChat); else pushed once
drawn (``Pusher``).  What is drawn after the reply is kept here and awaited by
:meth:`Documents.aclose`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from contests.events import Document, Placement, Reply
from contests.records import UserKey
from contests.rules import Contest
from dialogs.messages import Messages
from forms.paperwork import Paperwork
from forms.receipts import Receipt
from handlers.follow_ups import Pusher, form_replies

log = logging.getLogger(__name__)


class Documents:
    """Sends a submission's documents with the reply, or after it through ``pusher``."""

    def __init__(self, msg: Messages, pusher: Pusher | None) -> None:
        self.msg = msg
        self.pusher = pusher
        # Documents drawn after the reply went out (a PDF costs a third of a CPU second, and
        # WeChat wants its reply within 4 s): kept here and awaited by aclose().
        self._later: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        """Wait for documents still being drawn and sent."""
        while self._later:
            await asyncio.gather(*list(self._later), return_exceptions=True)

    def deferred(self, user: UserKey) -> bool:
        """Whether ``user`` can be reached after the reply, so that drawing need not delay it."""
        return self.pusher is not None and self.pusher.can_reach(user)

    def send_later(self, user: UserKey, make: Callable[[], Awaitable[list[Reply]]]) -> None:
        async def run() -> None:
            try:
                replies = await make()
            except Exception:
                log.exception("documents for %s could not be made", user)
                replies = [Reply(self.msg.render("form_failed"), meta={"error": "form"})]
            assert self.pusher is not None
            if not replies:  # drawn where the reply's links point
                return
            try:
                await self.pusher.push(user, replies)
            except Exception:
                log.exception("documents for %s could not be sent", user)

        task = asyncio.get_running_loop().create_task(run())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    def ahead(
        self,
        user: UserKey,
        files: Sequence[tuple[str, str]],
        draw: Callable[[Sequence[Placement]], Awaitable[object]],
    ) -> list[Document] | None:
        """The documents for this reply before they are drawn, where the user's channel gives
        them as links (WeChat); they are drawn after the reply, where the links point.  None
        where the channel cannot: then they are drawn first, or pushed once drawn.

        Why: on WeChat the forms used to follow 确认提交 as a 客服消息, one of the five a
        user's message allows, through an API call, and after a wait; now the links are in
        the reply itself and the download page asks for a few seconds' patience instead.
        """
        planned = self.pusher.plan_documents(user, files) if self.pusher is not None else None
        if not planned:
            return None
        places = [place for _, place in planned]

        async def make() -> list[Reply]:
            await draw(places)  # a failure is reported by send_later
            return []

        self.send_later(user, make)
        return [doc for doc, _ in planned]

    async def form(
        self,
        paperwork: Paperwork | None,
        contest: Contest,
        form_id: str,
        answers: dict[str, Any],
        number: str,
    ) -> list[Reply]:
        """The filled-in form's replies, drawn now."""
        if paperwork is None:
            return []
        try:
            docs = await paperwork.form_documents(contest, form_id, answers, number)
        except Exception:
            log.exception("form of %s could not be rendered", number)
            return [Reply(self.msg.render("form_failed"), meta={"error": "form"})]
        return form_replies(self.msg, contest, form_id, docs, "form_documents")

    def form_ahead(
        self,
        paperwork: Paperwork | None,
        user: UserKey,
        contest: Contest,
        form_id: str,
        answers: dict[str, Any],
        number: str,
    ) -> list[Reply] | None:
        """The form's replies with links given before it is drawn (see :meth:`ahead`)."""
        if paperwork is None:
            return None

        def draw(places: Sequence[Placement]) -> Awaitable[list[Document]]:
            return paperwork.form_documents(contest, form_id, answers, number, places)

        files = paperwork.form_files(contest, form_id, number)
        docs = self.ahead(user, files, draw)
        return None if docs is None else form_replies(self.msg, contest, form_id, docs, "form_links")

    async def receipt(self, paperwork: Paperwork, user: UserKey, receipt: Receipt) -> list[Reply]:
        """The signed receipt's PDF: drawn now, given as a link and drawn after the reply, or
        pushed once drawn (then no reply now)."""

        async def receipt_pdf() -> list[Reply]:
            document = await paperwork.receipt_document(receipt)
            return [Reply(document.filename, document=document)]

        if not self.deferred(user):
            return await receipt_pdf()

        def draw(places: Sequence[Placement]) -> Awaitable[Document]:
            return paperwork.receipt_document(receipt, places)

        docs = self.ahead(user, paperwork.receipt_files(receipt), draw)
        if docs is None:
            self.send_later(user, receipt_pdf)
            return []
        return [Reply(d.filename, document=d) for d in docs]
