"""Direct video links: judge the video behind an http(s) link without downloading it.

An MP4 is judged by its header boxes and its index (the ``moov`` box), which sit at the start
or, when the exporter did not "fast start" the file, at the very end.  So the probe fetches the
first few MiB with an HTTP Range request, walks the top-level boxes, fetches the ``moov`` box
wherever it is, writes those ranges into a sparse temporary file as long as the real one and
hands that to :func:`validators.media.inspect_video` (in a thread).  Sizes are therefore the
server's, and the bytes read are capped.

The server fetches what an entrant typed, so every address is checked before it is used
(:mod:`validators.link_fetch`); what can go wrong is told to the entrant in the sentences of
:mod:`validators.link_problems`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from contests.rules import Contest
from validators.link_fetch import AddressCheck, Fetcher, default_check, url_problem
from validators.link_problems import PROBLEMS, MiB, Problem, size_text
from validators.media import MediaReport, inspect_video

DEFAULT_MAX_BYTES = 8 * MiB
HEAD_BYTES = 2 * MiB  # ftyp + a fast-started moov + the first frames, for most videos
_MAX_BOXES = 64  # a real MP4 has a handful of top-level boxes
_TAIL_WINDOW = 64 * 1024  # a look at box headers when the rest does not fit the budget
# A claimed length beyond this is no contest video; the sparse file is not even made.
_ABSURD_SIZE = 64 * 1024 * MiB


# ---- the result -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkProbe:
    """What probing one direct link found.  ``report`` is the media check of the fetched ranges."""

    url: str
    verdict: Literal["passed", "failed", "unreachable"]
    problem: str = ""  # a key of PROBLEMS, "" when the media check ran
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
        return PROBLEMS[self.problem][1].format(url=self.url, **self.params)

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
    if url_problem(url):
        return LinkProbe(url, "unreachable", "bad_url")
    fetcher = Fetcher(session, is_allowed or default_check(allow_private), max_bytes, timeout)
    info: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            ranges, total = await _fetch_video(fetcher, url, contest, min(head_bytes, max_bytes), info)
    except Problem as problem:
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


def _failed(url: str, fetcher: Fetcher, info: dict[str, Any], code: str, params: dict[str, Any]) -> LinkProbe:
    return LinkProbe(
        url,
        PROBLEMS[code][0],
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
    fetcher: Fetcher, url: str, contest: Contest, head_bytes: int, info: dict[str, Any]
) -> tuple[_Ranges, int]:
    """Fetch the head and the ``moov`` box; returns the ranges and the file's real length."""
    first = await fetcher.get(url, 0, head_bytes, head_bytes, first=True)
    info["final_url"] = first.url
    status = first.status
    if status == 206 and first.start != 0:
        raise Problem("bad_response", detail=f"请求文件开头，服务器却从第 {first.start} 字节开始返回")
    if status == 416 and first.headers.get("Content-Range", "").strip().endswith("/0"):
        raise Problem("empty")
    if status in {404, 410}:
        raise Problem("not_found", status=status)
    if status in {401, 403}:
        raise Problem("forbidden", status=status)
    if status not in {200, 206}:
        raise Problem("http_error", status=status)
    content_type = first.headers.get("Content-Type", "").split(";")[0].strip().lower()
    info["content_type"] = content_type
    if content_type in {"text/html", "application/xhtml+xml"} or _looks_like_html(first.data):
        raise Problem("html_page", content_type=content_type or "text/html")
    if content_type.startswith("text/") or content_type in {"application/json", "application/xml"}:
        raise Problem("not_video", content_type=content_type)
    total = first.total
    if total is None and first.complete and first.start == 0:
        total = len(first.data)  # no length given, but the whole body fitted in the head
    if total is None:
        raise Problem("no_length")
    info["size"] = total
    if total == 0:
        raise Problem("empty")
    if total > _ABSURD_SIZE:
        raise Problem("too_big", size=size_text(total))
    ranges = _Ranges()
    ranges.add(first.start, first.data)
    head = ranges.get(0, min(16, total)) or b""
    box = _box_header(head)
    if box is None or box[1] not in _FIRST_BOXES:
        if contest.video is not None and contest.video.container == "mp4":
            raise Problem("not_mp4", detected=_sniff(first.data))
        return ranges, total  # not an MP4 and none asked for: the head is all we can judge
    await _find_moov(fetcher, first.url, ranges, total)
    return ranges, total


async def _find_moov(fetcher: Fetcher, url: str, ranges: _Ranges, total: int) -> None:
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
                raise Problem("over_cap", cap=size_text(fetcher.budget))
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


async def _fetch_range(fetcher: Fetcher, url: str, ranges: _Ranges, start: int, end: int) -> None:
    if end - start > fetcher.budget - fetcher.fetched:
        raise Problem("over_cap", cap=size_text(fetcher.budget))
    response = await fetcher.get(url, start, end, end - start)
    if response.status == 200 and response.complete:
        ranges.add(0, response.data)  # the server ignored Range, but the whole file fitted
        return
    if response.status == 200:
        raise Problem("no_range")  # the whole file again, from byte 0: nothing read, closed
    if response.status != 206:
        raise Problem("http_error", status=response.status)
    if not response.data or response.start > start:
        raise Problem("bad_response", detail=f"Content-Range 与请求不符（请求 {start}-{end - 1}）")
    ranges.add(response.start, response.data)


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
