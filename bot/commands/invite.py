"""``invite --contest ID --role member|organiser [--unit NAME]``: a single-use, expiring invite code."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys

from bot.services import services
from bot.settings import Settings
from contests.org import Role
from contests.rules import SHANGHAI
from handlers.admin.service import AdminService, Denied


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"天数应为数字：{text!r}") from None
    if not 0 < value <= 90:
        raise argparse.ArgumentTypeError("有效期应在 0 到 90 天之间")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    invite = sub.add_parser("invite", help="create invite codes for unit members or organisers")
    invite.add_argument("--contest", required=True, help="contest id")
    invite.add_argument("--role", required=True, choices=["member", "organiser"])
    invite.add_argument("--unit", help="the unit's name (members only; must be imported first)")
    invite.add_argument("--days", type=_days, default=7.0, help="valid for this many days (default 7)")
    invite.add_argument(
        "--count", type=int, default=1, choices=range(1, 51), metavar="N", help="codes (1-50)"
    )
    invite.add_argument("--json", action="store_true", help="machine-readable output")
    invite.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with services(settings) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        admin = AdminService(contests, storage, org)
        try:
            admin.contest(args.contest)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        issued = []
        for _ in range(args.count):
            got = await admin.create_invite(
                args.contest, Role(args.role), args.unit, valid_for=dt.timedelta(days=args.days)
            )
            if isinstance(got, Denied):
                print(got.text, file=sys.stderr)
                return 2
            issued.append(got)
    if args.json:
        rows = [
            {
                "code": i.code,
                "contest": i.contest_id,
                "role": i.role.value,
                "unit": i.unit,
                "expires_at": i.expires_at.isoformat(),
            }
            for i in issued
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    first = issued[0]
    until = first.expires_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    who = f"{first.unit} 的推荐单位代表" if first.unit else "主办方"
    print(f"{first.contest_id} · {who} · 单次有效，{until}（北京时间）前使用：")
    for i in issued:
        print(f"  {i.code}")
    print("请把邀请码私下交给本人；对方在任一聊天渠道发送“绑定 邀请码”即可。邀请码只显示这一次。")
    return 0
