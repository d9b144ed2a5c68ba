"""``check-link URL --contest ID [--json]``: what the assistant says about a video link.

A cloud-drive share link gets the advice for the contest (exit 0 when nothing is missing, 1 when
the entrant must still act, e.g. send the 提取码); it is never opened.  A direct link is probed
(exit 0 pass, 1 fail, 2 unreachable or unreadable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import aiohttp

from bot.settings import Settings
from contests.registry import ContestRegistry
from contests.rules import Contest
from validators.links import VideoLink, assess_share_link, parse_video_link
from validators.mediainfo import MediaToolError
from validators.probe import probe_link
from validators.text import Invalid

EXIT = {"passed": 0, "failed": 1, "unreachable": 2}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("check-link", help="check a video link (share link or direct link) for a contest")
    parser.add_argument("url", help="the link, or the share text a drive's app copies")
    parser.add_argument("--contest", required=True, help="contest id (see `contests`)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="also fetch from private, loopback and link-local addresses (testing only)",
    )
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds of network time (default 20)")
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a draft answer for the folder name: unit=…, title=…, province=… (repeatable)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    registry = ContestRegistry.load(settings.contest_folder)
    contest = registry.get(args.contest)
    if contest is None:
        known = ", ".join(c.id for c in registry)
        return _refuse(args, "unknown_contest", f"没有找到大赛 {args.contest!r}；可用：{known}")
    parsed = parse_video_link(args.url)
    if isinstance(parsed, Invalid):
        value = parsed.params.get("value", args.url)
        message = (
            f"“{value}”不是有效的视频链接（{parsed.code}），请粘贴以 http:// 或 https:// 开头的完整链接。"
        )
        return _refuse(args, parsed.code, message)
    link: VideoLink = parsed.value
    if link.kind == "share_link":
        answers = dict(a.partition("=")[::2] for a in args.answer)
        advice = assess_share_link(link, contest, answers)
        return _emit(args, advice.to_dict(), "\n".join(advice.notes_zh()), 0 if advice.ok else 1)
    if "link" not in contest.delivery.accepts:
        if "share_link" in contest.delivery.accepts:
            message = "本大赛要求通过网盘提交视频，请发送网盘分享链接。"
        else:
            message = "本大赛不接受视频链接，请直接发送视频文件。"
        check = {
            "id": "accepted",
            "ok": False,
            "actual": "视频链接",
            "expected": "、".join(contest.delivery.accepts),
            "message": message,
            "severity": "error",
        }
        data = {"ok": False, "kind": "link", "url": link.url, "error": "link_not_accepted", "checks": [check]}
        return _emit(args, data, message, 1)
    return asyncio.run(_probe(args, link.url, contest))


async def _probe(args: argparse.Namespace, url: str, contest: Contest) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            result = await probe_link(
                url, contest, session=session, allow_private=args.allow_private, timeout=args.timeout
            )
        except MediaToolError as exc:
            return _refuse(args, "media_tool", f"视频检查程序无法运行：{exc}")
    return _emit(args, result.to_dict(), result.text_zh(), EXIT[result.verdict])


def _refuse(args: argparse.Namespace, code: str, message: str) -> int:
    """Exit 2 with the reason on stderr; a JSON consumer still gets JSON, in the usual shape."""
    if args.json:
        print(json.dumps({"ok": False, "kind": None, "error": code, "message": message, "checks": []},
                         ensure_ascii=False))  # fmt: skip
    print(message, file=sys.stderr)
    return 2


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str, code: int) -> int:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(text)
    return code
