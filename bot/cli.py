"""``python -m bot``: the command line of the assistant (also installed as ``kepu-submit``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.commands import register_all
from bot.settings import Settings
from bot.storage.base import redacted_url, store_unreachable, unreachable_reason
from contests.registry import ContestError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="科普微视频投稿助手 Kepu Submit")
    sub = parser.add_subparsers(dest="command", required=True)
    register_all(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = int(args.handler(args, settings))
        sys.stdout.flush()  # here, so that a closed pipe is noticed inside the try
        return code
    except BrokenPipeError:
        # The reader went away (`... | head`).  As Python's documentation recommends: point
        # stdout at devnull, so that the flush at exit does not fail again, and exit 1.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except ContestError as exc:
        print(f"大赛文件有误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not store_unreachable(exc):
            raise
        # One line, not a traceback: the operator's next step is to start or fix the store.
        url = settings.redis_url.get_secret_value() if settings.redis_url else ""
        print(f"无法连接存储 {redacted_url(url)}: {unreachable_reason(exc)}", file=sys.stderr)
        return 1
