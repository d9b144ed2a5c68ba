"""Faults on the Telegram webhook path: a restart, and ``serve`` killed with SIGKILL while it
answers, then the very update redelivered, as Telegram does when it got no 200.  On SQLite and
on real Redis.

The kill tests run the real ``serve`` (``bot.cli.main(["serve"])``, forked with its imports
done: ``tests/forked.py``) as a child process, configured from the environment as in
production, against the fake Bot API server of ``tests/fakes/telegram_api.py``.
The fake's ``sendMessage`` is slowed down so that the kill lands while the reply goes out:
after the store has the answer, before Telegram has its 200.  Each checks that the answer was
applied once, the submission stored once with one number, nothing lost, and that the entrant
is told where they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.settings import Settings
from bot.storage import choose_backend
from contests.ports import Storage
from contests.records import UserKey
from contests.rules import Contest
from tests.conftest import REDIS_URL, drop_redis_prefix, valid_answer, write_open_edition
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.forked import Forked, start_serve
from tests.test_telegram import SECRET, SHARE_LINK, WEBHOOK_URL, running

ROOT = Path(__file__).resolve().parents[1]
SLOW_SEND = 0.5  # seconds the fake takes per sendMessage while the kill is aimed
SERVE_START = 60.0  # seconds a cold ``serve`` may take to listen (imports aiogram, jinja…)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.close()
    server.assert_clean()


@dataclass
class Backend:
    """Where a test's data lives: an SQLite folder, or a Redis prefix of its own."""

    data_dir: Path
    redis_url: str | None
    prefix: str
    contest: Contest

    def settings(self) -> Settings:
        return Settings(
            _env_file=None,
            data_dir=self.data_dir,
            contests_dir=self.data_dir / "contests",
            redis_url=self.redis_url,
            redis_prefix=self.prefix,
        )


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    contest = write_open_edition(tmp_path / "contests")
    url = REDIS_URL if request.param == "redis" else None
    found = Backend(tmp_path, url, f"kepu-test-fault-{uuid.uuid4().hex[:12]}", contest)
    yield found
    if url:
        await drop_redis_prefix(found.prefix)


# ---------------------------------------------------------------------------- a plain restart
async def test_a_redelivered_update_after_a_restart_is_processed_once(
    backend: Backend, fake: FakeTelegram
) -> None:
    """Telegram redelivers an update whose webhook call got no 200; after a restart the process
    remembers nothing of it, so only the store can tell that it was handled."""
    settings = backend.settings()
    async with running(settings, fake) as run:
        user = run.user(821)
        await user.say("/start")
        await user.press_label("社会征集（自荐）")
        answer = fake.text(user.id, "某某科普中心")
        await user.send(answer)
        before = await user.draft()
        assert before is not None and len(before["answers"]) == 1
    async with running(settings, fake) as run:  # restarted: the same store, nothing else kept
        user = run.user(821)
        again = await user.send(answer)
        assert await user.draft() == before, "the redelivered answer was applied again"
        # The entrant hears where they are, as the lost reply would have told them.
        assert "上一条消息已收到" in again and "已填写：1/14 项" in again
        assert "已填写：1/14 项" in await user.say("/status")


async def test_a_redelivered_cancel_after_a_restart_starts_no_new_draft(
    backend: Backend, fake: FakeTelegram
) -> None:
    """Handled again, the press of 确认取消 would meet no draft and start a new one."""
    settings = backend.settings()
    async with running(settings, fake) as run:
        user = run.user(822)
        await user.say("/start")
        await user.press_label("社会征集（自荐）")
        await user.say("/cancel")
        data = next(d for label, d in fake.last_keyboard(user.id) if label.startswith("确认取消"))
        press = fake.press(user.id, data)
        assert "已取消" in await user.send(press)
        assert await user.draft() is None
    async with running(settings, fake) as run:
        user = run.user(822)
        fake.callback_ids[press["callback_query"]["id"]] = False  # see the mid-confirm test
        again = await user.send(press)
        assert "上一条消息已收到" in again and "/start" in again
        assert await user.draft() is None, "the redelivered press started a new draft"


# ---------------------------------------------------------------------------- kill -9 of serve
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Serve:
    """``python -m bot serve`` as a child process, started, SIGKILLed and started again on
    the same data."""

    backend: Backend
    fake: FakeTelegram
    log: Path
    port: int = field(default_factory=_free_port)
    proc: Forked | None = None
    http: aiohttp.ClientSession | None = None
    starts: int = 0

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        env.update(
            PYTHONPATH=str(ROOT),
            BOT_DATA_DIR=str(self.backend.data_dir),
            BOT_CONTESTS_DIR=str(self.backend.data_dir / "contests"),
            BOT_REDIS_PREFIX=self.backend.prefix,
            BOT_HTTP_HOST="127.0.0.1",
            BOT_HTTP_PORT=str(self.port),
            BOT_LOG_LEVEL="INFO",
            BOT_TELEGRAM_TOKEN=TOKEN,
            BOT_TELEGRAM_MODE="webhook",
            BOT_TELEGRAM_API_SERVER=self.fake.url,
            BOT_TELEGRAM_WEBHOOK_URL=WEBHOOK_URL,
            BOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
        )
        if self.backend.redis_url:
            env["BOT_REDIS_URL"] = self.backend.redis_url
        return env

    async def start(self) -> None:
        assert self.proc is None or self.proc.returncode is not None
        self.starts += 1
        self.fake.webhook = None
        with self.log.open("ab") as out:
            out.write(f"---- start {self.starts}\n".encode())
            out.flush()
        # Forked with serve's imports done (tests/forked.py); in the data folder: a developer's
        # .env in the checkout must not add channels.
        self.proc = await start_serve(self.backend.data_dir, self.environ(), self.log, new_session=True)
        if self.http is None:
            self.http = aiohttp.ClientSession()
        # The webhook is set before the port listens (the channel starts with the app).
        async with asyncio.timeout(SERVE_START):
            while True:
                self._check_alive()
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with self.http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200 and self.fake.webhook is not None:
                            return
                await asyncio.sleep(0.05)

    def _check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is not None:
            raise AssertionError(f"serve ended with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")

    async def kill(self) -> None:
        """SIGKILL, as ``kill -9`` or the OOM killer would: no shutdown code runs."""
        assert self.proc is not None
        self._check_alive()
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        assert self.proc.returncode == -signal.SIGKILL
        self._reap()
        if self.backend.redis_url:
            # The dead worker's user lock expires 60 s later (RedisIsolation's timeout), and a
            # redelivery waits for it, as it must for a worker that is only slow: the wait is
            # skipped here by dropping what would expire.
            client = aioredis.from_url(self.backend.redis_url)
            try:
                locks = [k async for k in client.scan_iter(match=f"{self.backend.prefix}:lock:*")]
                if locks:
                    await client.delete(*locks)
            finally:
                await client.aclose()

    def _reap(self) -> None:
        # The process that draws the forms is serve's child; it ends on its own once its pipe
        # closes, but must not outlive the test.
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        if self.proc is not None:
            if self.proc.returncode is None:
                self.proc.send_signal(signal.SIGKILL)
                await self.proc.wait()
            self._reap()
        if self.http is not None:
            await self.http.close()

    async def post(self, update: dict[str, Any]) -> int:
        """Deliver ``update`` as Telegram does; the webhook answers once the replies went out."""
        assert self.http is not None
        url = f"http://127.0.0.1:{self.port}/telegram"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.http.post(url, json=update, headers=headers) as resp:
            await resp.read()
            return resp.status

    async def send(self, user_id: int, update: dict[str, Any]) -> str:
        """Post ``update``; the texts sent to the user meanwhile, joined."""
        before = len(self.fake.sent(user_id))
        assert await self.post(update) == 200
        return "\n".join(self.fake.texts(user_id)[before:])

    async def press_label(self, user_id: int, label: str) -> tuple[dict[str, Any], str]:
        buttons = self.fake.last_keyboard(user_id)
        data = next((d for text, d in buttons if text.startswith(label)), None)
        assert data is not None, f"no button {label!r} in {buttons}"
        update = self.fake.press(user_id, data)
        return update, await self.send(user_id, update)

    async def kill_while_replying(self, user_id: int, update: dict[str, Any]) -> None:
        """Deliver ``update`` and SIGKILL serve while its first reply is on the wire; the
        delivery then fails, as Telegram would see it."""
        before = len(self.fake.sent(user_id))
        self.fake.send_latency = SLOW_SEND
        delivery = asyncio.create_task(self.post(update))
        try:
            # Polled, not fake.wait_for: that wakes when a call is answered, past the moment.
            async with asyncio.timeout(30):
                while len(self.fake.sent(user_id)) == before:
                    self._check_alive()
                    await asyncio.sleep(0.005)
            await self.kill()
        finally:
            self.fake.send_latency = 0.0
            with contextlib.suppress(aiohttp.ClientError):
                await delivery
        assert delivery.exception() is not None or delivery.result() != 200, "the delivery got its 200"


@pytest.fixture
async def serve(backend: Backend, fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[Serve]:
    server = Serve(backend, fake, tmp_path / "serve.log")
    try:
        yield server
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def store(backend: Backend) -> AsyncIterator[Storage]:
    """The store serve uses, opened by the test (as an operator's CLI would)."""
    storage, isolation = await choose_backend(
        data_dir=backend.data_dir, redis_url=backend.redis_url, redis_prefix=backend.prefix
    ).open_storage()
    try:
        yield storage
    finally:
        await isolation.close()
        await storage.close()


async def test_serve_killed_mid_answer_fills_the_field_once_after_the_redelivery(
    backend: Backend, fake: FakeTelegram, serve: Serve
) -> None:
    uid, key = 831, UserKey("telegram", "831")
    first, second = backend.contest.form("self").fields[:2]
    await serve.start()
    assert "请选择参赛渠道" in await serve.send(uid, fake.text(uid, "/start"))
    _, text = await serve.press_label(uid, "社会征集（自荐）")
    assert f"「{first.label}」" in text
    answer = fake.text(uid, "某某科普中心")
    await serve.kill_while_replying(uid, answer)
    async with store(backend) as storage:
        saved = await storage.get_draft(key)
    assert saved is not None and saved.data["answers"] == {first.id: "某某科普中心"}

    await serve.start()
    again = await serve.send(uid, answer)  # Telegram's redelivery of the same update
    assert "上一条消息已收到" in again and "已填写：1/14 项" in again and f"「{second.label}」" in again
    async with store(backend) as storage:
        after = await storage.get_draft(key)
    assert after is not None and (after.version, after.data) == (saved.version, saved.data)
    status = await serve.send(uid, fake.text(uid, "/status"))
    assert "已填写：1/14 项" in status  # the answer counts once
    text = await serve.send(uid, fake.text(uid, valid_answer(second, backend.contest)))
    assert f"「{second.label}」" not in text  # and the dialog goes on from there


async def test_serve_killed_mid_confirm_stores_one_submission_after_the_redelivery(
    backend: Backend, fake: FakeTelegram, serve: Serve
) -> None:
    uid, key = 832, UserKey("telegram", "832")
    contest = backend.contest
    await serve.start()
    await serve.send(uid, fake.text(uid, "/start"))
    _, text = await serve.press_label(uid, "社会征集（自荐）")
    for question in contest.form("self").fields:
        assert f"「{question.label}」" in text, text
        text = await serve.send(uid, fake.text(uid, valid_answer(question, contest)))
    assert "请核对报名信息" in await serve.send(uid, fake.text(uid, SHARE_LINK))
    async with store(backend) as storage:
        review = await storage.get_draft(key)
    assert review is not None
    data = next(d for label, d in fake.last_keyboard(uid) if label == "确认提交")
    confirm = fake.press(uid, data)
    await serve.kill_while_replying(uid, confirm)
    number = f"{contest.number_prefix}-000001"
    async with store(backend) as storage:
        stored = await storage.list_submissions(user=key)
    assert [s.number for s in stored] == [number]

    await serve.start()
    # Telegram accepts an answer to a query until it is old; an old one is refused, which the
    # bot logs and goes on.  Either way the update itself is what matters here.
    fake.callback_ids[confirm["callback_query"]["id"]] = False
    again = await serve.send(uid, confirm)
    assert "上一条消息已收到" in again and number in again
    async with store(backend) as storage:
        after = await storage.list_submissions(user=key)
        everyone = await storage.list_submissions(contest_id=contest.id)
        draft = await storage.get_draft(key)
    assert [s.number for s in after] == [number] and len(everyone) == 1, "submitted twice"
    assert after[0].answers == review.data["answers"] and after[0].status == "submitted"  # nothing lost
    assert draft is not None and draft.data["number"] == number  # waiting for the signed form
