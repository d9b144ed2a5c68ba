"""The form owed to a confirmed submission, drawn and delivered once even if its worker dies.

At 确认提交 the submission's own write stores a *follow-up* beside it
(:meth:`contests.ports.Storage.create_submission` with ``follow_up``), held by the worker that
confirmed it until a lease runs out.  That worker draws the form after the turn and delivers it:
where the channel gives links before the documents exist (WeChat), the links went out in the
reply and their places were recorded in the follow-up first (:meth:`FollowUps.promise`), so
drawing there is the delivery; elsewhere (Telegram) the drawn documents are pushed.  Then the
follow-up is finished.  A live worker renews what it holds (:meth:`FollowUps.run`); one that
died stops renewing, and once the lease has run out any worker takes the follow-up over
(:meth:`~contests.ports.Storage.take_follow_ups`) and does what is left:

* links recorded: the documents are drawn where the links point, unless they are there already
  (a document drawn there again replaces it whole, by an atomic rename);
* no links recorded (the worker died before the reply could carry any, which then never went
  out): the documents are drawn and pushed;
* a push that had begun (``sending`` recorded just before it) is not made again: the platform
  may have delivered it, and neither lets a bot read back its chat (as with the delivery jobs,
  :mod:`handlers.deliveries`); sending 表格 gets the form again.

Pure apart from the store, the drawing and the pusher it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from contests.events import Document, Placement, Reply
from contests.ports import Storage
from contests.records import FollowUp, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from dialogs.messages import Messages
from forms.paperwork import Paperwork

log = logging.getLogger(__name__)

FORM = "form"  # the one kind of follow-up so far: a submission's form, drawn and delivered


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Pusher(Protocol):
    """Reaches a user outside a reply to their own message (:class:`handlers.outbound.Reach`):
    what a follow-up, and the dialog, need of it."""

    def can_reach(self, user: UserKey) -> bool: ...
    async def push(self, user: UserKey, replies: list[Reply]) -> bool: ...
    def plan_documents(
        self, user: UserKey, files: Sequence[tuple[str, str]]
    ) -> list[tuple[Document, Placement]] | None: ...


def form_replies(
    msg: Messages, contest: Contest, form_id: str, docs: list[Document], message: str
) -> list[Reply]:
    """The replies carrying a form's documents (drawn, or linked before they are)."""
    title = contest.form(form_id).title
    head = Reply(msg.render(message, title=title), document=docs[0])
    return [head, *(Reply(d.filename, document=d) for d in docs[1:])]


@dataclasses.dataclass(frozen=True, slots=True)
class _Form:
    """The form a follow-up draws; ``fresh`` when it is the confirming worker's own (nothing
    of it can have been drawn yet)."""

    contest: Contest
    form_id: str
    answers: dict[str, Any]
    fresh: bool


def _drawn(places: Sequence[Placement]) -> bool:
    """Whether every document is where its link points (its marker is written last)."""
    return all(os.path.exists(place.marker) for place in places)


class FollowUps:
    """Follow-ups owed by this process and taken over from dead ones; every task it starts is
    kept and awaited by :meth:`aclose`.

    ``lease``: how long a follow-up stays this worker's without a renewal (renewed every third
    of it while :meth:`run` runs); a dead worker's are taken over that long after its last one.
    """

    def __init__(
        self,
        storage: Storage,
        paperwork: Paperwork,
        contests: ContestRegistry,
        msg: Messages,
        pusher: Pusher,
        *,
        lease: dt.timedelta,
        clock: Callable[[], dt.datetime] = utcnow,
        batch: int = 4,
    ) -> None:
        self.storage = storage
        self.paperwork = paperwork
        self.contests = contests
        self.msg = msg
        self.pusher = pusher
        self.lease = lease
        self.clock = clock
        self.batch = batch
        self.owner = uuid.uuid4().hex  # this process's hold; a restart holds nothing of the last one
        self._held: dict[str, FollowUp] = {}  # by number, as last written
        self._writing = asyncio.Lock()  # a renewal never overwrites a step just recorded
        self._tasks: set[asyncio.Task[None]] = set()

    # -- in the confirming turn --------------------------------------------------------------

    def owe(self, user: UserKey, now: dt.datetime) -> FollowUp:
        """The follow-up to store with ``user``'s submission (its number is the store's)."""
        return FollowUp("", user, self.owner, now + self.lease, {"kind": FORM})

    async def begin(
        self, follow_up: FollowUp, contest: Contest, form_id: str, answers: dict[str, Any]
    ) -> list[Reply]:
        """The replies to 确认提交 about the form of the submission ``follow_up`` was stored
        with (links to it where the channel gives them before it is drawn, else a word that it
        follows), and its drawing started, after the turn, from the ``answers`` in hand."""
        files = self.paperwork.form_files(contest, form_id, follow_up.number)
        planned = self.pusher.plan_documents(follow_up.user, files)
        if planned:
            follow_up = await self.promise(follow_up, [place for _, place in planned])
            replies = form_replies(self.msg, contest, form_id, [doc for doc, _ in planned], "form_links")
        else:
            replies = [Reply(self.msg.render("documents_coming"))]
        self.start(follow_up, _Form(contest, form_id, answers, fresh=True))
        return replies

    async def promise(self, follow_up: FollowUp, places: Sequence[Placement]) -> FollowUp:
        """Record where the documents are to be drawn, before the reply carrying their links
        goes out: whoever draws them then draws them there."""
        data = {**follow_up.data, "places": [[p.path, p.marker, p.marker_text] for p in places]}
        promised = dataclasses.replace(follow_up, data=data)
        try:
            async with self._writing:
                if not await self.storage.keep_follow_up(promised):
                    log.warning(
                        "follow-up of %s was taken over before its links were recorded", follow_up.number
                    )
        except Exception:
            # This worker still draws them there; only a take-over would push them instead.
            log.exception("links of %s could not be recorded", follow_up.number)
        return promised

    def start(self, follow_up: FollowUp, form: _Form | None = None) -> None:
        """Do ``follow_up`` after the turn, in a task of its own (its form as read from the
        store, unless given)."""
        if follow_up.number in self._held:
            return  # already under way here
        self._held[follow_up.number] = follow_up
        task = asyncio.get_running_loop().create_task(self._run(follow_up, form))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the worker's lifetime ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Renew what this worker holds and take over what dead ones left, until ``stop``."""
        every = max(0.05, self.lease.total_seconds() / 3)
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("follow-ups: renewing or taking over failed; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await stop.wait()

    async def sweep(self) -> int:
        """One look: renew what is held here, take over what is due.  Returns how many taken."""
        now = self.clock()
        for number in list(self._held):
            async with self._writing:
                held = self._held.get(number)
                if held is None:
                    continue
                renewed = dataclasses.replace(held, due=now + self.lease)
                if await self.storage.keep_follow_up(renewed):
                    self._held[number] = renewed
                else:
                    log.warning("follow-up of %s was taken over by another worker", number)
        room = self.batch - len(self._held)
        if room <= 0:
            return 0
        taken = await self.storage.take_follow_ups(self.owner, now, self.lease, room)
        for follow_up in taken:
            log.warning("follow-up of %s taken over from a stopped worker", follow_up.number)
            self.start(follow_up)
        return len(taken)

    async def aclose(self) -> None:
        """Wait for the follow-ups under way (their documents drawn and sent)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- one follow-up -----------------------------------------------------------------------

    async def _run(self, follow_up: FollowUp, form: _Form | None) -> None:
        try:
            if await self._deliver(follow_up, form or await self._form(follow_up.number)):
                await self.storage.finish_follow_up(follow_up.number, self.owner)
        except Exception:
            # Left held: taken up again once its lease runs out (by this worker or another).
            log.exception("follow-up of %s failed", follow_up.number)
        finally:
            self._held.pop(follow_up.number, None)

    async def _form(self, number: str) -> _Form | None:
        """What a follow-up taken over draws: the stored submission's form."""
        submission = await self.storage.get_submission(number)
        contest = self.contests.get(submission.contest_id) if submission is not None else None
        if submission is None or contest is None:
            return None
        return _Form(contest, submission.form_id, submission.answers, fresh=False)

    async def _deliver(self, follow_up: FollowUp, form: _Form | None) -> bool:
        """Draw and deliver; True when done (or when nothing can ever be done)."""
        number, user, data = follow_up.number, follow_up.user, follow_up.data
        if form is None:
            log.error("follow-up of %s: no such submission or contest; dropped", number)
            return True
        contest, form_id, answers = form.contest, form.form_id, form.answers
        places = [Placement(*p) for p in data.get("places") or ()]
        if places:  # the links went out in the reply: drawing them is delivering them
            if not form.fresh and await asyncio.to_thread(_drawn, places):
                return True  # its worker died after drawing them, before saying so
            try:
                await self.paperwork.form_documents(contest, form_id, answers, number, places)
            except Exception:
                log.exception("form of %s could not be drawn", number)
                await self._push(user, [Reply(self.msg.render("form_failed"), meta={"error": "form"})])
            return True
        if data.get("sending"):
            log.warning("form of %s was being sent when its worker stopped: not sent twice", number)
            return True
        if not self.pusher.can_reach(user):
            log.warning(
                "follow-up of %s: %s is not reachable from this worker; left for another", number, user
            )
            return False
        try:
            docs = await self.paperwork.form_documents(contest, form_id, answers, number)
            replies = form_replies(self.msg, contest, form_id, docs, "form_documents")
        except Exception:
            log.exception("form of %s could not be drawn", number)
            replies = [Reply(self.msg.render("form_failed"), meta={"error": "form"})]
        async with self._writing:
            sending = dataclasses.replace(self._held.get(number, follow_up), data={**data, "sending": True})
            if not await self.storage.keep_follow_up(sending):
                log.warning("follow-up of %s was taken over while drawing; not sent here", number)
                return False
            self._held[number] = sending
        if await self._push(user, replies) is False:
            # Nothing went out (the channel stopped meanwhile, at a shutdown): left for later.
            async with self._writing:
                held = self._held.get(number, sending)
                await self.storage.keep_follow_up(dataclasses.replace(held, data=data))
            return False
        return True

    async def _push(self, user: UserKey, replies: list[Reply]) -> bool | None:
        """Whether the replies went out: None when the platform call failed (it may have
        reached the entrant: not tried again), False when no channel could take them."""
        try:
            return await self.pusher.push(user, replies)
        except Exception:
            log.exception("documents for %s could not be sent", user)
            return None


__all__ = ["FORM", "FollowUps", "Pusher", "form_replies"]
