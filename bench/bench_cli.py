"""What the CLI's lazy imports save: ``python -m bot contests`` as shipped against the same
command after importing, first, every module the commands import inside ``run``.

Each command module of ``bot/commands`` imports its working modules inside its ``run``, so
that ``python -m bot --help`` or a light command does not load them all.  The baseline
imports every one of them (found by reading the commands' source) before running the same
command, as eager imports at the top of each command module would.  Then, for scale, each
third-party library the project loads on first use (in ``forms``, ``handlers``, ``validators``),
imported alone in a fresh interpreter.  Every figure is the median wall time of ``--repeat``
fresh subprocesses, run in turn.

    .venv/bin/python bench/bench_cli.py            # add --repeat N (default 5)
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["-m", "bot", "contests"]
# Imported inside a function on first use, outside bot/commands.
LIBRARIES = ("weasyprint", "openpyxl", "pypdf", "jieba", "pymediainfo", "PIL.Image")


def lazy_modules() -> list[str]:
    """Every module ``bot/commands/*.py`` imports inside a function."""
    found: set[str] = set()
    for path in sorted((ROOT / "bot" / "commands").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
                elif isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
    return sorted(found)


def timed(argv: list[str]) -> float:
    """Wall seconds of one run of ``python argv``; fails loudly if the run fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny round, seconds: the bench still runs, its figures mean nothing",
    )
    args = parser.parse_args()
    # A smoke run proves the bench runs end to end: one library stands for them all, no warm-up.
    libraries = LIBRARIES[-1:] if args.smoke else LIBRARIES
    if args.smoke:
        args.repeat = 1

    modules = lazy_modules()
    eager = "".join(f"import {m}; " for m in modules) + (
        f"import runpy, sys; sys.argv = ['bot', *{COMMAND[2:]!r}]; "
        "runpy.run_module('bot', run_name='__main__', alter_sys=True)"
    )
    runs: dict[str, list[str]] = {
        "shipped (lazy)": COMMAND,
        "all eager": ["-c", eager],
        "bare interpreter": ["-c", "pass"],
        **{f"import {lib}": ["-c", f"import {lib}"] for lib in libraries},
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    if not args.smoke:
        timed(COMMAND)  # warm-up: the page cache, bytecode files
    for _ in range(args.repeat):
        for name, argv in runs.items():  # in turn, so that a slow minute hits all alike
            times[name].append(timed(argv))

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"python -m bot {' '.join(COMMAND[2:])}, median of {args.repeat} fresh processes")
    print(f"modules the commands import lazily: {len(modules)}")
    for name in ("shipped (lazy)", "all eager", "bare interpreter"):
        print(f"  {name:20} {median[name] * 1000:8.0f} ms")
    lazy, eager_s = median["shipped (lazy)"], median["all eager"]
    saved = (eager_s - lazy) * 1000
    print(f"all eager / shipped = {eager_s / lazy:.2f}  (the lazy imports save {saved:.0f} ms)")
    bare = median["bare interpreter"]
    print("libraries imported on first use, import time over a bare interpreter:")
    for lib in libraries:
        print(f"  {lib:20} {(median[f'import {lib}'] - bare) * 1000:8.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
