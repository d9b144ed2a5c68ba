"""``verify-receipt FILE``: check a receipt (JSON, PDF, or the pasted token) offline.

Exit 0 when it is valid (and print what it certifies), 1 when it is not (and say which part
fails), 2 when it cannot be checked at all (no such file, no public key).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify-receipt", help="check a receipt: its JSON, its PDF, or the pasted token")
    p.add_argument("file", help="receipt .json, .pdf, or a text file holding the KSR1. token ('-' for stdin)")
    p.add_argument(
        "--public-key",
        type=Path,
        help="organiser's public key (PEM, as `keys` prints it); default: this installation's key",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from forms.receipts import (
        ReceiptKeyError,
        ReceiptSettings,
        load_public_key,
        load_signing_key,
        verify_receipt,
    )

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"无法读取 {args.file}：{exc.strerror} / cannot read {args.file}", file=sys.stderr)
        return 2
    try:
        if args.public_key is not None:
            public = load_public_key(args.public_key.read_bytes())
        else:
            # Never create a key here: a fresh key would only prove that it did not sign.
            public = load_signing_key(settings.data_dir, ReceiptSettings(), create=False).public
    except FileNotFoundError:
        print(
            "没有可用的公钥：请用 --public-key 指定主办方公钥 / no public key: pass --public-key",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:
        print(f"无法读取公钥：{exc.strerror} / cannot read the public key", file=sys.stderr)
        return 2
    except (ReceiptKeyError, ValueError) as exc:
        print(f"公钥有误：{exc}", file=sys.stderr)
        return 2
    result = verify_receipt(data, public)
    if result.ok:
        print("回执有效 / receipt VALID — 主办方签名证明以下内容：")
        print(result.certifies_zh())
        return 0
    print(f"回执无效 / receipt NOT valid — {result.part}: {result.problem}")
    return 1
