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
    # The service's own log lines would interleave with the conversation.
    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(run_chat(settings, user=args.user or getpass.getuser(), contest=args.contest))
