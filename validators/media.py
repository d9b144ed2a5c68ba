"""Video file check: is this file what the contest's notice asks for?

The file is judged from its content, never its name: MediaInfo (through pymediainfo's data
model) reads the container, streams and header, and each requirement of the contest's
:class:`~contests.rules.VideoSpec` becomes one ✓/✗ line with the actual value against the
expected one, in plain Chinese.  Where the notice says nothing about a property, nothing is
checked for it.  Dates outside the production window and similar doubts are warnings (⚠),
never failures.

MediaInfo runs in a child process (``media_probe.py``) with a wall-clock timeout, an address
space cap and a read budget, so a broken, huge or hostile upload yields a clear verdict in
bounded time and memory; the bot's process never parses untrusted media itself.

Units: 兆/M/MB in the notices are MiB (what Windows and WeChat show), and sizes are shown the
same way ("152.3MB").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
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
from typing import Any, Literal, TypeVar

from contests.rules import SHANGHAI, Contest, VideoSpec, Window
from validators import media_probe
from validators.decode import DEFAULT_DECODE_LIMITS, DecodedVideo, DecodeLimits, decode_sample

MIB = 1 << 20
GIB = 1 << 30
ASPECT_TOLERANCE = 0.01  # "16:9" holds within 1 %
# A variable frame rate whose slowest stretch still runs at 3/4 of the fastest is timestamp
# jitter (phones, edits at cut points); below that a frame interval is at least 1.33 frames
# long, i.e. frames were dropped: the 跳帧、漏帧 notices forbid.
VFR_JITTER = 0.75
# Video bit rates below which a picture of that height is probably a re-compressed copy
# (downloaded from a platform): a warning only, no notice sets a number.
LOW_BIT_RATE = ((1080, 1_500_000), (720, 750_000))
_HASH_CHUNK = 1 << 20
_PROBE_SCRIPT = Path(media_probe.__file__)

Severity = Literal["error", "warning"]
_T = TypeVar("_T")


class MediaToolError(RuntimeError):
    """The checker itself cannot run (MediaInfo missing, no interpreter): an operator problem,
    never a verdict on the entrant's file."""


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaCheck:
    """One requirement: what the file has against what the notice asks, and the sentence."""

    id: str
    ok: bool
    actual: str
    expected: str
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "actual": self.actual,
            "expected": self.expected,
            "message": self.message,
            "severity": self.severity,
        }


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


@dataclass(frozen=True, slots=True)
class MediaReport:
    """The verdict on one file for one contest, as the chat shows it and the submission stores it."""

    ok: bool
    readable: bool
    checks: tuple[MediaCheck, ...]
    warnings: tuple[MediaCheck, ...]
    size: int | None
    sha256: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    error: str = ""  # why the file could not be read, when ``readable`` is False
    facts: MediaFacts | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``check-video --json`` shape; JSON-safe, stored with the submission."""
        return {
            "ok": self.ok,
            "readable": self.readable,
            "error": self.error or None,
            "checks": [c.to_dict() for c in self.checks],
            "warnings": [w.to_dict() for w in self.warnings],
            "size": self.size,
            "size_text": format_size(self.size) if self.size is not None else None,
            "sha256": self.sha256,
            "duration_s": self.duration_s,
            "width": self.width,
            "height": self.height,
            "media": self.facts.to_dict() if self.facts else None,
        }

    def text_zh(self) -> str:
        """The chat report: a verdict line, what the file is, then one ✓/✗ line per check, ⚠ warnings."""
        if not self.readable:
            return f"❌ 无法读取这个文件：{self.error}\n请发送导出好的视频文件（例如 MP4）。"
        failed = [c for c in self.checks if not c.ok]
        if failed:
            lines = [f"❌ 视频有 {len(failed)} 项不符合要求，请修改后重新提交："]
        elif self.checks:
            lines = [f"✅ 视频检查通过：{len(self.checks)} 项技术要求全部符合。"]
        else:
            lines = ["✅ 视频可以正常读取。本大赛通知没有规定视频的技术要求，未作其他检查。"]
        if self.facts is not None:
            lines.append(f"文件：{self._summary(self.facts)}")
        lines += [f"{'✓' if c.ok else '✗'} {c.message}" for c in self.checks]
        lines += [f"⚠ {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def _summary(self, facts: MediaFacts) -> str:
        parts = [container_name(facts)]
        if self.size is not None:
            parts.append(format_size(self.size))
        if facts.duration_s is not None:
            parts.append(format_duration(facts.duration_s))
        if facts.width and facts.height:
            parts.append(f"{facts.width}×{facts.height}")
        if facts.video_codec:
            parts.append(CODEC_NAMES.get(facts.video_codec, facts.video_codec))
        return " · ".join(parts)


# --- hashing -----------------------------------------------------------------------------


class StreamingHash:
    """SHA-256 of a file fed chunk by chunk as it arrives (an upload), counting its bytes."""

    __slots__ = ("_hash", "_size")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)
        self._size += memoryview(data).nbytes

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        return self._size

    @classmethod
    def from_file(cls, path: Path, length: int | None = None, chunk: int = _HASH_CHUNK) -> StreamingHash:
        """The state after the first ``length`` bytes of ``path`` (all when None): how a resumed
        upload picks its hash up again after a restart, from the part already on disk."""
        hasher = cls()
        with open(path, "rb", buffering=0) as fh:
            _feed(hasher, fh, chunk, length)
        return hasher


def _feed(hasher: StreamingHash, fh: io.RawIOBase, chunk: int, length: int | None = None) -> None:
    # One buffer for the whole file: hashing 300 MB allocates 1 MB, and hashlib releases the
    # GIL for each chunk, so a thread hashing does not stall the event loop's thread.
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    left = length
    while left is None or left > 0:
        n = fh.readinto(view if left is None or left >= chunk else view[:left])
        if not n:
            break
        hasher.update(view[:n])
        if left is not None:
            left -= n


def sha256_file(path: Path, chunk: int = _HASH_CHUNK) -> str:
    """SHA-256 of a whole file, read in ``chunk``-byte pieces."""
    return StreamingHash.from_file(path, chunk=chunk).hexdigest()


def _sha256_fd(fd: int) -> str | None:
    hasher = StreamingHash()
    try:
        with io.FileIO(fd, "rb", closefd=False) as fh:
            fh.seek(0)
            _feed(hasher, fh, _HASH_CHUNK)
    except OSError:  # a failing disk or a file cut short meanwhile: no hash, the probe says why
        return None
    return hasher.hexdigest()


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

    import pymediainfo

    here = Path(pymediainfo.__file__).parent
    for name in ("libmediainfo.so.0", "libmediainfo.0.dylib", "libmediainfo.dylib", "MediaInfo.dll"):
        if (here / name).is_file():
            return str(here / name)
    return ctypes.util.find_library("mediainfo") or "libmediainfo.so.0"


def _child_env() -> dict[str, str]:
    # Nothing of the bot's environment (tokens, keys) reaches the parser; only what the
    # dynamic loader may need to find libmediainfo's own dependencies.
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH")}


def _run_probe(fd: int, limits: ProbeLimits, meanwhile: Callable[[], _T]) -> tuple[ProbeResult, _T]:
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
    fd, _size = _open_regular(path)
    try:
        return _run_probe(fd, limits, lambda: None)[0]
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


# --- wording -----------------------------------------------------------------------------


def format_size(size: int) -> str:
    """Bytes as Windows and WeChat show them (binary units, one decimal): "152.3MB"."""
    if size < 1024:
        return f"{size}B"
    # The unit is chosen after rounding, so 1 MiB less a byte reads "1.0MB", not "1024.0KB".
    for unit, scale in (("KB", 1024), ("MB", MIB)):
        if round(size / scale, 1) < 1024:
            return f"{size / scale:.1f}{unit}"
    return f"{size / GIB:.1f}GB"


def format_duration(seconds: float) -> str:
    """Whole seconds as a viewer reads them: "1分32秒", "3分钟", "45秒", "1小时2分5秒"."""
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分{secs}秒"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    return f"{secs}秒"


def _number_text(value: float) -> str:
    return f"{value:g}"


def _range(low: str | None, high: str | None, unit: str = "") -> str:
    if low is not None and high is not None:
        return f"{low}～{high}{unit}"
    return f"不少于{low}{unit}" if low is not None else f"不超过{high}{unit}"


def _duration_range(low: int | None, high: int | None) -> str:
    if all(b is None or b % 60 == 0 for b in (low, high)):
        return _range(
            None if low is None else _number_text(low / 60),
            None if high is None else _number_text(high / 60),
            "分钟",
        )
    return _range(
        None if low is None else format_duration(low), None if high is None else format_duration(high)
    )


def _date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _window_text(window: Window) -> str:
    start = _date_text(window.start) if window.start else ""
    end = _date_text(window.end) if window.end else ""
    if start and end:
        return f"{start}～{end}"
    return f"{start}以后" if start else f"{end}以前"


_RATIOS = ((16, 9), (4, 3), (9, 16), (3, 4), (1, 1), (21, 9), (3, 2), (2, 3), (5, 4))


def ratio_name(aspect: float) -> str:
    for a, b in _RATIOS:
        if abs(aspect / (a / b) - 1) <= ASPECT_TOLERANCE:
            return f"{a}:{b}"
    return f"{aspect:.2f}:1"


def _check(
    check_id: str,
    label: str,
    ok: bool,
    actual: str,
    expected: str,
    hint: str = "",
    severity: Severity = "error",
) -> MediaCheck:
    message = f"{label} {actual}，要求 {expected}"
    if not ok and hint:
        message += f"。{hint}"
    return MediaCheck(check_id, ok, actual, expected, message, severity)


def _warning(check_id: str, actual: str, expected: str, message: str) -> MediaCheck:
    return MediaCheck(check_id, False, actual, expected, message, "warning")


# --- judging -----------------------------------------------------------------------------

_EXPORT_HINT = "请用剪辑软件重新导出为 MP4（H.264 视频、AAC 音频）；只改文件扩展名无效"


def forbids_dropped_frames(spec: VideoSpec) -> bool:
    """The notice asks for 无跳帧、漏帧 (cacsi); VideoSpec has no field for it, so its notes say."""
    return any(word in note for note in spec.notes for word in ("跳帧", "漏帧", "丢帧"))


def evaluate(
    facts: MediaFacts, size: int, contest: Contest, decoded: DecodedVideo | None = None
) -> tuple[tuple[MediaCheck, ...], tuple[MediaCheck, ...]]:
    """Checks (one per requirement the notice sets) and warnings for a readable file.

    ``decoded`` (:func:`~validators.decode.decode_sample`) confirms the picture size and the
    duration the header claims, where the notice sets them (:func:`needs_decoding`); None
    judges the header alone.
    """
    checks: list[MediaCheck] = []
    warnings: list[MediaCheck] = []
    if facts.truncated:  # a defect of the file, whatever the notice says
        checks.append(
            _check(
                "integrity",
                "文件完整性",
                False,
                "文件不完整（头部声明的长度超出实际文件，可能没有上传或复制完）",
                "完整的文件",
                "请重新导出或重新上传完整的文件",
            )
        )
    spec = contest.video
    if spec is not None:
        checks += _spec_checks(facts, size, spec)
        if decoded is not None and needs_decoding(spec):
            checks, unverified = _confirm(checks, facts, decoded)
            warnings += unverified
        warnings += _spec_warnings(facts, spec)
    window = contest.production_window
    if window is not None and facts.encoded_date is not None and not window.contains(facts.encoded_date):
        warnings.append(
            _warning(
                "production_date",
                _date_text(facts.encoded_date),
                _window_text(window),
                f"文件记录的编码日期是 {_date_text(facts.encoded_date)}，不在通知规定的制作时间"
                f"（{_window_text(window)}）内；如果只是后来重新导出，可以忽略，但作品须在此期间完成",
            )
        )
    return tuple(checks), tuple(warnings)


def _spec_checks(facts: MediaFacts, size: int, spec: VideoSpec) -> list[MediaCheck]:
    checks: list[MediaCheck] = []
    width, height = facts.width, facts.height
    if spec.container == "mp4":
        ok = facts.container == "mp4"
        hint = _EXPORT_HINT
        if facts.container == "mov":
            hint = "文件内容是苹果 QuickTime（MOV）格式，不是 MP4；" + _EXPORT_HINT
        checks.append(_check("container", "格式", ok, container_name(facts), "MP4", hint))
    if spec.min_duration_s is not None or spec.max_duration_s is not None:
        expected = _duration_range(spec.min_duration_s, spec.max_duration_s)
        if facts.duration_s is None:
            checks.append(_check("duration", "时长", False, "无法读取", expected))
        else:
            # Judged in whole seconds, as players show it: a 179.6 s export is "3分钟".
            whole = int(facts.duration_s + 0.5)
            ok = (spec.min_duration_s is None or whole >= spec.min_duration_s) and (
                spec.max_duration_s is None or whole <= spec.max_duration_s
            )
            checks.append(_check("duration", "时长", ok, format_duration(facts.duration_s), expected))
    if spec.resolutions or spec.min_height is not None:
        if spec.resolutions:
            expected = " 或 ".join(f"{w}×{h}" for w, h in spec.resolutions)
        else:
            expected = f"{spec.min_height}p 及以上（画面短边不少于 {spec.min_height} 像素）"
        if width is None or height is None:
            checks.append(_check("resolution", "分辨率", False, "无法读取", expected))
        else:
            lines = min(width, height)
            ok = (width, height) in spec.resolutions if spec.resolutions else lines >= (spec.min_height or 0)
            checks.append(_check("resolution", "分辨率", ok, f"{width}×{height}（{lines}p）", expected))
    if spec.aspect_ratio is not None:
        a, b = (int(x) for x in spec.aspect_ratio.split(":"))
        target = a / b
        aspect = facts.display_aspect
        ok = aspect is not None and abs(aspect / target - 1) <= ASPECT_TOLERANCE
        actual = ratio_name(aspect) if aspect is not None else "无法读取"
        checks.append(_check("aspect_ratio", "画面比例", ok, actual, spec.aspect_ratio))
    if spec.orientation is not None:
        expected = "横屏" if spec.orientation == "landscape" else "竖屏"
        if width is None or height is None:
            checks.append(_check("orientation", "画面方向", False, "无法读取", expected))
        else:
            actual = "横屏" if width > height else "竖屏" if height > width else "方形"
            ok = width > height if spec.orientation == "landscape" else height > width
            if facts.rotation in (90, 270):
                actual += f"（文件带有 {facts.rotation}° 旋转标记）"
            checks.append(_check("orientation", "画面方向", ok, actual, expected, "横版作品须横屏拍摄和导出"))
    if spec.min_size_mib is not None or spec.max_size_mib is not None:
        low, high = spec.min_size_mib, spec.max_size_mib
        ok = (low is None or size >= low * MIB) and (high is None or size <= high * MIB)
        actual = format_size(size)
        if not ok and round(size / MIB, 1) in (low, high):  # "100.0MB" that is just under 100 MiB
            actual += f"（{size}字节）"
        expected = _range(
            None if low is None else _number_text(low), None if high is None else _number_text(high), "MB"
        )
        checks.append(_check("file_size", "文件大小", ok, actual, expected))
    if spec.container == "mp4":
        codec = facts.video_codec
        ok = codec in PLAYABLE_CODECS
        actual = CODEC_NAMES.get(codec, codec or "无法识别")
        checks.append(_check("video_codec", "视频编码", ok, actual, "H.264（或 H.265）", _EXPORT_HINT))
    if spec.audio_required:
        ok = facts.audio_tracks > 0
        actual = f"有（{facts.audio_codec or '音轨'}）" if ok else "没有音轨（无声）"
        checks.append(_check("audio", "声音", ok, actual, "有声音（解说或配乐）", "请在导出时保留音轨"))
    if forbids_dropped_frames(spec):
        checks.append(_frame_rate_check(facts))
    return checks


# Checks that rest on the picture size, and their labels.
_SIZE_CHECKS = {"resolution": "分辨率", "aspect_ratio": "画面比例", "orientation": "画面方向"}
_HEADER_HINT = "文件头记录的信息与视频数据不符（文件可能被改动或已损坏），请用剪辑软件重新导出"
# Audio a little longer than the picture is normal (encoder priming, a fade-out).
DURATION_SLACK_S = 1.0
DURATION_SLACK = 0.02


def needs_decoding(spec: VideoSpec) -> bool:
    """The notice sets a picture size or a duration, which the frames must confirm."""
    return bool(
        spec.resolutions
        or spec.min_height is not None
        or spec.aspect_ratio is not None
        or spec.orientation is not None
        or spec.min_duration_s is not None
        or spec.max_duration_s is not None
    )


def _confirm(
    checks: list[MediaCheck], facts: MediaFacts, decoded: DecodedVideo
) -> tuple[list[MediaCheck], list[MediaCheck]]:
    """The checks with the header's picture size and duration held against the decoded ones;
    a warning instead when the decoding could not run at all."""
    if not decoded.verified:
        warning = _warning(
            "decode_unverified",
            decoded.failure,
            "解码核实",
            f"无法解码核实分辨率和时长（{decoded.failure}），以上结果只依据文件头信息",
        )
        return checks, [warning]
    out: list[MediaCheck] = []
    for check in checks:
        actual = ""
        if check.id in _SIZE_CHECKS and facts.width and facts.height:
            actual = _size_mismatch(facts, decoded, lines=check.id == "resolution")
        elif check.id == "duration" and facts.duration_s is not None:
            actual = _duration_mismatch(facts.duration_s, decoded)
        if actual:
            label = _SIZE_CHECKS.get(check.id, "时长")
            check = _check(check.id, label, False, actual, check.expected, _HEADER_HINT)
        out.append(check)
    return out, []


def _size_mismatch(facts: MediaFacts, decoded: DecodedVideo, *, lines: bool) -> str:
    header = f"文件头标称 {facts.width}×{facts.height}"
    if decoded.width is None or decoded.height is None:
        return f"{header}，但视频数据无法解码出画面"
    width, height = decoded.width, decoded.height
    if facts.rotation in (90, 270):  # frames are stored unrotated; the facts are as shown
        width, height = height, width
    # Within a macroblock: a codec's padding or cropping, not a different picture.
    if abs(width - (facts.width or 0)) <= 16 and abs(height - (facts.height or 0)) <= 16:
        return ""
    return f"{header}，实际解码 {width}×{height}" + (f"（{min(width, height)}p）" if lines else "")


def _duration_mismatch(claimed: float, decoded: DecodedVideo) -> str:
    header = f"文件头标称 {format_duration(claimed)}"
    real = decoded.duration_s
    if real is None:
        return f"{header}，但视频数据无法解码核实"
    if abs(real - claimed) <= max(DURATION_SLACK_S, claimed * DURATION_SLACK):
        return ""
    return f"{header}，实际解码 {format_duration(real)}"


def _fps(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _frame_rate_check(facts: MediaFacts) -> MediaCheck:
    expected = "恒定帧率，无跳帧、漏帧"
    rate, low, high = facts.frame_rate, facts.min_frame_rate, facts.max_frame_rate
    if facts.frame_rate_mode == "VFR":
        top = high or rate
        if low and top and low >= top * VFR_JITTER:
            actual = f"可变帧率 {_fps(low)}～{_fps(top)}帧/秒，波动小，未见跳帧"
            return _check("frame_rate", "帧率", True, actual, expected)
        actual = f"可变帧率，最低 {_fps(low)}帧/秒（有跳帧或漏帧）" if low else "可变帧率（可能有跳帧或漏帧）"
        return _check("frame_rate", "帧率", False, actual, expected, "请导出为恒定帧率（如 25 或 30 帧/秒）")
    if rate is None:
        return _check("frame_rate", "帧率", False, "无法读取", expected)
    return _check("frame_rate", "帧率", True, f"{_fps(rate)}帧/秒，恒定帧率", expected)


def _spec_warnings(facts: MediaFacts, spec: VideoSpec) -> list[MediaCheck]:
    warnings: list[MediaCheck] = []
    codec = facts.video_codec
    if spec.container == "mp4" and codec in PLAYABLE_CODECS and codec != "AVC":
        name = CODEC_NAMES.get(codec, codec)
        warnings.append(
            _warning(
                "codec_compat",
                name,
                "H.264",
                f"视频编码是 {name}，部分电脑和评审系统不能直接播放，建议导出为 H.264",
            )
        )
    if forbids_dropped_frames(spec) and facts.frame_rate_mode == "VFR":
        check = _frame_rate_check(facts)
        if check.ok:
            warnings.append(
                _warning(
                    "variable_frame_rate",
                    check.actual,
                    "恒定帧率",
                    "视频是可变帧率（手机录制常见），建议导出为恒定帧率",
                )
            )
    if (spec.min_height is not None or spec.resolutions) and facts.width and facts.height:
        lines = min(facts.width, facts.height)
        floor = next((rate for height, rate in LOW_BIT_RATE if lines >= height), None)
        bit_rate = facts.video_bit_rate
        if floor is not None and bit_rate is not None and bit_rate < floor:
            actual = f"{bit_rate / 1e6:.1f}Mbps"
            warnings.append(
                _warning(
                    "bit_rate",
                    actual,
                    f"不低于 {floor / 1e6:g}Mbps",
                    f"视频码率 {actual} 偏低，{lines}p 画面可能不够清晰（建议不低于 {floor / 1e6:g}Mbps；"
                    "请用原始导出文件，不要用从网站下载的压缩版本）",
                )
            )
    return warnings


# --- the whole check ---------------------------------------------------------------------


def _open_regular(path: Path) -> tuple[int, int]:
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


def _unreadable(reason: str, size: int | None, sha256: str | None) -> MediaReport:
    check = MediaCheck("readable", False, reason, "可以读取的视频文件", f"无法读取：{reason}")
    return MediaReport(False, False, (check,), (), size, sha256, None, None, None, error=reason)


def inspect_video(
    path: Path,
    contest: Contest,
    *,
    sha256: str | None = None,
    limits: ProbeLimits = DEFAULT_LIMITS,
    decode: DecodeLimits | None = DEFAULT_DECODE_LIMITS,
) -> MediaReport:
    """Check ``path`` against ``contest``'s video spec; blocking, bounded by ``limits``.

    The picture size and duration the notice sets are confirmed from decoded frames, within
    ``decode``; None skips that (the report then warns that they were not confirmed).

    The SHA-256 is computed while MediaInfo works, unless given (the upload page hashes as the
    bytes arrive) or the file is over the contest's size limit (it cannot be submitted, and
    reading gigabytes for its hash would only delay the verdict).  Never raises for a bad
    file; :class:`MediaToolError` means the checker itself is broken.
    """
    try:
        fd, size = _open_regular(path)
    except UnreadableMedia as exc:
        return _unreadable(str(exc), None, sha256)
    try:
        if size == 0:
            return _unreadable("文件是空的（0字节）", 0, sha256)
        spec = contest.video
        too_big = spec is not None and spec.max_size_mib is not None and size > spec.max_size_mib * MIB
        hash_it = sha256 is None and not too_big
        probe, digest = _run_probe(fd, limits, lambda: _sha256_fd(fd) if hash_it else sha256)
    finally:
        os.close(fd)
    if probe.xml is None:
        return _unreadable(probe.failure, size, digest)
    try:
        facts = read_facts(probe.xml)
    except UnreadableMedia as exc:
        reason = str(exc)
        if probe.partial:
            reason += f"（只读了前 {probe.bytes_read // MIB}MB 仍未识别）"
        return _unreadable(reason, size, digest)
    decoded = None
    if contest.video is not None and needs_decoding(contest.video):
        if decode is None:
            decoded = DecodedVideo(False, failure="只读取了文件头和索引，没有视频数据")
        else:
            decoded = decode_sample(path, decode)
    checks, warnings = evaluate(facts, size, contest, decoded)
    return MediaReport(
        ok=all(c.ok for c in checks),
        readable=True,
        checks=checks,
        warnings=warnings,
        size=size,
        sha256=digest,
        duration_s=facts.duration_s,
        width=facts.width,
        height=facts.height,
        facts=facts,
    )


async def check_video(
    path: Path, contest: Contest, *, sha256: str | None = None, limits: ProbeLimits = DEFAULT_LIMITS
) -> MediaReport:
    """:func:`inspect_video` in a worker thread: the event loop keeps serving other users.

    A cancelled check finishes in its thread (within ``limits.timeout_s``); nothing is left behind.
    """
    return await asyncio.to_thread(inspect_video, path, contest, sha256=sha256, limits=limits)
