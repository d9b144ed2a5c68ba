"""``keys``: the public key that verifies receipts (the private key is made on first use)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import Settings
from forms.receipts import (
    ReceiptKeyError,
    ReceiptSettings,
    fingerprint,
    load_signing_key,
    public_pem,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keys", help="print the receipts' public key (PEM) and its fingerprint")
    p.add_argument("--out", type=Path, help="also write the PEM public key to this file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        key = load_signing_key(settings.data_dir, ReceiptSettings())
    except (ReceiptKeyError, ValueError) as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
    if key.created:
        print(f"已生成新的回执签名密钥：{key.source}（权限 0600，请与数据库一同备份）", file=sys.stderr)
    pem = public_pem(key.public)
    print(f"# 回执签名公钥 / receipt signing public key ({key.source})")
    print(f"# key id: {key.key_id}")
    print(f"# fingerprint: {fingerprint(key.public)}")
    print(pem, end="")
    if args.out:
        args.out.write_text(pem, encoding="ascii")
        print(f"# written to {args.out}", file=sys.stderr)
    return 0
