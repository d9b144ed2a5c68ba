"""What MediaInfo says about a file: run in a bounded child, its report read into facts.

MediaInfo runs in a child process (``media_probe.py``) with a wall-clock timeout, an address
space cap and a read budget, so a broken, huge or hostile upload yields a clear verdict in
bounded time and memory; the bot's process never parses untrusted media itself.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import validators.media_probe as media_probe
from contests.rules import SHANGHAI

_PROBE_SCRIPT = Path(media_probe.__file__)

_T = TypeVar("_T")


class MediaToolError(RuntimeError):
    """The checker itself cannot run (MediaInfo missing, no interpreter): an operator problem,
    never a verdict on the entrant's file."""


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What MediaInfo found, normalised; every field may be unknown (None / "" / 0).

    ``width``/``height`` are as the picture is shown (a rotation flag of 90° swaps them);
    ``display_aspect`` also applies the pixel aspect ratio (anamorphic 1440×1080 is 16:9).
    """

    format: str  # MediaInfo's General/Format: "MPEG-4", "Matroska", "WebM", …
    container: str  # "mp4", "mov", "3gp", "mkv", "webm", … or the format in lower case
    brand: str  # ISO/QuickTime major brand ("isom", "mp42", "qt"), "" for other formats
    duration_s: float | None
    video_codec: str  # MediaInfo's video Format: "AVC", "HEVC", "VP9", …
    width: int | None
    height: int | None
    rotation: int
    display_aspect: float | None
    frame_rate: float | None
    frame_rate_mode: str  # "CFR", "VFR" or ""
    min_frame_rate: float | None
    max_frame_rate: float | None
    video_bit_rate: int | None
    audio_tracks: int
    audio_codec: str
    truncated: bool
    encoded_date: dt.date | None  # Beijing date the file was written (mvhd creation time)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["encoded_date"] = self.encoded_date.isoformat() if self.encoded_date else None
        return data


# --- probing (the child process) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    """Bounds on one MediaInfo run: wall time, address space, bytes read, size of the report."""

    timeout_s: float = 20.0
    memory_mib: int = 512
    read_mib: int = 64
    output_mib: int = 1  # a normal report is ~10 KB; parsing 1 MB of XML costs the bot ~0.5 s


DEFAULT_LIMITS = ProbeLimits()


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the child said: MediaInfo's XML, or why there is none (``failure``, in Chinese)."""

    xml: str | None = field(repr=False)
    failure: str = ""
    bytes_read: int = 0
    seeks: int = 0
    partial: bool = False  # the read budget ran out before MediaInfo was done


@lru_cache(maxsize=1)
def mediainfo_library() -> str:
    """Where libmediainfo is: the copy inside the pymediainfo wheel, else the system's."""
    import ctypes.util

    import pymediainfo  # bench/README.md 'Media check': ~120 ms to import, the child never does

    here = Path(pymediainfo.__file__).parent
    for name in ("libmediainfo.so.0", "libmediainfo.0.dylib", "libmediainfo.dylib", "MediaInfo.dll"):
        if (here / name).is_file():
            return str(here / name)
    return ctypes.util.find_library("mediainfo") or "libmediainfo.so.0"


def _child_env() -> dict[str, str]:
    # Nothing of the bot's environment (tokens, keys) reaches the parser; only what the
    # dynamic loader may need to find libmediainfo's own dependencies.
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH")}


def run_probe(fd: int, limits: ProbeLimits, meanwhile: Callable[[], _T]) -> tuple[ProbeResult, _T]:
    """Run the child on ``fd``; call ``meanwhile`` (hashing) while it works, then collect it."""
    if not sys.executable:
        raise MediaToolError("no Python interpreter to run the MediaInfo child with")
    command = [
        sys.executable,
        "-I",
        "-S",
        str(_PROBE_SCRIPT),
        mediainfo_library(),
        str(fd),
        str(limits.memory_mib),
        str(max(1, math.ceil(limits.timeout_s))),
        str(limits.read_mib),
        str(limits.output_mib),
    ]
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(fd,),
            env=_child_env(),
        )
    except OSError as exc:
        raise MediaToolError(f"cannot start the MediaInfo child: {exc}") from exc
    with child:
        try:
            extra = meanwhile()
            # The child has been running all along; after a hash that outlasted the timeout it
            # gets a moment (at most a second) to hand over a report it has finished.
            remaining = max(limits.timeout_s - (time.monotonic() - started), min(limits.timeout_s, 1.0))
            out, err = child.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            failure = (
                f"分析超时：{limits.timeout_s:g} 秒内没能读出视频信息，文件结构可能异常"
                "（也可能是服务器繁忙，可稍后重试）"
            )
            return ProbeResult(None, failure), extra
        except BaseException:
            child.kill()
            child.communicate()
            raise
    return _interpret(child.returncode, out, err), extra


def _interpret(returncode: int, out: bytes, err: bytes) -> ProbeResult:
    stats: dict[str, Any] = {}
    lines = err.decode("utf-8", "replace").strip().splitlines()
    if lines:
        try:
            parsed = json.loads(lines[-1])
        except ValueError:
            parsed = None
        stats = parsed if isinstance(parsed, dict) else {}
    read, seeks, partial = int(stats.get("read", 0)), int(stats.get("seeks", 0)), bool(stats.get("partial"))
    if returncode in (media_probe.EXIT_SETUP, media_probe.EXIT_USAGE):
        raise MediaToolError(str(stats.get("error") or err.decode("utf-8", "replace").strip()))
    if returncode in (media_probe.EXIT_OK, media_probe.EXIT_PARTIAL):
        return ProbeResult(out.decode("utf-8", "replace"), "", read, seeks, partial)
    if returncode == media_probe.EXIT_OUTPUT:
        failure = "文件结构异常：其中声明的轨道或条目多得不合理，无法作为视频读取"
    elif returncode < 0:
        failure = f"文件结构异常，解析程序被迫中止（信号 {-returncode}），无法作为视频读取"
    else:
        failure = f"解析程序出错（退出码 {returncode}），无法作为视频读取"
    return ProbeResult(None, failure, read, seeks, partial)


def probe_media(path: Path, limits: ProbeLimits = DEFAULT_LIMITS) -> ProbeResult:
    """MediaInfo's report on ``path`` from the bounded child (no verdict, no hashing)."""
    fd, _size = open_regular(path)
    try:
        return run_probe(fd, limits, lambda: None)[0]
    finally:
        os.close(fd)


# --- reading MediaInfo's report ----------------------------------------------------------


class UnreadableMedia(ValueError):
    """The file is not a video we can judge; the message says why, in Chinese."""


MP4_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42", "avc1"}
    | {"m4v", "m4vh", "m4vp", "dash", "msnv", "xavc"}
)
CONTAINER_NAMES = {
    "mp4": "MP4",
    "mov": "QuickTime MOV",
    "3gp": "3GP",
    "mkv": "MKV（Matroska）",
    "webm": "WebM",
    "avi": "AVI",
    "flv": "FLV",
    "ts": "MPEG-TS",
    "mpg": "MPEG-PS",
    "wmv": "WMV",
}
_FORMAT_CONTAINERS = {
    "Matroska": "mkv",
    "WebM": "webm",
    "AVI": "avi",
    "Flash Video": "flv",
    "MPEG-TS": "ts",
    "MPEG-PS": "mpg",
    "Windows Media": "wmv",
}
CODEC_NAMES = {
    "AVC": "H.264",
    "HEVC": "H.265",
    "MPEG-4 Visual": "MPEG-4 Part 2",
    "MPEG Video": "MPEG-2",
    "JPEG": "Motion JPEG",
    "ProRes": "Apple ProRes",
}
# Codecs that every player of "MP4" handles (H.264), or that modern ones do (a warning).
PLAYABLE_CODECS = frozenset({"AVC", "HEVC", "MPEG-4 Visual"})


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else "" if value is None else str(value).strip()


def _number(value: object) -> float | None:
    """A MediaInfo value as a finite number: ints, "25.000", "3000.000000"; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = re.match(r"\s*([-+]?\d+(?:\.\d+)?)", str(value))
        if not match:
            return None
        number = float(match.group(1))
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number > 0 else None


def _date(value: object) -> dt.date | None:
    """A Beijing date from MediaInfo's "2023-06-01 10:00:00 UTC" (or "UTC 2023-…", or ISO)."""
    text = _text(value)
    match = re.search(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?", text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if year < 1990:  # an unset QuickTime/MP4 creation time reads as 1904 or 1970
        return None
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        return None
    return moment.astimezone(SHANGHAI).date() if "UTC" in text and match.group(4) else moment.date()


def _container(general: Any) -> tuple[str, str]:
    fmt = _text(general.format)
    if fmt != "MPEG-4":
        return _FORMAT_CONTAINERS.get(fmt, fmt.lower()), ""
    # MediaInfo's CodecID on an ISO/QuickTime file is the ftyp major brand: "isom", "mp42",
    # "qt  " (QuickTime); Format_Profile says "QuickTime" also for old MOVs without ftyp.
    brand = _text(general.codec_id).lower()
    compatible = {b.strip().lower() for b in _text(general.codecid_compatible).split("/") if b.strip()}
    if brand == "qt" or _text(general.format_profile) == "QuickTime":
        return "mov", brand or "qt"
    if brand.startswith(("3gp", "3g2")):
        return "3gp", brand
    if brand in MP4_BRANDS or compatible & MP4_BRANDS:
        return "mp4", brand
    return "mpeg-4", brand


def container_name(facts: MediaFacts) -> str:
    name = CONTAINER_NAMES.get(facts.container, facts.format or facts.container or "未知格式")
    return f"{name}（{facts.brand}）" if facts.brand and facts.container in ("mp4", "mpeg-4", "3gp") else name


def read_facts(xml: str) -> MediaFacts:
    """Normalise MediaInfo's OLDXML report; :class:`UnreadableMedia` when it is not a video."""
    from xml.etree.ElementTree import ParseError

    from pymediainfo import MediaInfo

    try:
        info = MediaInfo(xml)
    except (ParseError, ValueError) as exc:
        raise UnreadableMedia("无法解析文件信息，文件可能已损坏") from exc
    general = next(iter(info.general_tracks), None)
    fmt = _text(general.format) if general is not None else ""
    if general is None or not fmt:
        raise UnreadableMedia("无法识别的文件：内容不是视频（可能是文本、文档、压缩包，或已损坏）")
    truncated = _text(general.istruncated or general.is_truncated) == "Yes"
    videos = info.video_tracks
    if not videos:
        if info.image_tracks:
            raise UnreadableMedia(f"这是一张图片（{fmt}），不是视频")
        if truncated:
            raise UnreadableMedia(f"文件不完整（{fmt}）：缺少视频索引，可能没有上传或复制完，无法读取")
        if info.audio_tracks:
            raise UnreadableMedia(f"只有声音、没有画面（{fmt}）")
        raise UnreadableMedia(f"文件里没有视频画面（识别为 {fmt}）")
    video = videos[0]
    if not (_int(video.width) or _int(video.height) or _number(video.duration) or _number(general.duration)):
        # Tracks declared but nothing about them readable: sample tables that lie, garbage.
        raise UnreadableMedia(f"视频信息缺失（{fmt}）：文件已损坏或结构异常")
    container, brand = _container(general)
    width, height = _int(video.width), _int(video.height)
    rotation = round(_number(video.rotation) or 0) % 360
    # Width × pixel aspect / height is exact; MediaInfo's DisplayAspectRatio is rounded to 3 places.
    aspect = (
        width * (_number(video.pixel_aspect_ratio) or 1.0) / height
        if width and height
        else _number(video.display_aspect_ratio) or None
    )
    if rotation in (90, 270):
        width, height = height, width
        aspect = 1 / aspect if aspect else None
    duration_ms = _number(general.duration) or _number(video.duration)
    audios = info.audio_tracks
    return MediaFacts(
        format=fmt,
        container=container,
        brand=brand,
        duration_s=duration_ms / 1000 if duration_ms else None,
        video_codec=_text(video.format),
        width=width,
        height=height,
        rotation=rotation,
        display_aspect=aspect,
        frame_rate=_number(video.frame_rate) or None,
        frame_rate_mode=_text(video.frame_rate_mode).upper(),
        min_frame_rate=_number(video.minimum_frame_rate) or None,
        max_frame_rate=_number(video.maximum_frame_rate) or None,
        video_bit_rate=_int(video.bit_rate) or _int(general.overall_bit_rate),
        audio_tracks=len(audios),
        audio_codec=_text(audios[0].format) if audios else "",
        truncated=truncated,
        encoded_date=_date(general.encoded_date) or _date(general.tagged_date),
    )


def open_regular(path: Path) -> tuple[int, int]:
    """Open for reading without blocking (a FIFO would wait for a writer); regular files only."""
    flags = (
        os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    )
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableMedia("找不到这个文件") from None
    except PermissionError:
        raise UnreadableMedia("没有读取这个文件的权限") from None
    except OSError as exc:
        raise UnreadableMedia(f"无法打开这个文件（{exc.strerror}）") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnreadableMedia("这不是一个普通文件（可能是文件夹或设备）")
    return fd, info.st_size
