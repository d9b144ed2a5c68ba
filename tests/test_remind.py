"""Reminders, broadcasts, reports and opt-outs end to end: real stores (SQLite and Redis), real
aiogram sends to the fake Bot API server, the real WeChat client against the fake WeChat.

The crash tests: a 1,000-recipient broadcast whose worker is cancelled at random points and
restarted (every recipient gets exactly one message), and a worker *process* killed with
SIGKILL mid-broadcast (nothing is ever sent twice; only calls in flight at the kill may be
lost, and the report names each of them "uncertain").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import itertools
import json
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import random
import signal
import socket
import subprocess
import sys
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.channels.telegram import TelegramNotifier, TelegramSettings
from bot.channels.telegram import create as create_telegram
from bot.channels.telegram_sender import TelegramSender
from bot.channels.wechat_api import LocalTokenStore, WechatApi
from bot.channels.wechat_files import Outbox
from bot.channels.wechat_notifier import WechatNotifier
from bot.deliveries import REMIND, build_outlets
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from bot.settings_remind import RemindSettings
from bot.storage import choose_backend
from bot.storage.sqlite.drafts import SqliteStorage
from bot.web import WEB_CHAT
from contests.deliveries import (
    NOTICE_JOB_PREFIX,
    DeliveryState,
    Job,
    JobKind,
    JobState,
    Reason,
    Recipient,
    notice_audience,
)
from contests.events import EventKind, Incoming
from contests.org import Invite, Reservation, Role, Unit, hash_code, normalise_name, unit_holder
from contests.ports import EventIsolation, JobStore, OrgStore, Storage
from contests.records import Draft, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from handlers.deliveries import ChatSpacing, Outlet, TokenBucket, Worker, WorkerConfig
from handlers.remind.audience import AudienceError, list_draft_users, parse_audience
from handlers.remind.command import RemindCommand
from handlers.remind.schedule import missing_items, parse_days, reminder_slot, reminder_times
from handlers.remind.service import RemindService
from tests.cli_runner import run_bot
from tests.conftest import REDIS_URL, Clock, beijing
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.wechat_server import FakeWechat
from tests.forked import forks

ROOT = Path(__file__).resolve().parents[1]
CONTEST = "most-cas-2024-kepu"  # opens 2024-09-26, deadline 2024-10-25
_serial = itertools.count(1)


# ---------------------------------------------------------------------------- fakes and fixtures


class CountingTelegram(FakeTelegram):
    """The shared fake Bot API server, counting the messages each chat really received (a
    call answered 429 by ``fail_next`` is recorded by the fake but never delivered), and able
    to play a user who blocked the bot."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.delivered: collections.Counter[int] = collections.Counter()
        self.arrivals: list[tuple[float, int]] = []  # (monotonic, chat) of delivered messages
        self.blocked: set[int] = set()
        self._totals: list[tuple[int, asyncio.Future[None]]] = []  # see until_total

    async def _m_sendMessage(self, call: Any) -> Any:
        chat = int(call.params["chat_id"])
        if chat in self.blocked:
            body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            return web.json_response(body, status=403)
        result = await super()._m_sendMessage(call)
        self.delivered[chat] += 1
        self.arrivals.append((call.at, chat))
        if self._totals:
            total = self.total
            for target, reached in self._totals:
                if total >= target and not reached.done():
                    reached.set_result(None)
        return result

    @property
    def total(self) -> int:
        return sum(self.delivered.values())

    async def until_total(
        self, target: int, proc: multiprocessing.process.BaseProcess, within: float
    ) -> None:
        """Return as soon as ``target`` messages were delivered (woken by the delivery that
        reaches it, not by polling); fail if the worker process ``proc`` ended first."""
        reached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._totals.append((target, reached))
        try:
            async with asyncio.timeout(within):
                while self.total < target:
                    if proc.exitcode is not None:
                        raise AssertionError(f"the worker process ended with {proc.exitcode}")
                    await asyncio.wait({reached}, timeout=0.05)
        finally:
            self._totals.remove((target, reached))


@pytest.fixture
async def fake() -> AsyncIterator[CountingTelegram]:
    server = CountingTelegram(record=False)  # 10,000 calls: count, do not keep
    await server.start()
    yield server
    await server.close()
    server.assert_clean()


def tg_bot(fake: FakeTelegram) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))


@dataclass
class World:
    """The contests and the three stores on one backend, and the use case on them."""

    contests: ContestRegistry
    storage: Storage
    org: OrgStore
    jobs: JobStore
    clock: Clock
    remind: RemindService

    def contest(self, contest_id: str = CONTEST) -> Contest:
        found = self.contests.get(contest_id)
        assert found is not None
        return found

    def service(self, **config: Any) -> RemindService:
        """Another service on the same stores (another worker, or after a restart)."""
        settings = RemindSettings(_env_file=None, **config)
        return RemindService(
            self.contests,
            self.storage,
            self.org,
            self.jobs,
            settings.remind_config(),
            worker_config=settings.worker_config(),
            clock=self.clock,
        )

    def live(self, outlets: dict[str, Outlet] | None = None, **config: Any) -> RemindService:
        """A service on the real clock, for the worker (its retries wait in real time)."""
        settings = RemindSettings(_env_file=None, **config)
        return RemindService(
            self.contests,
            self.storage,
            self.org,
            self.jobs,
            settings.remind_config(),
            outlets=outlets,
            worker_config=settings.worker_config(),
        )

    def outlets(self, notifiers: dict[str, Any], **config: Any) -> tuple[dict[str, Outlet], list[Any]]:
        """The channels' outlets as ``serve`` makes them, and the senders to close after."""
        settings = RemindSettings(_env_file=None, **config)
        return build_outlets(
            settings, notifiers, storage=self.storage, jobs=self.jobs, contests=self.contests
        )

    async def bind(
        self, user: UserKey, role: Role, unit: str | None = None, contest_id: str = CONTEST
    ) -> None:
        code = f"TEST-{next(_serial)}"
        now = self.clock()
        key = normalise_name(unit) if unit else None
        await self.org.add_invite(
            Invite(hash_code(code), contest_id, role, key, now, now + dt.timedelta(days=1))
        )
        assert (await self.org.redeem_invite(hash_code(code), user, now)).membership is not None

    async def contact(self, user: UserKey, at: dt.datetime) -> None:
        """One of the contest's people (a draft in it) who last wrote at ``at``: a broadcast's
        audience is the contest's, not every user of the deployment."""
        await self.storage.touch_contact(user, at)
        await self.draft(user)

    async def draft(self, user: UserKey, **state: Any) -> None:
        data: dict[str, Any] = {"v": 1, "step": "field", "answers": {}, "video": None, "contest": CONTEST}
        data.update(state)
        await self.storage.save_draft(Draft(user, data))

    async def places(self, unit: str, used: int, contest_id: str = CONTEST) -> None:
        for n in range(used):
            got = await self.org.reserve(
                contest_id=contest_id,
                holder=unit_holder(unit),
                track="work",
                limit=None,
                claims=(),
                owner=UserKey("telegram", f"p{n}"),
                now=self.clock(),
            )
            assert isinstance(got, Reservation)
            assert await self.org.commit(got, f"KP2024-{next(_serial):06d}", self.clock())


async def stores_beside(storage: Storage) -> tuple[OrgStore, JobStore]:
    """The org and job stores on the backend of ``storage`` (same file, or same Redis prefix)."""
    if isinstance(storage, SqliteStorage):
        data_dir, url, prefix = storage.path.parent, None, "kepu"
    else:
        data_dir, url, prefix = Path("."), REDIS_URL, cast(Any, storage).prefix
    org = await choose_backend(data_dir=data_dir, redis_url=url, redis_prefix=prefix).open_org()
    jobs = await choose_backend(data_dir=data_dir, redis_url=url, redis_prefix=prefix).open_jobs()
    return org, jobs


@contextlib.asynccontextmanager
async def open_world(contests: ContestRegistry, storage: Storage) -> AsyncIterator[World]:
    org, jobs = await stores_beside(storage)
    clock = Clock(beijing(2024, 10, 1))
    remind = RemindService(
        contests, storage, org, jobs, RemindSettings(_env_file=None).remind_config(), clock=clock
    )
    try:
        yield World(contests, storage, org, jobs, clock, remind)
    finally:
        await org.close()
        await jobs.close()


@pytest.fixture
async def world(contests: ContestRegistry, any_store: tuple[Storage, EventIsolation]) -> AsyncIterator[World]:
    """Both backends (any_store's unique Redis prefix covers the org and job keys it deletes)."""
    async with open_world(contests, any_store[0]) as w:
        yield w


@pytest.fixture
async def sqlite_world(
    contests: ContestRegistry, sqlite_store: tuple[Storage, EventIsolation]
) -> AsyncIterator[World]:
    async with open_world(contests, sqlite_store[0]) as w:
        yield w


def telegram_users(n: int, first: int = 100_001) -> list[UserKey]:
    return [UserKey("telegram", str(first + i)) for i in range(n)]


async def until(predicate: Any, within: float = 30.0, every: float = 0.02) -> None:
    """Poll ``predicate`` (state in a store or another process: nothing to wait on) until true."""
    async with asyncio.timeout(within):
        while True:
            if await predicate():
                return
            await asyncio.sleep(every)


async def job_over(jobs: JobStore, job_id: str) -> bool:
    job = await jobs.get_job(job_id)
    return job is not None and job.state in (JobState.DONE, JobState.CANCELLED) and job.remaining == 0


@contextlib.asynccontextmanager
async def working(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await task


def fast(**kw: Any) -> WorkerConfig:
    values: dict[str, Any] = {"concurrency": 8, "batch": 50, "poll_interval": 0.02, "lease": 5.0}
    values.update(kw)
    return WorkerConfig(**values)


def telegram_outlets(bot: Bot, rate: float = 1000.0, chat_interval: float = 0.0) -> dict[str, Outlet]:
    return {"telegram": Outlet(TelegramSender(bot), TokenBucket(rate), ChatSpacing(chat_interval))}


# ---------------------------------------------------------------------------- settings and rules


def test_days_default_and_per_contest_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_REMIND_DAYS", "7, 3,1")
    monkeypatch.setenv("BOT_REMIND_CONTEST_DAYS", "most-cas-2026-kepu=10,3,1；cq-2023-scientist-spirit=5")
    config = RemindSettings(_env_file=None)
    assert config.offsets(CONTEST) == (7, 3, 1)
    assert config.offsets("most-cas-2026-kepu") == (10, 3, 1)
    assert config.offsets("cq-2023-scientist-spirit") == (5,)
    assert parse_days("1,7,3,7") == (7, 3, 1)
    with pytest.raises(ValueError, match="whole numbers"):
        RemindSettings(_env_file=None, days="7,x")
    with pytest.raises(ValueError, match="contest-id=7,3,1"):
        RemindSettings(_env_file=None, contest_days="most-cas-2026-kepu")


def test_reminders_go_at_ten_beijing_time(contests: ContestRegistry) -> None:
    contest = contests.get(CONTEST)
    assert contest is not None
    times = reminder_times(contest, (1, 7, 3), 10)
    assert times == [
        (7, beijing(2024, 10, 18, 10)),
        (3, beijing(2024, 10, 22, 10)),
        (1, beijing(2024, 10, 24, 10)),
    ]
    assert times[0][1].astimezone(dt.UTC).hour == 2  # 10:00 in Beijing is 02:00 UTC
    assert reminder_slot(contest, (7, 3, 1), 10, beijing(2024, 10, 18, 9)) is None
    assert reminder_slot(contest, (7, 3, 1), 10, beijing(2024, 10, 20, 9)) == (7, beijing(2024, 10, 18, 10))
    assert reminder_slot(contest, (7, 3, 1), 10, beijing(2024, 10, 25, 23)) == (1, beijing(2024, 10, 24, 10))
    assert reminder_slot(contest, (7, 3, 1), 10, beijing(2024, 10, 26, 0)) is None  # closed
    # A reminder that would go before the contest opens is left out.
    assert reminder_slot(contest, (40, 3), 10, beijing(2024, 9, 20, 12)) is None
    # And none for a draft (``contests new`` without an opening date): it is not open at all.
    draft = contest.model_copy(update={"draft": True})
    assert reminder_slot(draft, (7, 3, 1), 10, beijing(2024, 10, 20, 9)) is None


def test_missing_items_name_what_the_entrant_still_owes(contests: ContestRegistry) -> None:
    contest = contests.get(CONTEST)
    assert contest is not None
    assert missing_items(contest, {"contest": CONTEST}) == ["选择报名渠道"]
    state = {"channel": "self", "answers": {"unit": "张三", "title": "光的旅行"}, "video": None}
    items = missing_items(contest, state)
    assert items[0] == "类别" and "内容简介" in items and items[-1] == "作品视频（文件或链接）"
    everything = {f.id: "x" for f in contest.form("self").fields}
    assert missing_items(contest, {"channel": "self", "answers": everything, "video": {"kind": "link"}}) == [
        "确认提交"
    ]


def test_audience_words() -> None:
    assert [parse_audience(w) for w in ("全部", "all", "草稿", "DRAFTS", "代表", "单位：北京市科委")] == [
        "all",
        "all",
        "drafts",
        "drafts",
        "members",
        "unit:北京市科委",
    ]
    with pytest.raises(AudienceError):
        parse_audience("朋友们")


# ---------------------------------------------------------------------------- reminders


async def test_reminders_are_scheduled_once_each_at_7_3_and_1_days(world: World) -> None:
    other = world.service()  # a second worker on the same stores
    created: dict[str, dt.datetime] = {}
    moment = beijing(2024, 10, 10, 0)
    while moment < beijing(2024, 10, 27, 0):
        world.clock.now = moment
        for service in (world.remind, other):
            for job in await service.schedule_reminders(moment):
                assert job.id not in created, f"{job.id} created twice"
                created[job.id] = moment
        moment += dt.timedelta(hours=1)
    deadline = "2024-10-25"
    assert created == {
        f"remind:{CONTEST}:{deadline}:7d": beijing(2024, 10, 18, 10),
        f"remind:{CONTEST}:{deadline}:3d": beijing(2024, 10, 22, 10),
        f"remind:{CONTEST}:{deadline}:1d": beijing(2024, 10, 24, 10),
    }
    restarted = world.service()
    assert await restarted.schedule_reminders(beijing(2024, 10, 24, 12)) == []
    stored = await world.jobs.list_jobs(contest_id=CONTEST)
    assert [(j.kind, j.meta["days"], j.at, j.expires_at) for j in stored] == [
        (JobKind.REMINDER, d, beijing(2024, 10, 25 - d, 10), beijing(2024, 10, 26, 0)) for d in (7, 3, 1)
    ]


async def test_a_reminder_missed_while_down_goes_once_when_back(world: World) -> None:
    await world.draft(UserKey("telegram", "42"), channel="self")
    world.clock.now = beijing(2024, 10, 20, 15)  # down on the 18th; back with 5 days left
    (job,) = await world.remind.schedule_reminders(world.clock.now)
    assert job.meta == {"days": 7} and job.at == beijing(2024, 10, 18, 10)
    assert [j.id for j in await world.jobs.due_jobs(world.clock.now)] == [job.id]
    (recipient,) = await world.remind.expand(job)
    assert recipient.text.startswith("距「2024全国科普微视频大赛」截止还有5天（10月25日24:00截止）。")
    assert await world.remind.schedule_reminders(beijing(2024, 10, 21, 9)) == []  # not the 3-day one yet


async def test_a_custom_offset_and_hour_per_contest(world: World) -> None:
    custom = world.service(contest_days=f"{CONTEST}=10", hour=8)
    assert await custom.schedule_reminders(beijing(2024, 10, 15, 7)) == []
    (job,) = await custom.schedule_reminders(beijing(2024, 10, 15, 8))
    assert job.meta == {"days": 10} and job.at == beijing(2024, 10, 15, 8)


async def test_reminder_texts_for_drafts_and_members_with_places_left(world: World) -> None:
    alice, bob, carol, dave = (UserKey("telegram", n) for n in ("1", "2", "3", "4"))
    erin, frank, grace = UserKey("wechat", "o-erin"), UserKey("wechat", "o-frank"), UserKey("telegram", "7")
    await world.draft(alice, channel="self", answers={"unit": "张三", "title": "光的旅行"})
    await world.draft(bob, step="scan", channel="self", number="KP2024-000007", form_id="self")
    await world.draft(carol, contest="cq-2023-scientist-spirit", channel="district")
    await world.draft(dave)  # has not chosen a channel yet
    await world.org.put_units(
        CONTEST,
        [
            Unit(CONTEST, "中国科学院", "member_unit"),
            Unit(CONTEST, "北京市科学技术委员会", "province", "北京市"),
        ],
    )
    await world.bind(erin, Role.MEMBER, "中国科学院")
    await world.bind(frank, Role.MEMBER, "北京市科学技术委员会")
    await world.bind(grace, Role.ORGANISER)
    await world.places("中国科学院", 2)
    await world.places("北京市科学技术委员会", 5)  # full: nothing to remind
    world.clock.now = beijing(2024, 10, 22, 10)
    (job,) = await world.remind.schedule_reminders(world.clock.now)
    texts = {r.user: r.text for r in await world.remind.expand(job)}
    assert set(texts) == {alice, bob, dave, erin}
    head = "距「2024全国科普微视频大赛」截止还有3天（10月25日24:00截止）。"
    # 13: the 自荐表 asks who reviewed the work (附件1 三、3) too.
    assert texts[alice].startswith(
        head + "\n您的报名还差：类别、播出时间、主创人员（或单位）、播出平台及网址、联系地址等 13 项。"
    )
    assert "发送“继续”接着填写" in texts[alice]
    assert "您的报名（编号 KP2024-000007）还差签字盖章的报名表扫描件" in texts[bob]
    assert "您的报名还差：选择报名渠道。" in texts[dave]
    assert texts[erin] == "\n".join(
        [head, "本单位（中国科学院）已推荐 2/5 部，还可推荐 3 部。", "（回复“退订”不再接收提醒和通知）"]
    )


# ---------------------------------------------------------------------------- audiences


async def test_audiences(world: World) -> None:
    wx, t1, t2, m1, m2, org = (
        UserKey("wechat", "o-wx"),
        UserKey("telegram", "11"),
        UserKey("telegram", "12"),
        UserKey("telegram", "13"),
        UserKey("telegram", "14"),
        UserKey("telegram", "15"),
    )
    other = UserKey("telegram", "16")
    await world.storage.touch_contact(wx, world.clock())
    await world.draft(t1, channel="self")
    await world.draft(other, contest="cq-2023-scientist-spirit")
    sub = await world.storage.create_submission(
        prefix="KP2024",
        contest_id=CONTEST,
        user=t2,
        channel_id="recommend",
        form_id="recommend",
        answers={},
        video={},
        now=world.clock(),
    )
    await world.storage.update_submission(sub.number, extra={"unit": "北京市 科学技术委员会"})
    await world.org.put_units(
        CONTEST, [Unit(CONTEST, "北京市科学技术委员会", "province"), Unit(CONTEST, "中国科协", "member_unit")]
    )
    await world.bind(m1, Role.MEMBER, "北京市科学技术委员会")
    await world.bind(m2, Role.MEMBER, "中国科协")
    await world.bind(org, Role.ORGANISER)
    # The contest's people: not ``wx``, who only wrote to the bot, nor ``other``, of cq only.
    assert set(await world.remind.audience(CONTEST, "all")) == {t1, t2, m1, m2, org}
    assert await world.remind.audience(CONTEST, "drafts") == [t1]
    assert set(await world.remind.audience(CONTEST, "members")) == {m1, m2}
    assert set(await world.remind.audience(CONTEST, "unit:北京市科学技术委员会")) == {m1, t2}
    with pytest.raises(AudienceError, match="没有登记"):
        await world.remind.audience(CONTEST, "unit:火星")
    assert await list_draft_users(world.storage, CONTEST) == [t1]


# ---------------------------------------------------------------------------- broadcasts through Telegram


async def test_a_broadcast_reaches_each_once_and_the_report_says_why_not(
    world: World, fake: CountingTelegram
) -> None:
    users = telegram_users(5)
    terminal = UserKey("terminal", "local")
    for user in [*users, terminal]:
        await world.contact(user, world.clock())
    fake.blocked.add(int(users[1].user_id))
    service = world.live()
    await service.set_opt_out(users[2], True)
    job, reach = await service.create_broadcast(CONTEST, "all", "初评结果将于11月公布。", by="telegram:9")
    assert reach == 6 and job.state is JobState.SCHEDULED
    bot = tg_bot(fake)
    try:
        async with working(service.worker(telegram_outlets(bot), fast())):
            await until(lambda: job_over(world.jobs, job.id))
    finally:
        await bot.session.close()
    assert {str(c): n for c, n in fake.delivered.items()} == {users[i].user_id: 1 for i in (0, 3, 4)}
    report = await service.report(job.id)
    assert report is not None
    assert (report.sent, report.failed, report.skipped, report.waiting) == (3, 1, 2, 0)
    assert report.sent_by == {"telegram": 3}
    assert report.failed_by == {Reason.BLOCKED: 1}
    assert report.skipped_by == {Reason.NO_CHANNEL: 1, Reason.OPTED_OUT: 1}
    text = report.text()
    assert "已送达 3：Telegram 3" in text
    assert "失败 1：用户已屏蔽或拒收 1" in text
    assert "跳过 2：所在渠道不能主动发消息（终端、未启用的渠道） 1；已退订 1" in text
    assert (
        f"· telegram:{users[1].user_id} 失败：用户已屏蔽或拒收（Forbidden: bot was blocked by the user）"
        in text
    )
    assert report.to_json()["problems"][0] == {
        "user": f"telegram:{users[1].user_id}",
        "state": "failed",
        "reason": "blocked",
        "detail": "Forbidden: bot was blocked by the user",
    }
    assert job.text == "初评结果将于11月公布。\n（回复“退订”不再接收提醒和通知）"


async def test_opt_out_and_back_in(sqlite_world: World, fake: CountingTelegram) -> None:
    world = sqlite_world
    alice, bob = telegram_users(2)
    for user in (alice, bob):
        await world.contact(user, world.clock())
    service = world.live()
    (reply,) = await service.set_opt_out(alice, True)
    assert reply.text.startswith("已退订") and reply.meta == {"opt_out": "1"}
    assert (await service.set_opt_out(alice, True))[0].text.startswith("您已经退订过了")
    bot = tg_bot(fake)
    try:
        async with working(service.worker(telegram_outlets(bot), fast())):
            first, _ = await service.create_broadcast(CONTEST, "all", "第一条")
            await until(lambda: job_over(world.jobs, first.id))
            assert fake.delivered == {int(bob.user_id): 1}
            (back,) = await service.set_opt_out(alice, False)
            assert back.text.startswith("已恢复订阅")
            second, _ = await service.create_broadcast(CONTEST, "all", "第二条")
            await until(lambda: job_over(world.jobs, second.id))
    finally:
        await bot.session.close()
    assert fake.delivered == {int(bob.user_id): 2, int(alice.user_id): 1}


async def test_a_429_holds_every_send_for_retry_after(sqlite_world: World, fake: CountingTelegram) -> None:
    world = sqlite_world
    users = telegram_users(4)
    for user in users:
        await world.contact(user, world.clock())
    fake.fail_next("sendMessage", retry_after=1)
    fake.record = True  # the 429'd call must be seen too
    service = world.live()
    job, _ = await service.create_broadcast(CONTEST, "all", "限流测试")
    bot = tg_bot(fake)
    try:
        async with working(service.worker(telegram_outlets(bot), fast(concurrency=1))):
            await until(lambda: job_over(world.jobs, job.id))
    finally:
        await bot.session.close()
    calls = fake.called("sendMessage")
    assert len(calls) == 5  # one refused with 429, then each of the four once
    assert calls[1].at - calls[0].at >= 1.0  # nothing at all during retry_after
    assert fake.delivered == {int(u.user_id): 1 for u in users}
    report = await service.report(job.id)
    assert report is not None and report.sent == 4 and report.failed == 0


async def test_one_message_per_second_per_chat(sqlite_world: World, fake: CountingTelegram) -> None:
    world = sqlite_world
    users = telegram_users(3)
    for user in users:
        await world.contact(user, world.clock())
    service = world.live()
    first, _ = await service.create_broadcast(CONTEST, "all", "第一条")
    second, _ = await service.create_broadcast(CONTEST, "all", "第二条")
    bot = tg_bot(fake)
    try:
        async with working(service.worker(telegram_outlets(bot, chat_interval=1.0), fast())):
            await until(lambda: job_over(world.jobs, first.id))
            await until(lambda: job_over(world.jobs, second.id))
    finally:
        await bot.session.close()
    by_chat: dict[int, list[float]] = collections.defaultdict(list)
    for at, chat in fake.arrivals:
        by_chat[chat].append(at)
    assert sorted(by_chat) == [int(u.user_id) for u in users]
    for times in by_chat.values():
        assert len(times) == 2
        # Our gate opens 1.0 s apart; the 0.05 s is loopback jitter between gate and server.
        assert times[1] - times[0] >= 0.95


async def test_a_job_past_its_expiry_is_skipped(sqlite_world: World, fake: CountingTelegram) -> None:
    world = sqlite_world
    now = dt.datetime.now(dt.UTC)
    job = Job(
        "R-late",
        JobKind.REMINDER,
        CONTEST,
        "reminder",
        "",
        now,
        "reminder",
        now,
        expires_at=now - dt.timedelta(1),
    )
    assert await world.jobs.create_job(job)
    await world.jobs.start_job(job.id, [Recipient(UserKey("telegram", "5"), "迟到的提醒")], now)
    bot = tg_bot(fake)
    try:
        async with working(world.live().worker(telegram_outlets(bot), fast())):
            await until(lambda: job_over(world.jobs, job.id))
    finally:
        await bot.session.close()
    assert fake.total == 0
    assert await world.jobs.stats(job.id) == {"skipped:expired": 1}


async def test_unreachable_server_is_retried_then_reported(sqlite_world: World) -> None:
    world = sqlite_world
    await world.contact(UserKey("telegram", "8"), world.clock())
    service = world.live()
    job, _ = await service.create_broadcast(CONTEST, "all", "无法连接")
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here once closed
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")))
    try:
        async with working(service.worker(telegram_outlets(bot), fast(max_attempts=3, retry_base=0.01))):
            await until(lambda: job_over(world.jobs, job.id))
    finally:
        await bot.session.close()
    (d,) = await world.jobs.deliveries(job.id)
    assert d.state is DeliveryState.FAILED and d.reason == Reason.RETRIES and d.attempt == 3
    assert d.detail.startswith("network: ClientConnectorError")


@pytest.mark.parametrize("resend", [False, True])
async def test_a_call_without_answer_is_uncertain_and_resent_only_if_configured(
    sqlite_world: World, fake: CountingTelegram, resend: bool
) -> None:
    world = sqlite_world
    user = UserKey("telegram", "9")
    await world.contact(user, world.clock())
    service = world.live()
    job, _ = await service.create_broadcast(CONTEST, "all", "慢")
    fake.send_latency = 0.3  # the message arrives, the answer comes too late
    config = fast(send_timeout=0.1, resend_uncertain=resend, retry_base=0.01, max_attempts=2)
    bot = tg_bot(fake)
    try:
        async with working(service.worker(telegram_outlets(bot), config)):
            await until(lambda: job_over(world.jobs, job.id))
            await asyncio.sleep(0.5)  # let the fake finish what it was doing
    finally:
        await bot.session.close()
    (d,) = await world.jobs.deliveries(job.id)
    if resend:  # at least once: the user may get it twice
        assert fake.delivered[9] == 2 and d.reason == Reason.RETRIES
    else:  # at most once: reported, never repeated
        assert fake.delivered[9] == 1
        assert d.state is DeliveryState.FAILED and d.reason == Reason.UNCERTAIN


# ---------------------------------------------------------------------------- WeChat: the 48-hour rule


@contextlib.asynccontextmanager
async def wechat(
    world: World, tmp_path: Path, **config: Any
) -> AsyncIterator[tuple[FakeWechat, RemindService]]:
    fake = await FakeWechat("kepuToken", "wx0123456789abcdef", "secret-for-tests").start()
    session = aiohttp.ClientSession()
    try:
        api = WechatApi(
            session,
            base=fake.base_url,
            app_id=fake.app_id,
            app_secret=fake.app_secret,
            tokens=LocalTokenStore(),
        )
        services = cast(Services, types.SimpleNamespace(storage=world.storage))
        notifier = WechatNotifier(api, services, Outbox(tmp_path, dt.timedelta(hours=1)), download_base="")
        outlets, bots = world.outlets({"wechat": notifier}, **config)
        assert not bots
        yield fake, world.live(outlets, **config)
    finally:
        await session.close()
        await fake.close()
    fake.assert_clean()


async def run_broadcast(world: World, service: RemindService, text: str) -> Job:
    job, _ = await service.create_broadcast(CONTEST, "all", text)
    async with working(service.worker(service.outlets, fast())):
        await until(lambda: job_over(world.jobs, job.id))
    done = await world.jobs.get_job(job.id)
    assert done is not None
    return done


async def test_the_48_hour_rule_picks_customer_service_template_or_skip(world: World, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    recent, old, never = (
        UserKey("wechat", "o-recent"),
        UserKey("wechat", "o-old"),
        UserKey("wechat", "o-never"),
    )
    await world.contact(recent, now - dt.timedelta(hours=47))
    await world.contact(old, now - dt.timedelta(hours=49))
    await world.draft(never, channel="self")  # in the audience, but never wrote to the account
    edge = UserKey("wechat", "o-edge")  # the window closes within the margin: not started
    await world.contact(edge, now - dt.timedelta(hours=47, minutes=55))

    async with wechat(world, tmp_path) as (fake, service):
        job = await run_broadcast(world, service, "请于10月25日前提交。")
        assert fake.texts_to("o-recent") == [job.text]
        assert fake.templates == [] and len(fake.sent) == 1
        report = await service.report(job.id)
        assert report is not None
        assert report.sent_by == {"cs": 1} and report.skipped_by == {Reason.OUTSIDE_WINDOW: 3}
        details = {str(d.user): d.detail for d in report.problems}
        assert details["wechat:o-never"] == "从未互动" and details["wechat:o-old"].startswith("最后互动 ")

    async with wechat(world, tmp_path, wechat_template_id="TPL-deadline") as (fake, service):
        fake.custom_errors["o-recent"] = 45015  # WeChat itself says the window closed: template
        job = await run_broadcast(world, service, "请于10月25日前提交报名表和视频，逾期不再受理。")
        assert fake.sent == []
        assert sorted(t["touser"] for t in fake.templates) == ["o-edge", "o-never", "o-old", "o-recent"]
        sample = fake.templates[0]
        assert sample["template_id"] == "TPL-deadline"
        assert sample["data"] == {
            "first": {"value": "主办方通知"},
            "keyword1": {"value": "2024全国科普微视频大赛"},
            "keyword2": {"value": "10月25日24:00"},
            "remark": {"value": "请于10月25日前提交报名表和视频，逾…"},
        }
        assert len(sample["data"]["remark"]["value"]) == 20  # BOT_REMIND_WECHAT_TEMPLATE_MAX_CHARS
        report = await service.report(job.id)
        assert report is not None and report.sent_by == {"template": 4}


async def test_customer_service_messages_used_up_are_reported_as_such(
    sqlite_world: World, tmp_path: Path
) -> None:
    world = sqlite_world
    chatty = UserKey("wechat", "o-chatty")
    last = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    await world.contact(chatty, last)
    for n in range(1, 6):  # the five 客服消息 after their last message went to earlier replies
        assert await world.storage.claim_once(
            f"wechat:cs:o-chatty:msg:{int(last.timestamp())}:{n}", dt.timedelta(1)
        )
    async with wechat(world, tmp_path) as (fake, service):
        job = await run_broadcast(world, service, "第六条")
        assert fake.sent == []
        (d,) = await world.jobs.deliveries(job.id)
        assert (d.state, d.reason) == (DeliveryState.SKIPPED, Reason.CS_QUOTA)


async def test_the_template_daily_cap_puts_the_rest_off(sqlite_world: World, tmp_path: Path) -> None:
    world = sqlite_world
    for n in range(3):
        await world.draft(UserKey("wechat", f"o-{n}"), channel="self")
    async with wechat(world, tmp_path, wechat_template_id="TPL", wechat_template_daily_cap=2) as (
        fake,
        service,
    ):
        job, _ = await service.create_broadcast(CONTEST, "drafts", "提醒")
        async with working(service.worker(service.outlets, fast())):
            await until(lambda: _stats_have(world.jobs, job.id, "pending"))
        assert len(fake.templates) == 2
        (waiting,) = await world.jobs.deliveries(job.id, states={DeliveryState.PENDING})
        assert waiting.reason == Reason.TEMPLATE_QUOTA and waiting.attempt == 1
        report = await service.report(job.id)
        assert report is not None and (report.sent, report.waiting, report.failed) == (2, 1, 0)


async def _stats_have(jobs: JobStore, job_id: str, key: str) -> bool:
    stats = await jobs.stats(job_id)
    return stats.get(key, 0) > 0 and "claimed" not in stats and "sending" not in stats


# ---------------------------------------------------------------------------- the chat command


async def test_the_broadcast_command_for_organisers(sqlite_world: World) -> None:
    world = sqlite_world
    boss, entrant = UserKey("telegram", "100"), UserKey("telegram", "200")
    await world.bind(boss, Role.ORGANISER)
    await world.draft(entrant, channel="self")
    remind = RemindCommand(world.remind)
    assert await remind.handle_command(entrant, "广播 全部 你好") is None  # not theirs: the dialog's
    assert await remind.handle_command(boss, "你好") is None
    (usage,) = await remind.handle_command(boss, "广播") or []
    assert "广播 [大赛编号] 受众" in usage.text
    text = "各位作者：\n请在 10月25日 前上传视频！（全角标点　保持原样）"
    (held,) = await remind.handle_command(boss, f"广播 草稿 {text}") or []
    job_id = held.meta["job"]
    assert "共 1 人" in held.text and f"回复“确认广播 {job_id}”发送" in held.text
    job = await world.jobs.get_job(job_id)
    assert job is not None and job.state is JobState.HELD and job.audience == "drafts"
    assert job.text.startswith(text + "\n")  # exactly as typed
    assert await world.jobs.due_jobs(world.clock()) == []  # nothing goes before 确认
    (ok,) = await remind.handle_command(boss, f"确认广播 {job_id}") or []
    assert "已确认" in ok.text
    assert [j.id for j in await world.jobs.due_jobs(world.clock())] == [job_id]
    (report,) = await remind.handle_command(boss, f"广播报告 {job_id}") or []
    assert report.text.startswith(f"【广播 {job_id}】报名未完成的用户") and "状态：已安排" in report.text
    (gone,) = await remind.handle_command(boss, f"取消广播 {job_id}") or []
    assert "已取消" in gone.text
    cancelled = await world.jobs.get_job(job_id)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    (listing,) = await remind.handle_command(boss, "广播 列表") or []
    assert job_id in listing.text and "已取消" in listing.text


async def test_the_broadcast_command_at_a_time_and_its_errors(sqlite_world: World) -> None:
    world = sqlite_world
    boss = UserKey("wechat", "o-boss")
    await world.bind(boss, Role.ORGANISER)
    await world.org.put_units(CONTEST, [Unit(CONTEST, "中国科协", "member_unit")])
    command = RemindCommand(world.remind)
    (held,) = (
        await command.handle_command(boss, "广播 单位:中国科协 定时 2024-10-20 09:30 请核对推荐名单") or []
    )
    job = await world.jobs.get_job(held.meta["job"])
    assert job is not None and job.at == beijing(2024, 10, 20, 9).replace(minute=30)
    assert job.text.startswith("请核对推荐名单\n") and "2024-10-20 09:30（北京时间）发送" in held.text
    (bad,) = await command.handle_command(boss, "广播 单位:火星 你好") or []
    assert "没有登记名为“火星”" in bad.text
    (past,) = await command.handle_command(boss, "广播 全部 定时 2024-09-01 09:00 过去了") or []
    assert "已经过去了" in past.text
    (who,) = await command.handle_command(boss, "广播 朋友们 你好") or []
    assert who.meta == {"error": "audience"}
    (long,) = await command.handle_command(boss, "广播 全部 " + "长" * 700) or []
    assert "超过 600 字" in long.text
    (other,) = await command.handle_command(boss, "广播 cq-2023-scientist-spirit 全部 你好") or []
    assert other.meta == {"error": "forbidden"}


# ---------------------------------------------------------------------------- CLI


def cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_bot(["broadcast", *args], env={"BOT_DATA_DIR": str(data_dir)}, cwd=data_dir)


def test_cli_schedules_reports_and_cancels(tmp_path: Path) -> None:
    made = cli(
        ["--contest", CONTEST, "--audience", "members", "--at", "2030-01-02 09:00", "--text", "评审通知"],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert "推荐单位代表（目前 0 人），2030-01-02 09:00（北京时间）" in made.stdout
    job_id = made.stdout.split("已安排广播 ", 1)[1].split("：", 1)[0]
    report = cli(["--report", job_id, "--json"], tmp_path)
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert (doc["state"], doc["audience"], doc["total"], doc["at"]) == (
        "scheduled",
        "members",
        0,
        "2030-01-02T01:00:00+00:00",
    )
    cancelled = cli(["--cancel", job_id], tmp_path)
    assert cancelled.returncode == 0 and "状态：已取消" in cancelled.stdout
    listed = cli(["--list"], tmp_path)
    assert f"{job_id}\tbroadcast\tcancelled" in listed.stdout
    bad = cli(["--contest", CONTEST, "--audience", "朋友们", "--text", "x"], tmp_path)
    assert bad.returncode == 2 and "受众“朋友们”不认识" in bad.stderr
    missing = cli(["--contest", CONTEST], tmp_path)
    assert missing.returncode == 2 and "--audience、--text" in missing.stderr


# ---------------------------------------------------------------------------- wired into serve


async def test_serve_runs_the_worker_through_the_telegram_channel(
    tmp_path: Path, fake: CountingTelegram
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    config = TelegramSettings(
        _env_file=None,
        token=TOKEN,
        mode="webhook",
        api_server=fake.url,
        webhook_url="https://kepu.example.cn/telegram",
        webhook_secret="secret-0123456789",
    )
    channel = create_telegram(settings, config)
    assert channel is not None
    # serve's own wiring: create_app starts the worker after the channels.
    app = create_app(
        settings, channels=[channel], remind_settings=RemindSettings(_env_file=None, poll_interval=0.05)
    )
    async with TestClient(TestServer(app)):
        services = app[SERVICES]
        assert isinstance(services.notifiers["telegram"], TelegramNotifier)
        users = telegram_users(3)
        for user in users:
            await services.storage.touch_contact(user, dt.datetime.now(dt.UTC))
            await services.storage.save_draft(Draft(user, {"v": 1, "step": "field", "contest": CONTEST}))
        remind = app[REMIND]
        assert sum(isinstance(c, RemindCommand) for c in services.assistant.extra) == 1
        job, reach = await remind.create_broadcast(CONTEST, "all", "来自 serve 的通知")
        assert reach == 3
        await until(lambda: job_over(remind.jobs, job.id))
        # The words reach the use case through the router, in any channel.
        (reply,) = await services.assistant.handle(Incoming(users[0], EventKind.TEXT, text="退订"))
        assert reply.meta == {"opt_out": "1"}
        assert await remind.jobs.opted_out(users) == {users[0]}
        (again,) = await services.assistant.handle(Incoming(users[0], EventKind.TEXT, text=" TD "))
        assert again.text.startswith("您已经退订过了")
        boss = UserKey("telegram", "999")
        code = "TEST-SERVE-BOSS"
        now = dt.datetime.now(dt.UTC)
        invite = Invite(hash_code(code), CONTEST, Role.ORGANISER, None, now, now + dt.timedelta(days=1))
        await services.admin.org.add_invite(invite)
        await services.admin.org.redeem_invite(hash_code(code), boss, now)
        (held,) = await services.assistant.handle(Incoming(boss, EventKind.TEXT, text="广播 全部 明天截止"))
        assert "确认广播 B" in held.text
    assert fake.delivered == {int(u.user_id): 1 for u in users}
    assert not any(isinstance(c, RemindCommand) for c in services.assistant.extra)  # taken off at shutdown


async def test_serve_delivers_broadcasts_to_the_web_chat(tmp_path: Path) -> None:
    """Tried with ``serve``'s web chat: 退回修改 notices arrived there, broadcasts were skipped as
    “所在渠道不能主动发消息”: the worker's outlets were made before the web chat's notifier."""
    settings = Settings(_env_file=None, data_dir=tmp_path)
    app = create_app(
        settings, channels=[], remind_settings=RemindSettings(_env_file=None, poll_interval=0.05)
    )
    async with TestClient(TestServer(app)):
        services = app[SERVICES]
        remind = app[REMIND]
        assert "web" in remind.outlets
        user = UserKey("web", "w" + "A" * 22)  # as the web chat names its entrants
        await services.storage.save_draft(Draft(user, {"v": 1, "step": "field", "contest": CONTEST}))
        job, reach = await remind.create_broadcast(CONTEST, "all", "明天截止，请尽快提交")
        assert reach == 1
        await until(lambda: job_over(remind.jobs, job.id))
        report = await remind.report(job.id)
        assert report is not None and report.sent_by == {"push": 1}, report
        assert [r["text"].splitlines()[0] for r in await app[WEB_CHAT].wait(user.user_id, 0)] == [
            "明天截止，请尽快提交"
        ]


# ---------------------------------------------------------------------------- crashes


async def test_a_1000_recipient_broadcast_survives_cancellation_at_random_points(
    world: World, fake: CountingTelegram
) -> None:
    """The worker task is cancelled at random moments (claiming, waiting for a token, calls in
    flight) and a new one started, five times; every recipient gets exactly one message.  The
    five runs last 0.95 s (the seeded draws below, 1.5 s at most), the sends at least 1 s at the
    1,000/s rate, so the fifth cancellation still lands mid-broadcast.  Claimed 40 at a time:
    25 claims, as many as 5,000 recipients in claims of 200 made, at a fifth of the CPU."""
    n = 1_000
    users = telegram_users(n)
    for i in range(0, n, 100):  # bounded: Redis's pool has a connection limit
        await asyncio.gather(*(world.contact(u, world.clock()) for u in users[i : i + 100]))
    service = world.live(telegram_rate=1000)
    job, reach = await service.create_broadcast(CONTEST, "all", "决赛入围名单已公布。")
    assert reach == n
    bot = tg_bot(fake)
    notifiers: dict[str, Any] = {"telegram": TelegramNotifier(bot)}
    rng = random.Random(20241025)
    config = fast(concurrency=16, batch=40)
    restarts = 0
    try:
        while not await job_over(world.jobs, job.id):
            outlets, own = world.outlets(notifiers, telegram_rate=1000)
            task = asyncio.create_task(service.worker(outlets, config).run(asyncio.Event()))
            if restarts < 5:
                await asyncio.sleep(rng.uniform(0.03, 0.3))
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                restarts += 1
                # Cancelled cleanly: nothing is left claimed or half-sent for a later recovery.
                stats = await world.jobs.stats(job.id)
                assert "claimed" not in stats and "sending" not in stats, stats
            else:
                await until(lambda: job_over(world.jobs, job.id), within=120)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for b in own:
                await b.aclose()
    finally:
        await bot.session.close()
    assert restarts == 5
    assert fake.total == n and set(fake.delivered.values()) == {1}
    assert set(fake.delivered) == {int(u.user_id) for u in users}
    report = await service.report(job.id)
    assert report is not None and report.sent == n and report.failed == report.skipped == 0


def child_main(argv: list[str]) -> None:
    """A worker process for the SIGKILL test: sends until it is killed."""
    data_dir, redis_url, prefix, api = argv

    async def run() -> None:
        jobs = await choose_backend(
            data_dir=Path(data_dir), redis_url=redis_url or None, redis_prefix=prefix
        ).open_jobs()
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))

        async def nobody(job: Job) -> list[Recipient]:
            return []

        config = WorkerConfig(concurrency=8, batch=50, poll_interval=0.05, lease=1.0)
        await Worker(jobs, telegram_outlets(bot, rate=3000), expand=nobody, config=config).run(
            asyncio.Event()
        )

    asyncio.run(run())


async def test_a_worker_process_killed_mid_broadcast_never_sends_twice(
    any_store: tuple[Storage, EventIsolation], fake: CountingTelegram, tmp_path: Path
) -> None:
    """SIGKILL at random moments of a 1,500-recipient broadcast, three times, then a worker
    that finishes.  No message is ever sent twice; a recipient without one is named in the
    report as "uncertain" (its call was in flight at a kill), at most 8 (the concurrency) per kill.
    Each kill lands 100–300 deliveries after the last (claims of 50: mid-claim, as before with
    200–600 and claims of 100), so at least 600 are left for the worker that finishes."""
    storage = any_store[0]
    n, kills = 1500, 3
    if isinstance(storage, SqliteStorage):
        data_dir, url, prefix = str(storage.path.parent), "", "kepu"
    else:
        data_dir, url, prefix = str(tmp_path), REDIS_URL, cast(Any, storage).prefix
    jobs = await choose_backend(
        data_dir=Path(data_dir), redis_url=url or None, redis_prefix=prefix
    ).open_jobs()
    now = dt.datetime.now(dt.UTC)
    job = Job("B-KILL", JobKind.BROADCAST, CONTEST, "all", "复赛通知", now, "cli", now)
    await jobs.create_job(job)
    await jobs.start_job(job.id, [Recipient(u) for u in telegram_users(n)], now)
    rng = random.Random(7)
    # The workers are forked from a server that imported this module once: a fresh interpreter
    # per worker spent ~3 s of imports (aiogram's types alone ~2 s) before its first send.
    spawner = forks()  # tests/forked.py: PRELOAD has this module

    def spawn() -> multiprocessing.process.BaseProcess:
        proc = spawner.Process(target=child_main, args=([data_dir, url, prefix, fake.url],))
        proc.start()
        return proc

    async def killed(proc: multiprocessing.process.BaseProcess) -> int | None:
        proc.kill()
        await asyncio.to_thread(proc.join)
        return proc.exitcode

    try:
        for k in range(1, kills + 1):
            proc = spawn()
            target = fake.total + rng.randint(100, 300)
            await fake.until_total(target, proc, within=60)
            assert await killed(proc) == -signal.SIGKILL, f"worker {k} ended on its own"
        proc = spawn()
        try:
            await until(lambda: job_over(jobs, job.id), within=60)
        finally:
            await killed(proc)
        stats = await jobs.stats(job.id)
        uncertain = {d.user for d in await jobs.deliveries(job.id) if d.reason == Reason.UNCERTAIN}
    finally:
        await jobs.close()
    assert max(fake.delivered.values()) == 1, "a message was sent twice"
    assert set(stats) <= {"sent:telegram", "failed:uncertain"}, stats
    assert stats["sent:telegram"] + stats.get("failed:uncertain", 0) == n
    received = {UserKey("telegram", str(c)) for c in fake.delivered}
    assert set(telegram_users(n)) - received <= uncertain  # nobody lost without being named
    assert len(uncertain) <= kills * 8


def test_the_worker_of_a_server_without_telegram_never_imports_aiogram() -> None:
    """Importing aiogram costs seconds of CPU; the worker starts in the event loop of a running
    server, so without a Telegram bot to wrap it must not import it (a fresh interpreter,
    since this test module imports aiogram itself)."""
    code = (
        "import sys, types\n"
        "from bot.deliveries import build_outlets\n"
        "from bot.settings_remind import RemindSettings\n"
        "none = types.SimpleNamespace()\n"
        "config = RemindSettings(_env_file=None)\n"
        "out, bots = build_outlets(config, {'web': object()}, storage=none, jobs=none, contests=none)\n"
        "print(sorted(out), len(bots), 'aiogram' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['web']", "0", "False"]


async def test_an_idle_worker_looks_less_and_less_often(sqlite_world: World) -> None:
    """Nothing to do: the looks for due jobs and deliveries back off from poll_interval to
    poll_interval × idle_backoff (an idle worker was most of an idle server's CPU)."""
    config = fast(idle_backoff=8.0)
    assert [config.idle_wait(n) for n in range(1, 7)] == [0.02, 0.04, 0.08, 0.16, 0.16, 0.16]
    looks: collections.Counter[str] = collections.Counter()
    jobs: Any = sqlite_world.jobs
    for name in ("claim", "due_jobs"):

        def counted(original: Any, name: str = name) -> Any:
            async def look(*args: Any, **kw: Any) -> Any:
                looks[name] += 1
                return await original(*args, **kw)

            return look

        setattr(jobs, name, counted(getattr(jobs, name)))

    async def nobody(job: Job) -> list[Recipient]:
        return []

    async with working(Worker(jobs, {}, expand=nobody, config=config)):
        await asyncio.sleep(1.2)
    # Without the back-off: about 60 of each in 1.2 s.
    assert 3 <= looks["claim"] <= 16 and 3 <= looks["due_jobs"] <= 16, looks


async def test_a_notice_reaches_one_wechat_entrant_in_or_beyond_the_window_even_opted_out(
    world: World, tmp_path: Path
) -> None:
    """A decision about one's own submission is not a broadcast: it goes whatever one opted out
    of, as a 客服消息 within 48 h and as a template beyond it (where configured)."""
    now = dt.datetime.now(dt.UTC)
    recent, old = UserKey("wechat", "o-recent"), UserKey("wechat", "o-old")
    await world.contact(recent, now - dt.timedelta(hours=1))
    await world.contact(old, now - dt.timedelta(hours=60))
    await world.jobs.set_opt_out(recent, True, now)

    def notice(user: UserKey, text: str) -> Job:
        return Job(
            id=f"{NOTICE_JOB_PREFIX}{user.user_id}",
            kind=JobKind.NOTICE,
            contest_id=CONTEST,
            audience=notice_audience(user),
            text=text,
            at=now,
            created_by="system",
            created_at=now,
        )

    async with wechat(world, tmp_path, wechat_template_id="TPL-notice") as (fake, service):
        for user, text in (
            (recent, "您的投稿 KP2024-000001 被退回修改。"),
            (old, "您的投稿 KP2024-000002 已通过形式审查。"),
        ):
            job = notice(user, text)
            assert await world.jobs.create_job(job)
            assert await service.expand(job) == [Recipient(user)]
        async with working(service.worker(service.outlets, fast())):
            await until(lambda: job_over(world.jobs, f"{NOTICE_JOB_PREFIX}o-old"))
            await until(lambda: job_over(world.jobs, f"{NOTICE_JOB_PREFIX}o-recent"))
        assert fake.texts_to("o-recent") == ["您的投稿 KP2024-000001 被退回修改。"]
        (template,) = fake.templates
        assert template["touser"] == "o-old" and template["data"]["first"] == {"value": "投稿状态通知"}
