"""validators/probe.py and ``check-link``: a direct video link is judged from a few MiB of it.

Every test talks to a real aiohttp server on 127.0.0.1 serving real MP4 files built with ffmpeg
(moov first and moov at the end), and counts the bytes that actually crossed the wire.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from contests.registry import ContestRegistry, dump_contest
from contests.rules import Contest
from tests.cli_runner import run_bot
from tests.media_factory import MediaFactory, Video
from validators.link_fetch import IPAddress, default_check, public_address
from validators.link_problems import MiB
from validators.media import MediaReport, inspect_video
from validators.media_text import format_size
from validators.probe import HEAD_BYTES, LinkProbe, _Ranges, probe_link

ROOT = Path(__file__).resolve().parents[1]
HUGE = 1 << 30  # what the hostile servers claim to send


# ---------------------------------------------------------------------------- test media


@dataclass(frozen=True)
class Media:
    end: Path  # moov after mdat: ffmpeg's default, and what many editors export
    fast: Path  # moov first ("fast start", "web optimised")
    mkv: Path
    small: Path  # smaller than the probe's head: fetched whole

    def files(self) -> dict[str, bytes]:
        return {
            "end.mp4": self.end.read_bytes(),
            "fast.mp4": self.fast.read_bytes(),
            "video.mkv": self.mkv.read_bytes(),
            "small.mp4": self.small.read_bytes(),
            "empty.mp4": b"",
        }


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    if shutil.which("ffmpeg") is None:
        subprocess.run([str(ROOT / "scripts" / "system-deps.sh")], check=False, timeout=600)
    factory = MediaFactory(tmp_path_factory.mktemp("link-media"))
    # 6 s of 1080p at a constant 24 Mbit/s: about 18 MB, most of it after the probe's head.
    recipe = Video(seconds=6, bitrate="24M", faststart=False)
    return Media(
        end=factory.video(recipe),
        fast=factory.video(replace(recipe, faststart=True)),
        mkv=factory.video(replace(recipe, muxer="matroska", suffix=".mkv")),
        small=factory.video(Video(seconds=2)),
    )


@pytest.fixture(scope="session")
def fits(contests: ContestRegistry) -> Contest:
    """most-cas-2024-kepu with duration and size limits the test videos meet; every other rule
    (MP4, 1080p, 16:9, landscape, sound) is the notice's."""
    contest = contests.get("most-cas-2024-kepu")
    assert contest is not None and contest.video is not None
    spec = contest.video.model_copy(
        update={"min_duration_s": 2, "max_duration_s": 10, "min_size_mib": 4, "max_size_mib": 40}
    )
    return contest.model_copy(update={"video": spec})


def with_size_limits(contest: Contest, low: float | None, high: float | None) -> Contest:
    assert contest.video is not None
    spec = contest.video.model_copy(update={"min_size_mib": low, "max_size_mib": high})
    return contest.model_copy(update={"video": spec})


# ---------------------------------------------------------------------------- the server


@dataclass
class VideoServer:
    """Serves the test media in the ways real servers do, and counts what it sent."""

    files: dict[str, bytes] = field(repr=False)  # pytest reprs fixtures; 50 MB of it took seconds
    base: str = ""
    sent: int = 0  # body bytes handed to the transport
    seen: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # path, Range, Host
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return self.base + path

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v/{name}", self.ranged)
        app.router.add_get("/whole/{name}", self.whole)
        app.router.add_get("/chunked/{name}", self.chunked)
        app.router.add_get("/huge", self.huge)
        app.router.add_get("/huge-chunked", self.huge)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/stall", self.stall)
        app.router.add_get("/status/{code}", self.status)
        app.router.add_get("/page", self.page)
        app.router.add_get("/disguised", self.disguised)
        app.router.add_get("/redirect", self.redirect)
        app.router.add_get("/loop", self.loop)
        app.middlewares.append(self.record)
        return app

    @web.middleware
    async def record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.seen.append((request.path, request.headers.get("Range"), request.headers.get("Host")))
        response: web.StreamResponse = await handler(request)
        return response

    def _file(self, request: web.Request) -> bytes:
        name = request.match_info["name"]
        if name not in self.files:
            raise web.HTTPNotFound()
        return self.files[name]

    async def ranged(self, request: web.Request) -> web.Response:
        """Range requests as nginx and object stores answer them."""
        data = self._file(request)
        total = len(data)
        headers = {"Content-Type": "video/mp4", "Accept-Ranges": "bytes"}
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range", ""))
        if m is None:
            self.sent += total
            return web.Response(body=data, headers=headers)
        start = int(m[1])
        end = min(int(m[2]) if m[2] else total - 1, total - 1)
        if start >= total:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{total}"})
        body = data[start : end + 1]
        self.sent += len(body)
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        return web.Response(status=206, body=body, headers=headers)

    async def whole(self, request: web.Request) -> web.StreamResponse:
        """A server that ignores Range: 200 and the whole file, streamed."""
        data = self._file(request)
        return await self._stream(request, data, len(data), length=True)

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        data = self._file(request)
        return await self._stream(request, data, len(data), length=False)

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """1 GiB that claims to be an MP4 whose index is at the end, sent whole whatever the Range."""
        head = _box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
        head += (HUGE - len(head) - 1000).to_bytes(4, "big") + b"mdat"
        return await self._stream(request, head, HUGE, length=request.path == "/huge")

    async def _stream(
        self, request: web.Request, head: bytes, size: int, *, length: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        if length:
            response.content_length = size
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        filler = bytes(64 * 1024)
        sent = 0
        try:
            while sent < size:
                chunk = head[sent : sent + len(filler)] if sent < len(head) else filler
                chunk = chunk[: size - sent]
                await response.write(chunk)
                sent += len(chunk)
                self.sent += len(chunk)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the probe hung up, as it should
        return response

    async def slow(self, request: web.Request) -> web.StreamResponse:
        """Answers at once, then trickles 1 KiB every 50 ms: no single read ever times out."""
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.content_length = 10 * MiB
        await response.prepare(request)
        try:
            while not self.release.is_set():
                await response.write(bytes(1024))
                self.sent += 1024
                await asyncio.sleep(0.05)
        except ConnectionResetError:
            pass
        return response

    async def stall(self, request: web.Request) -> web.Response:
        """Never answers (until the test ends)."""
        await self.release.wait()
        return web.Response(status=204)

    async def status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="error page")

    async def page(self, request: web.Request) -> web.Response:
        html = "<!DOCTYPE html><html><head><title>视频播放</title></head><body><video></video></body></html>"
        return web.Response(text=html, content_type="text/html")

    async def disguised(self, request: web.Request) -> web.Response:
        """A login page sent as application/octet-stream, as some download gateways do."""
        html = b"\n<html><head><title>\xe7\x99\xbb\xe5\xbd\x95</title></head><body>login</body></html>"
        return web.Response(body=html, content_type="application/octet-stream")

    async def redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


async def _start(files: dict[str, bytes], **ssl_kw: Any) -> tuple[VideoServer, TestServer]:
    vs = VideoServer(files)
    server = TestServer(vs.app(), host="127.0.0.1")
    await server.start_server(**ssl_kw)
    vs.base = f"{server.scheme}://127.0.0.1:{server.port}"
    return vs, server


@pytest.fixture
async def server(media: Media) -> AsyncIterator[VideoServer]:
    vs, test_server = await _start(media.files())
    yield vs
    vs.release.set()
    await test_server.close()


@pytest.fixture
async def other_server(media: Media) -> AsyncIterator[VideoServer]:
    """A second server on another port: stands for something internal the probe must not reach."""
    vs, test_server = await _start(media.files())
    yield vs
    vs.release.set()
    await test_server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def only_port(port: int) -> Callable[[str, int, IPAddress], bool]:
    """The real policy (public addresses only) plus exactly one loopback port: the test server
    stands for a public host, and anything else on 127.0.0.1 stays internal."""

    def check(host: str, p: int, address: IPAddress) -> bool:
        return (address.is_loopback and p == port) or public_address(address)

    return check


def port_of(url: str) -> int:
    port = URL(url).port
    assert port is not None
    return port


# ---------------------------------------------------------------------------- MP4 layouts


async def test_moov_at_the_end_is_read_with_one_tail_range(
    server: VideoServer, session: aiohttp.ClientSession, media: Media, fits: Contest
) -> None:
    size = media.end.stat().st_size
    result = await probe_link(server.url("/v/end.mp4"), fits, session=session, allow_private=True)
    assert result.verdict == "passed", result.text_zh()
    assert result.ok and result.report is not None and result.report.ok
    assert result.size == size
    assert result.report.size == size  # the size check saw the real length, not the bytes fetched
    assert result.requests == 2
    ranges = [r for _, r, _ in server.seen]
    assert ranges[0] == f"bytes=0-{HEAD_BYTES - 1}"
    tail = re.fullmatch(r"bytes=(\d+)-(\d+)", ranges[1] or "")
    assert tail is not None
    assert int(tail[1]) > size - 100_000 and int(tail[2]) == size - 1  # only the index, at the very end
    assert result.fetched == server.sent
    assert result.fetched < size / 6


async def test_fast_start_needs_only_the_head(
    server: VideoServer, session: aiohttp.ClientSession, media: Media, fits: Contest
) -> None:
    result = await probe_link(server.url("/v/fast.mp4"), fits, session=session, allow_private=True)
    assert result.verdict == "passed", result.text_zh()
    assert result.requests == 1
    assert result.fetched == HEAD_BYTES
    assert result.size == media.fast.stat().st_size


async def test_moov_longer_than_the_head_is_completed_with_one_more_range(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(
        server.url("/v/fast.mp4"), fits, session=session, allow_private=True, head_bytes=1024
    )
    assert result.verdict == "passed", result.text_zh()
    assert result.requests == 2
    assert server.seen[1][1] == f"bytes=1024-{result.fetched - 1}"  # the rest of moov, nothing more
    assert result.fetched < 100_000


@pytest.mark.parametrize("name", ["end.mp4", "fast.mp4"])
async def test_report_from_ranges_matches_the_report_on_the_whole_file(
    name: str, server: VideoServer, session: aiohttp.ClientSession, media: Media, fits: Contest
) -> None:
    """The sparse file must not change a single fact MediaInfo reports."""
    result = await probe_link(server.url(f"/v/{name}"), fits, session=session, allow_private=True)
    whole: MediaReport = inspect_video(media.end if name == "end.mp4" else media.fast, fits)
    assert result.report is not None and result.report.facts is not None and whole.facts is not None
    assert result.report.facts == whole.facts
    assert [c.to_dict() for c in result.report.checks] == [c.to_dict() for c in whole.checks]
    assert result.report.sha256 is None  # a hash of the holes would be a lie
    assert whole.sha256 is not None


@pytest.mark.parametrize(
    ("low", "high", "word"), [(None, 10, "文件大小"), (100, 300, "文件大小")], ids=["too-big", "too-small"]
)
async def test_size_is_judged_on_the_real_length(
    low: float | None,
    high: float | None,
    word: str,
    server: VideoServer,
    session: aiohttp.ClientSession,
    media: Media,
    fits: Contest,
) -> None:
    contest = with_size_limits(fits, low, high)
    result = await probe_link(server.url("/v/end.mp4"), contest, session=session, allow_private=True)
    assert result.verdict == "failed"
    assert result.report is not None
    size_check = next(c for c in result.report.checks if c.id == "file_size")
    assert not size_check.ok
    assert word in size_check.message and format_size(media.end.stat().st_size) in size_check.message
    assert result.fetched < 3 * MiB
    data = result.to_dict()
    assert data["ok"] is False and data["kind"] == "link" and data["size"] == media.end.stat().st_size
    assert {c["id"] for c in data["checks"]} >= {"container", "duration", "resolution", "file_size"}


async def test_small_file_is_fetched_whole(
    server: VideoServer, session: aiohttp.ClientSession, media: Media, fits: Contest
) -> None:
    result = await probe_link(server.url("/v/small.mp4"), fits, session=session, allow_private=True)
    assert result.size == media.small.stat().st_size < HEAD_BYTES
    assert result.fetched == result.size
    assert result.report is not None and result.report.readable
    assert result.report.duration_s is not None and 1.5 < result.report.duration_s < 2.5


# ---------------------------------------------------------------------------- servers that misbehave


async def test_server_ignoring_range_is_read_only_to_the_head(
    server: VideoServer, session: aiohttp.ClientSession, media: Media, fits: Contest
) -> None:
    """A fast-started file needs nothing past the head, even from a server without Range."""
    result = await probe_link(server.url("/whole/fast.mp4"), fits, session=session, allow_private=True)
    assert result.verdict == "passed", result.text_zh()
    assert result.fetched == HEAD_BYTES
    assert result.size == media.fast.stat().st_size


async def test_server_ignoring_range_cannot_give_the_tail(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url("/whole/end.mp4"), fits, session=session, allow_private=True)
    assert (result.verdict, result.problem) == ("unreachable", "no_range")
    assert result.fetched == HEAD_BYTES  # the second answer (the whole file again) was not read
    assert "faststart" in result.text_zh()


@pytest.mark.parametrize(
    ("path", "max_bytes", "head_bytes", "problem"),
    [
        ("/huge", 2 * MiB, 1 * MiB, "no_range"),  # the tail request gets the gigabyte again: not read
        ("/huge", 1 * MiB, 4 * MiB, "over_cap"),  # the cap cuts the head itself
        ("/huge-chunked", 1 * MiB, 4 * MiB, "no_length"),
    ],
)
async def test_huge_body_is_cut_off_at_the_cap(
    path: str,
    max_bytes: int,
    head_bytes: int,
    problem: str,
    server: VideoServer,
    session: aiohttp.ClientSession,
    fits: Contest,
) -> None:
    result = await probe_link(
        server.url(path),
        fits,
        session=session,
        allow_private=True,
        max_bytes=max_bytes,
        head_bytes=head_bytes,
    )
    assert result.problem == problem
    assert result.fetched == 1 * MiB
    await asyncio.sleep(0.2)  # let the server notice the hang-up
    assert server.sent < 64 * MiB < HUGE  # socket buffers, not the gigabyte


async def test_index_beyond_the_cap_is_refused_not_downloaded(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(
        server.url("/v/fast.mp4"), fits, session=session, allow_private=True, max_bytes=2048, head_bytes=1024
    )
    assert result.problem == "over_cap"
    assert result.fetched <= 2048
    assert "上限" in result.text_zh()


@pytest.mark.parametrize("path", ["/slow", "/stall"])
async def test_slow_server_times_out(
    path: str, server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url(path), fits, session=session, allow_private=True, timeout=0.5)
    assert (result.verdict, result.problem) == ("unreachable", "timeout")
    assert "0.5秒" in result.text_zh()
    assert result.fetched < 64 * 1024


@pytest.mark.parametrize(
    ("code", "problem"),
    [(404, "not_found"), (410, "not_found"), (403, "forbidden"), (401, "forbidden"), (500, "http_error")],
)
async def test_http_errors(
    code: int, problem: str, server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url(f"/status/{code}"), fits, session=session, allow_private=True)
    assert (result.verdict, result.problem, result.status) == ("unreachable", problem, code)
    assert f"HTTP {code}" in result.text_zh()
    assert result.report is None
    assert result.to_dict()["checks"][0]["id"] == "link"


@pytest.mark.parametrize("path", ["/page", "/disguised"])
async def test_web_page_instead_of_a_video(
    path: str, server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url(path), fits, session=session, allow_private=True)
    assert (result.verdict, result.problem) == ("failed", "html_page")
    assert "网页" in result.text_zh()


async def test_missing_length_is_a_clear_verdict(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url("/chunked/end.mp4"), fits, session=session, allow_private=True)
    assert (result.verdict, result.problem) == ("unreachable", "no_length")
    assert "Content-Length" in result.text_zh()
    assert result.fetched == HEAD_BYTES


async def test_small_file_without_length_is_still_judged(
    server: VideoServer, session: aiohttp.ClientSession, media: Media, fits: Contest
) -> None:
    result = await probe_link(server.url("/chunked/small.mp4"), fits, session=session, allow_private=True)
    assert result.problem == ""
    assert result.size == media.small.stat().st_size


async def test_empty_file(server: VideoServer, session: aiohttp.ClientSession, fits: Contest) -> None:
    result = await probe_link(server.url("/v/empty.mp4"), fits, session=session, allow_private=True)
    assert (result.verdict, result.problem) == ("failed", "empty")


async def test_matroska_is_not_mp4(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url("/v/video.mkv"), fits, session=session, allow_private=True)
    assert (result.verdict, result.problem) == ("failed", "not_mp4")
    assert "Matroska" in result.text_zh()
    assert result.fetched == HEAD_BYTES


async def test_other_container_is_not_refused_where_the_notice_names_none(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    assert fits.video is not None
    anything = fits.model_copy(update={"video": fits.video.model_copy(update={"container": None})})
    result = await probe_link(server.url("/v/video.mkv"), anything, session=session, allow_private=True)
    assert result.problem != "not_mp4"
    assert result.report is not None


async def test_not_a_url(session: aiohttp.ClientSession, fits: Contest) -> None:
    result = await probe_link("ftp://files.example.cn/v.mp4", fits, session=session)
    assert (result.verdict, result.problem) == ("unreachable", "bad_url")


# ---------------------------------------------------------------------------- addresses and redirects


async def test_loopback_is_refused_by_default(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    result = await probe_link(server.url("/v/fast.mp4"), fits, session=session)
    assert (result.verdict, result.problem) == ("unreachable", "refused_address")
    assert result.params["address"] == "127.0.0.1"
    assert server.seen == []  # refused before connecting
    assert "内网" in result.text_zh()


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: list[list[str]]) -> list[str]:
    """Make the running loop's resolver answer from ``answers``, one list per lookup (the last
    one repeats); returns the names looked up.  aiohttp's own resolver uses the same call, so
    a second lookup by anyone gets the next answer, as in a DNS rebinding attack."""
    asked: list[str] = []
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(str(host))
        answer = answers[min(len(asked), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 80)))
            for a in answer
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_name_is_refused_if_any_of_its_addresses_is_private(
    monkeypatch: pytest.MonkeyPatch, session: aiohttp.ClientSession, fits: Contest
) -> None:
    judged: list[IPAddress] = []

    def check(host: str, port: int, address: IPAddress) -> bool:
        judged.append(address)
        return public_address(address)

    fake_dns(monkeypatch, [["93.184.216.34", "10.0.0.5"]])
    result = await probe_link("http://video.example.cn/v.mp4", fits, session=session, is_allowed=check)
    assert (result.problem, result.params["address"]) == ("refused_address", "10.0.0.5")
    assert [str(a) for a in judged] == ["93.184.216.34", "10.0.0.5"]
    assert result.requests == 1 and result.status is None  # refused before connecting


async def test_a_name_for_loopback_is_refused_by_default(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    url = server.url("/v/fast.mp4").replace("127.0.0.1", "localhost")
    result = await probe_link(url, fits, session=session)
    assert (result.problem, result.params["address"]) == ("refused_address", "127.0.0.1")
    assert server.seen == []


async def test_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch, server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    """DNS rebinding: the name answers 127.0.0.1 (allowed here) to the check and something else
    afterwards.  The probe must connect to what it checked, without a second lookup, and still
    send the name as Host."""
    port = port_of(server.base)
    asked = fake_dns(monkeypatch, [["127.0.0.1"], ["192.0.2.1"]])
    result = await probe_link(
        f"http://video.example.cn:{port}/v/fast.mp4", fits, session=session, is_allowed=only_port(port)
    )
    assert result.verdict == "passed", result.text_zh()
    assert asked == ["video.example.cn"]
    assert server.seen[0][2] == f"video.example.cn:{port}"


async def test_redirect_within_the_allowed_host_is_followed(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    start = server.url("/redirect?to=/v/end.mp4")
    result = await probe_link(start, fits, session=session, is_allowed=only_port(port_of(start)))
    assert result.verdict == "passed", result.text_zh()
    assert result.final_url.endswith("/v/end.mp4")
    # The tail went straight to where the head was found, without the redirect again.
    assert [p for p, _, _ in server.seen] == ["/redirect", "/v/end.mp4", "/v/end.mp4"]


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://10.0.0.1/video.mp4",
        "http://[::1]:8080/video.mp4",
        "http://[::ffff:127.0.0.1]/video.mp4",
        "http://0.0.0.0:8080/video.mp4",
    ],
)
async def test_redirect_to_a_private_address_is_refused(
    target: str, server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    start = server.url(f"/redirect?to={target}")
    result = await probe_link(start, fits, session=session, is_allowed=only_port(port_of(start)))
    assert (result.verdict, result.problem) == ("unreachable", "refused_address")
    assert result.status == 302
    assert result.fetched == 0


async def test_redirect_to_another_local_port_is_refused(
    server: VideoServer, other_server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    start = server.url(f"/redirect?to={other_server.url('/v/fast.mp4')}")
    result = await probe_link(start, fits, session=session, is_allowed=only_port(port_of(start)))
    assert result.problem == "refused_address"
    assert other_server.seen == []


async def test_redirect_loop_and_bad_locations(
    server: VideoServer, session: aiohttp.ClientSession, fits: Contest
) -> None:
    check = only_port(port_of(server.base))
    looped = await probe_link(server.url("/loop"), fits, session=session, is_allowed=check)
    assert looped.problem == "too_many_redirects"
    assert len(server.seen) == 6  # the first request and five redirects, no more
    ftp = await probe_link(
        server.url("/redirect?to=ftp://x.example/v.mp4"), fits, session=session, is_allowed=check
    )
    assert ftp.problem == "bad_redirect"
    creds = await probe_link(
        server.url(f"/redirect?to=http://user:pw@127.0.0.1:{port_of(server.base)}/v/fast.mp4"),
        fits,
        session=session,
        is_allowed=check,
    )
    assert creds.problem == "bad_redirect"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("114.114.114.114", True),
        ("2400:3200::1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_public_address(address: str, public: bool) -> None:
    assert public_address(ipaddress.ip_address(address)) is public


def test_allow_private_still_refuses_multicast_and_unspecified() -> None:
    check = default_check(True)
    assert check("x", 80, ipaddress.ip_address("127.0.0.1"))
    assert check("x", 80, ipaddress.ip_address("10.0.0.1"))
    assert not check("x", 80, ipaddress.ip_address("224.0.0.1"))
    assert not check("x", 80, ipaddress.ip_address("0.0.0.0"))


def test_ranges_gaps() -> None:
    ranges = _Ranges()
    ranges.add(0, b"a" * 10)
    ranges.add(20, b"b" * 10)
    assert ranges.gaps(0, 40) == [(10, 20), (30, 40)]
    assert ranges.gaps(5, 25) == [(10, 20)]
    assert ranges.gaps(0, 10) == []
    assert ranges.get(22, 4) == b"bbbb"
    assert ranges.get(8, 4) is None


# ---------------------------------------------------------------------------- HTTPS


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize(("cert_name", "passes"), [("localhost", True), ("other.example", False)])
async def test_https_to_the_pinned_address_still_verifies_the_name(
    cert_name: str, passes: bool, tmp_path: Path, media: Media, fits: Contest
) -> None:
    """The probe connects to 127.0.0.1 itself, yet the certificate must still match "localhost"."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing")
    cert, key = _certificate(tmp_path, cert_name)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    vs, test_server = await _start(media.files(), ssl=server_ctx)
    try:
        url = vs.url("/v/fast.mp4").replace("127.0.0.1", "localhost")
        port = port_of(url)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ctx)) as session:
            result = await probe_link(
                url, fits, session=session, is_allowed=lambda h, p, a: p == port and a.is_loopback
            )
    finally:
        vs.release.set()
        await test_server.close()
    if passes:
        assert result.verdict == "passed", result.text_zh()
        assert vs.seen[0][2] == f"localhost:{port}"
    else:
        assert result.problem == "connect_failed"
        assert vs.seen == []


# ---------------------------------------------------------------------------- the command line


async def cli(args: list[str], data_dir: Path) -> tuple[int, str, str]:
    """``python -m bot`` in a thread of its own, while this loop keeps serving the test server."""
    done = await asyncio.to_thread(run_bot, args, env={"BOT_DATA_DIR": str(data_dir)}, cwd=data_dir)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def data_dir(tmp_path: Path, fits: Contest) -> Path:
    """A data folder whose contests/ holds ``fits`` as contest ``link-test``."""
    data = fits.model_dump(mode="json", exclude_defaults=True)
    data["id"] = "link-test"
    data["number_prefix"] = "LINK2024"  # beside most-cas-2024-kepu, a sequence of its own
    dump_contest(data, tmp_path / "contests" / "link-test.yaml")
    return tmp_path


async def test_cli_direct_link_passes(server: VideoServer, data_dir: Path) -> None:
    url = server.url("/v/end.mp4")
    code, out, err = await cli(
        ["check-link", url, "--contest", "link-test", "--json", "--allow-private"], data_dir
    )
    assert code == 0, err + out
    data = json.loads(out)
    assert data["ok"] is True and data["kind"] == "link" and data["verdict"] == "passed"
    required = {"container", "duration", "resolution", "aspect_ratio", "file_size"}
    assert {c["id"] for c in data["checks"]} >= required
    assert all(c["ok"] for c in data["checks"])
    assert data["fetched_bytes"] < data["size"] / 6


async def test_cli_direct_link_fails_the_notice(server: VideoServer, data_dir: Path) -> None:
    url = server.url("/v/end.mp4")
    code, out, _ = await cli(
        ["check-link", url, "--contest", "most-cas-2024-kepu", "--allow-private"], data_dir
    )
    assert code == 1
    assert "✗ 时长" in out  # 6 s against the notice's 2 to 5 minutes
    assert "未下载整个文件" in out


async def test_cli_unreachable_and_refused_exit_2(server: VideoServer, data_dir: Path) -> None:
    missing = server.url("/status/404")
    code, out, _ = await cli(
        ["check-link", missing, "--contest", "link-test", "--json", "--allow-private"], data_dir
    )
    assert code == 2
    assert json.loads(out)["problem"] == "not_found"
    code, out, _ = await cli(["check-link", server.url("/v/end.mp4"), "--contest", "link-test"], data_dir)
    assert code == 2
    assert "内网" in out
    assert server.seen == [("/status/404", f"bytes=0-{HEAD_BYTES - 1}", server.base.removeprefix("http://"))]


async def test_cli_share_link_missing_code_exits_1(tmp_path: Path) -> None:
    code, out, _ = await cli(
        ["check-link", "链接：https://pan.baidu.com/s/1Abc2DeF3gHiJk", "--contest", "cacsi-2022-youth",
         "--json", "--answer", "unit=黑龙江省科学技术馆", "--answer", "title=光的旅行"],
        tmp_path,
    )  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert data["kind"] == "share_link" and data["ok"] is False and data["checked"] is False
    assert data["missing"] == ["code"]
    assert data["folder_name"] == "黑龙江省+黑龙江省科学技术馆+光的旅行"
    assert {c["id"]: c["ok"] for c in data["checks"]}["permanent"] is None  # never claimed


async def test_cli_share_link_with_code_exits_0(tmp_path: Path) -> None:
    code, out, _ = await cli(
        ["check-link", "https://pan.baidu.com/share/init?surl=Abc2DeF3gHiJk 提取码：k7p2", "--contest",
         "cacsi-2022-youth"],
        tmp_path,
    )  # fmt: skip
    assert code == 0
    assert "https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=k7p2" in out
    assert "永久有效" in out and "人工审核" in out


async def test_cli_refuses_what_the_contest_does_not_take_and_bad_input(tmp_path: Path) -> None:
    code, out, _ = await cli(
        ["check-link", "https://cdn.example.cn/v.mp4", "--contest", "cacsi-2022-youth"], tmp_path
    )
    assert code == 1
    assert "网盘" in out
    code, out, err = await cli(
        ["check-link", "https://pan.quark.cn/s/1a2b", "--contest", "nope", "--json"], tmp_path
    )
    assert code == 2 and "nope" in err
    assert json.loads(out) == {
        "ok": False,
        "kind": None,
        "error": "unknown_contest",
        "message": err.strip(),
        "checks": [],
    }
    code, out, _ = await cli(["check-link", "请看附件", "--contest", "cacsi-2022-youth", "--json"], tmp_path)
    assert code == 2 and json.loads(out)["error"] == "bad_url"


def test_link_probe_to_dict_is_json(fits: Contest) -> None:
    probe = LinkProbe("https://x.example/v.mp4", "unreachable", "timeout", {"timeout": 20.0})
    data = json.loads(json.dumps(probe.to_dict(), ensure_ascii=False))
    assert data["ok"] is False and data["problem"] == "timeout"
    assert data["checks"][0]["message"].startswith("20秒内")
