"""``export --contest ID --format xlsx|csv|json --out FILE [--unit NAME]``: every submission;
the export is written to the audit log (who ran it, the contest and unit, format, rows)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from bot.services import services
from bot.settings import Settings
from contests.records import UserKey
from handlers.admin.service import AdminService
from handlers.review.service import OPERATOR_CHANNEL


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export", help="export a contest's submissions as xlsx, csv or json")
    export.add_argument("--contest", required=True, help="contest id")
    export.add_argument("--format", dest="fmt", required=True, choices=["xlsx", "csv", "json"])
    export.add_argument("--out", required=True, type=Path, help="file to write")
    export.add_argument("--unit", help="only this recommending unit's submissions")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


def _write(path: Path, content: bytes) -> None:
    # Via a temporary file: an interrupted export never leaves half a workbook under the real name.
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with services(settings) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        admin = AdminService(contests, storage, org, audit=svc.stores.audit)
        try:
            contest = admin.contest(args.contest)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        if args.unit is not None and await org.get_unit(contest.id, args.unit) is None:
            print(f"{contest.id} 没有登记名为“{args.unit}”的推荐单位", file=sys.stderr)
            return 2
        doc, rows = await admin.export_counted(contest.id, args.fmt, args.unit)
        # Audited as the console's and the chat's exports are (who, what, which format, how many),
        # before the file is written: personal data never leaves unaudited.
        by = UserKey(OPERATOR_CHANNEL, getpass.getuser())
        detail = {"file": str(args.out)}
        await admin.exported(
            by, "operator", contest.id, args.fmt, rows, unit=args.unit, source="cli", detail=detail
        )
    try:
        await asyncio.to_thread(lambda: _write(args.out, doc.read()))
    except OSError as exc:
        print(f"无法写入 {args.out}：{exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"已导出 {rows} 份报名到 {args.out}")
    return 0
