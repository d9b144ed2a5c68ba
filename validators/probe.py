"""Direct video links: judge the video behind an http(s) link without downloading it.

An MP4 is judged by its header boxes and its index (the ``moov`` box), which sit at the start
or, when the exporter did not "fast start" the file, at the very end.  So the probe fetches the
first few MiB with an HTTP Range request, walks the top-level boxes, fetches the ``moov`` box
wherever it is, writes those ranges into a sparse temporary file as long as the real one and
hands that to :func:`validators.media.inspect_video` (in a thread).  Sizes are therefore the
server's, and the bytes read are capped.

The server fetches what an entrant typed, so every address is checked before it is used: the
host is resolved here, every address must pass the check (public only, unless told otherwise),
the connection goes to the address that was checked (no second lookup to rebind), and each
redirect is checked again the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
from yarl import URL

from contests.rules import Contest
from validators.media import MediaReport, inspect_video

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 8 * MiB
HEAD_BYTES = 2 * MiB  # ftyp + a fast-started moov + the first frames, for most videos
MAX_REDIRECTS = 5
_MAX_REQUESTS = 8  # head, tail, and a few box headers in between
_MAX_BOXES = 64  # a real MP4 has a handful of top-level boxes
_CHUNK = 64 * 1024
_TAIL_WINDOW = 64 * 1024  # a look at box headers when the rest does not fit the budget
_REDIRECTS = {301, 302, 303, 307, 308}
# A claimed length beyond this is no contest video; the sparse file is not even made.
_ABSURD_SIZE = 64 * 1024 * MiB

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host as written in the link, port, one address it resolved to) -> may we connect?
AddressCheck = Callable[[str, int, IPAddress], bool]

# ---- which addresses may be fetched ---------------------------------------------------------


def _embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in ::ffff:a.b.c.d or a 6to4 address, which reaches it just the same."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour
    return None


def public_address(address: IPAddress) -> bool:
    """Globally routable unicast only: no private, loopback, link-local (169.254.169.254, the
    cloud metadata service), shared (100.64/10), multicast, reserved or unspecified address."""
    inner = _embedded_v4(address)
    if inner is not None and not public_address(inner):
        return False
    return address.is_global and not address.is_multicast


def default_check(allow_private: bool) -> AddressCheck:
    """The address policy from the settings: public only, or anything but multicast/unspecified."""

    def check(host: str, port: int, address: IPAddress) -> bool:
        del host, port
        if allow_private:
            return not (address.is_multicast or address.is_unspecified)
        return public_address(address)

    return check


# ---- the result -------------------------------------------------------------------------------

# problem code -> (verdict, message).  "unreachable": the video could not be looked at (exit 2);
# "failed": what is there is not an acceptable video (exit 1).
_PROBLEMS: dict[str, tuple[Literal["failed", "unreachable"], str]] = {
    "bad_url": ("unreachable", "“{url}”不是有效的 http/https 链接。"),
    "refused_address": (
        "unreachable",
        "链接指向内网、本机或保留地址（{host} → {address}），出于安全原因不予访问。"
        "请提供公网上可以直接下载的视频链接。",
    ),
    "dns_failed": ("unreachable", "无法解析域名 {host}，请检查链接是否完整、正确。"),
    "connect_failed": ("unreachable", "无法连接到 {host}（{error}），请稍后重试或换一个链接。"),
    "timeout": (
        "unreachable",
        "{timeout:g}秒内没能读到视频信息（服务器响应太慢），请稍后重试、换一个链接，或直接发送视频文件。",
    ),
    "too_many_redirects": ("unreachable", "链接跳转次数过多（超过{max}次），无法打开。"),
    "bad_redirect": ("unreachable", "链接跳转到了无效的地址（{location}）。"),
    "not_found": (
        "unreachable",
        "链接打不开（HTTP {status}：文件不存在或已删除），请检查链接是否完整、是否已过期。",
    ),
    "forbidden": (
        "unreachable",
        "链接无权访问（HTTP {status}）：可能需要登录、已过期或设有防盗链。"
        "请提供可以直接下载的链接，或直接发送视频文件。",
    ),
    "http_error": ("unreachable", "服务器返回错误（HTTP {status}），请稍后重试或换一个链接。"),
    "no_length": (
        "unreachable",
        "服务器没有告知文件大小（缺少 Content-Length），无法核对视频大小。"
        "请换一个下载链接，或直接发送视频文件。",
    ),
    "no_range": (
        "unreachable",
        "服务器不支持分段读取（HTTP Range），而这个视频的索引在文件末尾，不下载整个文件就无法检查。"
        "请用“快速启动”（faststart）方式重新导出，或直接发送视频文件。",
    ),
    "over_cap": (
        "unreachable",
        "读取视频信息需要下载的数据超过上限（{cap}），为避免下载整个文件已停止。请直接发送视频文件。",
    ),
    "bad_response": ("unreachable", "服务器的响应无法使用（{detail}），请换一个链接或直接发送视频文件。"),
    "html_page": (
        "failed",
        "链接打开的是网页，不是视频文件（{content_type}）。视频网站的播放页（如哔哩哔哩、抖音）无法检查，"
        "请提供视频文件本身的下载地址；网盘链接请发送分享链接和提取码。",
    ),
    "not_video": ("failed", "链接的内容不是视频（{content_type}），请检查链接。"),
    "empty": ("failed", "链接指向的文件是空的（0 字节）。"),
    "not_mp4": ("failed", "链接指向的文件不是 MP4（看起来是 {detected}），通知要求 MP4 格式。"),
    "too_big": ("failed", "文件大小 {size}，远远超过任何视频的要求，请检查链接。"),
}


@dataclass(frozen=True, slots=True)
class LinkProbe:
    """What probing one direct link found.  ``report`` is the media check of the fetched ranges."""

    url: str
    verdict: Literal["passed", "failed", "unreachable"]
    problem: str = ""  # a key of _PROBLEMS, "" when the media check ran
    params: dict[str, Any] = field(default_factory=dict)
    status: int | None = None  # the last HTTP status seen
    final_url: str = ""  # after redirects
    size: int | None = None  # the file's real length, from Content-Range / Content-Length
    content_type: str = ""
    fetched: int = 0  # body bytes actually read
    requests: int = 0
    report: MediaReport | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "passed"

    def message_zh(self) -> str:
        """The probe's own verdict in one sentence ("" when the media report speaks)."""
        if not self.problem:
            return ""
        return _PROBLEMS[self.problem][1].format(url=self.url, **self.params)

    def text_zh(self) -> str:
        """The report as the entrant reads it."""
        head = f"视频链接：{self.url}"
        if self.problem:
            return f"{head}\n✗ {self.message_zh()}"
        assert self.report is not None
        note = "（只读取了文件开头和索引部分，未下载整个文件）"
        return f"{head}{note}\n{self.report.text_zh()}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``check-link --json`` for a direct link."""
        checks: list[dict[str, Any]] = []
        if self.problem:
            checks.append(
                {
                    "id": "link",
                    "ok": False,
                    "actual": self.problem,
                    "expected": "可直接下载的视频文件",
                    "message": self.message_zh(),
                    "severity": "error",
                }
            )
        media = self.report.to_dict() if self.report is not None else None
        if media is not None:
            checks += media.get("checks", [])
        return {
            "ok": self.ok,
            "kind": "link",
            "verdict": self.verdict,
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "problem": self.problem or None,
            "params": {k: str(v) for k, v in self.params.items()},
            "size": self.size,
            "content_type": self.content_type,
            "fetched_bytes": self.fetched,
            "requests": self.requests,
            "checks": checks,
            "warnings": media.get("warnings", []) if media is not None else [],
            "media": media,
        }


class _Problem(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# ---- fetched ranges -----------------------------------------------------------------------


class _Ranges:
    """The byte ranges fetched so far, by start offset."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, bytes]] = []

    def add(self, start: int, data: bytes) -> None:
        if data:
            self.parts.append((start, data))

    def get(self, start: int, n: int) -> bytes | None:
        for offset, data in self.parts:
            if offset <= start and start + n <= offset + len(data):
                return data[start - offset : start - offset + n]
        return None

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) not fetched yet."""
        gaps: list[tuple[int, int]] = []
        pos = start
        for offset, data in sorted(self.parts):
            if offset > pos:
                gaps.append((pos, min(offset, end)))
            pos = max(pos, offset + len(data))
            if pos >= end:
                break
        if pos < end:
            gaps.append((pos, end))
        return [(a, b) for a, b in gaps if a < b]


# ---- containers ---------------------------------------------------------------------------

# Top-level boxes an ISO base media file (MP4, and QuickTime .mov) may begin with.
_FIRST_BOXES = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin", b"uuid", b"junk"}
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x1a\x45\xdf\xa3", 0, "Matroska/WebM（.mkv/.webm）"),
    (b"RIFF", 0, "AVI（.avi）"),
    (b"FLV", 0, "FLV（.flv）"),
    (b"\x30\x26\xb2\x75", 0, "Windows Media（.wmv/.asf）"),
    (b".RMF", 0, "RealMedia（.rm/.rmvb）"),
    (b"\x00\x00\x01\xba", 0, "MPEG 节目流（.mpg/.vob）"),
    (b"PK\x03\x04", 0, "ZIP 压缩包"),
    (b"Rar!", 0, "RAR 压缩包"),
    (b"%PDF", 0, "PDF 文档"),
    (b"#EXTM3U", 0, "HLS 播放列表（.m3u8）"),
)


def _box_header(data: bytes) -> tuple[int, bytes, int] | None:
    """(size, type, header length) of the box starting ``data``; size 0 means "to the end"."""
    if len(data) < 8:
        return None
    size, kind = struct.unpack(">I4s", data[:8])
    header = 8
    if size == 1:
        if len(data) < 16:
            return None
        (size,) = struct.unpack(">Q", data[8:16])
        header = 16
    if size != 0 and size < header:
        return None
    if not all(32 <= c < 127 for c in kind):
        return None
    return size, kind, header


def _sniff(head: bytes) -> str:
    """What a file that is not an ISO base media file seems to be."""
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS（.ts）"
    for magic, at, name in _SIGNATURES:
        if head[at : at + len(magic)] == magic:
            return name
    return "无法识别的格式"


def _looks_like_html(head: bytes) -> bool:
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in text[:256]


# ---- fetching -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Response:
    status: int
    url: str
    headers: dict[str, str]
    start: int  # where ``data`` sits in the file
    data: bytes
    total: int | None  # the file's length, when the server said it
    complete: bool  # the body was read to its end


class _Fetcher:
    """Range requests to checked addresses only, with redirects re-checked and a byte budget."""

    def __init__(
        self, session: aiohttp.ClientSession, check: AddressCheck, max_bytes: int, timeout: float
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.check = check
        self.budget = max_bytes
        self.fetched = 0
        self.requests = 0
        self.status: int | None = None

    async def addresses(self, url: URL) -> list[IPAddress]:
        host = url.raw_host or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found: list[IPAddress] = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
            except (OSError, UnicodeError) as exc:
                raise _Problem("dns_failed", host=url.host or host) from exc
            found = []
            for info in infos:
                # A scope ("fe80::1%eth0") is not part of the address being judged.
                address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
                if address not in found:
                    found.append(address)
        if not found:
            raise _Problem("dns_failed", host=url.host or host)
        # Every address: a name may resolve to one public and one private address, and the
        # connection may go to either.
        refused = [a for a in found if not self.check(url.host or host, port, a)]
        if refused:
            raise _Problem("refused_address", host=url.host or host, address=str(refused[0]))
        return found

    async def get(
        self, url: str, start: int, end: int | None, limit: int, *, first: bool = False
    ) -> _Response:
        """GET ``url`` with ``Range: bytes=start-(end-1)``, following checked redirects, reading at
        most ``limit`` body bytes.  Only the ``first`` request reads the start of a body sent
        whole (a server that ignores Range); later ones read nothing from such a body."""
        current = URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            if self.requests >= _MAX_REQUESTS:
                raise _Problem("bad_response", detail="请求次数过多")
            self.requests += 1
            result = await self._one(current, start, end, limit, first)
            if isinstance(result, URL):
                current = result
                continue
            return result
        raise _Problem("too_many_redirects", max=MAX_REDIRECTS)

    async def _one(self, url: URL, start: int, end: int | None, limit: int, first: bool) -> _Response | URL:
        addresses = await self.addresses(url)
        host = url.raw_host or ""
        host_header = host if url.explicit_port is None else f"{host}:{url.explicit_port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" + host_header[len(host) :]
        headers = {
            "Range": f"bytes={start}-{'' if end is None else end - 1}",
            # Offsets must be the file's: no gzip between us and the bytes.
            "Accept-Encoding": "identity",
            "Host": host_header,
            "User-Agent": "KepuSubmit-LinkProbe/1.0",
        }
        last_error: Exception | None = None
        for address in addresses:
            # Connect to the address that was checked, so a second DNS answer cannot differ;
            # TLS still verifies the certificate against the host name (server_hostname).
            pinned = url.with_host(str(address))
            try:
                async with self.session.get(
                    pinned,
                    headers=headers,
                    allow_redirects=False,
                    auto_decompress=False,
                    server_hostname=host if url.scheme == "https" else None,
                ) as resp:
                    self.status = resp.status
                    if resp.status in _REDIRECTS:
                        return self._redirect(url, resp.headers.get("Location"))
                    return await self._read(url, resp, limit, first)
            except aiohttp.ClientConnectorError as exc:
                last_error = exc
                continue  # the next address of the same name, as a browser would
            except TimeoutError as exc:  # the session's own timeout, shorter than ours
                raise _Problem("timeout", timeout=self.timeout) from exc
            except aiohttp.ClientPayloadError as exc:
                raise _Problem("bad_response", detail=f"传输中断：{_short(exc)}") from exc
            except aiohttp.ClientError as exc:
                raise _Problem("connect_failed", host=url.host or host, error=_short(exc)) from exc
        raise _Problem("connect_failed", host=url.host or host, error=_short(last_error))

    def _redirect(self, url: URL, location: str | None) -> URL:
        if not location:
            raise _Problem("bad_redirect", location="（空）")
        try:
            target = url.join(URL(location))
        except ValueError as exc:
            raise _Problem("bad_redirect", location=location[:80]) from exc
        if target.scheme not in {"http", "https"} or not target.raw_host or target.user or target.password:
            raise _Problem("bad_redirect", location=location[:80])
        return target

    async def _read(self, url: URL, resp: aiohttp.ClientResponse, limit: int, first: bool) -> _Response:
        status = resp.status
        total: int | None = None
        data_start = 0
        left = self.budget - self.fetched
        want = 0
        if status == 206:
            data_start, total = _content_range(resp.headers.get("Content-Range", ""))
            want = min(limit, left)
        elif status == 200:
            length = resp.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            if total is not None and total <= left:
                want = total  # a small file sent whole: take all of it
            elif first:
                want = min(limit, left)
        encoding = resp.headers.get("Content-Encoding", "identity").lower()
        if want and encoding not in {"", "identity"}:
            raise _Problem("bad_response", detail=f"Content-Encoding: {encoding}")
        body = bytearray()
        complete = False
        while len(body) < want:
            chunk = await resp.content.read(min(_CHUNK, want - len(body)))
            if not chunk:
                complete = True
                break
            body += chunk
            self.fetched += len(chunk)
        complete = complete or (total is not None and data_start == 0 and len(body) == total)
        if not resp.content.at_eof():
            # Stop here: closing drops the connection instead of draining the rest of a
            # body that may be the whole file (a server that ignores Range).
            resp.close()
        return _Response(
            status=status,
            url=str(url),
            headers=dict(resp.headers),
            start=data_start,
            data=bytes(body),
            total=total,
            complete=complete,
        )


def _url_problem(url: str) -> bool:
    """Not an http(s) address we would fetch.  Entrants' text goes through parse_video_link
    first; this guards the probe itself (e.g. a single-label name is fine here: the address
    check decides)."""
    if any(c.isspace() or ord(c) < 32 for c in url):
        return True
    try:
        parsed = URL(url)
    except ValueError:
        return True
    if parsed.scheme not in {"http", "https"} or not parsed.raw_host:
        return True
    return bool(parsed.user or parsed.password)  # "https://pan.baidu.com@evil.example/" disguises a host


def _content_range(value: str) -> tuple[int, int | None]:
    """``bytes 0-99/1234`` -> (0, 1234); an unknown length (``/*``) is None."""
    try:
        unit, _, rest = value.strip().partition(" ")
        span, _, length = rest.partition("/")
        first = span.split("-")[0]
        if unit.lower() != "bytes" or not first.isdigit():
            raise ValueError(value)
        return int(first), int(length) if length.isdigit() else None
    except ValueError:
        raise _Problem("bad_response", detail=f"Content-Range: {value[:60]}") from None


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "未知错误"
    text = str(exc) or type(exc).__name__
    return text[:120]


# ---- the probe ------------------------------------------------------------------------------


async def probe_link(
    url: str,
    contest: Contest,
    *,
    session: aiohttp.ClientSession,
    allow_private: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    # The probe's own network budget, not asyncio.timeout around the call: that would also
    # cut off the media check, which MediaInfo's own limits already bound.
    timeout: float = 20,  # noqa: ASYNC109
    is_allowed: AddressCheck | None = None,
    head_bytes: int = HEAD_BYTES,
    tmp_dir: Path | None = None,
) -> LinkProbe:
    """Judge the video at ``url`` for ``contest`` reading at most ``max_bytes`` of it, within
    ``timeout`` seconds of network time.  ``is_allowed`` replaces the address policy that
    ``allow_private`` selects (tests allow exactly one loopback port with it)."""
    if _url_problem(url):
        return LinkProbe(url, "unreachable", "bad_url")
    fetcher = _Fetcher(session, is_allowed or default_check(allow_private), max_bytes, timeout)
    info: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            ranges, total = await _fetch_video(fetcher, url, contest, min(head_bytes, max_bytes), info)
    except _Problem as problem:
        return _failed(url, fetcher, info, problem.code, problem.params)
    except TimeoutError:
        return _failed(url, fetcher, info, "timeout", {"timeout": timeout})
    report = await asyncio.to_thread(_inspect, ranges, total, contest, tmp_dir)
    if not report.readable:
        verdict: Literal["passed", "failed", "unreachable"] = "unreachable"
    else:
        verdict = "passed" if report.ok else "failed"
    return LinkProbe(
        url,
        verdict,
        status=fetcher.status,
        final_url=info.get("final_url", url),
        size=total,
        content_type=info.get("content_type", ""),
        fetched=fetcher.fetched,
        requests=fetcher.requests,
        report=report,
    )


def _failed(
    url: str, fetcher: _Fetcher, info: dict[str, Any], code: str, params: dict[str, Any]
) -> LinkProbe:
    return LinkProbe(
        url,
        _PROBLEMS[code][0],
        code,
        params,
        status=fetcher.status,
        final_url=info.get("final_url", ""),
        size=info.get("size"),
        content_type=info.get("content_type", ""),
        fetched=fetcher.fetched,
        requests=fetcher.requests,
    )


async def _fetch_video(
    fetcher: _Fetcher, url: str, contest: Contest, head_bytes: int, info: dict[str, Any]
) -> tuple[_Ranges, int]:
    """Fetch the head and the ``moov`` box; returns the ranges and the file's real length."""
    first = await fetcher.get(url, 0, head_bytes, head_bytes, first=True)
    info["final_url"] = first.url
    status = first.status
    if status == 206 and first.start != 0:
        raise _Problem("bad_response", detail=f"请求文件开头，服务器却从第 {first.start} 字节开始返回")
    if status == 416 and first.headers.get("Content-Range", "").strip().endswith("/0"):
        raise _Problem("empty")
    if status in {404, 410}:
        raise _Problem("not_found", status=status)
    if status in {401, 403}:
        raise _Problem("forbidden", status=status)
    if status not in {200, 206}:
        raise _Problem("http_error", status=status)
    content_type = first.headers.get("Content-Type", "").split(";")[0].strip().lower()
    info["content_type"] = content_type
    if content_type in {"text/html", "application/xhtml+xml"} or _looks_like_html(first.data):
        raise _Problem("html_page", content_type=content_type or "text/html")
    if content_type.startswith("text/") or content_type in {"application/json", "application/xml"}:
        raise _Problem("not_video", content_type=content_type)
    total = first.total
    if total is None and first.complete and first.start == 0:
        total = len(first.data)  # no length given, but the whole body fitted in the head
    if total is None:
        raise _Problem("no_length")
    info["size"] = total
    if total == 0:
        raise _Problem("empty")
    if total > _ABSURD_SIZE:
        raise _Problem("too_big", size=_size_text(total))
    ranges = _Ranges()
    ranges.add(first.start, first.data)
    head = ranges.get(0, min(16, total)) or b""
    box = _box_header(head)
    if box is None or box[1] not in _FIRST_BOXES:
        if contest.video is not None and contest.video.container == "mp4":
            raise _Problem("not_mp4", detected=_sniff(first.data))
        return ranges, total  # not an MP4 and none asked for: the head is all we can judge
    await _find_moov(fetcher, first.url, ranges, total)
    return ranges, total


async def _find_moov(fetcher: _Fetcher, url: str, ranges: _Ranges, total: int) -> None:
    """Walk the top-level boxes, fetching headers that lie beyond what we have, until ``moov``
    is found and fetched whole.  A broken layout stops the walk: the media check judges it."""
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset >= total:
            return
        header = ranges.get(offset, min(16, total - offset))
        if header is None:
            rest = total - offset
            left = fetcher.budget - fetcher.fetched
            # Everything after the media data is usually just the moov: take it in one request
            # when it fits the budget, else look at the next box header first.
            window = rest if rest <= left else min(_TAIL_WINDOW, rest, left)
            if window < min(16, rest):
                raise _Problem("over_cap", cap=_size_text(fetcher.budget))
            await _fetch_range(fetcher, url, ranges, offset, offset + window)
            continue
        box = _box_header(header)
        if box is None:
            return
        size, kind, _ = box
        end = total if size == 0 else offset + size
        if kind == b"moov":
            for a, b in ranges.gaps(offset, min(end, total)):
                await _fetch_range(fetcher, url, ranges, a, b)
            return
        offset = end


async def _fetch_range(fetcher: _Fetcher, url: str, ranges: _Ranges, start: int, end: int) -> None:
    if end - start > fetcher.budget - fetcher.fetched:
        raise _Problem("over_cap", cap=_size_text(fetcher.budget))
    response = await fetcher.get(url, start, end, end - start)
    if response.status == 200 and response.complete:
        ranges.add(0, response.data)  # the server ignored Range, but the whole file fitted
        return
    if response.status == 200:
        raise _Problem("no_range")  # the whole file again, from byte 0: nothing read, closed
    if response.status != 206:
        raise _Problem("http_error", status=response.status)
    if not response.data or response.start > start:
        raise _Problem("bad_response", detail=f"Content-Range 与请求不符（请求 {start}-{end - 1}）")
    ranges.add(response.start, response.data)


def _size_text(size: int) -> str:
    return f"{size / MiB:.1f} MB" if size >= MiB else f"{size} 字节"


def _inspect(ranges: _Ranges, total: int, contest: Contest, tmp_dir: Path | None) -> MediaReport:
    """Write the ranges into a sparse file of the real length and run the media check on it.
    Runs in a worker thread: file writes and MediaInfo block."""
    with tempfile.TemporaryDirectory(prefix="kepu-probe-", dir=tmp_dir) as folder:
        path = Path(folder) / "linked-video"
        with path.open("wb") as fh:
            fh.truncate(total)  # sparse: the holes take no disk space
            for start, data in ranges.parts:
                fh.seek(start)
                fh.write(data[: max(0, total - start)])
        # "": a hash of the holes means nothing; nor can frames be decoded from them, so the
        # report says the picture size and duration rest on the header alone.
        report = inspect_video(path, contest, sha256="", decode=None)
    return dataclasses.replace(report, sha256=None)
