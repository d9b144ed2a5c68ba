"""Video file check: is this file what the contest's notice asks for?

The file is judged from its content, never its name: MediaInfo (through pymediainfo's data
model, :mod:`validators.mediainfo`) reads the container, streams and header, and each
requirement of the contest's :class:`~contests.rules.VideoSpec` becomes one ✓/✗ line
(:mod:`validators.media_rules`).  The picture size and the duration a notice sets are
confirmed from decoded frames (:mod:`validators.decode`).  The verdict is a
:class:`MediaReport`, shown in the chat and stored with the submission.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contests.rules import Contest
from validators.decode import DEFAULT_DECODE_LIMITS, DecodedVideo, DecodeLimits, decode_sample
from validators.hashing import sha256_fd
from validators.media_rules import MediaCheck, evaluate, needs_decoding
from validators.media_text import MIB, format_duration, format_size
from validators.mediainfo import (
    CODEC_NAMES,
    DEFAULT_LIMITS,
    MediaFacts,
    ProbeLimits,
    UnreadableMedia,
    container_name,
    open_regular,
    read_facts,
    run_probe,
)


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
        elif len(self.checks) == 1:
            lines = ["✅ 视频检查通过：符合通知的这项技术要求。"]
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


# --- the whole check ---------------------------------------------------------------------


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
        fd, size = open_regular(path)
    except UnreadableMedia as exc:
        return _unreadable(str(exc), None, sha256)
    try:
        if size == 0:
            return _unreadable("文件是空的（0字节）", 0, sha256)
        spec = contest.video
        too_big = spec is not None and spec.max_size_mib is not None and size > spec.max_size_mib * MIB
        hash_it = sha256 is None and not too_big
        probe, digest = run_probe(fd, limits, lambda: sha256_fd(fd) if hash_it else sha256)
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
