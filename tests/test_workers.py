"""Two ``python -m bot serve`` workers on one Redis, one of them SIGKILLed under load.

Both workers share the Redis prefix and one data folder (the download outbox, as a shared
volume would give them); the fake WeChat of ``tests/fakes/wechat_server.py`` pushes many
entrants' whole dialogs, each message to either worker in turn.  Each entrant waits for the
answer to one message before sending the next (so their order is theirs), and a message
whose worker died is pushed again, the same MsgId, to the other, as WeChat retries.  Midway
one worker is killed with SIGKILL (its drawing process too), while it handles an entrant's
确认提交 and others' answers (entrants start a few messages apart).  Then: every entrant has one
submission under its own number, with every answer in its field (nothing lost, nothing
applied twice or out of order), and every form drawn once and downloadable from the worker
that did not draw it.

The dead worker's turn locks expire after ``BOT_REDIS_LOCK_TIMEOUT`` (2 s here, 60 s by
default), which is what the redelivered messages of its users wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.storage import choose_backend
from bot.storage.redis import RedisBackend
from bot.storage.redis.lock import RedisIsolation, TurnHandle
from contests.ports import Storage
from contests.records import Draft, Turn, UserKey
from contests.rules import Contest
from tests.conftest import REDIS_URL, drop_redis_prefix, valid_answer, write_open_edition
from tests.fakes.wechat_server import FakeWechat
from tests.forked import Forked, start_serve
from tests.redis_servers import free_ports
from validators.fields import check_answer
from validators.text import Valid

ROOT = Path(__file__).resolve().parents[1]
TOKEN, APP_ID, APP_SECRET = "kepuWorkers2026", "wxworkers0000000", "app-secret-for-workers"
ENTRANTS = 16
STAGGER = 0.25  # seconds between two entrants' first messages
KILL_DELAY = 0.003  # seconds after a message went to worker a: while it handles it
LOCK_TIMEOUT = 2.0
SILENCE = 8.0  # seconds an entrant waits for a 客服消息 before typing on
LOAD_TIMEOUT = 300.0  # seconds the whole load may take on a loaded machine
SERVE_START = 60.0  # seconds a cold serve may take to listen on a loaded machine
SHARE_LINK = "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9"
LINK = re.compile(r"/wechat/files/([A-Za-z0-9_-]+)")
T0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)


async def until(predicate: Callable[[], object], within: float) -> bool:
    """Poll ``predicate`` (files on disk, a fake's records: nothing to await) until it holds or
    ``within`` seconds have passed; whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if predicate():
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)


def _free_port() -> int:
    return free_ports(1)[0]


@dataclass
class Worker:
    """One ``serve`` process, configured from the environment as in production."""

    name: str
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=_free_port)
    proc: Forked | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, http: aiohttp.ClientSession) -> None:
        log = self.data_dir / f"{self.name}.log"
        # Forked with serve's imports done (tests/forked.py); in the data folder: a developer's
        # .env in the checkout must not add channels.
        env = {**self.env, "BOT_HTTP_PORT": str(self.port)}
        self.proc = await start_serve(self.data_dir, env, log, new_session=True)
        async with asyncio.timeout(SERVE_START):
            while True:
                if not self.alive:
                    raise AssertionError(f"{self.name} ended:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL to the worker and its drawing process: no shutdown code runs."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()


@dataclass
class Entrant:
    openid: str
    messages: list[str]  # the pushes' XML, each with its own MsgId
    replies: list[str] = field(default_factory=list)  # passive replies, in order
    redelivered: list[int] = field(default_factory=list)  # messages pushed again
    answered_by: list[int] = field(default_factory=list)  # which worker answered each message
    silent: list[int] = field(default_factory=list)  # messages that got no answer at all


def answers_of(contest: Contest, n: int) -> dict[str, str]:
    """What entrant ``n`` types into the form: their own title and first author (one work
    per first author and per title), the rest as the tests answer it."""
    form = contest.form(contest.channel("self").forms["work"])
    own = {"title": f"多进程的科学精神第{n}集", "authors": f"作者{n}号、李四"}
    return {f.id: own.get(f.role or "", valid_answer(f, contest)) for f in form.fields}


def stored_as(contest: Contest, typed: dict[str, str]) -> dict[str, Any]:
    """The answers as the dialog stores them (each checked and normalised by its field)."""
    form = contest.form(contest.channel("self").forms["work"])
    out = {}
    for fld in form.fields:
        result = check_answer(fld, typed[fld.id], contest)
        assert isinstance(result, Valid), (fld.id, result)
        out[fld.id] = result.value
    return out


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[tuple[list[Worker], FakeWechat, Contest, str]]:
    prefix = f"test-workers-{uuid.uuid4().hex[:10]}"
    contest = write_open_edition(tmp_path / "contests")
    fake = await FakeWechat(TOKEN, APP_ID, APP_SECRET).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        BOT_DATA_DIR=str(tmp_path),  # shared by both: the outbox of drawn forms is read by either
        BOT_CONTESTS_DIR=str(tmp_path / "contests"),
        BOT_REDIS_URL=REDIS_URL,
        BOT_REDIS_PREFIX=prefix,
        BOT_REDIS_LOCK_TIMEOUT=str(LOCK_TIMEOUT),
        BOT_HTTP_HOST="127.0.0.1",
        BOT_LOG_LEVEL="INFO",
        BOT_WECHAT_TOKEN=TOKEN,
        BOT_WECHAT_APP_ID=APP_ID,
        BOT_WECHAT_APP_SECRET=APP_SECRET,
        BOT_WECHAT_API_BASE=fake.base_url,
        BOT_WECHAT_PUBLIC_BASE_URL="http://files.test",
    )
    pair = [Worker("worker-a", tmp_path, env), Worker("worker-b", tmp_path, env)]
    try:
        yield pair, fake, contest, prefix
    finally:
        for worker in pair:
            if worker.proc is not None and worker.alive:
                await worker.kill()
        await fake.close()
        await drop_redis_prefix(prefix)
    fake.assert_clean()


async def test_two_workers_one_killed_mid_load_lose_nothing_and_do_nothing_twice(
    workers: tuple[list[Worker], FakeWechat, Contest, str],
) -> None:
    pair, fake, contest, prefix = workers
    typed = [answers_of(contest, n) for n in range(ENTRANTS)]
    entrants = [
        Entrant(
            f"oWorkers{n:03d}",
            [
                fake.xml("event_subscribe", f"oWorkers{n:03d}"),
                *(
                    fake.text(f"oWorkers{n:03d}", text)
                    for text in ["自荐", *typed[n].values(), SHARE_LINK, "确认提交"]
                ),
            ],
        )
        for n in range(ENTRANTS)
    ]
    outbox = pair[0].data_dir / "outbox"
    to_a = asyncio.Event()  # a message is on its way to worker a
    a_drew = asyncio.Event()  # worker a has drawn a form: the kill may come

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(w.start(http) for w in pair))
        clients = [aiohttp.ClientSession(w.url) for w in pair]
        try:

            async def push(entrant: Entrant, index: int, xml: str) -> str:
                """One message until a worker answers it: in turn to either, else the survivor."""
                choice = (index + int(entrant.openid[-3:])) % 2
                sent_before = len(fake.texts_to(entrant.openid))
                for attempt in range(4):
                    worker = choice if pair[choice].alive else 1 - choice
                    if worker == 0:
                        to_a.set()
                    try:
                        delivery = await fake.post(clients[worker], xml)
                    except aiohttp.ClientError:
                        delivery = None
                    if delivery is not None and delivery.status == 200:
                        entrant.answered_by.append(worker)
                        if delivery.content:
                            return delivery.content
                        # Past the reply budget (a redelivery waits for the dead worker's lock
                        # to expire): the answer follows as 客服消息, and the entrant waits for it.
                        # None comes when the dead worker had handled the message already.
                        await until(lambda: len(fake.texts_to(entrant.openid)) > sent_before, SILENCE)
                        texts = fake.texts_to(entrant.openid)[sent_before:]
                        if not texts:
                            entrant.silent.append(index)
                        return "\n".join(texts)
                    entrant.redelivered.append(index)
                    choice = 1 - worker  # WeChat's retry, to whichever worker the balancer picks
                    await asyncio.sleep(0.1 * (attempt + 1))
                raise AssertionError(f"{entrant.openid}: message {index} never answered")

            async def dialog(n: int, entrant: Entrant) -> None:
                # Entrants at every step when the kill lands, and some still to come.
                await asyncio.sleep(n * STAGGER)
                for index, xml in enumerate(entrant.messages):
                    if index == len(entrant.messages) - 1 and n >= ENTRANTS // 2:
                        # Confirmations still to come when the kill lands, even where worker a
                        # drew its first form after every dialog had ended (a loaded machine:
                        # then nothing went to worker a any more, and the kill never came).
                        await a_drew.wait()
                    entrant.replies.append(await push(entrant, index, xml))

            def drawn_by(worker: int) -> list[Entrant]:
                """Entrants whose confirmation ``worker`` answered, with their forms on disk."""
                return [
                    e
                    for e in entrants
                    if len(e.answered_by) == len(e.messages)
                    and e.answered_by[-1] == worker
                    and all(
                        # Its metadata is written last: a form the dead worker's drawing process
                        # was killed in the middle of has its data but no entry, and is not served.
                        (outbox / f"{t}.json").exists()
                        for t in LINK.findall("\n".join([*e.replies, *fake.texts_to(e.openid)]))
                    )
                ]

            async def killer() -> None:
                """SIGKILL worker a once it has drawn a form, while it handles messages: answers,
                confirmations (storing, numbering, drawing), whatever is in flight."""
                # Once it has drawn a form, for the survivor to serve from the shared folder.
                assert await until(lambda: drawn_by(0), 60), "worker a drew no form"
                to_a.clear()
                a_drew.set()
                await to_a.wait()
                await asyncio.sleep(KILL_DELAY)
                await pair[0].kill()

            # ~10 s alone; beside the content checks' ffmpeg and OCR on two cores it once ran past 120 s
            async with asyncio.timeout(LOAD_TIMEOUT):
                await asyncio.gather(killer(), *(dialog(n, e) for n, e in enumerate(entrants)))
            assert not pair[0].alive and pair[1].alive
            for entrant in entrants:
                # Known gap: a message the dead worker had handled, whose answer died with it,
                # is recognised when pushed again and not answered (README "Several workers").
                assert set(entrant.silent) <= set(entrant.redelivered), (entrant.openid, entrant.silent)

            # Every submission stored once, under its own number, with every answer in its field.
            storage, isolation = await choose_backend(
                data_dir=pair[0].data_dir, redis_url=REDIS_URL, redis_prefix=prefix
            ).open_storage()
            try:
                stored = await storage.list_submissions(contest_id=contest.id)
                by_user = {s.user.user_id: s for s in stored}
                drafts = [await storage.get_draft(UserKey("wechat", e.openid)) for e in entrants]
            finally:
                await isolation.close()
                await storage.close()
            assert len(stored) == len(by_user), "an entrant submitted twice"
            # Never lost: once seen in about 12 runs, a subscribe claimed on arrival by the dead
            # worker, whose redelivery was then dropped (the dialog never started), or a
            # confirmation refused by the quota place its dead attempt had held.
            lost = sorted({e.openid for e in entrants} - set(by_user))
            assert not lost, f"lost with the dead worker: {lost}"
            assert len(by_user) == ENTRANTS
            numbers = sorted(s.number for s in stored)
            assert numbers == [f"{contest.number_prefix}-{n:06d}" for n in range(1, ENTRANTS + 1)]
            for n, entrant in enumerate(entrants):
                submission = by_user[entrant.openid]
                expected = stored_as(contest, typed[n])
                assert submission.answers == expected, f"{entrant.openid}: answers lost or misplaced"
                draft = drafts[n]  # the scan step's, stored with the submission
                assert draft is not None and draft.data["number"] == submission.number, entrant.openid

            # The forms: drawn at most once each, and every one promised is there, served by the
            # survivor from the shared folder: those of the confirmations either worker answered
            # (a form the dead worker had promised and not drawn yet is taken over and drawn by
            # the survivor where the links point), and those pushed by the survivor where the
            # dead worker's reply carried none.  Known gap: a confirmation the dead worker stored
            # is recognised by the survivor and not answered (README "Several workers"); its form
            # is pushed only where no links had been recorded for it.
            by_survivor = [
                e for e in entrants if e.answered_by[-1] == 1 and len(e.messages) - 1 not in e.silent
            ]
            assert by_survivor, "no confirmation reached the surviving worker"
            assert drawn_by(0), "the dead worker drew nothing to serve from the shared folder"
            answered = [e for e in entrants if len(e.messages) - 1 not in e.silent]
            links = {
                e.openid: list(dict.fromkeys(LINK.findall("\n".join([*e.replies, *fake.texts_to(e.openid)]))))
                for e in entrants
            }
            for openid, tokens in links.items():
                promised = any(e.openid == openid for e in answered)
                assert len(tokens) == 2 or (not tokens and not promised), f"{openid}: form links {tokens}"
            wanted = [outbox / f"{t}.json" for tokens in links.values() for t in tokens]
            assert await until(lambda: all(p.exists() for p in wanted), 60), "forms never drawn"
            assert len(list(outbox.glob("*.bin"))) <= 2 * ENTRANTS, "a form drawn twice"
            for openid, tokens in links.items():
                for token in tokens:
                    async with clients[1].get(f"/wechat/files/{token}") as resp:
                        body = await resp.read()
                        assert resp.status == 200 and len(body) > 1000, (openid, resp.status)
        finally:
            for client in clients:
                await client.close()
    assert any(e.redelivered for e in entrants), "the kill landed between messages: nothing was in flight"


# -- the claim of a message whose worker died mid-event -------------------------------------
ALICE = UserKey("wechat", "oAlice")
TTL = dt.timedelta(minutes=5)


@pytest.fixture
async def redis_pair() -> AsyncIterator[tuple[Storage, RedisIsolation]]:
    prefix = f"test-workers-{uuid.uuid4().hex[:10]}"
    backend = RedisBackend(REDIS_URL, prefix)
    storage, isolation = await backend.open_storage()
    assert isinstance(isolation, RedisIsolation)
    try:
        yield storage, isolation
    finally:
        await isolation.close()
        await storage.close()
        await drop_redis_prefix(prefix)


def dead_turn(isolation: RedisIsolation) -> Turn:
    """A turn whose worker died holding it: its lock expired, its release never ran."""
    return Turn(ALICE, handle=TurnHandle(isolation.lock_name("user:alice"), uuid.uuid4().hex))


async def test_a_claim_left_pending_by_a_dead_worker_is_taken_over_while_nothing_landed(
    redis_pair: tuple[Storage, RedisIsolation],
) -> None:
    storage, isolation = redis_pair
    await storage.save_draft(Draft(ALICE, {"step": "review"}, 0))
    assert await storage.claim_inbound("wechat:msg-1", TTL, ALICE, T0, turn=dead_turn(isolation))
    async with isolation.turn("user:alice", ALICE) as turn:
        assert await storage.claim_inbound("wechat:msg-1", TTL, ALICE, T0, turn=turn)  # redelivered
        assert turn.claims == ["wechat:msg-1"]
    # The turn's release settled it: a further redelivery is the message handled.
    async with isolation.turn("user:alice", ALICE) as turn:
        assert not await storage.claim_inbound("wechat:msg-1", TTL, ALICE, T0, turn=turn)


async def test_a_claim_whose_dead_worker_saved_its_effects_is_settled_not_taken_over(
    redis_pair: tuple[Storage, RedisIsolation],
) -> None:
    storage, isolation = redis_pair
    await storage.save_draft(Draft(ALICE, {"step": "review"}, 0))
    assert await storage.claim_inbound("wechat:msg-2", TTL, ALICE, T0, turn=dead_turn(isolation))
    await storage.delete_draft(ALICE)  # what storing the submission does to the draft
    async with isolation.turn("user:alice", ALICE) as turn:
        assert not await storage.claim_inbound("wechat:msg-2", TTL, ALICE, T0, turn=turn)
        assert turn.claims == []
    assert not await storage.claim_inbound("wechat:msg-2", TTL, ALICE, T0)  # and for good


async def test_a_claim_taken_outside_a_turn_is_final(redis_pair: tuple[Storage, RedisIsolation]) -> None:
    storage, isolation = redis_pair
    assert await storage.claim_inbound("wechat:msg-3", TTL, ALICE, T0)
    async with isolation.turn("user:alice", ALICE) as turn:
        assert not await storage.claim_inbound("wechat:msg-3", TTL, ALICE, T0, turn=turn)
