"""``python -m bot``: the command line of the assistant (also installed as ``kepu-submit``)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from .contests import ContestError, ContestRegistry, dump_contest, new_edition
from .settings import Settings


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD：{text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="科普微视频投稿助手 Kepu Submit")
    sub = p.add_subparsers(dest="command", required=True)

    contests = sub.add_parser("contests", help="list contests, or make a new edition")
    contests.add_argument("--json", action="store_true", help="machine-readable output")
    csub = contests.add_subparsers(dest="contests_command")
    new = csub.add_parser("new", help="write a new edition of a contest from an earlier one")
    new.add_argument("--from", dest="source", required=True, help="id of the contest to copy")
    new.add_argument("--id", dest="new_id", required=True, help="id of the new contest")
    new.add_argument("--deadline", type=_date, required=True, help="YYYY-MM-DD (Asia/Shanghai)")
    new.add_argument("--opens", type=_date, help="YYYY-MM-DD (Asia/Shanghai)")

    chat = sub.add_parser("chat", help="talk to the assistant in the terminal")
    chat.add_argument("--contest", help="contest id to start with")
    chat.add_argument("--user", help="who you are (default: your login name)")

    sub.add_parser("serve", help="run the web service (webhooks, health check)")
    return p


def _cmd_contests(args: argparse.Namespace, settings: Settings) -> int:
    registry = ContestRegistry.load(settings.contest_folder)
    if args.contests_command == "new":
        return _cmd_contests_new(args, settings, registry)
    now = dt.datetime.now(dt.UTC)
    if args.json:
        rows = [{**c.summary(), "status": c.status(now)} for c in registry]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    status_cn = {"open": "征集中", "closed": "已截止", "upcoming": "未开始"}
    for c in registry:
        print(f"{c.id}  {c.title}  截止 {c.deadline.isoformat()}  [{status_cn[c.status(now)]}]")
        for ch in c.channels:
            print(f"  渠道 {ch.id}（{ch.label}）：" + "，".join(f"{t}→{f}" for t, f in ch.forms.items()))
        for form in c.forms:
            print(f"  表 {form.id}：{form.title}")
            for fld in form.fields:
                limit = f" ≤{fld.max_chars}字" if fld.max_chars else ""
                print(f"    - {fld.id}: {fld.label} ({fld.type.value}{limit})")
    return 0


def _cmd_contests_new(args: argparse.Namespace, settings: Settings, registry: ContestRegistry) -> int:
    source = registry.get(args.source)
    if source is None:
        print(f"没有找到大赛 {args.source!r}；可用：{', '.join(c.id for c in registry)}", file=sys.stderr)
        return 2
    if registry.get(args.new_id) is not None:
        print(f"大赛 {args.new_id!r} 已存在", file=sys.stderr)
        return 2
    path = settings.contest_folder / f"{args.new_id}.yaml"
    try:
        data = new_edition(source, args.new_id, args.deadline, args.opens)
        contest = dump_contest(data, path)
    except FileExistsError:
        print(f"{path} 已存在，未覆盖", file=sys.stderr)
        return 2
    except (ValueError, ContestError) as exc:
        print(f"无法生成新一届大赛：{exc}", file=sys.stderr)
        return 2
    print(f"已生成 {path}：{contest.title}（{contest.id}），截止 {contest.deadline.isoformat()}")
    print("请对照新一届通知核对其中的规则、日期和表格，再开放报名。")
    return 0


def _cmd_serve(settings: Settings) -> int:
    from .app import create_app

    app = create_app(settings)
    print(
        "尚未配置聊天渠道（Telegram / 微信）。服务只提供 /healthz；"
        "可先用 `python -m bot chat` 在终端体验完整报名流程。",
        file=sys.stderr,
    )
    web.run_app(app, host=settings.http_host, port=settings.http_port, print=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "contests":
            return _cmd_contests(args, settings)
        if args.command == "chat":
            from .terminal import run_chat

            # The dialog's own logging would interleave with the conversation.
            logging.getLogger().setLevel(logging.WARNING)
            user = args.user or getpass.getuser()
            return asyncio.run(run_chat(settings, user=user, contest=args.contest))
        if args.command == "serve":
            return _cmd_serve(settings)
    except ContestError as exc:
        print(f"大赛文件有误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
