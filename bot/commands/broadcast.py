"""``broadcast``: schedule a message to an audience, list, cancel, and read delivery reports.

    python -m bot broadcast --contest ID --audience all|drafts|members|unit:NAME [--at ISO] --text "…"
    python -m bot broadcast --report JOB [--json]
    python -m bot broadcast --cancel JOB
    python -m bot broadcast --list [--contest ID]

The message is stored as a job; the worker of ``serve`` sends it (within each platform's
limits) when its time comes.  ``--at`` without a zone is Beijing time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys

from bot.reminders import open_reminders
from bot.services import services
from bot.settings import Settings
from contests.rules import SHANGHAI
from handlers.remind.texts import audience_label


def at_time(text: str) -> dt.datetime:
    """ISO date-time; without an offset it is Beijing time."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"时间格式应为 2024-10-20T09:00（北京时间）：{text!r}") from None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("broadcast", help="send a message to an audience; delivery reports")
    cmd.add_argument("--contest", help="contest id")
    cmd.add_argument("--audience", help="all | drafts | members | unit:NAME")
    cmd.add_argument("--text", help="the message (plain text)")
    cmd.add_argument("--at", type=at_time, help="when to send, ISO (Beijing time); default now")
    what = cmd.add_mutually_exclusive_group()
    what.add_argument("--report", metavar="JOB", help="print the delivery report of a job")
    what.add_argument("--cancel", metavar="JOB", help="cancel a job; what is not sent yet is not sent")
    what.add_argument("--list", action="store_true", help="list broadcasts and reminders")
    cmd.add_argument("--json", action="store_true", help="machine-readable report")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with (
        services(settings) as svc,
        open_reminders(svc.contests, svc.storage, svc.stores.org, svc.stores.jobs) as remind,
    ):
        if args.report or args.cancel:
            job_id = args.report or args.cancel
            if args.cancel:
                cancelled = await remind.cancel(job_id)
                if cancelled is None:
                    print(f"没有编号为 {job_id} 的广播", file=sys.stderr)
                    return 2
                print(f"{job_id}：{cancelled.state.value}")
            report = await remind.report(job_id)
            if report is None:
                print(f"没有编号为 {job_id} 的广播", file=sys.stderr)
                return 2
            if args.json:
                print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
            else:
                print(report.text(listed=len(report.problems)))
            return 0
        if args.list:
            for job in await remind.jobs.list_jobs(contest_id=args.contest):
                local = job.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
                print(f"{job.id}\t{job.kind.value}\t{job.state.value}\t{local}\t{job.total}\t{job.audience}")
            return 0
        missing = [name for name in ("contest", "audience", "text") if not getattr(args, name)]
        if missing:
            print("缺少参数：" + "、".join(f"--{m}" for m in missing), file=sys.stderr)
            return 2
        try:
            job, reach = await remind.create_broadcast(
                args.contest, args.audience, args.text, at=args.at, by="cli"
            )
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    when = job.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    print(
        f"已安排广播 {job.id}：{audience_label(job.audience)}（目前 {reach} 人），"
        f"{when}（北京时间）起由 serve 发送。\n"
        f"查看结果：python -m bot broadcast --report {job.id}"
    )
    return 0
