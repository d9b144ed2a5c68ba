"""``check-video FILE --contest ID [--content] [--title 作品名称] [--json]``: the media check from the
command line.

``--content`` adds the content checks (sound, picture, subtitles, title card, credits, watermarks:
:mod:`validators.content`) after the container verdict; ``--title`` is the 作品名称 the title card
is compared with.  The JSON then has the container report and a ``content`` object.

Exit status: 0 the file meets the contest's video requirements, 1 it does not (a content ✗
counts; warnings and 需人工确认 do not), 2 it cannot be read as a video (or the contest is
unknown, or the checker cannot run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.settings import Settings
from contests.registry import ContestRegistry
from validators.content import inspect_content
from validators.media import inspect_video  # pymediainfo only when used
from validators.mediainfo import MediaToolError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "check-video", help="check a video file against a contest's technical requirements"
    )
    parser.add_argument("file", type=Path, help="the video file (judged by its content, not its name)")
    parser.add_argument("--contest", required=True, help="contest id, e.g. most-cas-2024-kepu")
    parser.add_argument(
        "--content", action="store_true", help="also check the content (decodes the whole file)"
    )
    parser.add_argument("--title", default="", help="作品名称, compared with the title card (with --content)")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(handler=run)


def _refuse(message: str, as_json: bool) -> int:
    if as_json:  # a JSON consumer still gets JSON, in the report's shape
        print(
            json.dumps(
                {"ok": False, "readable": False, "error": message, "checks": [], "warnings": []},
                ensure_ascii=False,
            )
        )
    print(message, file=sys.stderr)
    return 2


def run(args: argparse.Namespace, settings: Settings) -> int:
    registry = ContestRegistry.load(settings.contest_folder)
    contest = registry.get(args.contest)
    if contest is None:
        known = ", ".join(c.id for c in registry)
        return _refuse(f"没有找到大赛 {args.contest!r}；可用：{known}", args.json)
    try:
        report = inspect_video(args.file, contest)
    except MediaToolError as exc:
        return _refuse(f"视频检查程序无法运行：{exc}", args.json)
    content = (
        inspect_content(args.file, contest, title=args.title) if args.content and report.readable else None
    )
    if args.json:
        data = report.to_dict()
        if content is not None:
            data["content"] = content.to_dict()
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(report.text_zh())
        if content is not None:
            print()
            print(content.text_zh())
    if not report.readable:
        return 2
    return 0 if report.ok and (content is None or content.ok) else 1
