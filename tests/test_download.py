"""A direct link's whole video fetched for the content checks (attack review L3): a body shorter
than the server announced is refused, and download folders left by a dead process are swept."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from validators.download import fetched_video

BODY = bytes(range(256)) * 4  # 1024 bytes: "the video"


def _app() -> web.Application:
    async def whole(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="video/mp4")

    async def ranged(request: web.Request) -> web.Response:
        headers = {"Content-Range": f"bytes 0-{len(BODY) - 1}/{len(BODY)}"}
        return web.Response(status=206, body=BODY, headers=headers, content_type="video/mp4")

    async def short(request: web.Request) -> web.Response:
        # Asked for the whole file, sends the first 100 bytes and says so: a partial answer.
        headers = {"Content-Range": f"bytes 0-99/{len(BODY)}"}
        return web.Response(status=206, body=BODY[:100], headers=headers, content_type="video/mp4")

    async def late(request: web.Request) -> web.Response:
        headers = {"Content-Range": f"bytes 500-{len(BODY) - 1}/{len(BODY)}"}
        return web.Response(status=206, body=BODY[500:], headers=headers, content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/whole.mp4", whole)
    app.router.add_get("/ranged.mp4", ranged)
    app.router.add_get("/short.mp4", short)
    app.router.add_get("/late.mp4", late)
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    async with TestServer(_app(), host="127.0.0.1") as running:
        yield running


async def fetch(url: str, tmp_dir: Path) -> bytes | str:
    async with (
        aiohttp.ClientSession() as session,
        fetched_video(
            url, session=session, max_bytes=1 << 20, timeout=30, allow_private=True, tmp_dir=tmp_dir
        ) as got,
    ):
        return got if isinstance(got, str) else got.read_bytes()


async def test_a_whole_body_is_fetched_whether_sent_whole_or_as_one_range(
    server: TestServer, tmp_path: Path
) -> None:
    assert await fetch(str(server.make_url("/whole.mp4")), tmp_path) == BODY
    assert await fetch(str(server.make_url("/ranged.mp4")), tmp_path) == BODY
    assert list(tmp_path.iterdir()) == []  # removed once the context closed


async def test_a_short_or_late_range_answer_is_refused(server: TestServer, tmp_path: Path) -> None:
    short = await fetch(str(server.make_url("/short.mp4")), tmp_path)
    assert isinstance(short, str) and "下载不完整" in short and "1.0 MB" not in short
    assert "收到 100 字节，应为 1024 字节" in short
    late = await fetch(str(server.make_url("/late.mp4")), tmp_path)
    assert isinstance(late, str) and "不是从文件开头开始" in late


async def _raw_server(response: bytes) -> tuple[asyncio.Server, str]:
    """A server that answers every request with ``response`` as it is, then hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response)
        await writer.drain()
        writer.close()

    raw = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    return raw, f"http://127.0.0.1:{port}/v.mp4"


async def test_a_body_cut_short_of_its_content_range_is_refused(tmp_path: Path) -> None:
    # No Content-Length: the body ends when the connection closes, half-way through the range.
    head = f"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-{len(BODY) - 1}/{len(BODY)}\r\n"
    raw, url = await _raw_server(f"{head}Connection: close\r\n\r\n".encode() + BODY[:512])
    async with raw:
        got = await fetch(url, tmp_path)
    assert isinstance(got, str) and "收到 512 字节，应为 1024 字节" in got


async def test_a_body_cut_short_of_its_content_length_is_refused(tmp_path: Path) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\nConnection: close\r\n\r\n"
    raw, url = await _raw_server(head.encode() + BODY[:512])
    async with raw:
        got = await fetch(url, tmp_path)
    assert isinstance(got, str) and "视频文件" in got


async def test_folders_left_by_a_dead_download_are_swept_when_the_next_starts(
    server: TestServer, tmp_path: Path
) -> None:
    old = tmp_path / "kepu-fetch-dead"
    old.mkdir()
    (old / "video").write_bytes(b"half a video")
    hour_ago = time.time() - 3600
    for path in (old / "video", old):
        os.utime(path, (hour_ago, hour_ago))
    fresh = tmp_path / "kepu-fetch-live"  # another download, still running
    fresh.mkdir()
    (fresh / "video").write_bytes(b"arriving")
    mine = tmp_path / "something-else"  # not ours
    mine.mkdir()
    os.utime(mine, (hour_ago, hour_ago))
    assert await fetch(str(server.make_url("/whole.mp4")), tmp_path) == BODY  # budget: 30 s
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kepu-fetch-live", "something-else"]
