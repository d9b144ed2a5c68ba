"""A direct link's whole video, fetched for the content checks once the probe has passed it.

The probe (:mod:`validators.probe`) judges a link by a few MiB; the content checks decode the
whole file.  The same rules hold here: every address is checked before it is used and the
connection pinned to it, each redirect is checked again, the bytes are capped (the notice's
size limit) and the body streams to a temporary file, never into memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import aiohttp
from yarl import URL

from validators.probe import (
    _PROBLEMS,
    AddressCheck,
    _Fetcher,
    _Problem,
    _Response,
    _size_text,
    _url_problem,
    default_check,
)

_FLUSH = 1024 * 1024  # bytes gathered before one write in a worker thread


class _ToFile(_Fetcher):
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

    async def _read(self, url: URL, resp: aiohttp.ClientResponse, limit: int, first: bool) -> _Response:
        status = resp.status
        headers = dict(resp.headers)
        if status not in (200, 206):
            return _Response(status, str(url), headers, 0, b"", None, False)
        if headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
            raise _Problem("bad_response", detail=f"Content-Encoding: {headers['Content-Encoding']}")
        buffer = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            self.fetched += len(chunk)
            if self.fetched > self.budget:
                resp.close()
                raise _Problem("over_cap", cap=_size_text(self.budget))
            buffer += chunk
            if len(buffer) >= _FLUSH:
                await asyncio.to_thread(self.sink.write, bytes(buffer))
                buffer.clear()
        await asyncio.to_thread(self.sink.write, bytes(buffer))
        return _Response(status, str(url), headers, 0, b"", self.fetched, True)


def _reason(code: str, params: dict[str, object]) -> str:
    return _PROBLEMS[code][1].format(**params)


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
    except _Problem as problem:
        return _reason(problem.code, problem.params)
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
    if _url_problem(url):
        yield "链接无效"
        return
    if tmp_dir is not None:
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kepu-fetch-", dir=tmp_dir))
    try:
        target = folder / "video"
        check = is_allowed or default_check(allow_private)
        why = await _fetch(url, target, (session, check, max_bytes, timeout))
        yield why or target
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
