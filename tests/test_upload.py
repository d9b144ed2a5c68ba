"""The large-file upload page and the web chat, end to end over HTTP on the real app.

The app is ``create_app(settings, channels=[])``, which mounts the pages, a real SQLite
store, real MP4s made by ffmpeg and the real media check; the only fake is the chat
platform's side, a notifier for channel "test" that records what it is asked to push.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import re
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

import bot.web.upload_disk as upload_disk
from bot.app import create_app
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from bot.storage.base import session_hash
from bot.web import UPLOAD_PAGES, UPLOADS, WEB_CHAT
from bot.web.upload import display_name
from bot.web.upload_links import UploadService, UploadSettings, load_or_create_secret
from bot.web.upload_writer import ChunkWriter
from contests.editions import new_edition
from contests.events import Document, EventKind, Incoming, Reply
from contests.org import Role
from contests.records import Draft, UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.rules import Contest
from dialogs.states import Step
from handlers.admin.invites import IssuedInvite
from tests.conftest import valid_answer
from tests.media_factory import MediaFactory, Video
from validators.hashing import StreamingHash
from validators.media import check_video

CONTEST_ID = "kp-2099-upload"
# A test key, passed explicitly: the service has no default secret.
SECRET = "test-upload-secret-0123456789abcdef0123456789"
CHUNK = 256 * 1024


# --------------------------------------------------------------------------- videos and contest


@dataclass(frozen=True)
class Videos:
    good: bytes  # 1920×1080 H.264 + AAC, 4 s, ~1.8 MB: passes the test contest's spec
    bad: bytes  # 1280×720, 3 s, ~1 MB: fails its resolution check


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    return MediaFactory(tmp_path_factory.mktemp("upload-media"))


@pytest.fixture(scope="session")
def videos(media: MediaFactory) -> Videos:
    # A constant bit rate, so that the files span several chunks and clear the minimum size.
    good = media.video(Video(seconds=4, bitrate="3M"))
    bad = media.video(Video(width=1280, height=720, seconds=3, bitrate="2M"))
    return Videos(good=good.read_bytes(), bad=bad.read_bytes())


def write_contest(folder: Path) -> Contest:
    """Next year's edition of the 2024 contest, open now, with small size and duration limits so
    that test videos stay small; every other rule (MP4, 1080p, 16:9, sound) is the notice's."""
    source = ContestRegistry.load().get("most-cas-2024-kepu")
    assert source is not None
    today = dt.date.today()
    data = new_edition(source, CONTEST_ID, today + dt.timedelta(days=60), opens=today - dt.timedelta(days=1))
    data["video"].update(min_duration_s=2, max_duration_s=10, min_size_mib=0.25, max_size_mib=4)
    return dump_contest(data, folder / f"{CONTEST_ID}.yaml")


# --------------------------------------------------------------------------- the app


class RecordingNotifier:
    """The chat platform of channel "test": records pushes; a push to anyone else fails the test."""

    def __init__(self) -> None:
        self.pushes: list[tuple[UserKey, list[Reply]]] = []

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        assert user.channel == "test", f"push to {user} through the test channel"
        self.pushes.append((user, replies))


def make_settings(root: Path) -> Settings:
    return Settings(_env_file=None, data_dir=root / "data", contests_dir=root / "contests")  # type: ignore[call-arg]


def make_upload_settings(**values: Any) -> UploadSettings:
    return UploadSettings(_env_file=None, secret=SECRET, **values)  # type: ignore[call-arg]


def build_app(settings: Settings, notifier: RecordingNotifier, **upload: Any) -> web.Application:
    app = create_app(settings, channels=[], upload_settings=make_upload_settings(**upload))

    async def wiring(app: web.Application) -> AsyncIterator[None]:
        svc = app[SERVICES]
        # services() wires the real media check and the video folder; the tests rely on both.
        assert svc.submit.media_checker is check_video
        assert svc.submit.video_dir == settings.data_dir / "videos"
        svc.reach.register("test", notifier)  # the chat platform of the "test" channel
        yield

    app.cleanup_ctx.append(wiring)
    return app


@dataclass
class Env:
    client: TestClient[web.Request, web.Application]
    settings: Settings
    notifier: RecordingNotifier
    contest: Contest
    root: Path

    @property
    def app(self) -> web.Application:
        return self.client.app  # type: ignore[return-value]

    @property
    def svc(self) -> Services:
        return self.app[SERVICES]

    @property
    def uploads(self) -> UploadService:
        return self.app[UPLOADS]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    contest = write_contest(tmp_path / "contests")
    settings = make_settings(tmp_path)
    notifier = RecordingNotifier()
    async with TestClient(TestServer(build_app(settings, notifier))) as client:
        yield Env(client, settings, notifier, contest, tmp_path)


# --------------------------------------------------------------------------- dialog and protocol helpers


async def say(env: Env, user: UserKey, text: str) -> list[Reply]:
    return await env.svc.submit.handle(Incoming(user, EventKind.TEXT, text=text))


async def to_video_step(env: Env, user: UserKey) -> None:
    """Answer every question of the test contest (self-nominated) up to the video."""
    await env.svc.submit.handle(Incoming(user, EventKind.START))
    await say(env, user, "自荐")
    form = env.contest.form(env.contest.channel("self").forms["work"])
    replies: list[Reply] = []
    for field in form.fields:
        replies = await say(env, user, valid_answer(field, env.contest))
    assert "请提交参赛视频" in replies[-1].text


async def upload_link(env: Env, user: UserKey) -> str:
    """Ask the dialog for the link, as an entrant types it; returns its path."""
    replies = await say(env, user, "上传")
    url = replies[-1].meta["upload_url"]
    assert "专属上传链接" in replies[-1].text and url in replies[-1].text
    assert url.startswith(env.uploads.base_url + "/upload/")
    return urlsplit(url).path


async def start(env: Env, path: str, data: bytes, name: str = "作品.mp4", modified: int = 1) -> int:
    resp = await env.client.post(
        f"{path}/start", json={"name": name, "size": len(data), "last_modified": modified}
    )
    body = await resp.json()
    assert resp.status == 200, body
    return int(body["offset"])


async def put(env: Env, path: str, data: bytes, begin: int, end: int) -> tuple[int, dict[str, Any]]:
    resp = await env.client.put(
        f"{path}/chunk",
        data=data[begin:end],
        headers={"Content-Range": f"bytes {begin}-{end - 1}/{len(data)}"},
    )
    return resp.status, await resp.json()


async def send_all(env: Env, path: str, data: bytes, offset: int, chunk: int = CHUNK) -> None:
    while offset < len(data):
        status, body = await put(env, path, data, offset, min(offset + chunk, len(data)))
        assert status == 200, body
        offset = body["offset"]
    assert offset == len(data)


async def finish(env: Env, path: str) -> tuple[int, dict[str, Any]]:
    resp = await env.client.post(f"{path}/finish")
    return resp.status, await resp.json()


async def upload(env: Env, path: str, data: bytes, name: str = "作品.mp4") -> dict[str, Any]:
    await send_all(env, path, data, await start(env, path, data, name))
    status, result = await finish(env, path)
    assert status == 200, result
    return result


async def status_of(env: Env, path: str) -> tuple[int, dict[str, Any]]:
    resp = await env.client.get(f"{path}/status")
    return resp.status, await resp.json()


async def draft(env: Env, user: UserKey) -> dict[str, Any]:
    d = await env.svc.storage.get_draft(user)
    assert d is not None
    return d.data


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def until_free(env: Env, path: str, data: bytes) -> int:
    """The server's offset once the link's upload lock is free again (a torn request ends
    asynchronously); ``start`` answers 409 busy meanwhile."""
    async with asyncio.timeout(10):
        while True:
            resp = await env.client.post(
                f"{path}/start", json={"name": "作品.mp4", "size": len(data), "last_modified": 1}
            )
            body = await resp.json()
            if resp.status == 200:
                return int(body["offset"])
            assert body["error"] == "busy", body
            await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- the whole path


async def test_upload_completes_the_dialog_and_the_report_is_pushed_to_the_chat(
    env: Env, videos: Videos
) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    spare = await upload_link(env, alice)
    path = await upload_link(env, alice)

    page = await env.client.get(path)
    html = await page.text()
    assert page.status == 200
    assert '<html lang="zh-CN">' in html and "上传参赛视频" in html and env.contest.title in html
    assert "文件大小：0.25MB～4MB" in html  # the notice's range, in its own words
    assert 'src="/web/static/upload.js"' in html and "https://" not in html  # no CDN
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert (await env.client.get("/web/static/upload.js")).status == 200

    data = videos.good
    assert len(data) > 4 * CHUNK  # several chunks
    assert await start(env, path, data, name="我的作品.mp4") == 0
    status, body = await put(env, path, data, 0, CHUNK)
    assert (status, body["offset"], body["complete"]) == (200, CHUNK, False)
    code, st = await status_of(env, path)
    assert (code, st["state"], st["offset"], st["size"], st["name"]) == (
        200, "uploading", CHUNK, len(data), "我的作品.mp4"
    )  # fmt: skip
    await send_all(env, path, data, CHUNK)
    status, result = await finish(env, path)

    sha = hashlib.sha256(data).hexdigest()
    assert status == 200, result
    assert result["ok"] is True and result["pushed"] is True and result["replies"] == []
    assert result["sha256"] == sha and result["size"] == len(data)
    assert result["verdict"].startswith("✅ 视频检查通过")
    # The report and the next question arrived in alice's chat, once.
    [(user, replies)] = env.notifier.pushes
    assert user == alice
    assert replies[0].meta["media_ok"] == "True" and "✓ 分辨率 1920×1080" in replies[0].text
    assert "请核对报名信息" in replies[-1].text and replies[-1].choices
    state = await draft(env, alice)
    assert state["step"] == Step.REVIEW
    assert state["video"]["sha256"] == sha and state["video"]["name"] == "我的作品.mp4"
    kept = env.settings.data_dir / "videos" / f"{sha}.mp4"
    assert state["video"]["stored"] == str(kept) and kept.read_bytes() == data
    # Our copy went once the handler kept the video under its hash; the result stays.
    folder = env.uploads.root / env.uploads.verify(path.rsplit("/", 1)[1]).token_id
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "result.json"]

    # The link is spent: the page says so and shows the verdict; the API refuses.
    again = await env.client.get(path)
    assert again.status == 410
    text = await again.text()
    assert "链接已使用" in text and "视频检查通过" in text and sha in text
    code, st = await status_of(env, path)
    assert (code, st["state"], st["result"]["sha256"]) == (200, "done", sha)
    assert (await env.client.post(f"{path}/start", json={"size": 1})).status == 410
    assert (await put(env, path, data, 0, CHUNK))[0] == 410
    assert (await finish(env, path))[0] == 410

    # alice confirms in her chat: the submission carries the checked video.
    done = await say(env, alice, "确认提交")
    assert any("提交成功！报名编号" in r.text for r in done)
    [sub] = await env.svc.storage.list_submissions(user=alice)
    assert sub.video["sha256"] == sha and sub.video["checked"] is True
    # A second link asked for before confirming is no use once the entry is submitted.
    assert (await draft(env, alice))["step"] == Step.SCAN
    late = await env.client.get(spare)
    assert late.status == 409 and "没有找到报名草稿" in await late.text()


async def test_a_video_that_fails_the_check_leaves_the_draft_at_the_video_step(
    env: Env, videos: Videos
) -> None:
    bob = UserKey("test", "bob")
    await to_video_step(env, bob)
    result = await upload(env, await upload_link(env, bob), videos.bad)
    assert result["ok"] is False
    assert "✗ 分辨率 1280×720" in result["verdict"]
    [(_user, replies)] = env.notifier.pushes
    assert replies[0].meta["media_ok"] == "False"
    state = await draft(env, bob)
    assert state["step"] == Step.VIDEO and not state.get("video")
    # A refused file is not kept anywhere.
    assert not (env.settings.data_dir / "videos").exists() or not any(
        (env.settings.data_dir / "videos").iterdir()
    )
    assert not list(env.uploads.root.rglob("*.mp4")) and not list(env.uploads.root.rglob("*.part"))


async def test_without_a_notifier_for_the_channel_the_page_shows_the_replies(
    env: Env, videos: Videos
) -> None:
    carol = UserKey("terminal", "carol")  # no notifier registered for "terminal"
    await to_video_step(env, carol)
    result = await upload(env, await upload_link(env, carol), videos.good)
    assert result["pushed"] is False and result["ok"] is True
    texts = [r["text"] for r in result["replies"]]
    assert texts[0].startswith("✅ 视频检查通过") and "请核对报名信息" in texts[-1]
    assert [c["label"] for c in result["replies"][-1]["choices"]] == ["确认提交", "修改", "取消"]
    assert env.notifier.pushes == []


# --------------------------------------------------------------------------- resuming


async def test_a_chunk_cut_off_mid_body_is_undone_and_the_upload_resumes(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    data = videos.good
    await start(env, path, data)
    status, _ = await put(env, path, data, 0, CHUNK)
    assert status == 200

    # The connection drops in the middle of the rest of the file, sent as one big chunk, once
    # the server has written part of it to disk.
    rest = len(data) - CHUNK
    part = next(env.uploads.root.glob("*/video.part"))
    server = env.client.server
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    head = (
        f"PUT {path}/chunk HTTP/1.1\r\nHost: test\r\n"
        f"Content-Range: bytes {CHUNK}-{len(data) - 1}/{len(data)}\r\n"
        f"Content-Length: {rest}\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    writer.write(head.encode() + data[CHUNK : CHUNK + rest - 1000])
    await writer.drain()
    for _ in range(1000):  # until the server wrote part of the torn chunk, 10 s at most
        if part.stat().st_size > CHUNK:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the server wrote nothing of the chunk")
    writer.close()
    await writer.wait_closed()

    # Part of a chunk is no chunk: the server cut the file back to where the chunk began.
    assert await until_free(env, path, data) == CHUNK
    code, st = await status_of(env, path)
    assert (code, st["offset"]) == (200, CHUNK)
    await send_all(env, path, data, CHUNK)
    status, result = await finish(env, path)
    assert status == 200 and result["ok"] is True
    # The hash seen during the torn chunk was thrown away and rebuilt from the file.
    assert result["sha256"] == hashlib.sha256(data).hexdigest()


async def test_an_upload_resumes_on_a_new_worker_and_rehashes_the_part_once(
    tmp_path: Path, videos: Videos
) -> None:
    contest = write_contest(tmp_path / "contests")
    settings = make_settings(tmp_path)
    data = videos.good
    alice = UserKey("test", "alice")
    first = RecordingNotifier()
    async with TestClient(TestServer(build_app(settings, first))) as client:
        one = Env(client, settings, first, contest, tmp_path)
        await to_video_step(one, alice)
        path = await upload_link(one, alice)
        await start(one, path, data, modified=42)
        for begin in range(0, 3 * CHUNK, CHUNK):
            assert (await put(one, path, data, begin, begin + CHUNK))[0] == 200

    # Another process (a restart, or a second worker sharing DATA_DIR and the secret).
    second = RecordingNotifier()
    async with TestClient(TestServer(build_app(settings, second))) as client:
        two = Env(client, settings, second, contest, tmp_path)
        code, st = await status_of(two, path)
        assert (code, st["offset"], st["last_modified"]) == (200, 3 * CHUNK, 42)
        # Another file of the same size would start over; the same one continues.
        assert await start(two, path, data, modified=42) == 3 * CHUNK
        await send_all(two, path, data, 3 * CHUNK)
        status, result = await finish(two, path)
    assert status == 200, result
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert [u for u, _ in second.pushes] == [alice] and first.pushes == []


async def test_chunks_alternating_between_two_workers_hash_the_file_they_wrote(
    tmp_path: Path, videos: Videos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers sharing DATA_DIR, each chunk reaching either: the hash a worker keeps is
    caught up on what the other appended, and never reused for another file that the other
    worker started meanwhile, even at the same size."""
    contest = write_contest(tmp_path / "contests")
    settings = make_settings(tmp_path)
    first, other = videos.good[::-1], videos.good  # never finished / the video
    alice = UserKey("test", "alice")
    read: list[int] = []  # bytes read back from disk to rebuild a hash
    from_file, follow = StreamingHash.from_file.__func__, StreamingHash.follow  # type: ignore[attr-defined]

    def counted_from_file(cls: type[StreamingHash], path: Path, length: int | None = None) -> StreamingHash:
        read.append(path.stat().st_size if length is None else length)
        return from_file(cls, path, length)  # type: ignore[no-any-return]

    def counted_follow(self: StreamingHash, path: Path, size: int) -> None:
        read.append(size - self.size)
        follow(self, path, size)

    async def chunk(env: Env, data: bytes, n: int) -> None:
        status, body = await put(env, path, data, n * CHUNK, min((n + 1) * CHUNK, len(data)))
        assert status == 200, body

    monkeypatch.setattr(StreamingHash, "from_file", classmethod(counted_from_file))
    monkeypatch.setattr(StreamingHash, "follow", counted_follow)
    async with (
        TestClient(TestServer(build_app(settings, RecordingNotifier()))) as c1,
        TestClient(TestServer(build_app(settings, RecordingNotifier()))) as c2,
    ):
        one = Env(c1, settings, RecordingNotifier(), contest, tmp_path)
        two = Env(c2, settings, RecordingNotifier(), contest, tmp_path)
        await to_video_step(one, alice)
        path = await upload_link(one, alice)
        await start(one, path, first, name="a.mp4")
        for n in range(6):  # one, two, one…: each catches up on the other's last chunk only
            await chunk((one, two)[n % 2], first, n)
        assert read == [CHUNK] * 5  # two's first chunk read chunk 0; main read 1+2+3+4+5
        # The entrant picks another file: its start and five chunks reach worker two; then
        # worker one, whose hash of a.mp4 is just as long as the part, takes the rest.
        assert await start(two, path, other, name="b.mp4") == 0
        for n in range(5):
            await chunk(two, other, n)
        read.clear()
        for n in range(5, -(-len(other) // CHUNK)):
            await chunk(one, other, n)
        assert read == [5 * CHUNK]  # b.mp4's part read once
        status, result = await finish(one, path)
    assert status == 200, result
    assert result["sha256"] == hashlib.sha256(other).hexdigest()


async def test_a_chunk_is_answered_once_written_and_finish_waits_for_its_hash(
    env: Env, videos: Videos, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to a chunk says its bytes are in the file; the hash of its last pieces may
    still be on its way, and ``finish`` waits for it."""
    data = videos.good  # one chunk, less than MAX_PENDING: the loop queues it all at once
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    await start(env, path, data)
    queued_all, hashing = threading.Event(), threading.Event()
    real_finish, real_fits, real_update = ChunkWriter.finish, upload_disk.hash_fits, StreamingHash.update

    async def finish_queued(self: ChunkWriter) -> None:
        queued_all.set()  # the body is all queued: the thread may start writing
        await real_finish(self)

    def fits_later(*args: Any) -> bool:
        queued_all.wait(10)
        return real_fits(*args)

    def held_update(self: StreamingHash, chunk: bytes | bytearray | memoryview) -> None:
        hashing.wait(10)
        real_update(self, chunk)

    monkeypatch.setattr(ChunkWriter, "finish", finish_queued)
    monkeypatch.setattr(upload_disk, "hash_fits", fits_later)
    monkeypatch.setattr(StreamingHash, "update", held_update)
    try:
        async with asyncio.timeout(5):  # no hashing at all yet
            resp = await env.client.put(
                f"{path}/chunk",
                data=io.BytesIO(data),
                headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
            )
            assert resp.status == 200, await resp.text()
        part = next(env.uploads.root.glob("*/video.part"))
        assert await asyncio.to_thread(part.read_bytes) == data
        finishing = asyncio.create_task(finish(env, path))
        await asyncio.sleep(0.3)
        assert not finishing.done()  # waiting for the hash, not reading the file again
    finally:
        hashing.set()
    status, result = await finishing
    assert status == 200 and result["sha256"] == hashlib.sha256(data).hexdigest()


async def test_choosing_a_different_file_starts_over(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    await start(env, path, videos.good, name="a.mp4")
    await put(env, path, videos.good, 0, CHUNK)
    assert await start(env, path, videos.bad, name="b.mp4") == 0
    _code, st = await status_of(env, path)
    assert (st["offset"], st["size"], st["name"]) == (0, len(videos.bad), "b.mp4")


async def test_one_entrant_may_keep_only_two_unfinished_uploads(env: Env, videos: Videos) -> None:
    """Links are free to mint, so the disk is guarded where bytes start to land."""
    alice, bob = UserKey("test", "alice"), UserKey("test", "bob")
    await to_video_step(env, alice)
    await to_video_step(env, bob)
    links = [await upload_link(env, alice) for _ in range(3)]
    for path in links[:2]:
        assert await start(env, path, videos.good) == 0
    resp = await env.client.post(
        f"{links[2]}/start", json={"name": "c.mp4", "size": len(videos.good), "last_modified": 1}
    )
    body = await resp.json()
    assert resp.status == 429 and body["error"] == "too_many" and "未完成的上传" in body["message"]
    assert (await status_of(env, links[2]))[1]["offset"] == 0  # nothing was created for it
    # Another entrant is not affected, and an upload already started goes on.
    assert await start(env, await upload_link(env, bob), videos.good) == 0
    assert await start(env, links[0], videos.good) == 0
    # Once one completes, a new one may start.
    await send_all(env, links[0], videos.good, 0)
    assert (await finish(env, links[0]))[0] == 200
    assert await start(env, links[2], videos.good) == 0


# --------------------------------------------------------------------------- refusals


async def test_a_chunk_at_the_wrong_offset_is_refused_with_the_servers_offset(
    env: Env, videos: Videos
) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    data = videos.good
    status, body = await put(env, path, data, 0, CHUNK)
    assert (status, body["error"]) == (409, "not_started")
    await start(env, path, data)
    status, body = await put(env, path, data, CHUNK, 2 * CHUNK)  # skips the first chunk
    assert (status, body["error"], body["offset"]) == (409, "wrong_offset", 0)
    await put(env, path, data, 0, CHUNK)
    status, body = await put(env, path, data, 0, CHUNK)  # the same chunk twice
    assert (status, body["offset"]) == (409, CHUNK)
    resp = await env.client.put(f"{path}/chunk", data=b"x", headers={"Content-Range": "bytes */100"})
    assert resp.status == 400 and (await resp.json())["error"] == "bad_range"
    assert (await status_of(env, path))[1]["offset"] == CHUNK


async def test_the_size_cap_is_enforced_before_and_during_the_upload(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    cap = 4 * 1024 * 1024  # the contest's max_size_mib
    # Declared: over the notice's limit, and under its minimum.
    resp = await env.client.post(f"{path}/start", json={"name": "big.mp4", "size": cap + 1})
    body = await resp.json()
    assert resp.status == 413 and body["error"] == "too_large" and "超过上限 4MB" in body["message"]
    resp = await env.client.post(f"{path}/start", json={"name": "tiny.mp4", "size": 1000})
    assert resp.status == 422 and (await resp.json())["error"] == "too_small"
    # The service's own cap wins when it is lower than the notice's.
    env.uploads.config = env.uploads.config.model_copy(update={"max_mb": 1})
    resp = await env.client.post(f"{path}/start", json={"name": "a.mp4", "size": 2 * 1024 * 1024})
    assert resp.status == 413
    env.uploads.config = env.uploads.config.model_copy(update={"max_mb": 2048})

    # Actual: a declared small file whose chunks claim more.
    small = videos.good[: 300 * 1024]
    await start(env, path, small)
    resp = await env.client.put(
        f"{path}/chunk", data=b"\0" * 1024, headers={"Content-Range": f"bytes 0-1023/{cap * 2}"}
    )
    assert resp.status == 400 and (await resp.json())["error"] == "bad_range"
    resp = await env.client.put(  # past the declared end
        f"{path}/chunk", data=b"\0" * 1024, headers={"Content-Range": f"bytes 0-{len(small)}/{len(small)}"}
    )
    assert resp.status == 400
    # A body longer than its Content-Range, declared (Content-Length) ...
    resp = await env.client.put(
        f"{path}/chunk", data=small[:2048], headers={"Content-Range": "bytes 0-1023/" + str(len(small))}
    )
    assert resp.status == 400 and (await resp.json())["error"] == "length_mismatch"

    # ... or streamed without a length: refused as it overflows, and undone.
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"\1" * 65536

    resp = await env.client.put(
        f"{path}/chunk", data=endless(), headers={"Content-Range": f"bytes 0-{CHUNK - 1}/{len(small)}"}
    )
    assert resp.status == 400 and (await resp.json())["error"] == "body_too_long"
    assert (await status_of(env, path))[1]["offset"] == 0
    part = next(env.uploads.root.glob("*/video.part"))
    assert part.stat().st_size == 0
    # The real file still goes through afterwards.
    await send_all(env, path, small, 0)


async def test_an_expired_link_is_refused_and_touches_nothing(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    real_clock = env.uploads.clock
    env.uploads.clock = lambda: real_clock() + dt.timedelta(hours=24, seconds=1)
    page = await env.client.get(path)
    assert page.status == 410 and "链接已过期" in await page.text()
    assert (await status_of(env, path))[0] == 410
    resp = await env.client.post(f"{path}/start", json={"name": "a.mp4", "size": len(videos.good)})
    assert resp.status == 410 and (await resp.json())["error"] == "expired"
    assert (await put(env, path, videos.good, 0, CHUNK))[0] == 410
    assert (await finish(env, path))[0] == 410
    assert not env.uploads.root.exists()
    assert (await draft(env, alice))["step"] == Step.VIDEO


async def test_forged_links_are_refused(env: Env, videos: Videos) -> None:
    alice, mallory = UserKey("test", "alice"), UserKey("test", "mallory")
    await to_video_step(env, alice)
    await to_video_step(env, mallory)
    token_a = (await upload_link(env, alice)).rsplit("/", 1)[1]
    token_m = (await upload_link(env, mallory)).rsplit("/", 1)[1]
    payload_a, sig_a = token_a.split(".")
    payload_m, sig_m = token_m.split(".")
    flipped = sig_a[:-2] + ("A" if sig_a[-2] != "A" else "B") + sig_a[-1]
    forged = [
        f"{payload_a}.{flipped}",  # one character of the signature
        f"{payload_a}.{sig_m}",  # alice's payload under mallory's signature
        f"{payload_m[:-3]}xyz.{sig_m}",  # an edited payload
        payload_a,  # no signature
        "x" * 3000,  # absurdly long
        "..%2F..%2Fetc%2Fpasswd",  # a path, not a token
    ]
    for token in forged:
        page = await env.client.get(f"/upload/{token}")
        assert page.status in (403, 404), token
        if page.status == 403:
            assert "链接无效" in await page.text()
        resp = await env.client.post(
            f"/upload/{token}/start", json={"name": "a.mp4", "size": len(videos.good)}
        )
        assert resp.status in (403, 404), token
    assert not env.uploads.root.exists()
    assert (await draft(env, alice))["step"] == Step.VIDEO


async def test_a_link_moves_only_its_owners_draft(env: Env, videos: Videos) -> None:
    alice, bob = UserKey("test", "alice"), UserKey("test", "bob")
    await to_video_step(env, alice)
    await to_video_step(env, bob)
    path_a = await upload_link(env, alice)
    path_b = await upload_link(env, bob)
    before_b = await draft(env, bob)
    await start(env, path_b, videos.bad, name="bob.mp4")
    await put(env, path_b, videos.bad, 0, CHUNK)

    result = await upload(env, path_a, videos.good)
    assert result["ok"] is True
    assert [u for u, _ in env.notifier.pushes] == [alice]
    assert (await draft(env, alice))["step"] == Step.REVIEW
    assert await draft(env, bob) == before_b  # bob's draft is as it was
    code, st = await status_of(env, path_b)  # and so is his own upload
    assert (code, st["offset"], st["name"]) == (200, CHUNK, "bob.mp4")


async def test_a_used_link_cannot_complete_twice(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    data = videos.bad  # refused: the draft stays at the video step, so only the claim stops a reuse
    await send_all(env, path, data, await start(env, path, data))
    (s1, r1), (s2, r2) = await asyncio.gather(finish(env, path), finish(env, path))
    assert sorted([s1, s2]) == [200, 409], (r1, r2)  # the second one found the upload busy
    assert len(env.notifier.pushes) == 1

    # Even with its folder gone (another worker's disk, or a cleanup), the store's claim holds.
    token = path.rsplit("/", 1)[1]
    shutil.rmtree(env.uploads.root / env.uploads.verify(token).token_id)
    await send_all(env, path, data, await start(env, path, data))
    status, body = await finish(env, path)
    assert (status, body["error"]) == (410, "used")
    assert len(env.notifier.pushes) == 1
    assert (await draft(env, alice))["step"] == Step.VIDEO


async def test_the_client_file_name_is_never_a_path(env: Env, videos: Videos) -> None:
    names = [
        "../../../../evil.mp4",
        "..\\..\\evil.mp4",
        "/etc/evil.mp4",
        "a/../../evil\x00.mp4",
        "\u202e4pm.exe",
    ]
    assert [display_name(n) for n in names] == ["evil.mp4", "evil.mp4", "evil.mp4", "evil.mp4", "4pm.exe"]
    assert display_name("..") == "video.mp4"
    before = all_files(env.root)
    users = []
    for i, name in enumerate(names[:3]):
        user = UserKey("test", f"u{i}")
        users.append(user)
        await to_video_step(env, user)
        await upload(env, await upload_link(env, user), videos.good, name=name)
        assert (await draft(env, user))["video"]["name"] == "evil.mp4"
    new = all_files(env.root) - before
    assert not any("evil" in f for f in new), new
    pattern = re.compile(
        r"^data/(uploads/[0-9a-f]{32}/(meta|result)\.json|videos/[0-9a-f]{64}\.mp4|kepu\.sqlite3.*"
        r"|upload\.key|upload-start\.lock)$"
    )
    assert all(pattern.match(f) for f in new), new


async def test_completing_after_the_draft_moved_on_keeps_the_link(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    await send_all(env, path, videos.good, await start(env, path, videos.good))
    await say(env, alice, "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9")  # a share link instead
    assert (await draft(env, alice))["step"] == Step.REVIEW
    page = await env.client.get(path)
    assert page.status == 200 and "当前不在“参赛视频”这一步" in await page.text()
    status, body = await finish(env, path)
    assert (status, body["error"]) == (409, "not_video_step") and "修改" in body["message"]
    assert env.notifier.pushes == []
    # Back to the video step through the review page's edit menu: the same link completes.
    menu = (await say(env, alice, "修改"))[-1]
    assert (await draft(env, alice))["step"] == Step.EDIT
    payload = next(c.payload for c in menu.choices if "参赛视频：" in c.label)
    await env.svc.submit.handle(Incoming(alice, EventKind.CHOICE, choice=payload))
    assert (await draft(env, alice))["step"] == Step.VIDEO
    status, result = await finish(env, path)
    assert status == 200 and result["ok"] is True
    assert (await draft(env, alice))["video"]["kind"] == "file"


async def test_a_cancelled_draft_is_not_revived_by_its_link(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    await send_all(env, path, videos.good, await start(env, path, videos.good))
    await say(env, alice, "取消")
    await say(env, alice, "确认取消")
    assert await env.svc.storage.get_draft(alice) is None
    status, body = await finish(env, path)
    assert (status, body["error"]) == (409, "no_draft")
    assert await env.svc.storage.get_draft(alice) is None
    page = await env.client.get(path)  # said on the page, before another upload
    assert page.status == 409 and "没有找到报名草稿" in await page.text()


# --------------------------------------------------------------------------- secret and housekeeping


async def test_the_secret_is_generated_once_private_and_shared_by_workers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    config = UploadSettings(_env_file=None)  # type: ignore[call-arg]
    one = await UploadService.open(settings, config)
    two = await UploadService.open(settings, config)
    key = settings.data_dir / "upload.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_text().strip()) == 64
    url, expires = await one.mint(UserKey("test", "alice"), CONTEST_ID)
    grant = two.verify(url.rsplit("/", 1)[1])  # stateless: any worker verifies any link
    assert (grant.user, grant.contest_id, grant.expires_at) == (UserKey("test", "alice"), CONTEST_ID, expires)
    assert url.startswith("http://127.0.0.1:8080/upload/")
    assert dt.timedelta(hours=23, minutes=59) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    # Two links for the same draft never share a folder.
    other, _ = await one.mint(UserKey("test", "alice"), CONTEST_ID)
    assert one.verify(other.rsplit("/", 1)[1]).token_id != grant.token_id
    # A configured secret is used as is, and links of the generated one do not verify under it.
    three = await UploadService.open(settings, make_upload_settings(ttl_hours=2))
    with pytest.raises(Exception, match="forged"):
        three.verify(url.rsplit("/", 1)[1])
    with pytest.raises(ValueError, match="at least 32"):
        UploadSettings(_env_file=None, secret="short")  # type: ignore[call-arg]
    assert load_or_create_secret(key) == key.read_text().strip().encode()


async def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_UPLOAD_TTL_HOURS", "2")
    monkeypatch.setenv("BOT_UPLOAD_MAX_MB", "500")
    monkeypatch.setenv("BOT_UPLOAD_PUBLIC_BASE_URL", "https://kepu.example.cn/")
    config = UploadSettings(_env_file=None)  # type: ignore[call-arg]
    assert (config.ttl_hours, config.max_mb, config.public_base_url) == (2, 500, "https://kepu.example.cn")
    monkeypatch.setenv("BOT_UPLOAD_PUBLIC_BASE_URL", "javascript:alert(1)")
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        UploadSettings(_env_file=None)  # type: ignore[call-arg]


async def test_expired_uploads_are_swept(env: Env, videos: Videos) -> None:
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    path = await upload_link(env, alice)
    await start(env, path, videos.good)
    await put(env, path, videos.good, 0, CHUNK)
    pages = env.app[UPLOAD_PAGES]
    assert await pages.sweep() == 0
    real_clock = env.uploads.clock
    env.uploads.clock = lambda: real_clock() + dt.timedelta(hours=26)
    assert await pages.sweep() == 1
    assert not any(env.uploads.root.iterdir())


async def test_an_unchecked_video_the_draft_points_at_survives_the_sweep(env: Env, videos: Videos) -> None:
    env.svc.submit.media_checker = None  # as before the media check is wired
    alice = UserKey("test", "alice")
    await to_video_step(env, alice)
    result = await upload(env, await upload_link(env, alice), videos.good)
    assert result["ok"] is None and result["verdict"] == ""
    stored = Path((await draft(env, alice))["video"]["stored"])
    assert stored.name == "video.mp4" and stored.parent.parent == env.uploads.root
    real_clock = env.uploads.clock
    env.uploads.clock = lambda: real_clock() + dt.timedelta(hours=26)
    await env.app[UPLOAD_PAGES].sweep()
    assert await asyncio.to_thread(stored.read_bytes) == videos.good
    assert [p.name for p in stored.parent.iterdir()] == ["video.mp4"]


# --------------------------------------------------------------------------- the web chat


class WebUser:
    """A browser's side of the web chat: its cookie jar (the client's) and the page's CSRF token."""

    def __init__(self, env: Env, csrf: str) -> None:
        self.env, self.csrf = env, csrf

    @classmethod
    async def open(cls, env: Env) -> WebUser:
        page = await env.client.get("/chat")
        html = await page.text()
        assert page.status == 200 and '<html lang="zh-CN">' in html and 'src="/web/static/chat.js"' in html
        match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html)
        assert match
        return cls(env, match.group(1))

    @property
    def sid(self) -> str:
        """The session cookie: a credential, never the user id."""
        return self.env.client.session.cookie_jar.filter_cookies(self.env.client.make_url("/chat"))[
            "kepu_chat"
        ].value

    async def user(self) -> UserKey:
        """The user the store's session names (what drafts and submissions are kept under)."""
        user = await self.env.svc.storage.session_user(session_hash(self.sid))
        assert user is not None and user.channel == "web" and user.user_id != self.sid
        return user

    async def send(self, **body: Any) -> list[dict[str, Any]]:
        resp = await self.env.client.post("/chat/api/send", json=body, headers={"X-CSRF-Token": self.csrf})
        data = await resp.json()
        assert resp.status == 200, data
        return list(data["replies"])

    async def poll(self, wait: float = 0) -> list[dict[str, Any]]:
        resp = await self.env.client.get("/chat/api/poll", params={"wait": str(wait)})
        assert resp.status == 200
        return list((await resp.json())["replies"])


async def test_the_web_chat_does_a_whole_submission(env: Env, videos: Videos) -> None:
    me = await WebUser.open(env)
    replies = await me.send(start=True)
    channel_prompt = replies[-1]
    assert "请选择参赛渠道" in channel_prompt["text"]
    # 回复序号或名称: the buttons carry the numbers the question means (the page shows "1. …").
    assert "序号" in channel_prompt["text"]
    assert [c["number"] for c in channel_prompt["choices"]] == list(range(1, len(env.contest.channels) + 1))
    pick = next(c for c in channel_prompt["choices"] if "自荐" in c["label"])
    replies = await me.send(choice=pick["payload"])
    form = env.contest.form(env.contest.channel("self").forms["work"])
    for field in form.fields:
        assert f"「{field.label}」" in replies[-1]["text"]
        replies = await me.send(text=valid_answer(field, env.contest))
    assert "请提交参赛视频" in replies[-1]["text"]
    replies = await me.send(text="上传")
    url = replies[-1]["upload_url"]
    assert url and url in replies[-1]["text"]
    path = urlsplit(url).path

    # A poll that is waiting when the verdict arrives gets it at once.
    waiting = asyncio.create_task(me.poll(wait=10))
    result = await upload(env, path, videos.good)
    assert result["pushed"] is True and result["ok"] is True
    pushed = await asyncio.wait_for(waiting, 10)
    assert pushed[0]["text"].startswith("✅ 视频检查通过")
    review = pushed[-1]
    assert "请核对报名信息" in review["text"]
    assert await me.poll() == []  # delivered once
    # The review page numbers its items, not its buttons: 确认提交 is no 序号.
    assert {c["number"] for c in review["choices"]} == {None}
    confirm = next(c for c in review["choices"] if c["label"] == "确认提交")
    done = await me.send(choice=confirm["payload"])
    assert any(re.search(r"提交成功！报名编号：KP\d{4}-000001", r["text"]) for r in done)
    [sub] = await env.svc.storage.list_submissions(user=await me.user())
    assert sub.video["sha256"] == hashlib.sha256(videos.good).hexdigest()
    assert sub.answers["phone"] == "13800138000"
    # The filled-in form is drawn after the reply and pushed to the page, as download links.
    assert any("报名表正在生成" in r["text"] for r in done)
    # The content report of the uploaded file comes on its own, before or after the form.
    later = await me.poll(wait=30)
    for _ in range(3):
        if any(r["document"] for r in later) and any("【视频内容检查】" in r["text"] for r in later):
            break
        await env.svc.content.drain()
        later += await me.poll(wait=30)
    docs = [r["document"] for r in later if r["document"]]
    assert [d["name"].rsplit(".", 1)[1] for d in docs] == ["pdf", "docx"]
    [content] = [r["text"] for r in later if "【视频内容检查】" in r["text"]]
    assert "作品已经提交" in content or "如需更换视频" in content
    pdf = await env.client.get(docs[0]["url"])
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF-")
    assert "attachment" in pdf.headers["Content-Disposition"]


async def test_the_web_chat_attaches_files_within_limits(
    env: Env, videos: Videos, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.web import webchat

    me = await WebUser.open(env)
    await me.send(start=True)
    replies = await me.send(text="自荐")
    form = env.contest.form(env.contest.channel("self").forms["work"])
    for field in form.fields:
        replies = await me.send(text=valid_answer(field, env.contest))
    assert "请提交参赛视频" in replies[-1]["text"]

    async def attach(data: bytes, name: str, csrf: str | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"X-File-Name": quote(name), "Content-Type": "video/mp4", "X-CSRF-Token": csrf or me.csrf}
        resp = await env.client.post("/chat/api/file", data=io.BytesIO(data), headers=headers)
        return resp.status, await resp.json() if resp.content_type == "application/json" else {}

    assert (await attach(videos.good, "作品.mp4", csrf="0" * 64))[0] == 403
    status, body = await attach(b"", "空.mp4")
    assert status == 400 and "文件为空" in body["message"]
    # Larger than the chat takes: not read, and the dialog offers the upload page instead.
    monkeypatch.setattr(webchat, "MAX_FILE", 1024)
    status, body = await attach(videos.good, "大.mp4")
    assert status == 200 and body["replies"][-1]["upload_url"]
    said = "\n".join(r["text"] for r in body["replies"])
    # The page's own limit, not a chat app's: it is this page that would not take the file.
    assert "超过了本聊天页面“附件”按钮可以发送的 1KB 上限" in said and "专属上传链接" in said
    assert "聊天软件" not in said
    monkeypatch.undo()
    # A hostile name never reaches the disk; the video is checked as in the chat apps.
    status, body = await attach(videos.good, "../../etc/passwd\x00.mp4")
    assert status == 200, body
    texts = "\n".join(r["text"] for r in body["replies"])
    assert "视频检查通过" in texts and "请核对报名信息" in texts
    assert list((env.settings.data_dir / "incoming").iterdir()) == []  # temp copies removed
    assert (await env.svc.storage.get_draft(await me.user())) is not None


async def test_the_web_chat_needs_its_session_and_csrf_token(env: Env) -> None:
    resp = await env.client.post("/chat/api/send", json={"text": "你好"})
    assert resp.status == 403  # no session yet
    page = await env.client.get("/chat")
    set_cookie = page.headers["Set-Cookie"]
    assert set_cookie.startswith("kepu_chat=") and "HttpOnly" in set_cookie
    assert "SameSite=Strict" in set_cookie and "Path=/chat" in set_cookie
    me = await WebUser.open(env)
    assert len(me.sid) == 43
    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": me.csrf[:-1]}):
        resp = await env.client.post("/chat/api/send", json={"text": "你好"}, headers=headers)
        assert resp.status == 403
    assert await env.svc.storage.get_draft(await me.user()) is None
    # The same page again keeps the user (the draft is found again) under a new cookie.
    await me.send(start=True)
    first_cookie, user = me.sid, await me.user()
    again = await WebUser.open(env)
    assert again.sid != first_cookie and again.csrf == me.csrf and await again.user() == user
    assert await env.svc.storage.get_draft(user) is not None
    resp = await env.client.post("/chat/api/send", json={"nothing": 1}, headers={"X-CSRF-Token": me.csrf})
    assert resp.status == 400


async def test_pushed_documents_download_and_the_queue_is_bounded(env: Env) -> None:
    me = await WebUser.open(env)
    user = await me.user()
    chat = env.app[WEB_CHAT]
    assert env.svc.notifiers["web"] is chat
    await chat.push(
        user, [Reply("您的回执：", document=Document("回执 2026.txt", "编号KP".encode(), "text/plain"))]
    )
    [reply] = await me.poll()
    assert reply["document"]["name"] == "回执 2026.txt"
    resp = await env.client.get(reply["document"]["url"])
    assert resp.status == 200 and await resp.read() == "编号KP".encode()
    assert "filename*=UTF-8''%E5%9B%9E%E6%89%A7%202026.txt" in resp.headers["Content-Disposition"]
    assert (await env.client.get("/chat/api/doc/nonexistent12345")).status == 404
    await chat.push(user, [Reply(f"消息{i}") for i in range(chat.max_queued + 10)])
    queued = await me.poll()
    assert len(queued) == chat.max_queued and queued[-1]["text"] == f"消息{chat.max_queued + 9}"
    with pytest.raises(ValueError, match="not a web chat user"):
        await chat.push(UserKey("test", "x"), [Reply("x")])


class ServedServer(TestServer):
    """The test server as ``serve`` runs it: a handler goes on when its client goes away (aiohttp's
    test server cancels it instead, which hid the loss below)."""

    async def _make_runner(self, handler_cancellation: bool = False, **kwargs: Any) -> web.BaseRunner:
        return await super()._make_runner(handler_cancellation=False, **kwargs)


async def test_a_message_pushed_while_the_page_is_reloaded_reaches_the_new_page(tmp_path: Path) -> None:
    """Trial 9 (cq, web chat): the page was reloaded right after 确认提交; the form drawn a second
    later was taken by the old page's poll, still waiting on the server for a closed connection,
    and never shown (the entrant had to ask for 表格)."""
    contest = write_contest(tmp_path / "contests")
    settings = make_settings(tmp_path)
    async with TestClient(ServedServer(build_app(settings, RecordingNotifier()))) as client:
        await _pushed_while_reloaded(Env(client, settings, RecordingNotifier(), contest, tmp_path))


async def _pushed_while_reloaded(env: Env) -> None:
    me = await WebUser.open(env)
    user = await me.user()
    old_page = asyncio.create_task(me.poll(wait=20))
    await asyncio.sleep(0.3)
    old_page.cancel()  # the page goes away: its poll's connection is closed
    with contextlib.suppress(asyncio.CancelledError):
        await old_page
    await asyncio.sleep(0.2)
    await env.app[WEB_CHAT].push(user, [Reply("报名表已生成")])
    await asyncio.sleep(0.2)
    again = await WebUser.open(env)  # the page loaded again: the same user, a new cookie
    assert await again.user() == user
    assert [r["text"] for r in await again.poll(wait=2)] == ["报名表已生成"]


async def test_a_members_csv_export_downloads_from_the_web_chat(env: Env) -> None:
    """Regression: the CSV's type carries a charset, which aiohttp refuses inside content_type,
    so a member's 导出 csv in the web chat answered 500 instead of the file."""
    admin = env.svc.admin
    await admin.import_units(CONTEST_ID, "名称,类别,省份\n中国科学院,member_unit,\n")
    invite = await admin.create_invite(CONTEST_ID, Role.MEMBER, "中国科学院")
    assert isinstance(invite, IssuedInvite)
    me = await WebUser.open(env)
    [bound] = await me.send(text=f"绑定 {invite.code}")
    assert bound["text"].startswith("绑定成功"), bound
    [exported] = await me.send(text="导出 csv")
    assert exported["document"]["name"].endswith(".csv"), exported
    resp = await env.client.get(exported["document"]["url"])
    assert resp.status == 200, await resp.text()
    assert (resp.content_type, resp.charset) == ("text/csv", "utf-8")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    header = (await resp.read()).decode("utf-8-sig").splitlines()[0]
    assert "作品名称" in header


def test_the_page_scripts_use_no_html_sinks() -> None:
    """Chat text is the entrant's and the dialog's own: the pages set it as text, never as HTML."""
    static = Path(__file__).parents[1] / "bot" / "web" / "static"
    for script in ("chat.js", "upload.js"):
        source = (static / script).read_text(encoding="utf-8")
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "eval(" not in source
        assert "http://" not in source and "https://" not in source  # nothing from a CDN


@contextlib.asynccontextmanager
async def other_browser(env: Env) -> AsyncIterator[tuple[aiohttp.ClientSession, Callable[[str], URL]]]:
    """A second browser, with a cookie jar of its own, on the same running server."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session, env.client.make_url


async def test_an_upload_link_hands_over_no_web_chat_session(env: Env) -> None:
    """Regression: the link's payload named the web chat user by the session cookie, so anyone who
    saw the link could set that cookie and read the entrant's review page (phone, address)."""
    me = await WebUser.open(env)
    await me.send(start=True)
    replies = await me.send(text="自荐")
    form = env.contest.form(env.contest.channel("self").forms["work"])
    for field in form.fields:
        replies = await me.send(text=valid_answer(field, env.contest))
    replies = await me.send(text="上传")
    url = replies[-1]["upload_url"]
    token = urlsplit(url).path.rsplit("/", 1)[-1]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert payload["u"] == (await me.user()).user_id
    assert me.sid not in url and payload["u"] != me.sid

    # An attacker with only the link, in a browser of their own.
    async with other_browser(env) as (attacker, at):
        for value in {payload["u"], token, token.split(".")[0]}:
            attacker.cookie_jar.update_cookies({"kepu_chat": value}, at("/chat"))
            resp = await attacker.get(at("/chat/api/poll"))
            assert resp.status == 403
            resp = await attacker.post(
                at("/chat/api/send"), json={"text": "修改"}, headers={"X-CSRF-Token": "x"}
            )
            assert resp.status == 403
        # Loading the page with such a cookie opens a session of a new, empty user.
        attacker.cookie_jar.update_cookies({"kepu_chat": payload["u"]}, at("/chat"))
        page = await attacker.get(at("/chat"))
        html = await page.text()
        assert "13800138000" not in html
        csrf = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html)
        assert csrf is not None
        resp = await attacker.post(
            at("/chat/api/send"), json={"text": "修改"}, headers={"X-CSRF-Token": csrf.group(1)}
        )
        texts = "\n".join(r["text"] for r in (await resp.json())["replies"])
        assert "13800138000" not in texts and valid_answer(form.fields[0], env.contest) not in texts
    # The entrant's draft is untouched and still theirs.
    draft = await env.svc.storage.get_draft(await me.user())
    assert draft is not None and draft.data


async def test_a_replaced_web_chat_cookie_opens_nothing(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.web import webchat

    monkeypatch.setattr(webchat, "ROTATION_GRACE", dt.timedelta(milliseconds=50))
    me = await WebUser.open(env)
    await me.send(start=True)
    old = me.sid
    await WebUser.open(env)  # a reload: a new cookie
    await asyncio.sleep(0.1)  # past the grace that a second, simultaneous load gets
    async with other_browser(env) as (other, at):
        other.cookie_jar.update_cookies({"kepu_chat": old}, at("/chat"))
        assert (await other.get(at("/chat/api/poll"))).status == 403


async def test_two_tabs_loading_with_the_same_cookie_keep_one_user(env: Env) -> None:
    """Regression: a second load carrying the cookie the first load just replaced (two tabs
    restored at once, two quick reloads) got a new, empty user; the draft was out of reach."""
    me = await WebUser.open(env)
    await me.send(start=True)
    user, old = await me.user(), me.sid
    async with other_browser(env) as (tab_a, at), other_browser(env) as (tab_b, _):
        for tab in (tab_a, tab_b):
            tab.cookie_jar.update_cookies({"kepu_chat": old}, at("/chat"))
        # One after the other: the second arrives after the first replaced the cookie.
        first = await tab_a.get(at("/chat"))
        second = await tab_b.get(at("/chat"))
        for tab, page in ((tab_a, first), (tab_b, second)):
            assert page.status == 200
            cookie = tab.cookie_jar.filter_cookies(at("/chat"))["kepu_chat"].value
            assert await env.svc.storage.session_user(session_hash(cookie)) == user


async def test_a_cookie_from_before_server_sessions_keeps_its_draft_under_a_new_id(env: Env) -> None:
    legacy = "L" * 43  # the cookie used to be the user id itself
    await env.svc.storage.save_draft(Draft(UserKey("web", legacy), {"contest": env.contest.id, "step": "x"}))
    env.client.session.cookie_jar.update_cookies({"kepu_chat": legacy})
    me = await WebUser.open(env)
    user = await me.user()
    assert user.user_id != legacy and me.sid != legacy
    moved = await env.svc.storage.get_draft(user)
    assert moved is not None and moved.data["step"] == "x"
    assert await env.svc.storage.get_draft(UserKey("web", legacy)) is None


@pytest.mark.parametrize("said", ["视频太大了发不了怎么办", "传不上去啊，文件超过限制了"])
async def test_a_video_too_big_for_the_chat_is_given_the_upload_page(env: Env, said: str) -> None:
    # Trial round: "视频太大了发不了怎么办" at the video step went to the helpdesk and a ticket.
    bob = UserKey("test", "bob")
    await to_video_step(env, bob)
    replies = await say(env, bob, said)
    text = "\n".join(r.text for r in replies)
    assert "聊天里发不出去" in text and "专属上传链接" in text and "HD-" not in text
    draft = await env.svc.storage.get_draft(bob)
    assert draft is not None and draft.data["step"] == "video" and not draft.data.get("video")


def test_without_a_chat_channel_the_log_names_the_web_chat_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A new operator running ``serve`` with no channel was pointed to the terminal chat only,
    not to the web chat page it serves: the warning now gives the page's address."""
    settings = make_settings(tmp_path).model_copy(update={"http_port": 8186})
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        create_app(settings, channels=[], upload_settings=make_upload_settings())
    said = "\n".join(r.getMessage() for r in caplog.records if "no chat channel" in r.getMessage())
    assert "http://127.0.0.1:8186/chat" in said and "python -m bot chat" in said, said
