"""``review NUMBER --decision pass|return|reject --reason TEXT [--items a,b]``: the formal
review from the server, for organisers and scripts (the console and the chat do the same)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from bot.services import services
from bot.settings import Settings
from contests.records import UserKey
from contests.review import Decision
from handlers.review.service import OPERATOR_CHANNEL


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    review = sub.add_parser("review", help="decide a submission's formal review (形式审查)")
    review.add_argument("number", help="submission number, e.g. KP2026-000001")
    review.add_argument("--decision", required=True, choices=[d.value for d in Decision])
    review.add_argument("--reason", default="", help="why (required for return and reject)")
    review.add_argument(
        "--items", default="", help="for return: what to fix, comma-separated field ids, video, scan"
    )
    review.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    items = [i.strip() for i in args.items.split(",") if i.strip()]
    by = UserKey(OPERATOR_CHANNEL, getpass.getuser())
    async with services(settings) as svc:
        outcome = await svc.review.decide(
            args.number, Decision(args.decision), args.reason, by=by, items=items, source="cli"
        )
        await svc.reach.drain()
    print(outcome.text, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 2
