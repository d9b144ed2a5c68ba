"""The notice's video requirements, each judged against what the file is.

Each requirement of the contest's :class:`~contests.rules.VideoSpec` becomes one ✓/✗ line
with the actual value against the expected one, in plain Chinese.  Where the notice says
nothing about a property, nothing is checked for it.  Dates outside the production window and
similar doubts are warnings (⚠), never failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from contests.rules import Contest, VideoSpec
from validators.decode import DecodedVideo
from validators.media_text import (
    MIB,
    date_text,
    duration_range,
    format_duration,
    format_size,
    number_text,
    range_text,
    window_text,
)
from validators.mediainfo import CODEC_NAMES, PLAYABLE_CODECS, MediaFacts, container_name

ASPECT_TOLERANCE = 0.01  # "16:9" holds within 1 %
# A variable frame rate whose slowest stretch still runs at 3/4 of the fastest is timestamp
# jitter (phones, edits at cut points); below that a frame interval is at least 1.33 frames
# long, i.e. frames were dropped: the 跳帧、漏帧 notices forbid.
VFR_JITTER = 0.75
# Video bit rates below which a picture of that height is probably a re-compressed copy
# (downloaded from a platform): a warning only, no notice sets a number.
LOW_BIT_RATE = ((1080, 1_500_000), (720, 750_000))

Severity = Literal["error", "warning"]


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
                date_text(facts.encoded_date),
                window_text(window),
                f"文件记录的编码日期是 {date_text(facts.encoded_date)}，不在通知规定的制作时间"
                f"（{window_text(window)}）内；如果只是后来重新导出，可以忽略，但作品须在此期间完成",
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
        expected = duration_range(spec.min_duration_s, spec.max_duration_s)
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
        expected = range_text(
            None if low is None else number_text(low), None if high is None else number_text(high), "MB"
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
            # Under 1 Mbps in kbps: a 44 kbps export read "0.0Mbps", as if it had no picture.
            actual = f"{bit_rate / 1e6:.1f}Mbps" if bit_rate >= 950_000 else f"{bit_rate / 1e3:.0f}kbps"
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
