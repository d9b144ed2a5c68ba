"""The signed scan's check: a child forked from the scan server against a fresh interpreter per
scan (how it was done before), the same file and the same checks, in one run.

    .venv/bin/python bench/bench_scan.py [--scans 60] [--threads 8] [--smoke]

Each way checks ``--scans`` copies of a one-page PDF (as the bench's entrants send), one at a
time (wall time per scan: both are CPU-bound, so this is about their CPU) and then
``--threads`` at a time, as the server's worker threads call it when entrants send their scans
together.  The fresh interpreter runs the very checks of ``validators.scan`` (imported from
its file under ``python -I``, with the same limits), so the difference is the start-up alone.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pypdf import PdfWriter  # noqa: E402

from validators.scan import DEFAULT_SCAN_LIMITS, inspect_scan  # noqa: E402

# The child as it was: a new interpreter that imports the parsers, sets the limits, reads the
# file and parses it.
FRESH = """
import sys
sys.path.insert(0, sys.argv[1])
import scan
path, memory_mib, cpu_s, max_pixels, max_pages = sys.argv[2], *map(int, sys.argv[3:])
scan._apply_limits(memory_mib, cpu_s)
with open(path, "rb") as fh:
    verdict = scan._verdict(fh.read(), max_pixels, max_pages)
sys.exit(0 if "kind" in verdict else 1)
"""


def fresh_interpreter(path: Path) -> bool:
    limits = DEFAULT_SCAN_LIMITS
    args = [str(limits.memory_mib), str(int(limits.timeout_s)), str(limits.max_pixels), str(limits.max_pages)]
    done = subprocess.run(
        [sys.executable, "-I", "-c", FRESH, str(ROOT / "validators"), str(path), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if k in ("PATH", "LD_LIBRARY_PATH")},
        timeout=60,
        check=False,
    )
    return done.returncode == 0


def fork_server(path: Path) -> bool:
    return inspect_scan(path).ok


def one_page_pdf(folder: Path) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    path = folder / "签字盖章.pdf"
    path.write_bytes(out.getvalue())
    return path


def measure(check: Callable[[Path], bool], path: Path, scans: int, threads: int) -> tuple[float, float]:
    """(median ms per scan one at a time, scans per second ``threads`` at a time)."""
    singles = []
    for _ in range(scans):
        started = time.perf_counter()
        if not check(path):
            raise RuntimeError(f"{check.__name__} refused a good scan")
        singles.append(time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        if not all(pool.map(check, [path] * scans)):
            raise RuntimeError(f"{check.__name__} refused a good scan")
    return statistics.median(singles) * 1000, scans / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=60)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="three scans each: the figures mean nothing")
    args = parser.parse_args(argv)
    scans = 3 if args.smoke else args.scans
    with tempfile.TemporaryDirectory(prefix="kepu-bench-scan-") as folder:
        path = one_page_pdf(Path(folder))
        fork_server(path)  # the server starts on the first scan, as in a running service
        ways = (("fresh interpreter (before)", fresh_interpreter), ("fork server (now)", fork_server))
        rows = {name: measure(check, path, scans, args.threads) for name, check in ways}
    print(f"{scans} scans of a one-page PDF, then {scans} with {args.threads} threads at once")
    print(f"(nproc {os.cpu_count()})")
    print("| way | ms per scan, one at a time (median) | scans/s, all threads |")
    print("|---|---:|---:|")
    for name, (ms, rate) in rows.items():
        print(f"| {name} | {ms:.1f} | {rate:.0f} |")
    (before_ms, before_rate), (now_ms, now_rate) = rows.values()
    print(f"\nfork server / fresh interpreter: {now_ms / before_ms:.3f}× the time per scan, "
          f"{now_rate / before_rate:.1f}× the scans per second")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
