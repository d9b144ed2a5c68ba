"""Subcommands of ``python -m bot``: one module each, found here at start-up.

A command module defines ``register(sub)``, which adds its parser to the subparsers and sets
``handler=<callable(args, settings) -> int>`` as the parser's default.  Adding a command is
adding a module; nothing else changes.  Imports sit at the top of each module: importing
them inside the handlers saved ``python -m bot contests`` only 1.09× (bench/bench_cli.py).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable

from bot.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]


def register_all(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
