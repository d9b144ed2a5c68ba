"""The content checks of an accepted video, run in the background after the container verdict.

The container check (:mod:`validators.media`) answers within the entrant's turn; the content
checks (:mod:`validators.content`: sound, picture, subtitles, title card, credits, watermarks)
decode the whole file and take a minute or more.  :class:`ContentChecks` runs them in tasks
it keeps, a few at a time, and cancels at shutdown (the child process ends with its task).
An entrant has one check waiting or running per video: the same video sent again is not
checked twice, and a new one replaces (cancels) the check of the video it replaces, unless
that video was submitted meanwhile.  Beyond ``queue`` checks waiting or running, a video is
not queued: the entrant is told at once that the organisers will look at it by hand, and a
report saying so is kept with the video (nothing else of the entry is lost).
When one is done it takes the entrant's turn, stores the report with the video that was
checked (in the draft, or in the submission when it was confirmed in the meantime; a video
replaced since gets nothing), compares the fingerprint with every stored one of the contest's
lineage (its earlier editions too), and pushes the report to the chat.

Organisers see the whole report, duplicates named with their numbers and titles; the entrant
sees duplicates only where the notice forbids them (most-cas 重复推荐取消资格, hlj 已参加过
历届), without naming other entrants' works.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from contests.events import Reply
from contests.ports import FingerprintStore, Storage
from contests.records import FingerprintRecord, StaleDraftError, Submission, UserKey
from contests.registry import ContestRegistry
from contests.rules import ContentRule, Contest, Form
from dialogs.messages import Messages
from handlers.draft_cache import DraftCache
from validators.content import ContentReport
from validators.fingerprint import Fingerprint, FingerprintIndex, Match

log = logging.getLogger(__name__)

ContentCheck = Callable[[Path, Contest, str], Awaitable[ContentReport]]
"""Checks one file's content for a contest, the typed 作品名称 given (``validators.content``)."""

Download = Callable[[str, Contest], AbstractAsyncContextManager[Path | str]]
"""Fetches a direct link's video for the check: a file kept while the context is open, or why
not (in Chinese)."""


class Turns(Protocol):
    """Runs work in a user's turn and pushes what it says (:meth:`handlers.outbound.Reach.settle`)."""

    async def settle(self, user: UserKey, make: Callable[[], Awaitable[list[Reply]]]) -> bool: ...


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def same_video(record: Any, video: dict[str, Any]) -> bool:
    """Whether a stored video record is the video that was checked: the same file (by its
    hash) or the same link."""
    if not isinstance(record, dict) or record.get("kind") != video.get("kind"):
        return False
    if video.get("kind") == "file":
        return bool(video.get("sha256")) and record.get("sha256") == video.get("sha256")
    return bool(video.get("url")) and record.get("url") == video.get("url")


Started = Literal["queued", "busy", ""]
"""What :meth:`ContentChecks.start` did: queued (or already queued), refused for a full queue
(the organisers check by hand), or nothing (not a video it checks)."""

NOT_QUEUED = "服务器上等待检查的视频太多，这次没能排上队"


def video_key(video: dict[str, Any]) -> str:
    """What names one video among an entrant's: its file's hash, or its link."""
    if video.get("kind") == "file":
        return f"file:{video.get('sha256', '')}"
    return f"link:{video.get('url', '')}"


@dataclass(eq=False, slots=True)
class _Check:
    """One check waiting or running, owned by :class:`ContentChecks`."""

    task: asyncio.Task[None]
    pinned: bool = False  # its video is in a submission: a newer video does not replace it
    settling: bool = False  # in the entrant's turn, writing its report: left to finish


def checkable(video: Any) -> bool:
    """A video the container check passed, whose content the server can read: a kept file or
    a direct link (a share link is the organisers' to open)."""
    if not isinstance(video, dict) or not video.get("checked") or video.get("verdict") != "passed":
        return False
    if video.get("kind") == "file":
        return bool(video.get("stored") and video.get("sha256"))
    return video.get("kind") == "link" and bool(video.get("url"))


def earlier_of(contest: Contest, matches: list[Match]) -> set[str]:
    """The matches that are earlier editions' works (keyed ``contest_id/number``)."""
    return {m.key for m in matches if m.key.partition("/")[0] != contest.id}


def title_of(contest: Contest, form_id: str | None, answers: dict[str, Any]) -> str:
    """The 作品名称 the entrant typed (the form's field of role ``title``), or ""."""
    try:
        form = contest.form(form_id or "")
    except KeyError:
        return ""
    return next((str(answers[f.id]) for f in form.fields if f.role == "title" and answers.get(f.id)), "")


def draft_title(contest: Contest, data: dict[str, Any]) -> str:
    """The 作品名称 of a draft as it is now (the entrant may rename the work after its video was
    sent), or "" before its route is chosen."""
    form = entry_form(contest, None, data)
    answers = data.get("answers")
    return title_of(contest, form.id, answers) if form and isinstance(answers, dict) else ""


def title_rule(contest: Contest) -> ContentRule | None:
    """The notice's rule that the opening shows the work's title, if it has one."""
    return contest.video.content.title_card if contest.video else None


def entry_form(contest: Contest, sub: Submission | None, draft: Any) -> Form | None:
    """The form of the entry that holds the video: the submission's, else the form of the
    draft's route (its channel and track), or None when the route is not chosen."""
    try:
        if sub is not None:
            return contest.form(sub.form_id)
        if isinstance(draft, dict) and draft.get("channel"):
            channel = contest.channel(str(draft["channel"]))
            track = draft.get("track") or next(iter(channel.forms))
            return contest.form(channel.forms[track])
    except (KeyError, StopIteration):
        return None
    return None


class ContentChecks:
    """Content checks in tasks owned by this object: :meth:`start` one, :meth:`drain` waits for
    them (tests), :meth:`aclose` cancels what still runs (shutdown).  At most ``queue`` checks
    wait or run at once, one per entrant and video."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        fingerprints: FingerprintStore,
        turns: Turns,
        check: ContentCheck,
        messages: Messages,
        *,
        download: Download | None = None,
        workers: int = 1,
        queue: int = 16,
        clock: Callable[[], dt.datetime] = utcnow,
        drafts: DraftCache | None = None,
    ) -> None:
        self.contests = contests
        self.drafts = drafts  # the dialog's drafts in memory: kept current with the report's write
        self.storage = storage
        self.fingerprints = fingerprints
        self.turns = turns
        self.check = check
        self.msg = messages
        self.download = download
        self.clock = clock
        # Each check is a child decoding a whole video: more at once than cores only queue.
        self.enabled = workers > 0
        self._slots = asyncio.Semaphore(max(1, workers))
        # Each waiting check holds a download of up to 2 GiB and a decode to come, and is lost
        # at a restart: a bounded queue, not one per video sent.
        self.queue = max(1, queue)
        self._tasks: set[asyncio.Task[None]] = set()
        self._checks: dict[tuple[UserKey, str], _Check] = {}
        self._closed = False

    def wants(self, video: Any) -> bool:
        """Whether :meth:`start` would check this video (a link only with a downloader)."""
        return checkable(video) and (video.get("kind") == "file" or self.download is not None)

    def start(self, user: UserKey, contest_id: str, video: dict[str, Any], title: str) -> Started:
        """Check ``video`` of ``user``'s entry in ``contest_id`` in the background: "queued"
        (also when this video's check already waits or runs); "busy" when the queue is full
        (a report saying so is kept with the video, in the entrant's turn, and not pushed: the
        caller says it); "" when it will not be checked (not checkable, unknown contest,
        shutting down).  The entrant's check of another video, not submitted, is cancelled."""
        contest = self.contests.get(contest_id)
        if not self.enabled or self._closed or contest is None or contest.video is None:
            return ""
        if not self.wants(video):
            return ""
        key = (user, video_key(video))
        if key in self._checks:
            return "queued"
        for other, older in list(self._checks.items()):
            if other[0] == user and not older.pinned and not older.settling:
                # Its video was replaced in the draft: no report is wanted.  It leaves the
                # queue now, before its task (and child process) has wound down.
                older.task.cancel()
                del self._checks[other]
        if len(self._checks) >= self.queue:
            log.warning("content check queue full (%d): %s's video not queued", self.queue, user)
            self._own(self._not_queued(user, contest, dict(video), title))
            return "busy"
        check = _Check(self._own(self._run(user, contest, dict(video), title, key)))
        self._checks[key] = check
        check.task.add_done_callback(lambda task: self._forget(key, task))
        return "queued"

    def _own(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _forget(self, key: tuple[UserKey, str], task: asyncio.Task[None]) -> None:
        check = self._checks.get(key)
        if check is not None and check.task is task:
            del self._checks[key]

    def queued(self) -> int:
        """Checks waiting or running now."""
        return len(self._checks)

    async def drain(self) -> None:
        """Wait for every check started so far, and those they start."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: running checks are cancelled (their child processes end with them)."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await self.drain()

    # ------------------------------------------------------------------ one check
    async def _run(
        self, user: UserKey, contest: Contest, video: dict[str, Any], title: str, key: tuple[UserKey, str]
    ) -> None:
        try:
            async with self._slots:
                report = await self._measure(contest, video, title)
            check = self._checks.get(key)
            if check is not None and check.task is asyncio.current_task():
                check.settling = True
            await self.turns.settle(user, lambda: self._attach(user, contest, video, report, title))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("content check of %s's video failed", user)

    async def _not_queued(self, user: UserKey, contest: Contest, video: dict[str, Any], title: str) -> None:
        """The report of a check that was not queued, kept with the video for the organisers
        (who check it by hand); the entrant was told when the video was accepted."""
        report = ContentReport(False, (), failure=NOT_QUEUED)

        async def keep() -> list[Reply]:
            await self._attach(user, contest, video, report, title)
            return []

        try:
            await self.turns.settle(user, keep)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("content report of %s's video (not queued) could not be kept", user)

    async def _measure(self, contest: Contest, video: dict[str, Any], title: str) -> ContentReport:
        async with self._file(contest, video) as path:
            if isinstance(path, str):
                return ContentReport(False, (), failure=path)
            return await self.check(path, contest, title)

    @contextlib.asynccontextmanager
    async def _file(self, contest: Contest, video: dict[str, Any]) -> AsyncIterator[Path | str]:
        if video.get("kind") == "file":
            path = Path(str(video["stored"]))
            found = await asyncio.to_thread(path.is_file)
            yield path if found else "服务器上找不到这份视频文件"
            return
        assert self.download is not None
        async with self.download(str(video["url"]), contest) as fetched:
            yield fetched

    async def _attach(
        self, user: UserKey, contest: Contest, video: dict[str, Any], report: ContentReport, title: str
    ) -> list[Reply]:
        """In the user's turn: keep the report with every record holding the video, then say it.
        ``title``: the 作品名称 when the video was accepted; the report names the work as it is
        now, the submission's or the draft's (renamed on the review page meanwhile)."""
        rule = contest.video.content.duplicates if contest.video else None
        submitted = [
            s
            for s in await self.storage.list_submissions(contest_id=contest.id, user=user)
            if s.status != "withdrawn" and same_video(s.video, video)
        ]
        for sub in submitted:
            await self._keep_in_submission(sub, contest, report)
        draft = await self.storage.get_draft(user)
        held = draft is not None and same_video(draft.data.get("video"), video)
        if held and draft is not None:
            title = draft_title(contest, draft.data) or title
            report = report.titled(title_rule(contest), title)
            matches, names, _ = await self._duplicates(contest, report, own=None)
            organisers = report.with_duplicates(rule, matches, names, earlier_of(contest, matches))
            data = {**draft.data, "video": {**draft.data["video"], "content": organisers.to_dict()}}
            draft.data = data
            try:
                saved = await self.storage.save_draft(draft)
            except StaleDraftError:  # written by a worker outside the turn: the report is only said
                log.warning("draft of %s changed under its content check", user)
                saved = None
            if self.drafts is not None:
                self.drafts.remember(user, saved)
        if not submitted and not held:
            log.info("content check of %s's video done after it was replaced; not kept", user)
            return []
        own = submitted[0].number if submitted else None
        if submitted:
            title = title_of(contest, submitted[0].form_id, submitted[0].answers) or title
            report = report.titled(title_rule(contest), title)
        matches, _, plain = await self._duplicates(contest, report, own=own)
        entrant = report.with_duplicates(rule, matches, plain, earlier_of(contest, matches)).for_entrant(rule)
        # The notice's clauses name the entrant's own form (a 自荐 entrant fills no 推荐表).
        form = entry_form(contest, submitted[0] if submitted else None, draft.data if draft else None)
        entrant = entrant.in_words_of(form)
        text = self.msg.render(
            "content_report", report=entrant.text_zh(), title=title, submitted=bool(submitted)
        )
        return [Reply(text, meta={"contest": contest.id, "content_ok": str(entrant.ok)})]

    async def _keep_in_submission(self, sub: Submission, contest: Contest, report: ContentReport) -> None:
        """The report into the submission, its fingerprint into the store, and the works it
        matches flagged as well (the earlier entry of the same work is no less a duplicate)."""
        rule = contest.video.content.duplicates if contest.video else None
        title = title_of(contest, sub.form_id, sub.answers)
        report = report.titled(title_rule(contest), title)  # renamed before it was submitted
        if report.fingerprint is not None:
            await self.fingerprints.put(
                FingerprintRecord(
                    contest.id,
                    contest.lineage,
                    sub.number,
                    report.fingerprint.to_bytes(),
                    title,
                    self.clock(),
                )
            )
        matches, names, _ = await self._duplicates(contest, report, own=sub.number)
        flagged = report.with_duplicates(rule, matches, names, earlier_of(contest, matches))
        await self.storage.update_submission(sub.number, video={**sub.video, "content": flagged.to_dict()})
        for match in matches:
            other_contest, _, number = match.key.partition("/")
            if other_contest == contest.id:
                await self._reflag(contest, number)

    async def _reflag(self, contest: Contest, number: str) -> None:
        other = await self.storage.get_submission(number)
        stored = (other.video.get("content") if other else None) or {}
        if other is None or not stored.get("checked"):
            return
        rule = contest.video.content.duplicates if contest.video else None
        report = ContentReport.from_dict(stored)
        matches, names, _ = await self._duplicates(contest, report, own=number)
        flagged = report.with_duplicates(rule, matches, names, earlier_of(contest, matches)).to_dict()
        await self.storage.update_submission(number, video={**other.video, "content": flagged})

    async def submitted(self, sub: Submission) -> None:
        """A submission was stored (or resubmitted) with a video already checked: keep its
        fingerprint and compare it again, with what others submitted since the check.  A check
        of its video still waiting or running is kept from now on, whatever video comes next."""
        check = self._checks.get((sub.user, video_key(sub.video)))
        if check is not None:
            check.pinned = True
        contest = self.contests.get(sub.contest_id)
        stored = sub.video.get("content")
        if contest is None or not isinstance(stored, dict) or not stored.get("checked"):
            return
        await self._keep_in_submission(sub, contest, ContentReport.from_dict(stored))

    async def _duplicates(
        self, contest: Contest, report: ContentReport, *, own: str | None
    ) -> tuple[list[Match], dict[str, str], dict[str, str]]:
        """Stored works of the lineage like this one: the matches, their names for organisers,
        and for the entrant (no other entrant's number or title)."""
        if report.fingerprint is None:
            return [], {}, {}
        records = [
            r
            for r in await self.fingerprints.list_lineage(contest.lineage)
            if not (r.contest_id == contest.id and r.number == own)
        ]
        if not records:
            return [], {}, {}
        entries = [(f"{r.contest_id}/{r.number}", Fingerprint.from_bytes(r.data)) for r in records]
        fingerprint = report.fingerprint
        # Aligning a few thousand fingerprints is CPU work: off the event loop.
        matches = await asyncio.to_thread(lambda: FingerprintIndex(entries).search(fingerprint))
        by_key = {f"{r.contest_id}/{r.number}": r for r in records}
        names: dict[str, str] = {}
        plain: dict[str, str] = {}
        for m in matches:
            r = by_key[m.key]
            other = self.contests.get(r.contest_id)
            edition = (
                "" if r.contest_id == contest.id else f"（{other.year if other else r.contest_id} 年往届）"
            )
            names[m.key] = f"{r.number}《{r.title}》{edition}" if r.title else f"{r.number}{edition}"
            plain[m.key] = (
                "本届的另一件投稿"
                if r.contest_id == contest.id
                else f"往届（{other.year if other else ''}年）作品"
            )
        return matches, names, plain
