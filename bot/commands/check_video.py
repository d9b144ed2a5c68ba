"""``check-video FILE --contest ID [--json]``: the media check from the command line.

Exit status: 0 the file meets the contest's video requirements, 1 it does not, 2 it cannot be
read as a video (or the contest is unknown, or the checker cannot run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.settings import Settings
from contests.rules import ContestRegistry
from validators.media import inspect_video  # pymediainfo only when used
from validators.mediainfo import MediaToolError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "check-video", help="check a video file against a contest's technical requirements"
    )
    parser.add_argument("file", type=Path, help="the video file (judged by its content, not its name)")
    parser.add_argument("--contest", required=True, help="contest id, e.g. most-cas-2024-kepu")
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
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.text_zh())
    if report.ok:
        return 0
    return 1 if report.readable else 2
