"""Content check: one whole check against one plain decode of the same file; fingerprint lookups.

    .venv/bin/python bench/bench_content.py [--seconds 300] [--repeat 1] [--dir DIR] [--probe FILE] [--json]
        [--smoke]

A 5-minute 1920×1080 25 fps H.264/AAC MP4 is built with ffmpeg (tests/media_factory.py: a
2-second segment looped by stream copy) in a temporary folder under ``--dir`` and removed at
the end.  Each round runs, in turn, each in a wrapper process that reports the peak resident
memory of the largest process under it:

* ``decode``: ``ffmpeg -i FILE -f null -``, the yardstick: every frame and sample decoded,
  nothing measured;
* ``content``: the content check's child (``validators/content_probe.py``: the same decode
  with loudness, silence, black and freeze filters, OCR of sampled frames, fingerprints).

Then the fingerprint lookup: 10,000 stored fingerprints of 3-minute videos (random hashes; a
re-encoded copy of the query among them, its hashes moved by up to 6 bits), the index built
once, and the time per lookup over 20 queries.

Target: content / decode ≤ 1.5.  Exit status 0 when met, 1 when not, 2 when ffmpeg is missing.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.media_factory import MediaFactory, Video  # noqa: E402
from validators import content_probe  # noqa: E402
from validators.fingerprint import Fingerprint, FingerprintIndex  # noqa: E402

# Runs a command and prints the peak RSS (KiB) of the largest process it waited for and the CPU
# seconds of all of them (a busy machine stretches wall time far more than CPU time), then the
# command's own output (the content check's JSON report: its OCR calls and seconds).
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "out = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(used.ru_maxrss, used.ru_utime + used.ru_stime)\n"
    "print(out)\n"
)


def measured(command: list[str]) -> tuple[float, int, dict[str, Any]]:
    """Wall seconds, peak RSS (KiB) and the command's JSON report, with its CPU seconds as ``cpu_s``."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    usage, _, rest = done.stdout.partition("\n")
    rss, cpu = usage.split()
    try:
        report = json.loads(rest)
    except ValueError:
        report = {}
    report = report if isinstance(report, dict) else {}
    return elapsed, int(rss), {**report, "cpu_s": float(cpu)}


def fingerprints(
    count: int, seconds: int, seed: int = 7
) -> tuple[list[tuple[str, Fingerprint]], Fingerprint]:
    rng = random.Random(seed)
    stored = [
        (
            f"KP2024-{n:05d}",
            Fingerprint(tuple(range(seconds)), tuple(rng.getrandbits(64) for _ in range(seconds))),
        )
        for n in range(count)
    ]
    original = stored[count // 2][1]
    moved = []
    for value in original.hashes[2:]:  # trimmed by 2 s, a few bits flipped by the re-encode
        for _ in range(rng.randint(0, 6)):
            value ^= 1 << rng.randrange(64)
        moved.append(value)
    return stored, Fingerprint(tuple(range(len(moved))), tuple(moved))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    # Another version of the child (``git show REV:validators/content_probe.py``), to compare.
    parser.add_argument("--probe", type=Path, default=Path(content_probe.__file__))
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a 4-second video, 100 fingerprints: the bench still runs, its figures mean nothing",
    )
    args = parser.parse_args(argv)
    stored_count = 100 if args.smoke else 10_000
    if args.smoke:
        args.seconds, args.repeat = 4, 1
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is missing: run scripts/system-deps.sh", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        started = time.perf_counter()
        video = MediaFactory(Path(folder)).video(Video(seconds=args.seconds, bitrate="6M"))
        built = time.perf_counter() - started
        print(f"built {video.stat().st_size / 2**20:.0f} MiB, {args.seconds} s 1080p in {built:.1f} s")
        decode = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(video), "-f", "null", "-"]
        content = [sys.executable, "-I", str(args.probe), str(video), "3072", "1800"]
        rounds: dict[str, list[tuple[float, int, dict[str, Any]]]] = {"decode": [], "content": []}
        for _ in range(args.repeat):
            rounds["decode"].append(measured(decode))
            rounds["content"].append(measured(content))
        for name, runs in rounds.items():
            figures[name] = {
                "s": round(statistics.median(t for t, _, _ in runs), 2),
                "peak_rss_mib": round(max(m for _, m, _ in runs) / 1024),
                "cpu_s": round(statistics.median(r["cpu_s"] for _, _, r in runs), 2),
            }
        reports = [r for _, _, r in rounds["content"]]
        figures["content"]["ocr_calls"] = statistics.median(int(r.get("ocr_calls", 0)) for r in reports)
        figures["content"]["ocr_s"] = round(statistics.median(float(r.get("ocr_s", 0)) for r in reports), 2)
    figures["ratio"] = round(figures["content"]["s"] / figures["decode"]["s"], 2)
    figures["cpu_ratio"] = round(figures["content"]["cpu_s"] / figures["decode"]["cpu_s"], 2)
    stored, query = fingerprints(stored_count, 180)
    started = time.perf_counter()
    index = FingerprintIndex(stored)
    figures["index_build_s"] = round(time.perf_counter() - started, 2)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        found = index.search(query)
        times.append(time.perf_counter() - started)
    figures["lookup_ms"] = round(statistics.median(times) * 1000, 1)
    figures["lookup_found"] = [m.key for m in found]
    for name, label in (("decode", "decode (yardstick)"), ("content", "content check")):
        f = figures[name]
        print(f"{label + ':':20}{f['s']} s, {f['cpu_s']} CPU s, peak RSS {f['peak_rss_mib']} MiB")
    print(f"  of which OCR:       {figures['content']['ocr_s']} s in {figures['content']['ocr_calls']} calls")
    print(f"ratio content/decode: {figures['ratio']} (target ≤ 1.5); in CPU seconds {figures['cpu_ratio']}")
    print(
        f"fingerprints: {stored_count:,} stored, index built in {figures['index_build_s']} s, "
        f"{figures['lookup_ms']} ms per lookup, found {figures['lookup_found']}"
    )
    if args.json:
        print(json.dumps(figures))
    return 0 if figures["ratio"] <= 1.5 or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
