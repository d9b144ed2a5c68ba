"""The upload page under faults: six uploads started at once, and a disk that fills up in
the middle of a chunk.

What must hold: the per-entrant cap holds whatever the timing, the entrant reads what
happened in Chinese, nothing answers a bare 500, and the data already received stays intact
and resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.contests import load_contest
from bot.storage import UserKey

from .media_factory import MediaFactory, Video
from .test_upload import (
    CHUNK,
    CONTEST_ID,
    Env,
    RecordingNotifier,
    Videos,
    build_app,
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


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Videos:
    """The videos of tests/test_upload.py: one that passes the test contest's check, one not."""
    media = MediaFactory(tmp_path_factory.mktemp("fault-media"))
    good = media.video(Video(seconds=4, bitrate="3M"))
    bad = media.video(Video(width=1280, height=720, seconds=3, bitrate="2M"))
    return Videos(good=good.read_bytes(), bad=bad.read_bytes())


@contextlib.asynccontextmanager
async def app_on(root: Path, notifier: RecordingNotifier | None = None) -> AsyncIterator[Env]:
    """One server process's life on the data folder under ``root``; a second one is a restart."""
    settings = make_settings(root)
    written = root / "contests" / f"{CONTEST_ID}.yaml"
    contest = load_contest(written) if written.exists() else write_contest(root / "contests")
    notifier = notifier or RecordingNotifier()
    async with TestClient(TestServer(build_app(settings, notifier))) as client:
        yield Env(client, settings, notifier, contest, root)


# --------------------------------------------------------------------------- six starts at once


async def test_six_uploads_started_at_once_respect_the_cap_of_two(tmp_path: Path, clips: Videos) -> None:
    data = clips.good
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
