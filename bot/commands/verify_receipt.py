"""``verify-receipt FILE``: check a receipt (JSON, PDF, or the pasted token) offline.

Exit 0 when it is valid (and print what it certifies), 1 when it is not (and say which part
fails, or what the PDF page or the text lines show unlike the signed data), 2 when it cannot
be checked at all (no such file, no public key, input larger than any receipt).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO

from bot.settings import Settings
from forms.receipts import ReceiptKeyError, ReceiptSettings, load_public_key, load_signing_key
from forms.verify import MAX_PDF_BYTES, verify_receipt


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify-receipt", help="check a receipt: its JSON, its PDF, or the pasted token")
    p.add_argument("file", help="receipt .json, .pdf, or a text file holding the KSR1. token ('-' for stdin)")
    p.add_argument(
        "--public-key",
        type=Path,
        help="organiser's public key (PEM, as `keys` prints it); default: this installation's key",
    )
    p.set_defaults(handler=run)


#: A public key file is a few hundred bytes; anything this big is not one.
MAX_KEY_BYTES = 64 * 1024

_SCOPE = {
    "pdf": "PDF 页面上显示的各项已与签名数据逐项核对一致；",
    "token": "凭证旁显示的各行已与签名数据核对一致；",
}


def _read_bounded(stream: BinaryIO, limit: int) -> bytes | None:
    """At most ``limit`` bytes of ``stream``; None when it holds more (the rest is never read)."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _read_input(name: str, limit: int) -> bytes | None:
    if name == "-":
        return _read_bounded(sys.stdin.buffer, limit)
    with open(name, "rb") as f:
        return _read_bounded(f, limit)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        data = _read_input(args.file, MAX_PDF_BYTES)
    except OSError as exc:
        print(f"无法读取 {args.file}：{exc.strerror} / cannot read {args.file}", file=sys.stderr)
        return 2
    if data is None:
        limit = f"{MAX_PDF_BYTES // (1024 * 1024)} MB"
        print(f"{args.file} 超过 {limit}，不可能是回执，未予核验 / too large for a receipt", file=sys.stderr)
        return 2
    try:
        if args.public_key is not None:
            key_data = _read_input(str(args.public_key), MAX_KEY_BYTES)
            if key_data is None:
                print("公钥文件过大，不是公钥 / the public key file is too large", file=sys.stderr)
                return 2
            public = load_public_key(key_data)
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
    if result.part == "too_large":
        print(f"无法核验 / not checked — {result.problem}", file=sys.stderr)
        return 2
    if result.ok:
        print("回执有效 / receipt VALID — 主办方签名证明以下内容：")
        print(result.certifies_zh())
        print(
            "说明：签名只证明上列签名数据（回执内嵌或凭证所含），"
            f"{_SCOPE.get(result.source, '')}其他文字、图片等不在证明之内。"
            " / Only the signed data above is certified."
        )
        return 0
    print(f"回执无效 / receipt NOT valid — {result.part}: {result.problem}")
    if result.signed:
        print("签名本身成立；它证明的只是以下内容 / the signature certifies only this:")
        print(result.certifies_zh())
    return 1
