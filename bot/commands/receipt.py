"""``receipt NUMBER --out FILE``: issue a stored submission's signed receipt again."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.storage import choose_backend
from contests.registry import ContestRegistry
from forms.receipts import ReceiptKeyError, ReceiptSettings, issue_receipt, load_signing_key

FORMATS = {".pdf": "pdf", ".json": "json", ".txt": "text"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("receipt", help="issue a submission's signed receipt again (PDF, JSON or text)")
    p.add_argument("number", help="submission number, e.g. KP2024-000123")
    p.add_argument("--out", required=True, type=Path, help="file to write: .pdf, .json or .txt")
    p.add_argument("--format", choices=sorted(set(FORMATS.values())), help="default: from the file name")
    p.set_defaults(handler=run)


async def _load(settings: Settings, number: str) -> Any:
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    backend = choose_backend(
        data_dir=settings.data_dir,
        redis_url=redis_url,
        redis_prefix=settings.redis_prefix,
        redis_cluster=settings.redis_cluster,
    )
    storage, isolation = await backend.open_storage()
    try:
        return await storage.get_submission(number)
    finally:
        await isolation.close()
        await storage.close()


def run(args: argparse.Namespace, settings: Settings) -> int:
    fmt = args.format or FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        print(f"无法从文件名 {args.out.name} 判断格式，请用 --format pdf|json|text", file=sys.stderr)
        return 2
    submission = asyncio.run(_load(settings, args.number))
    if submission is None:
        print(f"没有报名编号 {args.number} / no submission {args.number}", file=sys.stderr)
        return 2
    contest = ContestRegistry.load(settings.contest_folder).get(submission.contest_id)
    if contest is None:
        print(f"报名 {args.number} 所属的大赛 {submission.contest_id} 已不存在", file=sys.stderr)
        return 2
    try:
        receipt_settings = ReceiptSettings()
        key = load_signing_key(settings.data_dir, receipt_settings)
    except (ReceiptKeyError, ValueError) as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
    receipt = issue_receipt(submission, contest, key)
    url = receipt_settings.verify_url
    data = {
        "pdf": lambda: receipt.pdf(url),
        "json": lambda: receipt.to_json().encode(),
        "text": lambda: (receipt.text_zh(url) + "\n").encode(),
    }[fmt]()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(receipt.text_zh(url))
    print(f"\n已写入 {args.out}", file=sys.stderr)
    return 0
