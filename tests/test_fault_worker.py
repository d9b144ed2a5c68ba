"""A worker dies (or stalls past its lock) in the middle of a 确认提交, on Redis.

Two :func:`bot.services.services` on one Redis prefix stand for two ``serve`` workers.  Worker
a handles an entrant's 确认提交 and stops dead right after one of its store calls: no more code
of that event runs, its turn's lock is not renewed, its release never comes, as after a SIGKILL
(``tests/test_workers.py`` does the real thing, where such a stop lands at random).  Then
worker b gets WeChat's redelivery of the same message (same MsgId) once the lock has expired,
and the message must be handled exactly once: one submission, whichever the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.services import Services, services
from bot.settings import Settings
from contests.events import Document, EventKind, Incoming, Placement, Reply
from contests.records import AlreadyClaimed, InboundClaim, UserKey
from contests.rules import Contest
from handlers.claims import ClaimGate
from tests.conftest import REDIS_URL, drop_redis_prefix, write_open_edition
from tests.test_workers import SHARE_LINK, answers_of

ENTRANT = UserKey("wechat", "oStopped")
TTL = dt.timedelta(minutes=5)
LOCK_TIMEOUT = 0.5  # seconds: how long the stopped worker's lock outlives it


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[tuple[Services, Services, Contest]]:
    prefix = f"test-fault-worker-{uuid.uuid4().hex[:10]}"
    contest = write_open_edition(tmp_path / "contests")
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        contests_dir=tmp_path / "contests",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        redis_lock_timeout=LOCK_TIMEOUT,
    )
    try:
        async with services(settings) as a, services(settings) as b:
            yield a, b, contest
    finally:
        await drop_redis_prefix(prefix)


async def push(svc: Services, text: str, msg_id: str) -> list[str] | None:
    """One text message as the WeChat channel hands it over (its claim taken when first needed,
    and at the end when nothing took it); None when it was handled already."""
    claim = InboundClaim(f"wechat:{msg_id}", TTL, ENTRANT, dt.datetime.now(dt.UTC))
    gate = ClaimGate(svc.storage, claim)
    try:
        replies = await svc.assistant.handle(Incoming(ENTRANT, EventKind.TEXT, text=text), gate=gate)
        if gate.pending is not None:
            await gate.ensure()
    except AlreadyClaimed:
        return None
    return [r.text for r in replies]


async def at_review(svc: Services, contest: Contest) -> None:
    await svc.assistant.handle(Incoming(ENTRANT, EventKind.START))
    for n, text in enumerate(["自荐", *answers_of(contest, 1).values(), SHARE_LINK]):
        assert await push(svc, text, f"m{n}") is not None
    draft = await svc.storage.get_draft(ENTRANT)
    assert draft is not None and draft.data["step"] == "review"


def stop_after(svc: Services, store: object, method: str) -> tuple[asyncio.Event, asyncio.Event]:
    """Make ``svc`` stop dead right after ``store.method`` returns (its first call), with its
    turns' locks no longer renewed; returns (stopped, resume)."""
    stopped, resume = asyncio.Event(), asyncio.Event()
    real = getattr(store, method)

    async def no_renewal(*_: Any) -> None:
        return None

    async def then_stop(*args: Any, **kwargs: Any) -> Any:
        result = await real(*args, **kwargs)
        if not stopped.is_set():
            stopped.set()
            await resume.wait()
        return result

    svc.stores.isolation._renew = no_renewal  # type: ignore[attr-defined]
    setattr(store, method, then_stop)
    return stopped, resume


# Where worker a stops, and whether the submission was stored by then.
POINTS = [
    ("storage", "claim_inbound", False),  # the message claimed (pending in a's turn), nothing else
    ("org", "reserve", False),  # a's quota place held: it must not refuse b's
    ("storage", "create_submission", True),  # stored, its place not yet committed
    ("org", "commit", True),  # stored and counted, the scan step's draft not yet saved
]


@pytest.mark.parametrize(("store", "method", "stored"), POINTS, ids=[p[1] for p in POINTS])
async def test_a_confirmation_whose_worker_stopped_is_handled_once_by_the_other(
    workers: tuple[Services, Services, Contest], store: str, method: str, stored: bool
) -> None:
    a, b, contest = workers
    await at_review(b, contest)
    stopped, _ = stop_after(a, getattr(a.stores, store), method)
    dead = asyncio.create_task(push(a, "确认提交", "confirm"))
    try:
        await asyncio.wait_for(stopped.wait(), 10)
        assert len(await b.storage.list_submissions(user=ENTRANT)) == int(stored)
        # WeChat's redelivery, a moment after a's connection dropped: b waits out a's lock.
        await asyncio.sleep(0.1)
        replies = await push(b, "确认提交", "confirm")
        subs = await b.storage.list_submissions(user=ENTRANT)
        assert len(subs) == 1, (method, replies)
        if stored:
            assert replies is None  # handled already: recognised, not run again
        else:
            assert replies is not None and subs[0].number in replies[0], replies
            places = await b.stores.org.list_places(contest.id)
            assert [p.number for p in places] == [subs[0].number]  # a's dead hold dropped
    finally:
        dead.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dead


async def test_a_worker_that_stalled_past_its_lock_stores_no_second_submission(
    workers: tuple[Services, Services, Contest],
) -> None:
    """Worker a stalls between holding the place and storing the submission, long enough for
    its lock to expire; b takes the redelivery over and stores it.  When a wakes up, its store
    refuses (its draft was confirmed, its turn lost): a says so in Chinese, and nothing more
    is stored or counted."""
    a, b, contest = workers
    await at_review(b, contest)
    stopped, resume = stop_after(a, a.stores.org, "reserve")
    slow = asyncio.create_task(push(a, "确认提交", "confirm"))
    await asyncio.wait_for(stopped.wait(), 10)
    await asyncio.sleep(0.1)
    done = await push(b, "确认提交", "confirm")
    assert done is not None and "提交成功" in done[0]
    resume.set()
    late = await slow
    subs = await b.storage.list_submissions(user=ENTRANT)
    assert len(subs) == 1
    assert late is not None and len(late) == 1 and "没有办理" in late[0] and "我的投稿" in late[0], late
    places = await b.stores.org.list_places(contest.id)
    assert [(p.number, p.state.value) for p in places] == [(subs[0].number, "committed")]
    draft = await b.storage.get_draft(ENTRANT)
    assert draft is not None and draft.data["number"] == subs[0].number  # b's scan step stands


# -- the form owed to a stored submission ----------------------------------------------------
class Notifier:
    """The entrant's channel in one worker: what it pushed; with ``links``, it gives the
    documents' links before they are drawn, as WeChat does (places under ``folder``)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.pushed: list[list[Reply]] = []

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        self.pushed.append(replies)


class LinkingNotifier(Notifier):
    def plan_documents(self, files: Sequence[tuple[str, str]]) -> list[tuple[Document, Placement]]:
        assert self.folder is not None
        self.folder.mkdir(exist_ok=True)
        planned = []
        for name, mime in files:
            path = self.folder / f"{uuid.uuid4().hex}.bin"
            planned.append(
                (Document(name, mime=mime, path=str(path)), Placement(str(path), f"{path}.json", "{}"))
            )
        return planned


# Where a stops: right after storing the submission, with the channel giving links or not;
# right after recording the links its reply carries; or right after drawing the documents there.
STOPS = [
    ("create_submission", False),
    ("create_submission", True),
    ("keep_follow_up", True),
    ("form_documents", True),
]


@pytest.mark.parametrize(
    ("method", "links"), STOPS, ids=["stored-pushed", "stored-linked", "linked", "drawn"]
)
async def test_a_form_whose_worker_stopped_before_drawing_it_is_drawn_and_delivered_once_by_the_other(
    workers: tuple[Services, Services, Contest], tmp_path: Path, links: bool, method: str
) -> None:
    """Worker a stores the submission (and, where links are given, records them) and stops
    before drawing the form.  Once its hold lapses, b takes the form over: drawn once, where
    a's links point, or pushed to the entrant once; and the scan step's draft was stored with
    the submission, so the entrant goes on where they were."""
    a, b, contest = workers
    make = LinkingNotifier if links else Notifier
    at_a, at_b = make(tmp_path / "outbox"), make(tmp_path / "outbox")
    a.reach.register("wechat", at_a)
    b.reach.register("wechat", at_b)
    await at_review(b, contest)
    stopped, resume = stop_after(
        a, a.follow_ups.paperwork if method == "form_documents" else a.storage, method
    )
    dead = asyncio.create_task(push(a, "确认提交", "confirm"))
    try:
        await asyncio.wait_for(stopped.wait(), 30)
        [sub] = await b.storage.list_submissions(user=ENTRANT)
        draft = await b.storage.get_draft(ENTRANT)
        assert draft is not None and draft.data["step"] == "scan" and draft.data["number"] == sub.number
        assert await push(b, "确认提交", "confirm") is None  # recognised as handled
        await asyncio.sleep(LOCK_TIMEOUT + 0.1)
        assert await b.follow_ups.sweep() == 1
        await b.follow_ups.aclose()
        assert await b.follow_ups.sweep() == 0  # done: nobody takes it again
        assert at_a.pushed == []
        drawn = sorted((tmp_path / "outbox").glob("*.bin")) if links else []
        if links and method != "create_submission":
            assert at_b.pushed == [] and len(drawn) == 2  # drawn where a's reply pointed, once
            assert all(Path(f"{p}.json").exists() for p in drawn)
            assert not list((tmp_path / "outbox").glob("*.part"))
        else:  # no links went out: the form is pushed, once
            [replies] = at_b.pushed
            assert [r.document is not None for r in replies] == [True, True], replies
            assert sub.number in replies[0].document.filename  # type: ignore[union-attr]
    finally:
        resume.set()  # a, stopped in its follow-up, finds it taken over
        dead.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dead


async def test_a_form_that_no_channel_could_take_is_sent_later_not_dropped(
    workers: tuple[Services, Services, Contest], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push that found no channel (one stopped at a shutdown) sent nothing: the follow-up is
    left, not finished, and the next look sends the form."""
    a, b, contest = workers
    at_b = Notifier()
    b.reach.register("wechat", at_b)
    a.reach.register("wechat", Notifier())
    await at_review(b, contest)
    stopped, resume = stop_after(a, a.storage, "create_submission")
    dead = asyncio.create_task(push(a, "确认提交", "confirm"))
    try:
        await asyncio.wait_for(stopped.wait(), 30)
        await asyncio.sleep(LOCK_TIMEOUT + 0.1)
        real = b.reach.push

        async def channel_gone(user: UserKey, replies: list[Reply]) -> bool:
            return False

        monkeypatch.setattr(b.reach, "push", channel_gone)
        assert await b.follow_ups.sweep() == 1
        await b.follow_ups.aclose()
        monkeypatch.setattr(b.reach, "push", real)
        assert at_b.pushed == []
        await asyncio.sleep(LOCK_TIMEOUT + 0.1)
        assert await b.follow_ups.sweep() == 1  # still owed
        await b.follow_ups.aclose()
        [replies] = at_b.pushed
        assert [r.document is not None for r in replies] == [True, True]
        assert await b.follow_ups.sweep() == 0
    finally:
        resume.set()
        dead.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dead
