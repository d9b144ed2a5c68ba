"""``render-form``: a contest's paper form filled in from a JSON file, as DOCX and PDF."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.storage import choose_backend
from contests.registry import ContestRegistry
from forms.fonts import FontsMissing
from forms.receipts import ReceiptKeyError, ReceiptSettings, form_code, load_signing_key
from forms.render import render_district_list, render_form
from forms.sheet import FormError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "render-form",
        help="fill in a contest's form from JSON: writes .docx and .pdf",
        description="表单 id 与字段 id 见 `python -m bot contests --json`；JSON 把字段 id 映射到填写内容。",
    )
    p.add_argument("--contest", required=True, help="contest id")
    p.add_argument("--form", required=True, help="form id of the contest")
    p.add_argument(
        "--data", help="JSON file mapping field ids to values ('-' for stdin); default: blank form"
    )
    p.add_argument("--out", required=True, type=Path, help="folder for the .docx and .pdf")
    p.add_argument("--number", help="submission number to print with its verification code and QR code")
    p.add_argument(
        "--submissions",
        help="for a district list (区县推荐表): comma-separated submission numbers from the store",
    )
    p.set_defaults(handler=run)


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _read_values(source: str | None) -> dict[str, Any] | str:
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"无法读取数据文件 {source}：{exc} / cannot read {source}"
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}"
        return f"数据文件不是有效的 JSON（{where}）/ invalid JSON in {source}"
    if not isinstance(values, dict):
        return f'数据文件应为 JSON 对象：{{"字段id": 值, …}} / {source} must hold a JSON object'
    return values


async def _submissions(settings: Settings, numbers: list[str]) -> list[Any] | str:
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    backend = choose_backend(
        data_dir=settings.data_dir,
        redis_url=redis_url,
        redis_prefix=settings.redis_prefix,
        redis_cluster=settings.redis_cluster,
    )
    storage, isolation = await backend.open_storage()
    try:
        found = []
        for number in numbers:
            sub = await storage.get_submission(number)
            if sub is None:
                return f"没有报名编号 {number} / no submission {number}"
            found.append(sub)
        return found
    finally:
        await isolation.close()
        await storage.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    registry = ContestRegistry.load(settings.contest_folder)
    contest = registry.get(args.contest)
    if contest is None:
        known = ", ".join(c.id for c in registry)
        return _fail(f"没有找到大赛 {args.contest!r}；可用：{known} / unknown contest")
    if all(f.id != args.form for f in contest.forms):
        known = ", ".join(f.id for f in contest.forms)
        return _fail(f"大赛 {contest.id} 没有表 {args.form!r}；可用：{known} / unknown form")
    values = _read_values(args.data)
    if isinstance(values, str):
        return _fail(values)
    try:
        if args.submissions:
            numbers = [n.strip() for n in args.submissions.split(",") if n.strip()]
            subs = asyncio.run(_submissions(settings, numbers))
            if isinstance(subs, str):
                return _fail(subs)
            unknown = sorted(set(values) - {"unit", "opinion"})
            if unknown:
                return _fail(
                    f"区县推荐表的数据只有 unit、opinion，收到：{', '.join(unknown)} / unknown fields"
                )
            rendered = render_district_list(
                contest,
                str(values.get("unit", "")),
                subs,
                opinion=str(values.get("opinion", "")),
                form_id=args.form,
            )
        else:
            code = None
            if args.number:
                key = load_signing_key(settings.data_dir, ReceiptSettings())
                code = form_code(args.number, key)
            rendered = render_form(contest, args.form, values, number=args.number, verify_code=code)
    except FormError as exc:
        return _fail(f"无法填写表格：{exc}")
    except (ReceiptKeyError, ValueError) as exc:
        return _fail(f"配置有误：{exc}")
    except FontsMissing as exc:
        print(str(exc), file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for suffix, data in ((".docx", rendered.docx), (".pdf", rendered.pdf)):
        path = args.out / f"{rendered.filename_stem}{suffix}"
        path.write_bytes(data)
        print(path)
    return 0
