"""The submit use case: one event of one user through the dialog, with the draft stored.

Channels (terminal, Telegram, WeChat, web) translate their updates to :class:`Incoming` and
send back the :class:`Reply` list; everything in between happens here, under the user's turn, which the
front door (:class:`handlers.router.Assistant`) holds: two updates of one user are never
handled at once, even on two workers.

The dialog itself (``dialogs.engine``) is pure.  What it cannot do, this module does around
it: checking a received video or a direct link before the dialog sees the event
(:mod:`handlers.received`), reserving a quota place and storing the submission at confirm,
sending the filled-in form, keeping the signed scan, and issuing the receipt (the documents
sent with the reply or after it: :mod:`handlers.documents`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from contests.events import EventKind, Incoming, Reply
from contests.org import QuotaRefusal
from contests.ports import Storage
from contests.records import AlreadyClaimed, Draft, StaleDraftError, Submission, Turn, UserKey
from contests.review import HistoryEntry, ReviewState, waiting_note
from contests.rules import SHANGHAI
from dialogs.engine import DialogEngine
from dialogs.results import StepResult, SubmitRequest
from dialogs.states import Step
from forms.paperwork import Paperwork
from handlers.answer_notices import AnswerNotices
from handlers.claims import ClaimGate
from handlers.documents import Documents
from handlers.draft_cache import DraftCache
from handlers.follow_ups import FollowUps, Pusher
from handlers.held import AnsweredQuestions
from handlers.quota.service import QuotaService
from handlers.quota.texts import refusal_text
from handlers.received import LinkProber, MediaChecker, check_scan, check_video_file, probe_link

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: The helpdesk asked from the dialog: (question, contest, route, track, the unit the draft names).
AskHelpdesk = Callable[[str, str | None, str | None, str | None, str | None], Awaitable[list[Reply]]]
"""Answers a question typed in the dialog: ``ask(question, contest_id, route, track)`` (as chosen so far)."""


class Resubmitted(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def code(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def submission(self) -> Submission | None: ...
    @property
    def needs_scan(self) -> bool: ...


class Resubmitter(Protocol):
    """Stores a returned submission fixed in the dialog (:class:`handlers.review.service.ReviewService`)."""

    async def resubmit(
        self, user: UserKey, number: str, answers: dict[str, Any], video: dict[str, Any], now: dt.datetime
    ) -> Resubmitted: ...


class ContentStarter(Protocol):
    """Checks an accepted video's content in the background (:class:`handlers.content.ContentChecks`)."""

    def start(
        self, user: UserKey, contest_id: str, video: dict[str, Any], title: str
    ) -> Literal["queued", "busy", ""]: ...
    async def submitted(self, sub: Submission) -> None: ...


class UploadLinks(Protocol):
    """Mints a personal, expiring large-file upload link for one entrant's draft."""

    async def mint(self, user: UserKey, contest_id: str) -> tuple[str, dt.datetime]: ...


# Steps whose answer does more than change the draft: a video checked and kept, a link probed,
# the submission created, a scan kept, a draft dropped.  Their draft is always read afresh.
_READ_FRESH = frozenset({Step.VIDEO, Step.REVIEW, Step.SCAN, Step.CANCEL})


class SubmitHandler:
    """Runs the dialog for one event at a time per user: the stored draft in, the engine, the
    checks and documents around it, the new draft out.

    ``draft_cache``: how many users' last stored drafts to keep in memory (or the process's
    :class:`DraftCache`, which every writer of drafts keeps current), so that a typed
    answer costs one storage call (the save) instead of two.  Only for a store this process
    alone writes drafts to (SQLite, one worker): with several workers the user's previous event
    may have been handled by another one.  A stale entry cannot do harm beyond one refused
    answer: the save is a compare-and-set on the draft's version, and the steps in
    ``_READ_FRESH`` never run from memory.
    """

    def __init__(
        self,
        engine: DialogEngine,
        storage: Storage,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        media_checker: MediaChecker | None = None,
        link_prober: LinkProber | None = None,
        uploads: UploadLinks | None = None,
        video_dir: Path | None = None,
        scan_dir: Path | None = None,
        quota: QuotaService | None = None,
        paperwork: Paperwork | None = None,
        pusher: Pusher | None = None,
        resubmitter: Resubmitter | None = None,
        content: ContentStarter | None = None,
        follow_ups: FollowUps | None = None,
        draft_cache: int | DraftCache = 0,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.clock = clock
        self.media_checker = media_checker
        self.link_prober = link_prober
        self.uploads = uploads
        self.video_dir = video_dir
        self.scan_dir = scan_dir
        self.quota = quota
        self.paperwork = paperwork
        self.resubmitter = resubmitter
        self.content = content
        self.follow_ups = follow_ups
        self.notices = AnswerNotices(engine, storage, quota)  # what an answer given tells beside it
        self.documents = Documents(engine.msg, pusher)  # the form and the receipt, now or later
        # Shared with the content checks, which keep a video's report with the draft.
        self._drafts = draft_cache if isinstance(draft_cache, DraftCache) else DraftCache(draft_cache)
        self._answered = AnsweredQuestions()  # a question's message, for the "是答案" after it

    async def aclose(self) -> None:
        """Wait for documents still being drawn and sent."""
        await self.documents.aclose()
        if self.follow_ups is not None:
            await self.follow_ups.aclose()

    async def handle(
        self,
        event: Incoming,
        *,
        contest_hint: str | None = None,
        gate: ClaimGate | None = None,
        ask: AskHelpdesk | None = None,
        turn: Turn | None = None,
    ) -> list[Reply]:
        """Handle one event; on a storage failure the stored draft is left as it was.

        With ``gate`` (a message not claimed yet, see :class:`ClaimGate`), the claim is taken
        before anything with an effect, or with the draft when that is the only one; raises
        :class:`AlreadyClaimed` when another attempt has it.  With ``ask`` (the helpdesk), a
        question typed without a prefix is recognised at any step and answered by it.  With
        ``turn`` (the user's, held by the caller), the draft read with it is used, and the
        draft's save may end it when that is the event's last effect.
        """
        try:
            try:
                return await self._handle_event(event, contest_hint, gate, ask, turn)
            except BaseException:
                # The store may or may not hold what this event wrote.
                self._drafts.forget(event.user)
                raise
        except AlreadyClaimed:
            raise
        except Exception:
            log.exception("event of %s failed", event.user)
            return [Reply(self.engine.msg.render("internal_error"), meta={"error": "internal"})]

    async def _draft(self, user: UserKey) -> Draft | None:
        """The user's draft: from memory when this process stored it last, else from the store."""
        kept = self._drafts.get(user)
        if kept is not None and kept.data.get("step") not in _READ_FRESH:
            return kept
        draft = await self.storage.get_draft(user)
        self._remember(user, draft)
        return draft

    def _remember(self, user: UserKey, draft: Draft | None) -> None:
        self._drafts.remember(user, draft)

    async def reopen(self, user: UserKey, state: dict[str, Any], *, head: str) -> list[Reply]:
        """Store ``state`` as the user's draft (a returned submission reopened for fixing,
        :meth:`~handlers.review.service.ReviewService.reopen_state`) and show where it is."""
        draft = await self._draft(user)
        if not await self._store(user, draft, state):
            return [Reply(self.engine.msg.render("internal_error"), meta={"error": "stale"})]
        outcome = self.engine.handle(state, Incoming(user, EventKind.TEXT, "开始"), self.clock())
        return [Reply(head), *outcome.replies[1:]]

    async def _handle_event(
        self,
        event: Incoming,
        contest_hint: str | None,
        gate: ClaimGate | None,
        ask: AskHelpdesk | None = None,
        turn: Turn | None = None,
    ) -> list[Reply]:
        if turn is not None and turn.draft_read:
            draft = turn.draft
            self._remember(event.user, draft)
        else:
            draft = await self._draft(event.user)
        now = self.clock()
        event = await self._prepare(event, draft, gate, turn)
        outcome = self.engine.handle(
            draft.data if draft else None,
            event,
            now,
            contest_hint=contest_hint,
            questions=ask is not None,
            answered=self._answered.take(event.user, now),
        )
        self._answered.hold(event.user, outcome.answered, now)
        if gate is not None and (outcome.submit is not None or outcome.actions or outcome.question):
            await gate.ensure(turn)  # effects beyond the draft follow: the message is ours first
        if outcome.submit is not None:
            return await self._submit(event.user, outcome, outcome.submit, now, draft, turn)
        if draft is not None and outcome.state and self.quota is not None:
            taken = await self._claim_named(draft.data, outcome.state, now)
            if taken:  # said now, not after every other field: the draft stays as it was
                outcome = self.engine.refuse(draft.data, taken, now)
        replies = list(outcome.replies)
        for action in outcome.actions:
            outcome, more = await self._do(action, event.user, outcome)
            replies.extend(more)
        if draft is None and outcome.state and outcome.state.get("contest") and self.quota is not None:
            notice = await self.quota.start_notice(event.user, outcome.state["contest"])
            if notice:
                replies.insert(min(1, len(replies)), Reply(notice))
        elif draft is not None and outcome.state:
            notice = await self.notices.unit_places(event.user, draft.data, outcome.state)
            if notice:
                replies.insert(min(1, len(replies)), Reply(notice))
            if code := await self.notices.code_elsewhere(draft.data, outcome.state):
                replies.insert(max(len(replies) - 1, 0), Reply(code))  # before the next question
        asking = bool(outcome.question and ask is not None)
        # The save ends the turn only when it is the event's last effect (not before a question).
        if not await self._store(event.user, draft, outcome.state, gate, None if asking else turn):
            return [Reply(self.engine.msg.render("internal_error"), meta={"error": "stale"})]
        started = self._check_content(event.user, draft, outcome.state)
        if started:
            # Right after the container verdict: the next question stays the last reply.
            said = "content_checking" if started == "queued" else "content_not_queued"
            replies.insert(min(1, len(replies)), Reply(self.engine.msg.render(said)))
        if asking and outcome.question and ask is not None:
            state = outcome.state or {}
            answer = await ask(
                outcome.question,
                state.get("contest") or contest_hint,
                state.get("channel"),
                state.get("track"),
                self.engine.unit_named(state) if state.get("contest") else None,
            )
            replies = [*answer, *replies]
        return replies

    def _check_content(
        self, user: UserKey, draft: Draft | None, state: dict[str, Any] | None
    ) -> Literal["queued", "busy", ""]:
        """Start the content checks of a video this event accepted (after the container
        verdict, and after the draft holding it is stored: the report finds it there)."""
        if self.content is None or draft is None or not state or not state.get("contest"):
            return ""
        video = state.get("video")
        if not isinstance(video, dict) or video == draft.data.get("video"):
            return ""
        form = self.engine.form(state)
        answers = state.get("answers") or {}
        fields = form.fields if form is not None else ()
        title = next((str(answers[f.id]) for f in fields if f.role == "title" and answers.get(f.id)), "")
        return self.content.start(user, state["contest"], video, title)

    async def _content_submitted(self, sub: Submission) -> None:
        """The fingerprint of a confirmed video kept and compared again; never fails the submission."""
        if self.content is None:
            return
        try:
            await self.content.submitted(sub)
        except Exception:
            log.exception("content report of %s could not be kept", sub.number)

    async def _claim_named(
        self, before: dict[str, Any], after: dict[str, Any], now: dt.datetime
    ) -> str | None:
        """Why the first author this event named cannot enter (another work holds them), if so."""
        # At the field, or changed from the review page ("主创人员改成 王五、张三").
        if before.get("step") not in (Step.FIELD, Step.REVIEW) or not after.get("contest") or not self.quota:
            return None
        form = self.engine.form(after)
        fld = next((f for f in form.fields if f.role == "authors"), None) if form is not None else None
        answers = after.get("answers") or {}
        if fld is None or form is None or not answers.get(fld.id):
            return None
        if answers.get(fld.id) == (before.get("answers") or {}).get(fld.id):
            return None
        amend = after.get("amend")
        return await self.quota.named_claim(after["contest"], form.id, answers, amend=amend, now=now)

    async def _store(
        self,
        user: UserKey,
        draft: Draft | None,
        state: dict[str, Any] | None,
        gate: ClaimGate | None = None,
        turn: Turn | None = None,
    ) -> bool:
        if state is None:
            self._remember(user, None)
            if draft is not None:
                if gate is not None:
                    await gate.ensure(turn)
                await self.storage.delete_draft(user)
            return True
        if draft is not None and state == draft.data:
            return True
        new = Draft(user=user, data=state, version=draft.version if draft else 0)
        try:
            if gate is None or gate.pending is None:
                saved = await self.storage.save_draft(new, turn=turn)
            else:  # the draft is this message's only effect: claim it in the same write
                saved = await self.storage.save_draft(new, claim=gate.pending, turn=turn)
                gate.settle(True)
        except AlreadyClaimed:
            if gate is not None:
                gate.settle(False)
            self._remember(user, None)  # another attempt saved this user's draft
            raise
        except StaleDraftError:
            # Only possible if the lock expired under a very slow event (or, with the draft
            # cache, if another process wrote this user's draft): drop this answer, keep what
            # is stored, and ask the user to send it again.
            self._remember(user, None)
            log.warning("stale draft for %s; event dropped", user)
            return False
        self._remember(user, saved)
        return True

    # ------------------------------------------------------------------ before the dialog
    async def _prepare(
        self, event: Incoming, draft: Draft | None, gate: ClaimGate | None = None, turn: Turn | None = None
    ) -> Incoming:
        """Attach what the dialog cannot find out itself: a video's or link's check, a scan's.

        A check is claimed first (``gate``): it may take 20 s, past WeChat's retry, and a
        retry at another worker must not fetch the same link again."""
        if draft is None or event.media is not None:
            return event
        step = draft.data.get("step")
        contest = self.engine.contests.get(draft.data.get("contest") or "")
        if contest is None:
            return event
        if gate is not None and (step == Step.VIDEO or (step == Step.SCAN and event.kind is EventKind.FILE)):
            await gate.ensure(turn)
        if step == Step.VIDEO:
            if event.kind is EventKind.FILE:
                return await check_video_file(event, contest, self.media_checker, self.video_dir)
            if event.kind is EventKind.TEXT:
                return await probe_link(event, contest, self.link_prober)
        if step == Step.SCAN and event.kind is EventKind.FILE:
            return await check_scan(event, contest, draft.data, self.scan_dir)
        return event

    # ------------------------------------------------------------------ confirm
    async def _submit(
        self,
        user: UserKey,
        outcome: StepResult,
        req: SubmitRequest,
        now: dt.datetime,
        draft: Draft | None = None,
        turn: Turn | None = None,
    ) -> list[Reply]:
        """Store the confirmed submission: only from the draft this event read (``draft``),
        and only while ``turn`` is this event's, so that two turns that confirmed one draft
        (a lock that expired under a slow worker, and the turn that took over) store one."""

        assert outcome.state is not None
        # What the store leaves behind with the submission, in the same write: the scan step's
        # draft, and the form owed to it where it is drawn after the turn (a worker that dies
        # right after storing it leaves both to the others).
        scan = self.engine.submitted(outcome.state, "", via=user.channel).state
        owed = None
        if self.follow_ups is not None and self.paperwork is not None and self.documents.deferred(user):
            owed = self.follow_ups.owe(user, now)

        def create(extra: dict[str, Any] | None = None) -> Awaitable[Submission]:
            return self.storage.create_submission(
                prefix=req.prefix,
                contest_id=req.contest_id,
                user=user,
                channel_id=req.channel_id,
                form_id=req.form_id,
                answers=req.answers,
                video=req.video,
                now=now,
                extra=extra,
                draft_version=None if draft is None else draft.version,
                turn=turn,
                next_draft=scan,
                follow_up=owed,
            )

        if req.amend:
            return await self._resubmit(user, outcome, req, now)
        notice = ""
        try:
            if self.quota is not None:
                result = await self.quota.confirm(user, req, create, now=now, turn=turn)
                if isinstance(result, QuotaRefusal):
                    # Nothing was stored and the draft stays at the review page.
                    refusal = Reply(refusal_text(result), meta={"error": f"quota_{result.reason}"})
                    return [*outcome.replies, refusal]
                submission, notice = result.submission, result.notice
            else:
                submission = await create()
        except StaleDraftError:
            # Another turn confirmed or changed this draft meanwhile: nothing stored here (the
            # quota place went back), and the entrant is told where to look.
            self._remember(user, None)
            log.warning("confirmation of %s refused: its draft changed or its turn was lost", user)
            return [Reply(self.engine.msg.render("submit_raced"), meta={"error": "stale"})]
        log.info("submission %s by %s", submission.number, user)
        await self._content_submitted(submission)
        done = self.engine.submitted(outcome.state, submission.number, via=user.channel)
        replies = [*outcome.replies, *done.replies]
        if notice:
            replies.append(Reply(notice))
        contest = self.engine.contests.get(req.contest_id)
        assert contest is not None and done.state is not None
        number = submission.number

        def make_forms() -> Awaitable[list[Reply]]:
            return self.documents.form(self.paperwork, contest, req.form_id, req.answers, number)

        if owed is not None and self.follow_ups is not None:
            follow_up = dataclasses.replace(owed, number=number)
            replies.extend(await self.follow_ups.begin(follow_up, contest, req.form_id, req.answers))
        elif self.paperwork is not None and self.documents.deferred(user):
            ahead = self.documents.form_ahead(self.paperwork, user, contest, req.form_id, req.answers, number)
            if ahead is not None:
                replies.extend(ahead)
            else:
                replies.append(Reply(self.engine.msg.render("documents_coming")))
                self.documents.send_later(user, make_forms)
        else:
            replies.extend(await make_forms())
        replies.append(self.engine.scan_prompt(done.state))
        # The store replaced the draft by the scan step's with the submission.
        self._remember(user, Draft(user=user, data=done.state, version=(draft.version if draft else 0) + 1))
        return replies

    async def _resubmit(
        self, user: UserKey, outcome: StepResult, req: SubmitRequest, now: dt.datetime
    ) -> list[Reply]:
        """A returned submission fixed and confirmed: stored under its own number."""
        assert req.amend is not None and outcome.state is not None
        if self.resubmitter is None:
            return [Reply(self.engine.msg.render("internal_error"), meta={"error": "resubmit"})]
        done = await self.resubmitter.resubmit(user, req.amend, req.answers, req.video, now)
        if not done.ok or done.submission is None:
            return [*outcome.replies, Reply(done.text, meta={"error": done.code})]
        sub = done.submission
        await self._content_submitted(sub)
        replies = [*outcome.replies, Reply(done.text, meta={"number": sub.number})]
        contest = self.engine.contests.get(sub.contest_id)
        if not done.needs_scan or contest is None:
            await self._store(user, await self._draft(user), None)
            return replies
        replies.extend(
            await self.documents.form(self.paperwork, contest, sub.form_id, sub.answers, sub.number)
        )
        scan = self.engine.submitted(outcome.state, sub.number, via=user.channel)
        replies.append(self.engine.scan_prompt(scan.state or {}))
        await self._store(user, await self._draft(user), scan.state)
        return replies

    # ------------------------------------------------------------------ actions
    async def _do(self, action: str, user: UserKey, outcome: StepResult) -> tuple[StepResult, list[Reply]]:
        state = outcome.state or {}
        if action == "upload_link":
            if self.uploads is None:
                return outcome, [Reply(self.engine.msg.render("upload_unavailable"))]
            url, expires = await self.uploads.mint(user, state.get("contest") or "")
            when = expires.astimezone(SHANGHAI).strftime("%m月%d日%H:%M")
            text = self.engine.msg.render("upload_link", url=url, expires=when)
            return outcome, [Reply(text, meta={"upload_url": url})]
        if action == "send_form":
            submission = await self.storage.get_submission(state.get("number") or "")
            contest = self.engine.contests.get(state.get("contest") or "")
            if submission is None or contest is None:
                return outcome, []
            ahead = self.documents.form_ahead(
                self.paperwork, user, contest, submission.form_id, submission.answers, submission.number
            )
            replies = (
                ahead
                if ahead is not None
                else await self.documents.form(
                    self.paperwork, contest, submission.form_id, submission.answers, submission.number
                )
            )
            return outcome, replies or [Reply(self.engine.msg.render("form_failed"))]
        if action == "complete":
            return await self._complete(user, state)
        raise ValueError(f"unknown dialog action {action!r}")

    async def _complete(self, user: UserKey, state: dict[str, Any]) -> tuple[StepResult, list[Reply]]:
        """The signed scan arrived: the submission is complete and gets its receipt."""
        number = str(state.get("number") or "")
        scans = [s.get("stored", "") for s in state.get("scans") or []]
        entry = HistoryEntry(self.clock(), str(user), "complete", ReviewState.COMPLETE.value)
        submission = await self.storage.update_submission(
            number, status="complete", extra={"scans": scans}, history=entry.to_json()
        )
        contest = self.engine.contests.get(submission.contest_id)
        paperwork = self.paperwork
        waiting = [Reply(note)] if (note := waiting_note(submission)) else []  # cq: not yet chosen
        if paperwork is None or contest is None:
            done = self.engine.completed(state)
            return done, [*done.replies, *waiting]
        receipt = paperwork.receipt(submission, contest)
        done = self.engine.completed(state, paperwork.receipt_text(receipt))
        replies = [*done.replies, *waiting]
        replies.extend(await self.documents.receipt(paperwork, user, receipt))
        return done, replies


__all__ = ["SubmitHandler", "UploadLinks"]
