"""The streamed ZIP download (``bot.web.zipstream``), over HTTP on a real aiohttp server.

Archives are checked by Python's ``zipfile`` and, where installed, Info-ZIP's ``unzip -t``;
ZIP64 is exercised with kilobytes by lowering ``ZIP64_LIMIT``; memory by streaming 300 MB
of sparse files (no disk) while sampling this process's resident set.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import struct
import subprocess
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.web import zipstream
from bot.web.zipstream import ZipMember, ZipMemberError, content_disposition, stream_zip, zip_response

MB = 1_000_000
VIDEO_NAME = "北京市科学技术委员会+作品名/视频.mp4"
ZIP_NAME = "2099 科普微视频 全部作品.zip"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    app.router.add_get("/zip", handler)
    async with TestClient(TestServer(app)) as client:
        yield client


class BytesSink:
    """Stands in for a prepared response: keeps what is written."""

    def __init__(self) -> None:
        self.out = io.BytesIO()

    async def write(self, data: bytes) -> None:
        self.out.write(data)


def write_random(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def write_sparse(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)  # a hole: reads as zeros, takes no disk
    return path


def unzip_test(archive: Path) -> None:
    """``unzip -t`` must pass, where the system has it (Info-ZIP: what Linux users run)."""
    if shutil.which("unzip") is None:
        return
    done = subprocess.run(["unzip", "-t", str(archive)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No errors detected" in done.stdout


def check_archive(body: bytes, expected: dict[str, bytes], folder: Path) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert archive.namelist() == list(expected)
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.flag_bits & 0x0800, "names flagged UTF-8"
        assert info.flag_bits & 0x0008, "CRC and sizes in a data descriptor"
        assert archive.read(info) == expected[info.filename]
    path = folder / "downloaded.zip"
    path.write_bytes(body)
    unzip_test(path)
    return archive


@pytest.fixture
def sources(tmp_path: Path) -> tuple[list[ZipMember], dict[str, bytes]]:
    video = write_random(tmp_path / "src" / "a.mp4", 3 * MB + 17)  # three chunks and a bit
    scan = write_random(tmp_path / "src" / "scan.pdf", 1000)
    empty = tmp_path / "src" / "empty.txt"
    empty.write_bytes(b"")
    sheet = "作品清单,作者\n".encode() * 50
    members = [
        ZipMember(VIDEO_NAME, path=video),
        ZipMember("北京市科学技术委员会+作品名/授权书.pdf", path=scan),
        ZipMember("空文件.txt", path=empty),
        ZipMember("作品清单.xlsx", data=sheet),
    ]
    expected = {
        VIDEO_NAME: video.read_bytes(),
        "北京市科学技术委员会+作品名/授权书.pdf": scan.read_bytes(),
        "空文件.txt": b"",
        "作品清单.xlsx": sheet,
    }
    return members, expected


async def test_a_list_streams_as_one_zip_with_its_exact_length(
    sources: tuple[list[ZipMember], dict[str, bytes]], tmp_path: Path
) -> None:
    members, expected = sources

    async def handler(request: web.Request) -> web.StreamResponse:
        return await zip_response(request, members, ZIP_NAME)

    async with serve(handler) as client:
        resp = await client.get("/zip")
        assert resp.status == 200
        body = await resp.read()
    assert resp.headers["Content-Type"] == "application/zip"
    assert int(resp.headers["Content-Length"]) == len(body)
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="2099.zip"; ')
    assert f"filename*=UTF-8''{quote(ZIP_NAME, safe='')}" in disposition
    check_archive(body, expected, tmp_path)
    assert b"PK\x06\x06" not in body, "no ZIP64 records below 4 GiB"


async def test_an_async_iterable_streams_chunked(
    sources: tuple[list[ZipMember], dict[str, bytes]], tmp_path: Path
) -> None:
    members, expected = sources

    async def produce() -> AsyncIterator[ZipMember]:
        for member in members:
            await asyncio.sleep(0)
            yield member

    async def handler(request: web.Request) -> web.StreamResponse:
        return await zip_response(request, produce(), ZIP_NAME, chunk=64 * 1024)

    async with serve(handler) as client:
        resp = await client.get("/zip")
        body = await resp.read()
    assert resp.status == 200 and "Content-Length" not in resp.headers
    check_archive(body, expected, tmp_path)


async def test_zip64_records_past_the_limit(
    sources: tuple[list[ZipMember], dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the limit at 1000 bytes the 3 MB video and every offset past it need ZIP64: the same
    records a 5 GB video or a 20 × 250 MB contest gets."""
    monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 1000)
    members, expected = sources

    async def handler(request: web.Request) -> web.StreamResponse:
        return await zip_response(request, members, ZIP_NAME)

    async with serve(handler) as client:
        resp = await client.get("/zip")
        body = await resp.read()
    assert int(resp.headers["Content-Length"]) == len(body)
    archive = check_archive(body, expected, tmp_path)
    assert b"PK\x06\x06" in body and b"PK\x06\x07" in body, "ZIP64 end record and locator"
    for info in archive.infolist():
        big = info.file_size >= 1000 or info.header_offset >= 1000
        assert info.extra.startswith(b"\x01\x00") == big, info.filename
    # The video's data descriptor has 8-byte sizes, as its local header's ZIP64 field announces.
    video = archive.getinfo(VIDEO_NAME)
    start = video.header_offset + 30 + len(VIDEO_NAME.encode()) + 20 + video.file_size
    descriptor = struct.unpack_from("<IIQQ", body, start)
    assert descriptor == (0x08074B50, video.CRC, video.file_size, video.file_size)


async def test_a_missing_file_fails_before_any_byte(tmp_path: Path) -> None:
    here = write_random(tmp_path / "here.mp4", 1000)
    members = [ZipMember("在.mp4", path=here), ZipMember("缺.mp4", path=tmp_path / "gone.mp4")]
    sink = BytesSink()
    with pytest.raises(ZipMemberError, match=r"缺\.mp4.*gone\.mp4 does not exist"):
        await stream_zip(sink, members)  # type: ignore[arg-type]
    assert sink.out.getvalue() == b""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await zip_response(request, members, ZIP_NAME)
        except ZipMemberError as exc:
            raise web.HTTPNotFound(text=str(exc)) from exc

    async with serve(handler) as client:
        resp = await client.get("/zip")
        assert resp.status == 404
        assert "缺.mp4" in await resp.text()


async def test_a_file_missing_midway_of_an_async_iterable_cuts_the_download(tmp_path: Path) -> None:
    here = write_random(tmp_path / "here.mp4", 100_000)

    async def produce() -> AsyncIterator[ZipMember]:
        yield ZipMember("在.mp4", path=here)
        yield ZipMember("缺.mp4", path=tmp_path / "gone.mp4")

    async def handler(request: web.Request) -> web.StreamResponse:
        return await zip_response(request, produce(), ZIP_NAME)

    async with serve(handler) as client:
        resp = await client.get("/zip")
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()  # never taken for a whole archive


def test_members_and_names_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ZipMember("a.mp4")
    with pytest.raises(ValueError, match="exactly one"):
        ZipMember("a.mp4", path=Path("a"), data=b"")
    for bad in ("", "/etc/passwd", "../a.mp4", "a/../b", "a\\b", "folder/"):
        with pytest.raises(ValueError, match="relative path"):
            ZipMember(bad, data=b"")


def test_content_disposition_has_an_ascii_fallback() -> None:
    assert content_disposition("全部作品.zip") == (
        "attachment; filename=\"download.zip\"; filename*=UTF-8''%E5%85%A8%E9%83%A8%E4%BD%9C%E5%93%81.zip"
    )
    assert content_disposition('2099 "科普" ;x.zip').startswith('attachment; filename="2099_x.zip";')
    assert content_disposition("report").startswith('attachment; filename="report";')


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_memory_stays_flat_over_300_mb(tmp_path: Path) -> None:
    files = [write_sparse(tmp_path / f"v{i}.mp4", 100 * MB) for i in range(3)]
    members = [ZipMember(f"作品{i}/视频.mp4", path=p) for i, p in enumerate(files)]
    small = [ZipMember("warm-up.mp4", path=write_random(tmp_path / "w.mp4", 3 * MB))]

    async def handler(request: web.Request) -> web.StreamResponse:
        return await zip_response(request, small if "warm" in request.query else members, ZIP_NAME)

    async with serve(handler) as client:
        async with client.get("/zip?warm=1") as resp:
            await resp.read()  # the first request's allocations are not the archive's
        before = peak = rss_bytes()
        received = 0
        async with client.get("/zip") as resp:
            assert resp.status == 200
            async for block in resp.content.iter_chunked(1 << 20):
                received += len(block)
                peak = max(peak, rss_bytes())
        assert received == int(resp.headers["Content-Length"]) > 300 * MB
    assert peak - before < 50 * MB, f"RSS grew by {(peak - before) / MB:.1f} MB"


def open_under(folder: Path) -> list[str]:
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return [t for t in targets if t.startswith(str(folder))]


@pytest.mark.parametrize("cancelling", [False, True], ids=["plain", "handler-cancellation"])
async def test_a_client_that_goes_away_stops_the_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cancelling: bool
) -> None:
    """aiohttp's default (``handler_cancellation=False``, as ``serve`` runs): the next write
    raises ``ConnectionResetError``, which ends the download quietly.  With handler
    cancellation on (as in ``TestServer``) the handler is cancelled instead, and the
    cancellation goes on up.  Either way reading stops and the files are closed."""
    files = [write_sparse(tmp_path / f"v{i}.mp4", 200 * MB) for i in range(2)]
    members = [ZipMember(f"{i}.mp4", path=p) for i, p in enumerate(files)]
    reads = 0
    real_read = zipstream._read

    def counting_read(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return real_read(*args)

    monkeypatch.setattr(zipstream, "_read", counting_read)
    finished: asyncio.Future[web.StreamResponse] = asyncio.get_running_loop().create_future()

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            response = await zip_response(request, members, ZIP_NAME)
        except BaseException as exc:
            finished.set_exception(exc)
            raise
        finished.set_result(response)
        return response

    app = web.Application()
    app.router.add_get("/zip", handler)
    runner = web.AppRunner(app, handler_cancellation=cancelling)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            resp = await session.get(f"http://{host}:{port}/zip")
            await resp.content.readexactly(3 * MB)
            resp.close()  # the browser's "cancel": the connection goes
            if cancelling:
                # Usually the handler is cancelled; under load its next write may meet the
                # closed connection first and end quietly.  Either way it must end.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(finished, timeout=10)
                assert finished.done()
            else:
                response = await asyncio.wait_for(finished, timeout=10)  # no exception escaped
                assert response.prepared
    finally:
        await runner.cleanup()
    assert reads < 100, f"{reads} chunks of 400 read for a client that left after 3"
    for _ in range(100):  # a read already under way closes its file when it returns
        if not open_under(tmp_path):
            break
        await asyncio.sleep(0.01)
    assert open_under(tmp_path) == []


def test_the_size_is_computed_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Content-Length`` comes from the same record builders the stream uses, ZIP64 or not."""
    for limit in (zipstream.ZIP64_LIMIT, 100):
        monkeypatch.setattr(zipstream, "ZIP64_LIMIT", limit)
        members = [ZipMember(f"文件{i}.bin", data=b"x" * (i * 37)) for i in range(8)]
        sink = BytesSink()
        written = asyncio.run(stream_zip(sink, members))  # type: ignore[arg-type]
        assert written == len(sink.out.getvalue()) == zipstream._zip_size(zipstream._entries(members))
        assert zipfile.ZipFile(sink.out).testzip() is None


def many_members(count: int) -> Iterable[ZipMember]:
    return (ZipMember(f"{i:05d}.txt", data=b"%d" % i) for i in range(count))


def test_more_than_65535_members_get_a_zip64_end_record() -> None:
    sink = BytesSink()
    asyncio.run(stream_zip(sink, many_members(70_000)))  # type: ignore[arg-type]
    archive = zipfile.ZipFile(sink.out)
    assert len(archive.infolist()) == 70_000
    assert archive.read("69999.txt") == b"69999"
