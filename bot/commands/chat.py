"""``chat``: talk to the assistant in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging

from bot.settings import Settings
from bot.terminal import run_chat


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    chat = sub.add_parser("chat", help="talk to the assistant in the terminal")
    chat.add_argument("--contest", help="contest id to start with")
    chat.add_argument("--user", help="who you are (default: your login name)")
    chat.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # The service's own log lines (an operator's hand-off ticket among them) would interleave
    # with the conversation: they go to a file under the data folder instead.
    folder = settings.data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    to_file = logging.FileHandler(folder / "chat.log", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(to_file)
    root.setLevel(settings.log_level)
    return asyncio.run(run_chat(settings, user=args.user or getpass.getuser(), contest=args.contest))
