"""``contests [--json]`` and ``contests new``: what the assistant knows, and next year's edition."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from bot.settings import Settings
from contests.editions import Edition, next_prefix, plan_edition
from contests.registry import ContestError, ContestRegistry, dump_contest


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD：{text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    contests = sub.add_parser("contests", help="list contests, or make a new edition")
    contests.add_argument("--json", action="store_true", help="machine-readable output")
    contests.set_defaults(handler=run)
    csub = contests.add_subparsers(dest="contests_command")
    new = csub.add_parser("new", help="write a new edition of a contest from an earlier one")
    new.add_argument("--from", dest="source", required=True, help="id of the contest to copy")
    new.add_argument("--id", dest="new_id", required=True, help="id of the new contest")
    new.add_argument("--deadline", type=iso_date, required=True, help="YYYY-MM-DD (Asia/Shanghai)")
    new.add_argument("--opens", type=iso_date, help="YYYY-MM-DD (Asia/Shanghai)")
    new.add_argument(
        "--prefix", help="submission numbers' prefix, e.g. TP2026 (default: the source's letters, new year)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    registry = ContestRegistry.load(settings.contest_folder)
    if args.contests_command == "new":
        return _new(args, settings, registry)
    now = dt.datetime.now(dt.UTC)
    if args.json:
        rows = [{**c.summary(), "status": c.status(now)} for c in registry]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    status_cn = {"open": "征集中", "closed": "已截止", "upcoming": "未开始", "draft": "草稿，未开放"}
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


def _new(args: argparse.Namespace, settings: Settings, registry: ContestRegistry) -> int:
    source = registry.get(args.source)
    if source is None:
        print(f"没有找到大赛 {args.source!r}；可用：{', '.join(c.id for c in registry)}", file=sys.stderr)
        return 2
    if args.opens is not None and args.opens > args.deadline:
        print(
            f"开始日期晚于截止日期：--opens {args.opens.isoformat()} 在 --deadline "
            f"{args.deadline.isoformat()} 之后，请检查这两个日期",
            file=sys.stderr,
        )
        return 2
    if registry.get(args.new_id) is not None:
        print(f"大赛 {args.new_id!r} 已存在", file=sys.stderr)
        return 2
    # Two contests sharing a prefix would share one numbering sequence (most-cas and envoy
    # both rolled to KP2026): their works' numbers would interleave and name each other.
    prefix = args.prefix or next_prefix(source, args.deadline)
    holder = next((c for c in registry if c.number_prefix == prefix), None)
    if holder is not None:
        print(
            f"编号前缀 {prefix} 已由「{holder.title}」（{holder.id}）使用："
            "两个大赛共用前缀会共用一个编号序列。"
            f"请用 --prefix 指定另一个，例如 --prefix TP{prefix[-4:]}",
            file=sys.stderr,
        )
        return 2
    path = settings.contest_folder / f"{args.new_id}.yaml"
    try:
        edition = plan_edition(source, args.new_id, args.deadline, args.opens, prefix=prefix)
        contest = dump_contest(edition.data, path)
    except FileExistsError:
        print(f"{path} 已存在，未覆盖", file=sys.stderr)
        return 2
    except (ValueError, ContestError) as exc:
        print(f"无法生成新一届大赛：{exc}", file=sys.stderr)
        return 2
    print(f"已生成 {path}：{contest.title}（{contest.id}），截止 {contest.deadline.isoformat()}")
    _report(edition)
    if contest.draft:  # no --opens: not offered to entrants until the organiser opens it
        print(
            "新一届尚未开放报名（文件中标为 draft: true，参赛者看不到）。请对照新一届通知核对其中的"
            "规则、日期和表格，然后在文件中写上（或核对）开始日期 opens: YYYY-MM-DD 并删去 draft: true 一行，"
            "即按开始日期开放报名。"
        )
    else:
        print("请对照新一届通知核对其中的规则、日期和表格，再开放报名。")
    return 0


def _report(edition: Edition) -> None:
    """What moved in the prose, and every line the organiser must still read (where it is in
    the file, why, and the line as written)."""
    if edition.moved:
        print(f"文中写到的日期已随新一届移动（{len(edition.moved)} 处）：")
        for moved in edition.moved:
            print(f"  {moved.where}：{moved.old} → {moved.new}")
    if edition.answered:
        print(f"上一届的说明已由本次给出的日期回答，已从新一届删去（{len(edition.answered)} 处）：")
        for line in edition.answered:
            print(f"  {line.where}（{line.reason}）：{line.text}")
    if edition.unchecked:
        print(f"以下 {len(edition.unchecked)} 行仍需对照新通知核对：")
        for line in edition.unchecked:
            print(f"  {line.where}（{line.reason}）：{line.text}")
