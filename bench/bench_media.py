"""Media check: time to a verdict against ffprobe, and SHA-256 against sha256sum (issue 3).

    .venv/bin/python bench/bench_media.py [--repeat 9] [--contest most-cas-2024-kepu] [--dir DIR] [--json]

A ~150 MB, 3分20秒, 1080p H.264/AAC MP4 is built with ffmpeg (tests/media_factory.py, the
recipe the tests call GOOD) in a temporary folder under ``--dir`` (default ``/dev/shm`` when
it exists) and removed at the end.  After one warm-up of everything (so every contender reads
from the page cache), each round runs, in turn:

* ``verdict``: ``inspect_video(file, contest, sha256=known)``, in this process: the MediaInfo
  child, parsing its report and every check, as the upload page calls it once it has hashed
  the bytes on the way in;
* ``ffprobe``: ``ffprobe -v error -show_format -show_streams file`` (stdout captured), the
  yardstick; it only reads the file, it judges nothing;
* ``verdict+hash``: ``inspect_video(file, contest)``, hashing while MediaInfo works (the CLI);
* ``sha256``: ``sha256_file(file)`` and ``sha256sum file``.

Medians over ``--repeat`` rounds.  Targets: verdict / ffprobe ≤ 1.0; our SHA-256 throughput ≥
0.8 × sha256sum's.  Exit status 0 when both are met, 1 when not, 2 when a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run_quiet(command: list[str]) -> None:
    subprocess.run(command, capture_output=True, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="rounds; medians are reported")
    parser.add_argument("--contest", default="most-cas-2024-kepu")
    shm = Path("/dev/shm")
    parser.add_argument("--dir", type=Path, default=shm if shm.is_dir() else None)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--seconds", type=int, default=200, help="the video's length (default 200 s)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny round, seconds: the bench still runs, its figures mean nothing",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeat, args.seconds = 1, 5

    tools = {name: shutil.which(name) for name in ("ffmpeg", "ffprobe", "sha256sum")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        print(f"missing: {', '.join(missing)} (run scripts/system-deps.sh)", file=sys.stderr)
        return 2

    sys.path.insert(0, str(ROOT))  # tests.media_factory: the bench builds its video as the tests do
    from contests.registry import ContestRegistry
    from tests.media_factory import MediaFactory, Video
    from validators.hashing import sha256_file
    from validators.media import inspect_video

    contest = ContestRegistry.load().get(args.contest)
    if contest is None:
        print(f"unknown contest {args.contest!r}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-media-", dir=args.dir) as tmp:
        started = time.perf_counter()
        path = MediaFactory(Path(tmp)).video(Video(seconds=args.seconds, bitrate="5M"))
        build_s = time.perf_counter() - started
        size = path.stat().st_size
        ffprobe = [str(tools["ffprobe"]), "-v", "error", "-show_format", "-show_streams", str(path)]
        sha256sum = [str(tools["sha256sum"]), str(path)]

        digest = sha256_file(path)  # warm-up: page cache, interpreter, libmediainfo
        first = inspect_video(path, contest, sha256=digest)
        run_quiet(ffprobe)
        run_quiet(sha256sum)
        if not first.ok:
            print("warning: the bench file does not pass the contest:\n" + first.text_zh(), file=sys.stderr)

        samples: dict[str, list[float]] = {
            k: [] for k in ("verdict", "ffprobe", "verdict+hash", "ours", "sha256sum")
        }
        for _ in range(args.repeat):
            samples["verdict"].append(timed(lambda: inspect_video(path, contest, sha256=digest)))
            samples["ffprobe"].append(timed(lambda: run_quiet(ffprobe)))
            samples["verdict+hash"].append(timed(lambda: inspect_video(path, contest)))
            samples["ours"].append(timed(lambda: sha256_file(path)))
            samples["sha256sum"].append(timed(lambda: run_quiet(sha256sum)))

        tracemalloc.start()
        inspect_video(path, contest)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    median = {k: statistics.median(v) for k, v in samples.items()}
    verdict_ratio = median["verdict"] / median["ffprobe"]
    mib = size / (1 << 20)
    ours_mibs, sum_mibs = mib / median["ours"], mib / median["sha256sum"]
    hash_ratio = ours_mibs / sum_mibs
    met = verdict_ratio <= 1.0 and hash_ratio >= 0.8

    def ms(key: str) -> str:
        values = samples[key]
        return f"{median[key] * 1000:8.1f} ms  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"

    print(f"file      {size} bytes ({mib:.1f} MiB), 200 s 1080p25 H.264 + AAC, built in {build_s:.1f} s")
    print(f"machine   {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"rounds    {args.repeat}, medians; contest {contest.id}; verdict ok={first.ok}")
    print(f"verdict        {ms('verdict')}")
    print(f"ffprobe        {ms('ffprobe')}")
    print(f"verdict+hash   {ms('verdict+hash')}")
    print(f"sha256 ours    {ms('ours')}  {ours_mibs:7.0f} MiB/s")
    print(f"sha256sum      {ms('sha256sum')}  {sum_mibs:7.0f} MiB/s")
    print(f"parent peak traced memory during verdict+hash: {peak / 1024:.0f} KiB")
    verdict_mark = "met" if verdict_ratio <= 1.0 else "MISSED"
    hash_mark = "met" if hash_ratio >= 0.8 else "MISSED"
    print(f"verdict / ffprobe        = {verdict_ratio:.2f}  (target <= 1.0) {verdict_mark}")
    print(f"sha256 ours / sha256sum  = {hash_ratio:.2f}  (target >= 0.8) {hash_mark}")
    if args.json:
        figures: dict[str, Any] = {
            "size": size,
            "repeat": args.repeat,
            "median_s": median,
            "verdict_over_ffprobe": verdict_ratio,
            "sha256_over_sha256sum": hash_ratio,
            "sha256_mib_s": {"ours": ours_mibs, "sha256sum": sum_mibs},
            "parent_peak_traced_bytes": peak,
            "targets_met": met,
        }
        print(json.dumps(figures, indent=2))
    return 0 if met or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
