"""``quota --contest ID [--unit NAME] [--json]``: how many places each unit has used and left."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from bot.services import services
from bot.settings import Settings
from handlers.quota.service import QuotaService


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    quota = sub.add_parser("quota", help="places used and left per recommending unit")
    quota.add_argument("--contest", required=True, help="contest id")
    quota.add_argument("--unit", help="only this unit")
    quota.add_argument("--json", action="store_true", help="machine-readable output")
    quota.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with services(settings) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        contest = contests.get(args.contest)
        if contest is None:
            print(
                f"没有找到大赛 {args.contest!r}；可用：{', '.join(c.id for c in contests)}", file=sys.stderr
            )
            return 2
        usage = await QuotaService(contests, storage, org).usage(contest.id, unit=args.unit)
    if args.unit is not None and not usage:
        print(f"{contest.id} 没有登记名为“{args.unit}”的推荐单位", file=sys.stderr)
        return 2
    accounts = "account" in contest.tracks()
    if args.json:
        print(json.dumps([u.to_json(with_accounts=accounts) for u in usage], ensure_ascii=False, indent=2))
        return 0
    if not usage:
        print(f"{contest.id} 还没有导入推荐单位（python -m bot units import CSV --contest {contest.id}）")
    for u in usage:
        limit = "不限" if u.limit is None else str(u.limit)
        line = f"{u.name}\t{u.kind}\t作品 {u.used}/{limit}"
        if u.min_works and u.used < u.min_works:
            line += f"（至少 {u.min_works}）"
        if accounts:
            cap = "不限" if u.accounts_limit is None else str(u.accounts_limit)
            line += f"\t科普号 {u.accounts_used}/{cap}"
        print(line)
    return 0
