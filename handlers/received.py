"""What was received at the video or the scan step, checked before the dialog sees it, and kept.

The dialog (``dialogs.engine``) is pure: a video file, a direct video link or a returned scan
reaches it with its verdict attached (``Incoming.media``), which these checks make.  A video
that passes is kept under its content hash, an accepted scan under its submission's number;
nothing is kept under a client's file name.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from contests.events import Incoming
from contests.rules import Contest
from dialogs.scan import scan_limits
from validators.links import parse_video_link
from validators.scan import inspect_scan
from validators.text import Valid


class MediaReportLike(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def sha256(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def text_zh(self) -> str: ...


class MediaChecker(Protocol):
    """Checks a received video file against a contest's rules (``validators.media.check_video``)."""

    async def __call__(
        self, path: Path, contest: Contest, *, sha256: str | None = None
    ) -> MediaReportLike: ...


class LinkProbeLike(Protocol):
    @property
    def verdict(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    def text_zh(self) -> str: ...


LinkProber = Callable[[str, Contest], Awaitable[LinkProbeLike]]


def keep_file(path: Path, target: Path) -> Path:
    """Keep a received file at ``target``: a hard link when on the same disk (no copy of a
    300 MB video), so the channel may delete its own temporary copy afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        partial = target.with_name(target.name + ".part")
        partial.unlink(missing_ok=True)
        try:
            os.link(path, partial)
        except OSError:
            shutil.copyfile(path, partial)
        os.replace(partial, target)
    return target


def keep_video(path: Path, folder: Path, sha256: str) -> Path:
    """Videos are kept under their content hash, never under the client's file name."""
    return keep_file(path, folder / f"{sha256}.mp4")


async def check_video_file(
    event: Incoming, contest: Contest, checker: MediaChecker | None, video_dir: Path | None
) -> Incoming:
    """A received video file checked against the contest's rules, and kept (under its hash, in
    ``video_dir``) when it passes."""
    if event.file is None or not event.file.path or checker is None or "file" not in contest.delivery.accepts:
        return event
    report = await checker(Path(event.file.path), contest, sha256=event.file.sha256 or None)
    media = {**report.to_dict(), "text": report.text_zh()}
    if report.ok and report.sha256 and video_dir is not None:
        kept = await asyncio.to_thread(keep_video, Path(event.file.path), video_dir, report.sha256)
        media["stored"] = str(kept)
    return dataclasses.replace(event, media=media)


async def probe_link(event: Incoming, contest: Contest, prober: LinkProber | None) -> Incoming:
    """A direct video link typed at the video step, probed; any other text reaches the dialog as it is."""
    if prober is None or "link" not in contest.delivery.accepts:
        return event
    parsed = parse_video_link(event.text)
    if not isinstance(parsed, Valid) or parsed.value.kind != "link":
        return event
    probe = await prober(parsed.value.url, contest)
    return dataclasses.replace(
        event, media={**probe.to_dict(), "text": probe.text_zh(), "verdict": probe.verdict}
    )


async def check_scan(
    event: Incoming, contest: Contest, state: dict[str, Any], scan_dir: Path | None
) -> Incoming:
    """A returned scan: a jpg, png or pdf that opens, within the notice's size limit."""
    info = event.file
    if info is None or not info.path:
        return dataclasses.replace(event, media={"scan_ok": False, "error": "scan_unchecked"})
    _, max_mib = scan_limits(contest)
    folder = None
    if scan_dir is not None:
        folder = scan_dir / str(state.get("number", "unknown"))
    n = len(state.get("scans") or []) + 1
    # Size, kind and keeping the file in one worker-thread call: each hand-off costs more
    # CPU than the work (see bot.storage.sqlite.common).
    size, kind, stored, why = await asyncio.to_thread(
        take_scan, Path(info.path), int(max_mib * 1024 * 1024), folder, n
    )
    if kind is None and size > max_mib * 1024 * 1024:
        media = {
            "scan_ok": False,
            "error": "scan_too_big",
            "name": info.name,
            "actual": f"{size / 1024 / 1024:.1f}MB",
            "max": f"{max_mib:g}MB",
        }
        return dataclasses.replace(event, media=media)
    if kind is None:
        media = {"scan_ok": False, "error": "scan_type", "name": info.name, "reason": why}
        return dataclasses.replace(event, media=media)
    return dataclasses.replace(event, media={"scan_ok": True, "stored": str(stored), "kind": kind})


def take_scan(path: Path, max_bytes: int, folder: Path | None, n: int) -> tuple[int, str | None, Path, str]:
    """``(size, kind, where kept, why not)`` of a returned scan (blocking: run in a worker thread).

    ``kind`` is jpg, png or pdf when the file opens as one with a real parser (in a bounded
    child: :func:`validators.scan.inspect_scan`), or None when the file is larger than
    ``max_bytes`` (not read then) or does not open; ``why not`` then says why, in Chinese
    ("" when too big, or when it does not even claim to be one of the three).  Only an
    accepted scan is kept, as ``folder/scan-{n}.{kind}`` (left where it is when ``folder``
    is None).
    """
    size = path.stat().st_size
    if size > max_bytes:
        return size, None, path, ""
    verdict = inspect_scan(path)
    if verdict.kind is None:
        # A file of another kind gets the usual "jpg, png or pdf only"; one that claims to be a
        # scan and does not open gets the parser's reason.
        return size, None, path, verdict.reason if verdict.problem == "broken" else ""
    if folder is None:
        return size, verdict.kind, path, ""
    return size, verdict.kind, keep_file(path, folder / f"scan-{n}.{verdict.kind}"), ""
