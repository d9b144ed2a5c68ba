"""``python -m bot``: the command line of the assistant (also installed as ``kepu-submit``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.commands import register_all
from bot.settings import Settings
from contests.rules import ContestError


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
        return int(args.handler(args, settings))
    except ContestError as exc:
        print(f"大赛文件有误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
