"""A direct link's whole video, fetched for the content checks once the probe has passed it.

The probe (:mod:`validators.probe`) judges a link by a few MiB; the content checks decode the
whole file.  The same rules hold here: every address is checked before it is used and the
connection pinned to it, each redirect is checked again, the bytes are capped (the notice's
size limit) and the body streams to a temporary file, never into memory.  A body shorter than
the server announced (its Content-Length, or the span and length of its Content-Range) is
refused: a truncated video would be judged as if it were the whole.  Temporary folders left
by a process that died mid-check are swept when the next download starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import aiohttp
from yarl import URL

from validators.link_fetch import AddressCheck, Fetcher, Response, default_check, url_problem
from validators.link_problems import PROBLEMS, Problem, size_text

_FLUSH = 1024 * 1024  # bytes gathered before one write in a worker thread
_PREFIX = "kepu-fetch-"


class _Truncated(Exception):
    """The body is not the whole file the server announced."""

    def __init__(self, got: int, want: int) -> None:
        super().__init__(got, want)
        self.got, self.want = got, want

    def text(self) -> str:
        return (
            f"服务器只发来了视频的一部分（收到 {size_text(self.got)}，应为 {size_text(self.want)}），"
            "下载不完整，无法检查视频内容。请换一个可以完整下载的链接，或直接发送视频文件"
        )


def _expected(status: int, headers: dict[str, str]) -> int | None:
    """The bytes a whole file's body must have, from the headers (None: not announced).  A 206
    must begin at the file's first byte and, when it names the file's length, run to its end."""
    length = headers.get("Content-Length", "")
    announced = int(length) if length.isdigit() else None
    if status != 206:
        return announced
    value = headers.get("Content-Range", "")
    unit, _, rest = value.strip().partition(" ")
    span, _, total = rest.partition("/")
    first, _, last = span.partition("-")
    if unit.lower() != "bytes" or not first.isdigit() or not last.isdigit() or int(last) < int(first):
        raise Problem("bad_response", detail=f"Content-Range: {value[:60]}")
    if int(first) != 0:
        raise Problem("bad_response", detail=f"Content-Range 不是从文件开头开始：{value[:60]}")
    spanned = int(last) + 1
    if total.isdigit() and int(total) != spanned:
        raise _Truncated(spanned, int(total))
    if announced is not None and announced != spanned:
        detail = f"Content-Length {announced} 与 Content-Range {value[:60]} 不符"
        raise Problem("bad_response", detail=detail)
    return spanned


class _ToFile(Fetcher):
    """The probe's fetcher, its body written to ``sink`` instead of kept."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        check: AddressCheck,
        max_bytes: int,
        timeout: float,
        sink: BinaryIO,
    ) -> None:
        super().__init__(session, check, max_bytes, timeout)
        self.sink = sink

    async def _read(self, url: URL, resp: aiohttp.ClientResponse, limit: int, first: bool) -> Response:
        status = resp.status
        headers = dict(resp.headers)
        if status not in (200, 206):
            return Response(status, str(url), headers, 0, b"", None, False)
        if headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
            raise Problem("bad_response", detail=f"Content-Encoding: {headers['Content-Encoding']}")
        expected = _expected(status, headers)
        if expected is not None and expected > self.budget:
            raise Problem("over_cap", cap=size_text(self.budget))
        buffer = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            self.fetched += len(chunk)
            if self.fetched > self.budget:
                resp.close()
                raise Problem("over_cap", cap=size_text(self.budget))
            buffer += chunk
            if len(buffer) >= _FLUSH:
                await asyncio.to_thread(self.sink.write, bytes(buffer))
                buffer.clear()
        await asyncio.to_thread(self.sink.write, bytes(buffer))
        if expected is not None and self.fetched != expected:
            raise _Truncated(self.fetched, expected)
        return Response(status, str(url), headers, 0, b"", self.fetched, True)


def _reason(code: str, params: dict[str, object]) -> str:
    return PROBLEMS[code][1].format(**params)


async def _fetch(
    url: str, target: Path, fetcher_args: tuple[aiohttp.ClientSession, AddressCheck, int, float]
) -> str:
    """Fetch ``url`` into ``target``; "" when it arrived whole, else why not (in Chinese)."""
    session, check, max_bytes, timeout = fetcher_args
    sink = await asyncio.to_thread(target.open, "wb")
    try:
        fetcher = _ToFile(session, check, max_bytes, timeout, sink)
        async with asyncio.timeout(timeout):
            got = await fetcher.get(url, 0, None, max_bytes, first=True)
    except Problem as problem:
        return _reason(problem.code, problem.params)
    except _Truncated as short:
        return short.text()
    except TimeoutError:
        return f"{timeout:g} 秒内没有下载完视频"
    finally:
        await asyncio.to_thread(sink.close)
    if got.status in (404, 410):
        return _reason("not_found", {"status": got.status})
    if got.status in (401, 403):
        return _reason("forbidden", {"status": got.status})
    if got.status not in (200, 206):
        return _reason("http_error", {"status": got.status})
    return "" if fetcher.fetched else _reason("empty", {})


@contextlib.asynccontextmanager
async def fetched_video(
    url: str,
    *,
    session: aiohttp.ClientSession,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109  the whole download's budget, the session's own per read
    allow_private: bool = False,
    is_allowed: AddressCheck | None = None,
    tmp_dir: Path | None = None,
) -> AsyncIterator[Path | str]:
    """The video at ``url`` in a temporary file while the context is open, or why it could not
    be fetched (in Chinese).  The file is removed on exit."""
    if url_problem(url):
        yield "链接无效"
        return
    if tmp_dir is not None:
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(sweep_stale, tmp_dir, timeout)
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=_PREFIX, dir=tmp_dir))
    try:
        target = folder / "video"
        check = is_allowed or default_check(allow_private)
        why = await _fetch(url, target, (session, check, max_bytes, timeout))
        yield why or target
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _last_touched(folder: Path) -> float:
    """The newest modification time of ``folder`` and what it holds."""
    newest = folder.stat().st_mtime
    for entry in folder.iterdir():
        newest = max(newest, entry.stat().st_mtime)
    return newest


def sweep_stale(tmp_dir: Path, older_than_s: float, *, now: float | None = None) -> list[str]:
    """Remove the download folders in ``tmp_dir`` untouched for ``older_than_s`` (the download's
    budget): left by a process that died.  A live one is written to until its download ends
    and then read by a check bounded well within that budget (``validators.content``); another
    worker's (a shared media folder) is as old only when it is as dead.  Returns the names
    removed."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        entries = list(os.scandir(tmp_dir))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            stale = now - _last_touched(Path(entry.path)) > older_than_s
        except OSError:  # removed meanwhile by its own process
            continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed
