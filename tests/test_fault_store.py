"""The Redis store vanishing under the running service, and missing at its start.

Redis is reached through a TCP proxy that the test owns (an asyncio server forwarding to
127.0.0.1:6379): stopping it refuses new connections and cuts the open ones, as a Redis
restart or a network fault does; starting it again on the same port brings the store back.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.keys import SERVICES
from bot.settings import Settings
from bot.settings_remind import RemindSettings
from bot.storage.base import session_hash
from bot.web.upload_links import UploadSettings
from contests.records import UserKey
from tests.conftest import OPEN_ID, drop_redis_prefix, valid_answer, write_open_edition

REDIS = ("127.0.0.1", 6379)
BUSY = "系统繁忙，请稍后再试"


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to Redis until :meth:`stop`; :meth:`start` again reopens
    the same port."""

    def __init__(self, upstream: tuple[str, int] = REDIS) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut every open one, then wait for their handlers."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._connections:
            await asyncio.wait(set(self._connections))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            self._writers.add(up_writer)
            try:
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
            finally:
                self._writers.discard(up_writer)
                up_writer.close()
        finally:
            self._writers.discard(writer)
            writer.close()
            self._connections.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(64 * 1024):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass  # the other side was cut: this direction ends too
        finally:
            writer.transport.abort()  # so that the opposite pipe's read ends as well


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    p = TcpProxy()
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"kepu-test-fault-{uuid.uuid4().hex[:12]}"
    yield name
    await drop_redis_prefix(name)


class Browser:
    """The web chat as a page would use it: the client's cookie jar and the page's CSRF token."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.csrf = ""

    async def open(self) -> None:
        page = await self.client.get("/chat")
        assert page.status == 200
        found = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', await page.text())
        assert found is not None
        self.csrf = found.group(1)

    async def send(self, **body: Any) -> tuple[int, dict[str, Any]]:
        resp = await self.client.post("/chat/api/send", json=body, headers={"X-CSRF-Token": self.csrf})
        return resp.status, await resp.json()

    async def user(self) -> UserKey:
        cookie = self.client.session.cookie_jar.filter_cookies(self.client.make_url("/chat"))["kepu_chat"]
        user = await self.client.app[SERVICES].storage.session_user(session_hash(cookie.value))
        assert user is not None
        return user


async def test_the_store_vanishing_mid_run_is_reported_and_nothing_is_lost(
    tmp_path: Path, proxy: TcpProxy, prefix: str
) -> None:
    contest = write_open_edition(tmp_path / "contests")
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        contests_dir=tmp_path / "contests",
        redis_url=proxy.url,
        redis_prefix=prefix,
    )
    app = create_app(
        settings,
        channels=[],
        upload_settings=UploadSettings(_env_file=None, secret="fault-test-secret-" + "0" * 32),
        # The delivery worker runs too: it must ride out the outage as well.
        remind_settings=RemindSettings(_env_file=None, poll_interval=0.05),
    )
    fields = contest.form(contest.channel("self").forms["work"]).fields
    async with TestClient(TestServer(app)) as client:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["store"] == "ok"
        me = Browser(client)
        await me.open()
        assert (await me.send(start=True))[0] == 200
        assert (await me.send(text="自荐"))[0] == 200
        for field in fields[:2]:
            status, body = await me.send(text=valid_answer(field, contest))
            assert status == 200, body
        user = await me.user()
        before = await app[SERVICES].storage.get_draft(user)
        assert before is not None and before.data["contest"] == OPEN_ID
        assert set(before.data["answers"]) == {fields[0].id, fields[1].id}

        await proxy.stop()
        health = await client.get("/healthz")
        report = await health.json()
        assert health.status == 503, report
        assert report["status"] == report["store"] == "unavailable" and report["storage"] == "redis"
        assert report["error"] == "store_unavailable" and report["message"]
        for _ in range(5):  # an entrant trying again and again while the store is away
            status, body = await me.send(text=valid_answer(fields[2], contest))
            assert status == 503, body
            assert body["error"] == "store_unavailable" and BUSY in body["message"]
        poll = await client.get("/chat/api/poll")
        assert poll.status == 503 and poll.headers["Retry-After"]
        assert (await poll.json())["error"] == "store_unavailable"

        await proxy.start()
        health = await client.get("/healthz")
        assert health.status == 200, await health.text()
        assert (await health.json())["store"] == "ok"
        after = await app[SERVICES].storage.get_draft(user)
        assert after is not None and after.data == before.data  # the refused answers wrote nothing
        status, body = await me.send(text=valid_answer(fields[2], contest))
        assert status == 200, body
        assert f"「{fields[3].label}」" in body["replies"][-1]["text"]
        now = await app[SERVICES].storage.get_draft(user)
        assert now is not None
        assert now.data["answers"] == {
            **before.data["answers"],
            fields[2].id: now.data["answers"][fields[2].id],
        }


@pytest.mark.parametrize("command", [["serve"], ["chat", "--user", "x"]])
async def test_a_store_missing_at_start_is_one_clear_line_and_exit_1(
    tmp_path: Path, proxy: TcpProxy, command: list[str]
) -> None:
    await proxy.stop()  # the port is known and nothing listens on it
    secret = "pw-" + uuid.uuid4().hex
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    environ |= {
        "BOT_DATA_DIR": str(tmp_path),
        "BOT_REDIS_URL": f"redis://:{secret}@127.0.0.1:{proxy.port}/0",
        "BOT_HTTP_PORT": str(proxy.port),  # free too; serve must not get as far as listening
        "BOT_REMIND_WORKER": "false",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *command],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "WARNING" not in line]
    assert lines == [f"无法连接存储 redis://:***@127.0.0.1:{proxy.port}/0: Connection refused"]
    assert secret not in result.stderr + result.stdout
    assert not (tmp_path / "kepu.sqlite3").exists()  # no silent fall-back to another store
