"""The WeChat channel end to end: signed (and encrypted) XML pushes from a fake WeChat into the
real ``serve`` app, the real dialog and a real store, 客服消息 and media through the fake API."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from bot.app import create_app
from bot.channels import wechat as wechat_module
from bot.channels import wechat_files, wechat_kinds
from bot.channels.wechat import CLAIM_TTL, OutsideWindow, QuotaExhausted, WechatChannel, create
from bot.channels.wechat_api import LocalTokenStore, refresh_margin
from bot.channels.wechat_files import Outbox, new_incoming_dir, sweep_incoming
from bot.channels.wechat_notifier import MEDIA_LIMIT, WechatSettings
from bot.channels.wechat_xml import TEXT_LIMIT, dedup_key, pack_texts, parse_xml, split_text, to_message
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from contests.editions import new_edition
from contests.events import Document, EventKind, Incoming, Reply
from contests.records import InboundClaim, UserKey
from contests.registry import ContestRegistry, dump_contest
from forms import paperwork as paperwork_module
from handlers.claims import ClaimGate
from handlers.router import Assistant
from tests.conftest import REDIS_URL, ChatDriver, valid_answer
from tests.fakes.wechat_server import FIXTURES, Delivery, FakeWechat, Media, sign

TOKEN = "kepuToken2026"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "app-secret-for-tests"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")
PUBLIC = "http://files.test"
# A 网盘 share link: the contest accepts it and nothing probes it over the network (the tests
# run offline; a plain video link would be fetched by the link prober of ``serve``).
SHARE_LINK = "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9"
BACKENDS = ["sqlite", "redis"]


class Clock:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


class Recording:
    """Stands in for ``services.assistant``: records each event, optionally slow, then delegates."""

    def __init__(self, inner: Assistant, delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.events: list[Incoming] = []

    async def handle(
        self, event: Incoming, *, contest_hint: str | None = None, gate: ClaimGate | None = None
    ) -> list[Reply]:
        self.events.append(event)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await self.inner.handle(event, contest_hint=contest_hint, gate=gate)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class Harness:
    """One worker: the ``serve`` app with the WeChat channel, talked to by the fake WeChat."""

    fake: FakeWechat
    client: TestClient[web.Request, web.Application]
    channel: WechatChannel
    settings: Settings
    recorder: Recording | None = None

    @property
    def services(self) -> Services:
        app = self.client.app
        assert app is not None
        return app[SERVICES]

    def record(self, delay: float = 0.0) -> Recording:
        self.recorder = Recording(self.services.assistant, delay)
        self.services.assistant = self.recorder  # type: ignore[assignment]
        return self.recorder

    async def push(self, xml: str) -> Delivery:
        return await self.fake.post(self.client, xml)

    async def say(self, openid: str, text: str) -> str:
        """A text push; the passive reply plus any 客服消息 that followed it."""
        before = len(self.fake.texts_to(openid))
        delivery = await self.push(self.fake.text(openid, text))
        assert delivery.status == 200, delivery
        await self.channel.idle()
        return "\n\n".join([delivery.content or "", *self.fake.texts_to(openid)[before:]]).strip()

    async def subscribe(self, openid: str) -> str:
        before = len(self.fake.texts_to(openid))
        delivery = await self.push(self.fake.xml("event_subscribe", openid))
        await self.channel.idle()
        return "\n\n".join([delivery.content or "", *self.fake.texts_to(openid)[before:]]).strip()

    def chat(self, openid: str) -> WechatChat:
        return WechatChat(self, openid)


class WechatChat:
    """The interface of :class:`tests.conftest.ChatDriver`, through WeChat."""

    def __init__(self, harness: Harness, openid: str) -> None:
        self.harness = harness
        self.user = UserKey("wechat", openid)

    async def start(self) -> str:
        return await self.harness.subscribe(self.user.user_id)

    async def say(self, text: str) -> str:
        return await self.harness.say(self.user.user_id, text)

    async def draft(self) -> dict[str, Any] | None:
        d = await self.harness.services.storage.get_draft(self.user)
        return d.data if d else None


Make = Callable[..., Awaitable[Harness]]


async def fill_until_review(chat: WechatChat | ChatDriver, registry: ContestRegistry) -> str:
    """Every question of the open contest answered correctly, as in ``test_dialog``; returns
    the review page."""
    text = await chat.start()
    assert "请选择参赛渠道" in text
    text = await chat.say("自荐")
    draft = await chat.draft()
    assert draft is not None
    contest = registry.get(draft["contest"])
    assert contest is not None
    for field in contest.form(contest.channel(draft["channel"]).forms["work"]).fields:
        assert f"「{field.label}」" in text, f"expected the prompt for {field.id}, got {text}"
        text = await chat.say(valid_answer(field, contest))
    assert "请提交参赛视频" in text
    return await chat.say(SHARE_LINK)


@pytest.fixture(scope="session")
def contest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new edition of the 2024 contest that is open today (every preset is closed)."""
    folder = tmp_path_factory.mktemp("contests")
    source = ContestRegistry.load().get("most-cas-2024-kepu")
    assert source is not None
    today = dt.date.today()
    deadline = today + dt.timedelta(days=300)
    new_id = f"most-cas-{deadline.year}-kepu"
    data = new_edition(source, new_id, deadline, opens=today - dt.timedelta(days=30))
    dump_contest(data, folder / f"{new_id}.yaml")
    return folder


@pytest.fixture
async def make(tmp_path: Path, contest_dir: Path) -> AsyncIterator[Make]:
    """Builds workers; at teardown closes them, checks every fake saw only expected calls, and
    removes the Redis keys of the test."""
    harnesses: list[Harness] = []
    fakes: list[FakeWechat] = []
    prefix = f"kepu-test-wx-{uuid.uuid4().hex[:10]}"

    async def build(
        *,
        safe: bool = False,
        backend: str = "sqlite",
        budget: float = 4.0,
        fake: FakeWechat | None = None,
        data_dir: Path | None = None,
        clock: Clock | None = None,
        lock_timeout: float = 60.0,
        **config: Any,
    ) -> Harness:
        if fake is None:
            fake = await FakeWechat(TOKEN, APP_ID, APP_SECRET, AES_KEY if safe else None).start()
            fakes.append(fake)
        settings = Settings(
            data_dir=data_dir or tmp_path / f"worker{len(harnesses)}",
            contests_dir=contest_dir,
            redis_url=REDIS_URL if backend == "redis" else None,
            redis_prefix=prefix,
            redis_lock_timeout=lock_timeout,
        )
        wx = WechatSettings(
            _env_file=None,
            token=TOKEN,
            app_id=APP_ID,
            app_secret=APP_SECRET,
            aes_key=AES_KEY if safe else None,
            api_base=fake.base_url,
            public_base_url=PUBLIC,
            reply_budget=budget,
            **config,
        )
        channel = WechatChannel(settings, wx, clock=clock or Clock())
        client = TestClient(TestServer(create_app(settings, channels=[channel])))
        await client.start_server()
        harness = Harness(fake, client, channel, settings)
        harnesses.append(harness)
        return harness

    yield build
    for harness in reversed(harnesses):
        await harness.client.close()
    for fake in fakes:
        await fake.close()
    client = aioredis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    for fake in fakes:
        fake.assert_clean()


async def stored_nothing(h: Harness, openid: str) -> None:
    user = UserKey("wechat", openid)
    assert await h.services.storage.get_draft(user) is None
    assert await h.services.storage.last_contact(user) is None
    assert await h.services.storage.list_submissions() == []


# --------------------------------------------------------------------------- URL verification


async def test_echostr_verification_answers_the_echo_and_refuses_a_wrong_signature(make: Make) -> None:
    h = await make()
    ts, nonce = str(int(time.time())), "1234567"
    good = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "8215651396"}
    resp = await h.client.get("/wechat", params=good)
    assert resp.status == 200 and await resp.text() == "8215651396"
    resp = await h.client.get("/wechat", params={**good, "signature": sign("wrongToken", ts, nonce)})
    assert resp.status == 403 and await resp.text() != "8215651396"
    resp = await h.client.get("/wechat", params={"echostr": "8215651396"})
    assert resp.status == 403


# --------------------------------------------------------------------------- whole submission


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_whole_submission_through_wechat_with_passive_replies(
    make: Make, safe: bool, backend: str
) -> None:
    h = await make(safe=safe, backend=backend)
    chat = h.chat("oKepuEntrant0001")
    review = await fill_until_review(chat, h.services.contests)
    assert "请核对报名信息" in review
    # WeChat has no buttons: the review page's actions are words to reply with (its items are
    # numbered, and a number there names the item to change).
    assert "“确认提交” / “修改” / “取消”" in review
    done = await chat.say("确认提交")
    prefix = h.services.contests.open(dt.datetime.now(dt.UTC))[0].number_prefix
    assert f"提交成功！报名编号：{prefix}-000001" in done
    subs = await h.services.storage.list_submissions(user=chat.user)
    assert [s.number for s in subs] == [f"{prefix}-000001"]
    assert subs[0].answers["phone"] == "13800138000"
    assert subs[0].video["url"].startswith("https://pan.baidu.com/s/1AbCdEfG")
    # The forms' download links are in the reply itself, given before the forms are drawn;
    # once drawn (submit.aclose() waits for that), they serve the PDF and the DOCX.
    assert "几秒钟后即可从下面的链接下载" in done
    urls = [line for line in done.splitlines() if line.startswith(f"{PUBLIC}/wechat/files/")]
    assert len(urls) == 2, done
    await h.services.submit.aclose()
    bodies = []
    for url in urls:
        resp = await h.client.get(url.removeprefix(PUBLIC))
        assert resp.status == 200, url
        bodies.append(await resp.read())
    assert bodies[0].startswith(b"%PDF-") and bodies[1].startswith(b"PK\x03\x04")
    after = await chat.draft()  # done, or waiting for the signed form of this very submission
    assert after is None or (after.get("number"), after.get("answers")) == (f"{prefix}-000001", {})
    # The dialog travelled in passive replies, and the forms did not follow as 客服消息.  (On
    # a loaded machine the confirmation may still outlive the 4 s and follow as one.)
    assert len(h.fake.sent) <= 1, h.fake.sent
    assert not any("报名表正在生成" in text for text in h.fake.texts_to(chat.user.user_id))
    assert await h.services.storage.last_contact(chat.user) is not None


async def test_the_same_conversation_stores_the_same_submission_as_the_terminal(make: Make) -> None:
    h, other = await make(), await make()  # two stores: one entrant's answers are one entry each
    wechat_chat = h.chat("oKepuSameAsTerminal")
    await fill_until_review(wechat_chat, h.services.contests)
    by_wechat_text = await wechat_chat.say("确认提交")
    terminal = ChatDriver(other.services.submit, UserKey("terminal", "same"))
    await fill_until_review(terminal, other.services.contests)
    by_terminal_text = await terminal.say("确认提交")
    # The signed form comes back as what each app can send: WeChat users send pictures only.
    assert "公众号只能接收图片" in by_wechat_text and "jpg、png 或 pdf" not in by_wechat_text
    assert "jpg、png 或 pdf" in by_terminal_text and "公众号" not in by_terminal_text
    [by_wechat] = await h.services.storage.list_submissions()
    [by_terminal] = await other.services.storage.list_submissions()
    assert by_wechat.user.channel == "wechat" and by_terminal.user.channel == "terminal"
    assert (by_wechat.contest_id, by_wechat.channel_id, by_wechat.form_id) == (
        by_terminal.contest_id,
        by_terminal.channel_id,
        by_terminal.form_id,
    )
    assert by_wechat.answers == by_terminal.answers
    assert by_wechat.video == by_terminal.video


async def test_a_scene_qr_code_starts_its_contest_and_menu_clicks_are_commands(make: Make) -> None:
    h = await make()
    contest = h.services.contests.open(dt.datetime.now(dt.UTC))[0]
    recorder = h.record()
    delivery = await h.push(h.fake.xml("event_subscribe_scan", "oKepuScan", scene=contest.id))
    assert delivery.content is not None and "请选择参赛渠道" in delivery.content
    assert recorder.events[-1].kind is EventKind.START
    delivery = await h.push(h.fake.xml("event_click", "oKepuScan", key="KEPU_STATUS"))
    assert delivery.content is not None and "已填写：0/" in delivery.content
    delivery = await h.push(h.fake.xml("event_click", "oKepuScan", key="SOMETHING_ELSE"))
    assert delivery.content == wechat_module.TEXTS["unsupported"]
    # Events open no 48-hour window: only what the user writes does.
    assert await h.services.storage.last_contact(UserKey("wechat", "oKepuScan")) is None


# --------------------------------------------------------------------------- kinds of message


@pytest.mark.parametrize(
    ("sample", "fields", "expected"),
    [
        ("location", {}, wechat_module.TEXTS["location"]),
        ("link", {}, wechat_module.TEXTS["link"]),
        ("voice", {"media_id": "voice-1"}, wechat_module.TEXTS["voice"]),
        ("miniprogrampage", {}, wechat_module.TEXTS["unsupported"]),  # unknown to us: the fallback
    ],
)
async def test_kinds_the_dialog_cannot_use_get_a_polite_reply(
    make: Make, sample: str, fields: dict[str, str], expected: str
) -> None:
    h = await make()
    recorder = h.record()
    delivery = await h.push(h.fake.xml(sample, "oKepuKinds", **fields))
    assert delivery.status == 200 and delivery.content == expected
    assert recorder.events == []  # the dialog was not bothered
    # Still a message from the user: it opens the 48-hour window.
    assert await h.services.storage.last_contact(UserKey("wechat", "oKepuKinds")) is not None


@pytest.mark.parametrize("sample", ["event_unsubscribe", "event_location"])
async def test_events_that_need_no_answer_get_success(make: Make, sample: str) -> None:
    h = await make()
    recorder = h.record()
    delivery = await h.push(h.fake.xml(sample, "oKepuQuiet"))
    assert (delivery.status, delivery.body) == (200, "success")
    await h.channel.idle()
    assert recorder.events == [] and h.fake.sent == []


# --------------------------------------------------------------------------- the 5-second rule


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_slow_dialog_answers_success_then_a_customer_service_message(
    make: Make, backend: str
) -> None:
    h = await make(backend=backend, budget=0.3)
    await h.subscribe("oKepuSlow")
    h.record(delay=0.8)
    delivery = await h.push(h.fake.text("oKepuSlow", "2"))
    assert (delivery.status, delivery.body) == (200, "success")
    assert delivery.elapsed < 0.7  # answered on the budget, not after the dialog
    assert h.fake.sent == []
    await h.channel.idle()
    [message] = h.fake.sent
    assert message["touser"] == "oKepuSlow" and "请填写「自荐机构（个人）」" in message["text"]["content"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_retries_of_one_message_are_processed_once(make: Make, backend: str) -> None:
    h = await make(backend=backend)
    openid = "oKepuRetry"
    await h.subscribe(openid)
    await h.say(openid, "2")
    recorder = h.record()
    push = h.fake.text(openid, "某某科普中心")
    first = await h.push(push)
    assert first.content is not None and "请填写「作品名称」" in first.content
    # WeChat did not get that answer (a lost response): it sends the same MsgId three more times.
    retries = [await h.push(push) for _ in range(3)]
    assert [r.content for r in retries] == [first.content] * 3
    await h.channel.idle()
    assert [e.text for e in recorder.events] == ["某某科普中心"]
    draft = await h.chat(openid).draft()
    assert draft is not None and draft["answers"] == {"unit": "某某科普中心"}  # not also the title
    assert h.fake.sent == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_retry_while_the_first_attempt_runs_gets_its_passive_answer(make: Make, backend: str) -> None:
    h = await make(backend=backend, budget=0.4)
    openid = "oKepuRetrySlow"
    await h.subscribe(openid)
    recorder = h.record(delay=0.6)
    # WeChat's own timing, scaled down: no answer in 0.3 s → the same push again.
    deliveries = await h.fake.deliver(h.client, h.fake.text(openid, "2"), patience=0.3)
    await h.channel.idle()
    assert len(recorder.events) == 1
    assert deliveries[0].body == "success"  # the first request's budget ran out
    answered = [d.content for d in deliveries if d.content]
    # A retry still open when the dialog finished carries the answer (any later one repeats it).
    assert answered and "请填写「自荐机构（个人）」" in (answered[0] or "")
    assert answered == [answered[0]] * len(answered)
    assert h.fake.sent == []  # carried by the retry's passive reply: no 客服消息 needed
    assert (await h.chat(openid).draft() or {})["channel"] == "self"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_retries_that_all_time_out_leave_one_customer_service_message(make: Make, backend: str) -> None:
    h = await make(backend=backend, budget=0.2)
    openid = "oKepuRetryLate"
    await h.subscribe(openid)
    recorder = h.record(delay=1.2)
    push = h.fake.text(openid, "2")
    attempts = [asyncio.create_task(h.push(push))]
    for _ in range(3):
        await asyncio.sleep(0.1)
        attempts.append(asyncio.create_task(h.push(push)))
    deliveries = await asyncio.gather(*attempts)
    assert [d.body for d in deliveries] == ["success"] * 4
    await h.channel.idle()
    assert len(recorder.events) == 1
    assert len(h.fake.texts_to(openid)) == 1


async def test_a_retry_at_another_worker_is_not_processed_again(make: Make) -> None:
    """A plain answer claims its message with its draft: of two workers given the same push,
    the first to store it answers, the other drops what it worked out.  A command, whose
    effects are more than a draft, is claimed before it runs: the other worker never runs it."""
    a = await make(backend="redis", budget=0.3)
    b = await make(backend="redis", budget=0.3, fake=a.fake)
    openid = "oKepuTwoWorkers"
    user = UserKey("wechat", openid)
    await a.subscribe(openid)
    before = await a.services.storage.get_draft(user)
    assert before is not None
    rec_a, rec_b = a.record(delay=0.6), b.record()
    push = a.fake.text(openid, "2")
    first = asyncio.create_task(a.push(push))
    await asyncio.sleep(0.1)
    retry = await b.push(push)
    late = await first
    await a.channel.idle()
    await b.channel.idle()
    assert len(rec_a.events) == 1 and len(rec_b.events) == 1
    answers = [d.content for d in (late, retry) if d.content] + a.fake.texts_to(openid)
    assert len(answers) == 1, answers  # one reply reached the user: B's, passive
    assert retry.content and late.body == "success"
    after = await a.services.storage.get_draft(user)
    assert after is not None and after.version == before.version + 1  # stored once
    assert await a.services.storage.last_contact(user) is not None
    # A command at two workers: claimed first, so only one of them runs it.
    command = a.fake.text(openid, "退订")
    a.record(delay=0.6)
    first = asyncio.create_task(a.push(command))
    await asyncio.sleep(0.1)
    again = await b.push(command)
    await first
    await a.channel.idle()
    await b.channel.idle()
    said = [t for t in [*a.fake.texts_to(openid), again.content or ""] if "退订" in t]
    assert len(said) == 1 and said[0].startswith("已退订"), said  # not also "您已经退订过了"


async def test_a_plain_answer_claims_its_message_in_the_same_write_as_its_draft(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await make()
    openid = "oKepuOneWrite"
    user = UserKey("wechat", openid)
    await h.subscribe(openid)
    storage = h.services.storage
    calls: list[str] = []
    claims: list[InboundClaim] = []
    for name in ("claim_inbound", "claim_once", "save_draft"):
        real = getattr(storage, name)

        async def spy(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            claim = kwargs.get("claim")
            calls.append(_name + (" with claim" if claim else ""))
            if claim:
                claims.append(claim)
            return await _real(*args, **kwargs)

        monkeypatch.setattr(storage, name, spy)
    reply = await h.say(openid, "2")
    assert reply and calls == ["save_draft with claim"]  # one write for the answer and its claim
    assert await storage.last_contact(user) == claims[0].when
    # That write claimed the message: a retry elsewhere would find it taken.
    assert await storage.claim_once(claims[0].key, CLAIM_TTL) is False
    # A command claims before it runs; 退订 stores no draft.
    calls.clear()
    assert "已退订" in await h.say(openid, "退订")
    assert calls == ["claim_inbound"]


async def test_a_subscribe_is_claimed_in_the_write_of_its_draft_not_on_arrival(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscribe claimed on arrival was lost with a worker that died before its draft was
    stored: the redelivery found it handled, and the entrant's dialog never started.  Its claim
    goes with the draft now (or stays pending in the turn, see tests/test_fault_worker.py), and
    records no contact: an event is nothing the user wrote, the 48-hour window stays shut."""
    h = await make()
    openid = "oKepuSubscribeClaim"
    user = UserKey("wechat", openid)
    storage = h.services.storage
    calls: list[str] = []
    for name in ("claim_inbound", "claim_once", "save_draft"):
        real = getattr(storage, name)

        async def spy(*args: Any, _name: str = name, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(_name + (" with claim" if kwargs.get("claim") else ""))
            return await _real(*args, **kwargs)

        monkeypatch.setattr(storage, name, spy)
    xml = h.fake.xml("event_subscribe", openid)
    delivery = await h.push(xml)
    await h.channel.idle()
    assert delivery.content and calls == ["save_draft with claim"], calls
    assert await storage.get_draft(user) is not None
    key = dedup_key(to_message(parse_xml(xml.encode())))
    assert await storage.claim_once(key, CLAIM_TTL) is False  # a redelivery finds it handled
    assert await storage.last_contact(user) is None


async def test_an_attempt_that_fails_leaves_its_message_unclaimed_for_another(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose store failed must not take the message from one that is answering it."""
    h = await make()
    openid = "oKepuFailedAttempt"
    await h.subscribe(openid)
    storage = h.services.storage
    real = storage.save_draft

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis went away for a moment")

    monkeypatch.setattr(storage, "save_draft", broken)
    xml = h.fake.text(openid, "2")
    delivery = await h.push(xml)
    await h.channel.idle()
    assert "抱歉" in (delivery.content or "")  # the entrant hears of it
    key = dedup_key(to_message(parse_xml(xml.encode())))
    monkeypatch.setattr(storage, "save_draft", real)
    assert await storage.claim_once(key, CLAIM_TTL) is True  # nobody claimed it


async def test_a_video_link_is_claimed_before_it_is_checked(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking a link may outlast WeChat's retry: a retry elsewhere must find it claimed."""
    h = await make()
    chat = h.chat("oKepuLinkCheck")
    await reach_video_step(h, "oKepuLinkCheck")
    storage, order = h.services.storage, []
    real_claim = storage.claim_inbound

    async def claim(*args: Any, **kwargs: Any) -> bool:
        order.append("claim")
        return await real_claim(*args, **kwargs)

    class Unreachable:
        verdict = "unreachable"

        def to_dict(self) -> dict[str, Any]:
            return {"verdict": self.verdict}

        def text_zh(self) -> str:
            return "暂时无法访问该链接。"

    async def prober(url: str, of: Any) -> Any:
        order.append("check")
        return Unreachable()

    monkeypatch.setattr(storage, "claim_inbound", claim)
    monkeypatch.setattr(h.services.submit, "link_prober", prober)
    assert await chat.say("https://kepu.example.cn/videos/work.mp4")
    assert order == ["claim", "check"]


async def test_a_users_quick_messages_are_handled_in_order(make: Make) -> None:
    h = await make()
    openid = "oKepuBurst"
    await h.subscribe(openid)
    await h.say(openid, "2")
    pushes = [h.fake.text(openid, a) for a in ("单位甲", "作品乙", "类别丙")]
    await asyncio.gather(*(h.push(p) for p in pushes))
    await h.channel.idle()
    draft = await h.chat(openid).draft()
    assert draft is not None
    assert [draft["answers"][k] for k in ("unit", "title", "category")] == ["单位甲", "作品乙", "类别丙"]


async def test_a_reply_too_long_for_one_message_continues_as_customer_service_messages(make: Make) -> None:
    h = await make()
    openid = "oKepuLong"
    paragraphs = [f"第{i}段：" + "科普" * 300 for i in range(3)]  # ~1800 bytes each

    class Long:
        async def handle(self, event: Incoming, **kwargs: Any) -> list[Reply]:
            return [Reply(p) for p in paragraphs]

    h.services.assistant = Long()  # type: ignore[assignment]
    delivery = await h.push(h.fake.text(openid, "帮助"))
    assert delivery.content == paragraphs[0]
    await h.channel.idle()
    assert h.fake.texts_to(openid) == paragraphs[1:]


# --------------------------------------------------------------------------- refused requests


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_a_bad_signature_gets_403_and_nothing_is_processed(make: Make, safe: bool) -> None:
    h = await make(safe=safe)
    recorder = h.record()
    xml = h.fake.text("oKepuForged", "开始")
    query, body = h.fake.signed(xml)
    forged = await h.fake.post(h.client, xml, query={**query, "signature": "0" * 40}, body=body)
    assert forged.status == 403
    missing = await h.fake.post(h.client, xml, query={}, body=body)
    assert missing.status == 403
    if safe:
        wrong = await h.fake.post(h.client, xml, query={**query, "msg_signature": "f" * 40}, body=body)
        assert wrong.status == 403
    await h.channel.idle()
    assert recorder.events == []
    await stored_nothing(h, "oKepuForged")


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("hostile_billion_laughs", 400),
        ("hostile_external_entity", 400),
        ("hostile_external_dtd", 400),
        ("malformed", 400),
        ("not_a_push", 400),
        ("oversized", 413),
    ],
)
@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_hostile_or_broken_xml_is_refused_quickly_and_harmlessly(
    make: Make, sample: str, status: int, safe: bool
) -> None:
    h = await make(safe=safe)
    recorder = h.record()
    openid = "oKepuHostile"
    # "oversized": 90 KB, well-formed and signed, but too big.
    xml = h.fake.text(openid, "长" * 30000) if sample == "oversized" else h.fake.xml(sample, openid)
    delivery = await h.push(xml)  # signed (and in safe mode encrypted) like a genuine push
    assert delivery.status == status, delivery
    assert delivery.elapsed < 1.0
    await h.channel.idle()
    assert recorder.events == []
    await stored_nothing(h, openid)


async def test_a_push_that_is_not_utf8_is_refused(make: Make) -> None:
    h = await make()
    recorder = h.record()
    xml = h.fake.text("oKepuLatin1", "开始").replace("开始", "caf\udce9")
    query, _ = h.fake.signed(xml)
    delivery = await h.fake.post(h.client, xml, query=query, body=xml.encode("utf-8", "surrogateescape"))
    assert delivery.status == 400
    assert recorder.events == []
    await stored_nothing(h, "oKepuLatin1")


# --------------------------------------------------------------------------- access_token


async def test_two_workers_share_one_access_token_and_refresh_it_once_on_40001(make: Make) -> None:
    a = await make(backend="redis")
    b = await make(backend="redis", fake=a.fake)
    users = [UserKey("wechat", f"oKepuTok{i}") for i in range(6)]
    now = dt.datetime.now(dt.UTC)
    for user in users:
        await a.services.storage.touch_contact(user, now)
    await asyncio.gather(
        *(h.services.notifiers["wechat"].push(u, [Reply("提醒")]) for h in (a, b) for u in users)
    )
    assert a.fake.token_fetches == 1
    assert len(a.fake.sent) == 12
    a.fake.revoke_token()
    await asyncio.gather(*(h.services.notifiers["wechat"].push(users[0], [Reply("再提醒")]) for h in (a, b)))
    assert a.fake.token_fetches == 2  # one refresh for both workers, not one each
    assert a.fake.texts_to(users[0].user_id)[-2:] == ["再提醒", "再提醒"]


async def test_one_worker_on_sqlite_caches_the_token_in_process(make: Make) -> None:
    h = await make()
    users = [UserKey("wechat", f"oKepuLocal{i}") for i in range(5)]
    for user in users:
        await h.services.storage.touch_contact(user, dt.datetime.now(dt.UTC))
    notifier = h.services.notifiers["wechat"]
    await asyncio.gather(*(notifier.push(u, [Reply("你好")]) for u in users))
    assert h.fake.token_fetches == 1
    h.fake.revoke_token()  # 40001
    await notifier.push(users[0], [Reply("再见")])
    assert h.fake.token_fetches == 2
    h.fake.expire_tokens()  # 42001
    await notifier.push(users[0], [Reply("回见")])
    assert h.fake.token_fetches == 3
    assert h.fake.texts_to(users[0].user_id) == ["你好", "再见", "回见"]


async def test_token_is_refreshed_shortly_before_it_expires() -> None:
    now = [1000.0]
    store = LocalTokenStore(clock=lambda: now[0])
    fetched: list[str] = []

    async def fetch() -> tuple[str, int]:
        fetched.append(f"t{len(fetched)}")
        return fetched[-1], 7200

    assert await store.get(fetch) == "t0"
    now[0] += 7200 - refresh_margin(7200) - 1
    assert await store.get(fetch) == "t0"
    now[0] += 2  # inside the last five minutes: a new one
    assert await store.get(fetch) == "t1"
    assert await store.get(fetch, stale="t1") == "t2"  # the API refused t1


# --------------------------------------------------------------------------- 48 h and 5 messages


@pytest.mark.parametrize("backend", BACKENDS)
async def test_customer_service_messages_keep_to_the_48_hours_and_5_messages(
    make: Make, backend: str
) -> None:
    h = await make(backend=backend)
    notifier = h.services.notifiers["wechat"]
    storage = h.services.storage
    user = UserKey("wechat", "oKepuQuota")
    with pytest.raises(OutsideWindow):  # never wrote
        await notifier.push(user, [Reply("提醒")])
    await storage.touch_contact(user, dt.datetime.now(dt.UTC) - dt.timedelta(hours=49))
    with pytest.raises(OutsideWindow):
        await notifier.push(user, [Reply("提醒")])
    assert h.fake.sent == []

    await storage.touch_contact(user, dt.datetime.now(dt.UTC) - dt.timedelta(hours=47))
    for i in range(5):
        await notifier.push(user, [Reply(f"第{i + 1}条")])
    with pytest.raises(QuotaExhausted) as refused:
        await notifier.push(user, [Reply("第6条")])
    assert (refused.value.sent, refused.value.pending) == (0, 1)
    assert h.fake.texts_to(user.user_id) == [f"第{i + 1}条" for i in range(5)]

    # The user writes again: a new window with five more.
    await h.say(user.user_id, "你好")
    sent_before = len(h.fake.sent)
    await notifier.push(user, [Reply("第7条")])
    assert len(h.fake.sent) == sent_before + 1


async def test_wechat_refusing_a_customer_service_message_is_reported(make: Make) -> None:
    h = await make()
    user = UserKey("wechat", "oKepuRefused")
    await h.services.storage.touch_contact(user, dt.datetime.now(dt.UTC))
    h.fake.custom_errors[user.user_id] = 45015  # "response out of time limit"
    with pytest.raises(OutsideWindow):
        await h.services.notifiers["wechat"].push(user, [Reply("提醒")])


async def test_template_messages_and_menu_go_through_the_api(make: Make) -> None:
    h = await make(create_menu=True)
    await h.channel.idle()
    assert [b["key"] for b in h.fake.menus[0]["button"]] == list(wechat_kinds.MENU_KEYS)
    msgid = await h.channel._runtime().api.send_template(
        "oKepuTemplate", "TPL-deadline", {"thing1": "科普微视频大赛", "time2": "10月25日"}, url=PUBLIC
    )
    assert msgid > 0
    [sent] = h.fake.templates
    assert sent["data"]["thing1"] == {"value": "科普微视频大赛"} and sent["url"] == PUBLIC


# --------------------------------------------------------------------------- media


async def reach_video_step(h: Harness, openid: str) -> None:
    chat = h.chat(openid)
    await chat.start()
    text = await chat.say("自荐")
    draft = await chat.draft()
    assert draft is not None
    contest = h.services.contests.get(draft["contest"])
    assert contest is not None
    for field in contest.form(contest.channel(draft["channel"]).forms["work"]).fields:
        text = await chat.say(valid_answer(field, contest))
    assert "请提交参赛视频" in text


@pytest.mark.parametrize("sample", ["video", "shortvideo"])
async def test_a_small_video_is_downloaded_into_a_private_folder(make: Make, sample: str) -> None:
    h = await make()
    openid = "oKepuVideo"
    await reach_video_step(h, openid)
    recorder = h.record()
    content = b"\0\0\0\x18ftypmp42" + b"v" * 4096
    h.fake.media["vid-1"] = Media(
        content, "video/mp4", "../../etc/passwd.mp4", as_video_url=sample == "video"
    )
    delivery = await h.push(h.fake.xml(sample, openid, media_id="vid-1"))
    assert delivery.content is not None and "小于通知规定的100MB" in delivery.content  # the dialog judged it
    [event] = recorder.events
    assert event.kind is EventKind.FILE and event.file is not None
    path = Path(event.file.path)
    assert await asyncio.to_thread(path.read_bytes) == content
    assert path.parent.parent == h.settings.data_dir / "incoming"
    assert path.name == f"{sample}.mp4"  # named by kind: the client's name is never a path
    assert path.parent.stat().st_mode & 0o077 == 0
    assert (event.file.size, event.file.mime, event.file.ref) == (len(content), "video/mp4", "vid-1")
    assert event.file.name == "passwd.mp4"


async def test_a_video_whose_worker_died_while_checking_it_is_handled_by_the_redelivery(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image, video or file used to be claimed on arrival: when the worker checking it died,
    the redelivery found it handled, and the video was lost.  Its claim is taken within the
    user's turn now, pending until the turn ends, as a text message's: another worker handles
    the redelivery once the dead worker's lock has expired."""
    a = await make(backend="redis", lock_timeout=0.5)
    b = await make(backend="redis", lock_timeout=0.5, fake=a.fake)
    openid = "oKepuVideoDied"
    await reach_video_step(b, openid)
    a.fake.media["vid-d"] = Media(b"\0\0\0\x18ftypmp42" + b"v" * 4096, "video/mp4", "work.mp4")
    stopped, resume = asyncio.Event(), asyncio.Event()
    checker = a.services.submit.media_checker
    assert checker is not None

    async def dies(*args: Any, **kwargs: Any) -> Any:  # worker a stops dead while checking
        stopped.set()
        await resume.wait()
        return await checker(*args, **kwargs)

    async def no_renewal(*_: Any) -> None:
        return None

    monkeypatch.setattr(a.services.submit, "media_checker", dies)
    monkeypatch.setattr(a.services.stores.isolation, "_renew", no_renewal)
    xml = a.fake.xml("video", openid, media_id="vid-d")
    dead = asyncio.create_task(a.push(xml))
    try:
        await asyncio.wait_for(stopped.wait(), 10)
        retry = await b.push(xml)  # WeChat's retry, at the other worker: it waits out a's lock
        await b.channel.idle()
        said = [retry.content or "", *a.fake.texts_to(openid)]
        assert any("小于通知规定的100MB" in t for t in said), said  # b judged the video
    finally:
        resume.set()
        await dead
        await a.channel.idle()


async def test_a_video_over_10_mb_is_not_downloaded_and_the_dialog_goes_on(make: Make) -> None:
    h = await make()
    openid = "oKepuBigVideo"
    await reach_video_step(h, openid)
    recorder = h.record()
    size = MEDIA_LIMIT + 1024 * 1024
    h.fake.media["vid-big"] = Media(content_type="video/mp4", filename="big.mp4", size=size)
    delivery = await h.push(h.fake.xml("video", openid, media_id="vid-big"))
    assert delivery.status == 200 and delivery.content is not None
    assert "11.0MB" in delivery.content  # the dialog got the size, and answered on it
    [event] = recorder.events
    assert event.file is not None and event.file.path == "" and event.file.size == size
    assert h.fake.media_served["vid-big"] < size  # the channel stopped reading at the headers
    incoming = h.settings.data_dir / "incoming"
    assert not incoming.exists() or not any(incoming.iterdir())  # its folder was removed too
    draft = await h.chat(openid).draft()
    assert draft is not None and draft["step"] == "video"  # still at the video step
    assert "请核对报名信息" in await h.say(openid, SHARE_LINK)


async def test_an_image_and_a_file_are_downloaded_and_a_failed_download_still_reaches_the_dialog(
    make: Make,
) -> None:
    h = await make()
    openid = "oKepuImage"
    await h.subscribe(openid)
    recorder = h.record()
    h.fake.media["img-1"] = Media(b"\xff\xd8\xff" + b"i" * 100, "image/jpeg", "photo.jpg")
    delivery = await h.push(h.fake.xml("image", openid, media_id="img-1"))
    assert delivery.content is not None and "这里需要输入文字" in delivery.content
    h.fake.media["doc-1"] = Media(b"%PDF-1.7", "application/pdf", "x.pdf")
    await h.push(h.fake.xml("file", openid, media_id="doc-1", title="报名表.pdf", size=8))
    image, document = recorder.events
    assert image.file is not None
    assert (await asyncio.to_thread(Path(image.file.path).read_bytes)).startswith(b"\xff\xd8")
    assert Path(image.file.path).name == "image.jpg"
    assert document.file is not None and document.file.name == "报名表.pdf"
    assert await asyncio.to_thread(Path(document.file.path).read_bytes) == b"%PDF-1.7"


async def test_a_media_download_failure_passes_the_file_without_a_path(make: Make) -> None:
    h = await make()
    openid = "oKepuNoMedia"
    await h.subscribe(openid)
    recorder = h.record()
    h.fake.media["img-2"] = Media(b"x", "image/jpeg", "x.jpg")
    h.fake.fail_token_once = True  # 40164: the server's IP is not whitelisted
    delivery = await h.push(h.fake.xml("image", openid, media_id="img-2"))
    assert delivery.status == 200 and delivery.content is not None
    [event] = recorder.events
    assert event.file is not None and event.file.path == "" and event.file.ref == "img-2"


# --------------------------------------------------------------------------- documents out


async def test_a_document_goes_out_as_a_download_link_that_expires(make: Make) -> None:
    clock = Clock()
    h = await make(clock=clock)
    user = UserKey("wechat", "oKepuDoc")
    await h.services.storage.touch_contact(user, dt.datetime.now(dt.UTC))
    content = b"PK\x03\x04 a docx"
    doc = Document(
        "报名表.docx", content, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    await h.services.notifiers["wechat"].push(user, [Reply("请打印签字后寄回：", document=doc)])
    [text] = h.fake.texts_to(user.user_id)
    assert text.startswith("请打印签字后寄回：") and "「报名表.docx」下载链接" in text
    url = next(line for line in text.splitlines() if line.startswith(PUBLIC))
    path = url.removeprefix(PUBLIC)
    resp = await h.client.get(path)
    assert resp.status == 200 and await resp.read() == content
    assert resp.headers["Content-Type"] == doc.mime
    assert "filename*=UTF-8''%E6%8A%A5%E5%90%8D%E8%A1%A8.docx" in resp.headers["Content-Disposition"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    for wrong in (path[:-1] + ("A" if path[-1] != "A" else "B"), "/wechat/files/..%2F..%2Fkepu.sqlite3"):
        assert (await h.client.get(wrong)).status == 404
    # A reply that is only the file's name becomes the link line alone.
    await h.services.notifiers["wechat"].push(
        user, [Reply("回执.pdf", document=Document("回执.pdf", b"%PDF"))]
    )
    assert h.fake.texts_to(user.user_id)[-1].startswith("「回执.pdf」下载链接")
    clock.offset = dt.timedelta(hours=73)
    assert (await h.client.get(path)).status == 404
    token = path.rsplit("/", 1)[1]
    assert not list((h.settings.data_dir / "outbox").glob(f"{token}.*"))  # the expired file is gone


async def test_a_link_given_before_its_document_is_drawn_serves_it_once_written(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    h = await make(clock=clock)
    notifier = h.services.notifiers["wechat"]
    hand_offs: list[str] = []
    to_thread = asyncio.to_thread

    async def counting(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        hand_offs.append(getattr(fn, "__name__", "?"))
        return await to_thread(fn, *args, **kwargs)

    monkeypatch.setattr(wechat_files.asyncio, "to_thread", counting)
    user = UserKey("wechat", "oKepuAhead")
    planned = h.services.reach.plan_documents(user, [("回执.pdf", "application/pdf")])
    assert planned is not None
    [(doc, place)] = planned
    out = await notifier.compose([Reply("回执.pdf", document=doc)])
    assert hand_offs == []  # the link costs no thread hand-off: nothing is on disk yet
    [text] = out.texts
    assert text.startswith("「回执.pdf」下载链接")
    path = next(line for line in text.splitlines() if line.startswith(PUBLIC)).removeprefix(PUBLIC)
    pending = await h.client.get(path)
    assert pending.status == 404 and "需要几秒钟生成" in await pending.text()
    assert pending.headers["Cache-Control"] == "no-store"
    # What the drawing process does with a Placement: the file, then the metadata.
    await asyncio.to_thread(paperwork_module._place, place, b"%PDF-1.7 receipt")
    assert os.stat(place.path).st_mode & 0o777 == 0o600
    resp = await h.client.get(path)
    assert resp.status == 200 and await resp.read() == b"%PDF-1.7 receipt"
    assert resp.headers["Content-Type"] == "application/pdf"
    clock.offset = dt.timedelta(hours=73)  # the link's own lifetime, as for any document
    assert (await h.client.get(path)).status == 404
    # Users of a channel that pushes documents get none: they are drawn, then sent.
    terminal = UserKey("terminal", "x")
    assert h.services.reach.plan_documents(terminal, [("回执.pdf", "application/pdf")]) is None


async def test_a_form_that_fails_to_draw_after_its_links_were_given_is_reported(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await make()
    chat = h.chat("oKepuDrawFails")
    await fill_until_review(chat, h.services.contests)
    paperwork = h.services.submit.paperwork
    assert paperwork is not None

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the drawing process died")

    monkeypatch.setattr(paperwork, "form_documents", broken)
    done = await chat.say("确认提交")
    assert "提交成功" in done and "几秒钟后即可从下面的链接下载" in done
    await h.services.submit.aclose()
    assert any("报名表暂时没能生成" in t for t in h.fake.texts_to(chat.user.user_id))
    assert len(await h.services.storage.list_submissions(user=chat.user)) == 1  # still submitted


async def test_the_documents_of_one_push_are_stored_in_one_hand_off_and_all_served(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await make()
    user = UserKey("wechat", "oKepuForms")
    await h.services.storage.touch_contact(user, dt.datetime.now(dt.UTC))
    notifier = h.services.notifiers["wechat"]
    hand_offs: list[str] = []
    to_thread = asyncio.to_thread

    async def counting(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__self__", None) is notifier.outbox:
            hand_offs.append(fn.__name__)
        return await to_thread(fn, *args, **kwargs)

    monkeypatch.setattr(wechat_files.asyncio, "to_thread", counting)
    form, note = b"PK\x03\x04 form", b"%PDF note"
    png = b"\x89PNG\r\n\x1a\n" + b"p" * 64
    await notifier.push(
        user,
        [
            Reply("请打印签字：", document=Document("报名表.docx", form, "application/octet-stream")),
            Reply("您的回执：", document=Document("回执.png", png, "image/png")),  # an image, not a link
            Reply("说明.pdf", document=Document("说明.pdf", note, "application/pdf")),
        ],
    )
    assert len(hand_offs) == 1, hand_offs
    [text] = h.fake.texts_to(user.user_id)
    assert text.startswith("请打印签字：\n\n「报名表.docx」下载链接")
    assert "您的回执：\n\n「说明.pdf」下载链接" in text
    urls = [line for line in text.splitlines() if line.startswith(PUBLIC)]
    assert len(urls) == 2
    for url, content in zip(urls, (form, note), strict=True):
        resp = await h.client.get(url.removeprefix(PUBLIC))
        assert resp.status == 200 and await resp.read() == content
    [upload] = h.fake.uploads
    assert upload["content"] == png
    assert [m["msgtype"] for m in h.fake.sent] == ["text", "image"]


async def test_an_image_document_is_uploaded_and_sent_as_an_image(make: Make) -> None:
    h = await make()
    user = UserKey("wechat", "oKepuReceipt")
    await h.services.storage.touch_contact(user, dt.datetime.now(dt.UTC))
    png = b"\x89PNG\r\n\x1a\n" + b"p" * 64
    await h.services.notifiers["wechat"].push(
        user, [Reply("您的回执：", document=Document("回执.png", png, "image/png"))]
    )
    [upload] = h.fake.uploads
    assert (upload["type"], upload["content"], upload["content_type"]) == ("image", png, "image/png")
    kinds = [(m["msgtype"], m.get("image", {}).get("media_id")) for m in h.fake.sent]
    assert kinds == [("text", None), ("image", "up-1")]


# --------------------------------------------------------------------------- lifetime and settings


async def test_a_dialog_still_running_at_shutdown_is_finished_and_delivered(make: Make) -> None:
    h = await make(budget=0.2)
    openid = "oKepuShutdown"
    await h.subscribe(openid)
    h.record(delay=0.5)
    delivery = await h.push(h.fake.text(openid, "2"))
    assert delivery.body == "success"
    await h.client.close()  # the app shuts down while the dialog still runs
    assert len(h.fake.texts_to(openid)) == 1
    assert "请填写「自荐机构（个人）」" in h.fake.texts_to(openid)[0]


def test_create_reads_its_own_settings_and_needs_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name in ("TOKEN", "APP_ID", "APP_SECRET", "AES_KEY"):
        monkeypatch.delenv(f"BOT_WECHAT_{name}", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert create(settings) is None
    monkeypatch.setenv("BOT_WECHAT_TOKEN", TOKEN)
    monkeypatch.setenv("BOT_WECHAT_APP_ID", APP_ID)
    monkeypatch.setenv("BOT_WECHAT_AES_KEY", AES_KEY)
    channel = create(settings)
    assert channel is not None and channel.codec.safe_mode
    assert "kepuToken" not in repr(channel.config)  # secrets stay hidden
    monkeypatch.setenv("BOT_WECHAT_AES_KEY", "too-short")
    with pytest.raises(ValidationError):
        create(settings)
    monkeypatch.delenv("BOT_WECHAT_AES_KEY")
    monkeypatch.setenv("BOT_WECHAT_TOKEN", "a b")
    with pytest.raises(ValidationError):
        create(settings)


# --------------------------------------------------------------------------- text packing


def test_texts_are_packed_in_order_within_the_byte_limit() -> None:
    texts = ["短消息", "科" * 600, "另一条", "长" * 1000]  # 1800 and 3000 bytes
    chunks = pack_texts(texts)
    assert all(len(c.encode()) <= TEXT_LIMIT for c in chunks)
    assert "".join(chunks).replace("\n", "") == "".join(texts)
    assert chunks[0].startswith("短消息\n\n科")
    assert split_text("\n".join("a" * 10), limit=6) == ["a\na\na", "a\na\na", "a\na\na", "a"]


@pytest.mark.parametrize(
    "sample",
    sorted(p.stem for p in FIXTURES.glob("*.xml") if not p.stem.startswith(("hostile", "malformed", "not_"))),
)
def test_pushes_become_the_messages_wechatpy_parse_message_would_make(sample: str) -> None:
    from wechatpy import parse_message

    fake = FakeWechat(TOKEN, APP_ID, APP_SECRET)
    xml = fake.xml(
        sample, "oKepuParse", content="<&>]]>文字", media_id="m-1", title="表.pdf", size=8, key="K", scene="s"
    )
    ours, theirs = to_message(parse_xml(xml.encode())), parse_message(xml)
    assert type(ours) is type(theirs)
    assert ours._data == theirs._data


async def test_old_downloads_and_expired_links_are_swept(tmp_path: Path) -> None:
    old, fresh = new_incoming_dir(tmp_path), new_incoming_dir(tmp_path)
    (old / "video.mp4").write_bytes(b"v")
    long_ago = time.time() - 4 * 86400
    os.utime(old, (long_ago, long_ago))
    assert sweep_incoming(tmp_path, dt.timedelta(days=3)) == 1
    assert not old.exists() and fresh.is_dir()
    clock = Clock()
    outbox = Outbox(tmp_path, dt.timedelta(hours=1), clock=clock)
    kept = await outbox.put(Document("a.pdf", b"a"))
    clock.offset = dt.timedelta(minutes=30)
    newer = await outbox.put(Document("b.pdf", b"b"))
    clock.offset = dt.timedelta(minutes=61)
    assert outbox.sweep() == 1
    assert await outbox.get(kept) is None and await outbox.get(newer) is not None


async def test_expired_retry_claims_are_swept_but_not_on_every_push(tmp_path: Path) -> None:
    """Every push claims its MsgId; the expired claims are deleted by a sweep that runs at most
    once per ``claim_sweep_every`` seconds, not as a second statement of every claim."""
    import sqlite3

    from bot.storage.sqlite.drafts import SqliteStorage

    def keys() -> set[str]:
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            return {k for (k,) in conn.execute("SELECT key FROM claims")}

    store = await SqliteStorage.open(tmp_path / "kepu.sqlite3")
    try:
        store.claim_sweep_every = 3600.0
        assert await store.claim_once("wechat:msg:1", dt.timedelta(milliseconds=5)) is True
        await asyncio.sleep(0.02)  # claim 1 expires
        assert await store.claim_once("wechat:msg:2", dt.timedelta(minutes=5)) is True
        assert await asyncio.to_thread(keys) == {"wechat:msg:1", "wechat:msg:2"}  # not swept yet
        assert await store.claim_once("wechat:msg:2", dt.timedelta(minutes=5)) is False  # a retry
        store.claim_sweep_every = 0.0  # the interval has passed
        assert await store.claim_once("wechat:msg:3", dt.timedelta(minutes=5)) is True
        assert await asyncio.to_thread(keys) == {"wechat:msg:2", "wechat:msg:3"}
        # An expired claim is taken over by its key whether or not it was swept.
        assert await store.claim_once("wechat:msg:1", dt.timedelta(minutes=5)) is True
    finally:
        await store.close()


async def test_a_drawn_document_is_linked_into_the_outbox_not_copied(tmp_path: Path) -> None:
    """A form the drawing process left as a file becomes a download link to the same bytes,
    which outlive the drawing folder's sweep of the original."""
    drawn = tmp_path / "drawn" / "form.pdf"
    drawn.parent.mkdir()
    drawn.write_bytes(b"%PDF-1.7 drawn")
    drawn.chmod(0o600)
    outbox = Outbox(tmp_path, dt.timedelta(hours=1))
    token = await outbox.put(Document("报名表.pdf", mime="application/pdf", path=str(drawn)))
    entry = await outbox.get(token)
    assert entry is not None and entry.filename == "报名表.pdf"
    assert entry.path.stat().st_ino == drawn.stat().st_ino  # one file, two names
    assert entry.path.stat().st_mode & 0o777 == 0o600
    drawn.unlink()  # swept from the drawing folder
    assert entry.path.read_bytes() == b"%PDF-1.7 drawn"
