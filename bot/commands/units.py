"""``units import CSV --contest ID [--dry-run | --yes]`` and ``units list --contest ID [--json]``:
the recommending units.  An import first prints how each name maps onto the notice's list and
tier, and the lines it cannot map (with their reason and the names they were probably meant
as); nothing is saved until the organiser confirms (typed ``y``, or ``--yes`` in a script).
The lines that map are then imported and the others written beside the file
(``NAME.未导入.csv``), to fix and import again."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.services import services
from bot.settings import Settings
from handlers.admin.service import AdminService
from handlers.admin.units import UnitsImportError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    units = sub.add_parser("units", help="import or list a contest's recommending units")
    usub = units.add_subparsers(dest="units_command", required=True)
    imp = usub.add_parser("import", help="add or update units from a CSV file: name,kind,province")
    imp.add_argument(
        "csv", type=Path, help="CSV file (UTF-8 or GBK): name[,kind,province] per line, a header row optional"
    )
    imp.add_argument("--contest", required=True, help="contest id")
    imp.add_argument("--dry-run", action="store_true", help="only show how each name would be mapped")
    imp.add_argument("--yes", action="store_true", help="save without asking (the mapping is still printed)")
    lst = usub.add_parser("list", help="the units of a contest")
    lst.add_argument("--contest", required=True, help="contest id")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    units.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.units_command == "import":
        try:
            data = await asyncio.to_thread(args.csv.read_bytes)
        except OSError as exc:
            print(f"无法读取 {args.csv}：{exc.strerror or exc}", file=sys.stderr)
            return 2
    async with services(settings) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        admin = AdminService(contests, storage, org)
        try:
            contest = admin.contest(args.contest)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        if args.units_command == "list":
            units = await org.list_units(contest.id)
            if args.json:
                rows = [{"name": u.name, "kind": u.kind, "province": u.province} for u in units]
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            else:
                for u in units:
                    print(f"{u.name}\t{u.kind}\t{u.province}")
            return 0
        try:
            preview = await admin.preview_units(contest.id, data)
        except UnitsImportError as exc:
            return _refused(args.csv, exc.errors)
        if not preview.rows and preview.skipped:
            return _refused(args.csv, preview.errors)
        print(f"{contest.id} 的推荐单位将按通知这样对应：")
        for line in preview.lines():
            print(f"  {line}")
        if args.dry_run:
            print("试运行（--dry-run）：未保存。")
            return 0
        skipping = f"（跳过标 ✗ 的 {len(preview.skipped)} 行）" if preview.skipped else ""
        question = f"确认导入以上 {len(preview.rows)} 个单位{skipping}？输入 y 确认："
        if not args.yes and not await asyncio.to_thread(_confirmed, question):
            print("未导入：没有确认。确认无误后重新运行并输入 y，或加 --yes。")
            return 1
        try:  # saved as printed: units imported meanwhile by someone else refuse it
            summary = await admin.import_units(contest.id, data, shown=preview.digest)
        except UnitsImportError as exc:
            for line in exc.errors:
                print(line, file=sys.stderr)
            return 1
    print(f"已导入 {contest.id} 的推荐单位：新增 {summary.added} 个，更新 {summary.updated} 个。")
    if summary.skipped:
        left = args.csv.with_name(f"{args.csv.stem}.未导入.csv")
        await asyncio.to_thread(left.write_text, preview.to_fix(), encoding="utf-8-sig")
        print(f"未导入 {len(summary.skipped)} 行，已另存为 {left}（改正名称后可再导入）：")
        for skipped in summary.skipped:
            print(f"  {skipped.text()}")
    return 0


def _refused(path: Path, errors: list[str]) -> int:
    print(f"{path} 有误，未导入任何单位：", file=sys.stderr)
    for line in errors:
        print(f"  {line}", file=sys.stderr)
    return 2


def _confirmed(question: str) -> bool:
    """The organiser's y at the terminal; no terminal (a script, a pipe) is no confirmation."""
    if not sys.stdin.isatty():
        return False
    try:
        return input(question).strip().casefold() in {"y", "yes", "是", "确认"}
    except EOFError:
        return False
