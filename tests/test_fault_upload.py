"""The upload page under faults: a server killed or a finish cut short at each of its steps,
six uploads started at once, and a disk that fills up in the middle of a chunk.

What must hold after any of them: the status tells the truth, finishing again completes (or
repeats the earlier verdict), the dialog takes the video once, nothing answers 500 for good,
and no file is left behind in ``uploads/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web import UPLOAD_PAGES, upload_disk
from contests.events import Incoming, Reply
from contests.records import UserKey
from contests.registry import load_contest
from dialogs.states import Step
from tests.forked import Forked, start_serve
from tests.media_factory import MediaFactory, Video
from tests.test_upload import (
    CHUNK,
    CONTEST_ID,
    SECRET,
    Env,
    RecordingNotifier,
    Videos,
    build_app,
    draft,
    finish,
    make_settings,
    put,
    send_all,
    start,
    status_of,
    to_video_step,
    upload_link,
    write_contest,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Videos:
    """The videos of tests/test_upload.py: one that passes the test contest's check, one not."""
    media = MediaFactory(tmp_path_factory.mktemp("fault-media"))
    good = media.video(Video(seconds=4, bitrate="3M"))
    bad = media.video(Video(width=1280, height=720, seconds=3, bitrate="2M"))
    return Videos(good=good.read_bytes(), bad=bad.read_bytes())


class Crash(Exception):
    """Stands for the process dying at this point: nothing after it runs."""


@contextlib.asynccontextmanager
async def app_on(root: Path, notifier: RecordingNotifier | None = None) -> AsyncIterator[Env]:
    """One server process's life on the data folder under ``root``; a second one is a restart."""
    settings = make_settings(root)
    written = root / "contests" / f"{CONTEST_ID}.yaml"
    contest = load_contest(written) if written.exists() else write_contest(root / "contests")
    notifier = notifier or RecordingNotifier()
    async with TestClient(TestServer(build_app(settings, notifier))) as client:
        yield Env(client, settings, notifier, contest, root)


def folder_files(env: Env) -> list[str]:
    return sorted(str(p.relative_to(env.uploads.root)) for p in env.uploads.root.rglob("*"))


def kept_videos(env: Env) -> list[str]:
    videos_dir = env.settings.data_dir / "videos"
    return sorted(p.name for p in videos_dir.iterdir()) if videos_dir.is_dir() else []


# --------------------------------------------------------------------------- a finish cut short, in-process

# Where the finish stops, and how: each injects a Crash right after (or before) one step, so
# that the disk and the store are as a kill -9 at that moment leaves them.
Inject = Callable[[pytest.MonkeyPatch, Env, list[str]], None]


def after_seal(monkeypatch: pytest.MonkeyPatch, env: Env, calls: list[str]) -> None:
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        real(src, dst)
        if Path(dst).name == upload_disk.DONE_NAME and Path(src).name == upload_disk.PART_NAME:
            raise Crash("after the part became video.mp4")

    monkeypatch.setattr(os, "replace", replace)


def before_claim(monkeypatch: pytest.MonkeyPatch, env: Env, calls: list[str]) -> None:
    async def claim_once(key: str, ttl: Any) -> bool:
        raise Crash("before the store's claim")

    monkeypatch.setattr(env.svc.storage, "claim_once", claim_once)


def after_claim(monkeypatch: pytest.MonkeyPatch, env: Env, calls: list[str]) -> None:
    real = env.svc.storage.claim_once

    async def claim_once(key: str, ttl: Any) -> bool:
        await real(key, ttl)
        raise Crash("after the store's claim")

    monkeypatch.setattr(env.svc.storage, "claim_once", claim_once)


def after_dialog(monkeypatch: pytest.MonkeyPatch, env: Env, calls: list[str]) -> None:
    real = env.svc.submit.handle

    async def handle(event: Incoming, **kw: Any) -> list[Reply]:
        await real(event, **kw)
        raise Crash("after the dialog stored the draft")

    monkeypatch.setattr(env.svc.submit, "handle", handle)


def after_verdict(monkeypatch: pytest.MonkeyPatch, env: Env, calls: list[str]) -> None:
    def settle(folder: Path) -> None:
        raise Crash("after result.json, before the clean-up")

    monkeypatch.setattr(upload_disk, "settle", settle)


def count_files(env: Env, calls: list[str]) -> None:
    """Record every FILE event the dialog gets, in whichever process life."""
    real = env.svc.submit.handle

    async def handle(event: Incoming, **kw: Any) -> list[Reply]:
        if event.file is not None:
            calls.append(event.file.sha256 or "")
        return await real(event, **kw)

    env.svc.submit.handle = handle  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "crash", [after_seal, before_claim, after_claim, after_dialog, after_verdict], ids=lambda f: f.__name__
)
async def test_a_finish_cut_short_at_any_step_completes_once_after_a_restart(
    tmp_path: Path, clips: Videos, crash: Inject
) -> None:
    data = clips.good
    sha = hashlib.sha256(data).hexdigest()
    alice = UserKey("test", "alice")
    calls: list[str] = []
    async with app_on(tmp_path) as env:
        count_files(env, calls)
        await to_video_step(env, alice)
        path = await upload_link(env, alice)
        await send_all(env, path, data, await start(env, path, data))
        with pytest.MonkeyPatch.context() as mp:
            crash(mp, env, calls)
            resp = await env.client.post(f"{path}/finish")
            assert resp.status == 500  # the injected crash: this process would be gone
    async with app_on(tmp_path) as env:
        count_files(env, calls)
        code, st = await status_of(env, path)
        assert code == 200
        if crash is after_verdict:
            assert st["state"] == "done" and st["result"]["sha256"] == sha
        else:  # the whole file is there and its verdict to come: never "uploading, offset 0"
            assert (st["state"], st["offset"], st["size"]) == ("finishing", len(data), len(data)), st
        status, result = await finish(env, path)
        if crash is after_verdict:  # finished before the crash: the same verdict again
            assert (status, result["error"]) == (410, "used") and result["result"]["ok"] is True
        else:
            assert status == 200, result
            assert result["ok"] is True and result["sha256"] == sha and result["verdict"].startswith("✅")
        # Once more, as a page reloaded after the answer was lost would: the earlier verdict.
        status, again = await finish(env, path)
        assert status == 410 and again["result"]["sha256"] == sha
        assert calls == [sha]  # the dialog took the video exactly once
        state = await draft(env, alice)
        assert state["step"] == Step.REVIEW and state["video"]["sha256"] == sha
        assert kept_videos(env) == [f"{sha}.mp4"]
        assert (env.settings.data_dir / "videos" / f"{sha}.mp4").read_bytes() == data
        # The startup sweep finished an interrupted clean-up; nothing else is left behind.
        await env.app[UPLOAD_PAGES].sweep()
        token_id = env.uploads.verify(path.rsplit("/", 1)[1]).token_id
        assert folder_files(env) == [token_id, f"{token_id}/meta.json", f"{token_id}/result.json"]


async def test_a_refused_video_cut_short_after_the_dialog_is_checked_again_not_lost(
    tmp_path: Path, clips: Videos
) -> None:
    """The draft does not move for a refused video, so the dialog runs again: the same verdict."""
    data = clips.bad
    bob = UserKey("test", "bob")
    calls: list[str] = []
    async with app_on(tmp_path) as env:
        count_files(env, calls)
        await to_video_step(env, bob)
        path = await upload_link(env, bob)
        await send_all(env, path, data, await start(env, path, data))
        with pytest.MonkeyPatch.context() as mp:
            after_dialog(mp, env, calls)
            assert (await env.client.post(f"{path}/finish")).status == 500
    async with app_on(tmp_path) as env:
        count_files(env, calls)
        status, result = await finish(env, path)
        assert status == 200 and result["ok"] is False and "✗ 分辨率 1280×720" in result["verdict"]
        assert (await draft(env, bob))["step"] == Step.VIDEO
        assert kept_videos(env) == []
        assert not list(env.uploads.root.rglob("*.mp4")) and not list(env.uploads.root.rglob("*.part"))


async def test_an_upload_sealed_but_never_handed_over_is_swept_when_its_link_expires(
    tmp_path: Path, clips: Videos
) -> None:
    data = clips.good
    alice = UserKey("test", "alice")
    async with app_on(tmp_path) as env:
        await to_video_step(env, alice)
        path = await upload_link(env, alice)
        await send_all(env, path, data, await start(env, path, data))
        with pytest.MonkeyPatch.context() as mp:
            after_seal(mp, env, [])
            assert (await env.client.post(f"{path}/finish")).status == 500
    async with app_on(tmp_path) as env:
        pages = env.app[UPLOAD_PAGES]
        assert await pages.sweep() == 0  # not expired: the entrant may still finish it
        real_clock = env.uploads.clock
        env.uploads.clock = lambda: real_clock() + dt.timedelta(hours=26)
        assert await pages.sweep() == 1
        assert folder_files(env) == []


# --------------------------------------------------------------------------- six starts at once


async def test_six_uploads_started_at_once_respect_the_cap_of_two(
    tmp_path: Path, clips: Videos, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = clips.good
    real_count = upload_disk.open_uploads

    def slow_count(*args: Any) -> int:
        count = real_count(*args)
        time.sleep(0.05)  # a slow disk (a worker thread): starts not serialised all count 0
        return count

    monkeypatch.setattr(upload_disk, "open_uploads", slow_count)
    alice = UserKey("test", "alice")
    async with app_on(tmp_path) as env:
        await to_video_step(env, alice)
        links = [await upload_link(env, alice) for _ in range(6)]

        async def begin(path: str) -> tuple[int, dict[str, Any]]:
            resp = await env.client.post(
                f"{path}/start", json={"name": "a.mp4", "size": len(data), "last_modified": 1}
            )
            return resp.status, await resp.json()

        answers = await asyncio.gather(*(begin(p) for p in links))
        assert sorted(s for s, _ in answers) == [200, 200, 429, 429, 429, 429], answers
        refused = [body for s, body in answers if s == 429]
        assert all(b["error"] == "too_many" and "上限 2 个" in b["message"] for b in refused)
        parts = list(env.uploads.root.glob("*/video.part"))
        assert len(parts) == 2  # nothing was created for the refused ones


STARTER = """
import json, sys, time
from pathlib import Path
from bot.web import upload_disk
real = upload_disk.open_uploads
# A slow disk: the count takes a while, so starts that are not serialised all count 0.
upload_disk.open_uploads = lambda *args: (real(*args), time.sleep(0.2))[0]
root, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
while not go.exists():
    time.sleep(0.001)
meta = {"user": "test:alice", "name": "a.mp4", "size": 1, "expires": "2099-01-01T00:00:00+00:00"}
print(json.dumps(upload_disk.start_files(root, root / name, "test:alice", 2, meta)))
"""


async def test_six_workers_starting_at_once_respect_the_cap_of_two(tmp_path: Path) -> None:
    """The same cap across processes sharing DATA_DIR: six worker processes start one upload
    each for one entrant at the same moment; two start, four are told how many are open."""
    root, go = tmp_path / "data" / "uploads", tmp_path / "go"
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}

    async def worker(n: int) -> asyncio.subprocess.Process:
        args = [STARTER, str(root), str(go), f"{n:032x}"]  # the link's folder name
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", *args, cwd=tmp_path, env=environ, stdout=subprocess.PIPE
        )

    procs = [await worker(n) for n in range(6)]
    await asyncio.sleep(0.5)  # let them all get to the starting line
    go.touch()
    async with asyncio.timeout(120):
        outputs = [(await p.communicate())[0].decode().strip() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(outputs) == ["2", "2", "2", "2", "null", "null"], outputs
    assert len(list(root.glob("*/video.part"))) == 2


# --------------------------------------------------------------------------- a full disk


def can_mount() -> str | None:
    """Why a tmpfs cannot be mounted here, or None when it can (root, and allowed to)."""
    if sys.platform != "linux":
        return "tmpfs mounts need Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    return None


Mount = Callable[[Path, str], Awaitable[None]]


@pytest.fixture
def small_disk() -> Iterator[Mount]:
    """Mounts a tmpfs of a given size at a folder (and unmounts it at the end); skips the test
    with the reason when this machine does not allow mounting (a container without CAP_SYS_ADMIN)."""
    reason = can_mount()
    if reason is not None:
        pytest.skip(reason)
    mounted: list[Path] = []

    async def mount(where: Path, size: str) -> None:
        where.mkdir(parents=True, exist_ok=True)
        options = f"size={size}" if where not in mounted else f"remount,size={size}"
        proc = await asyncio.create_subprocess_exec(
            "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _out, err = await proc.communicate()
        if proc.returncode != 0:
            if not mounted:
                pytest.skip(f"mounting a tmpfs is not allowed here: {err.decode().strip()}")
            raise AssertionError(err.decode())
        if where not in mounted:
            mounted.append(where)

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=True)


async def test_a_full_disk_mid_chunk_is_refused_with_a_clear_message_and_rolled_back(
    tmp_path: Path, small_disk: Mount
) -> None:
    data = os.urandom(3 * 1024 * 1024)  # more than the 2 MiB disk; within the contest's 4 MB
    alice = UserKey("test", "alice")
    async with app_on(tmp_path) as env:
        await small_disk(env.uploads.root, "2m")
        await to_video_step(env, alice)
        path = await upload_link(env, alice)
        offset = await start(env, path, data)
        refusal: dict[str, Any] = {}
        while offset < len(data):
            status, body = await put(env, path, data, offset, min(offset + CHUNK, len(data)))
            if status != 200:
                refusal = body
                break
            offset = body["offset"]
        assert status == 507, body
        assert refusal["error"] == "disk_full" and "存储空间" in refusal["message"]
        assert refusal["offset"] == offset  # where the refused chunk began
        # The refused chunk is undone whole: the file is a prefix of the video, and says so.
        part = next(env.uploads.root.glob("*/video.part"))
        assert part.read_bytes() == data[:offset]
        code, st = await status_of(env, path)
        assert (code, st["state"], st["offset"]) == (200, "uploading", offset)
        # Room again: the same upload carries on from there, to the right file.
        await small_disk(env.uploads.root, "8m")
        await send_all(env, path, data, offset)
        status, result = await finish(env, path)
        assert status == 200 and result["sha256"] == hashlib.sha256(data).hexdigest()
        assert result["ok"] is False  # random bytes are no video: checked and refused, not a 500


# --------------------------------------------------------------------------- kill -9 of a real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m bot serve`` on the data folder under ``root``, as an operator runs it."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.proc: Forked | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        environ.update(
            PYTHONPATH=str(ROOT),
            BOT_DATA_DIR=str(self.root / "data"),
            BOT_CONTESTS_DIR=str(self.root / "contests"),
            BOT_HTTP_HOST="127.0.0.1",
            BOT_HTTP_PORT=str(self.port),
            BOT_UPLOAD_SECRET=SECRET,
            BOT_REMIND_ENABLED="false",
            BOT_LOG_LEVEL="WARNING",
        )
        self.proc = await start_serve(self.root, environ)  # forked with its imports done: tests/forked.py
        async with asyncio.timeout(90):  # a cold start on a busy machine
            while True:
                assert self.proc.returncode is None, f"serve exited with {self.proc.returncode}"
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        assert self.proc.returncode == -signal.SIGKILL

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(20):
                    await self.proc.wait()
            except TimeoutError:
                await self.kill()


async def test_a_server_killed_mid_finish_finishes_the_upload_after_a_restart(
    tmp_path: Path, clips: Videos
) -> None:
    """SIGKILL of ``python -m bot serve`` the moment the finish (1) sealed the file, (2) began
    the hand-off to the dialog; each time a restarted server finishes the same link."""
    data = clips.good
    sha = hashlib.sha256(data).hexdigest()
    users = [UserKey("test", "kill-seal"), UserKey("test", "kill-handoff")]
    marks = ["video.mp4", "handoff.json"]  # sealed; the hand-off begun
    async with app_on(tmp_path) as env:  # the entrants reach the video step in the chat
        for user in users:
            await to_video_step(env, user)
        links = [await upload_link(env, user) for user in users]
    server = Server(tmp_path)
    async with aiohttp.ClientSession() as http:
        try:
            await server.start(http)
            for path, mark in zip(links, marks, strict=True):
                base = f"{server.url}{path}"
                async with http.post(f"{base}/start", json={"name": "作品.mp4", "size": len(data)}) as resp:
                    assert resp.status == 200
                for begin in range(0, len(data), CHUNK):
                    end = min(begin + CHUNK, len(data))
                    headers = {"Content-Range": f"bytes {begin}-{end - 1}/{len(data)}"}
                    async with http.put(f"{base}/chunk", data=data[begin:end], headers=headers) as resp:
                        assert resp.status == 200
                folder = tmp_path / "data" / "uploads" / token_id_of(path)

                async def post_finish(url: str) -> int:
                    async with http.post(url) as resp:
                        return resp.status

                finishing = asyncio.create_task(post_finish(f"{base}/finish"))
                async with asyncio.timeout(60):
                    while not (folder / mark).exists():
                        assert not finishing.done(), "the finish ended before the kill"
                        await asyncio.sleep(0.001)
                await server.kill()
                with contextlib.suppress(aiohttp.ClientError):
                    await finishing  # the connection died with the server
                await server.start(http)

                async with http.get(f"{base}/status") as resp:
                    st = await resp.json()
                assert (resp.status, st["state"], st["offset"]) == (200, "finishing", len(data)), st
                async with http.post(f"{base}/finish") as resp:
                    result = await resp.json()
                assert resp.status == 200, result
                assert result["ok"] is True and result["sha256"] == sha
                assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "result.json"]
        finally:
            await server.stop()
    async with app_on(tmp_path) as env:
        for user in users:
            state = await draft(env, user)
            assert state["step"] == Step.REVIEW and state["video"]["sha256"] == sha
        assert (env.settings.data_dir / "videos" / f"{sha}.mp4").read_bytes() == data
        assert not list(env.uploads.root.rglob("*.mp4")) and not list(env.uploads.root.rglob("*.part"))


def token_id_of(path: str) -> str:
    """The folder name of a link's upload (``UploadService.verify`` without the key)."""
    payload = path.rsplit("/", 1)[1].split(".", 1)[0]
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:32]
