"""What a video's frames say, not its container header: ffprobe decodes a sample of them.

The header (MP4 ``tkhd``/``stsd``, ``mvhd``) is a few bytes anyone can patch, so a 320×180
clip can claim 1920×1080.  :func:`decode_sample` asks ffprobe, in a bounded child, for two
things it can only get from the stream itself:

* the size of the first decoded frame (the decoder's, from the codec's own parameters);
* where the stream really ends: it seeks to the last key frame, decodes that one frame and
  reads the packets after it, so the end is the last frame whose data is in the file.

Only key frames are decoded (one at the start, one or two at the end), so a 3-minute 1080p
file costs about as much as a 4-second one.  The child runs under ``nice`` with an address
space cap, a CPU limit, a wall-clock timeout and a cap on what it may print; it reads local
files only (no network, no playlist demuxers).
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Demuxers for the containers entrants send; playlists (hls, concat) would open other files.
_FORMATS = "mov,matroska,avi,flv,mpegts,mpeg,asf,nut,rm,ivf,h264,hevc,mpegvideo"
# A time past the end of any video: ffprobe's seek there lands on the last key frame.
_PAST_THE_END = "999999999"
# Sets the limits, lowers the priority and becomes ffprobe; -I -S: isolated, the standard library only.
_SHIM = (
    "import os, resource, signal, sys\n"
    "memory, cpu, output = (int(x) for x in sys.argv[1:4])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (memory, memory))\n"
    "resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    # Python ignores SIGXFSZ and exec keeps that: without this, output past the cap would
    # be dropped silently instead of ending ffprobe.
    "signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
    "os.nice(10)\n"
    "os.execv(sys.argv[4], sys.argv[4:])\n"
)


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds on one ffprobe run: wall time, address space, and the size of its report."""

    timeout_s: float = 20.0
    memory_mib: int = 1024  # a 4K frame and the decoder's references fit well inside
    # ~45 bytes a packet: a last GOP of 180 000 frames (a screen recording with one key
    # frame, 100 minutes at 30 fps) still fits.
    output_kib: int = 8192


DEFAULT_DECODE_LIMITS = DecodeLimits()


@dataclass(frozen=True, slots=True)
class DecodedVideo:
    """What the frames say.  ``width``/``height`` are as stored (before any rotation flag).

    ``verified`` is False when the check could not run (no ffprobe, timeout, limits): nothing
    is known about the file then, and ``failure`` says why.  When it ran, a file whose frames
    do not decode has ``width`` None.
    """

    verified: bool
    width: int | None = None
    height: int | None = None
    start_s: float | None = None  # timestamp of the first frame
    end_s: float | None = None  # end of the last packet read
    failure: str = ""

    @property
    def duration_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return max(0.0, self.end_s - self.start_s)


def ffprobe() -> str | None:
    return shutil.which("ffprobe")


def _command(tool: str, path: Path, limits: DecodeLimits) -> list[str]:
    cpu_s = max(1, math.ceil(limits.timeout_s))
    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _SHIM,
        str(limits.memory_mib << 20),
        str(cpu_s),
        str(limits.output_kib << 10),
        tool,
        "-v",
        "quiet",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        _FORMATS,
        "-select_streams",
        "v:0",
        "-threads",
        "1",
        "-skip_frame",
        "nokey",
        "-read_intervals",
        f"%+#1,{_PAST_THE_END}%",
        "-show_entries",
        "frame=width,height,best_effort_timestamp_time:packet=pts_time,dts_time,duration_time",
        "-of",
        "compact",
        # "file:" keeps a name with a colon from being read as a protocol.
        f"file:{path.resolve()}",
    ]


def decode_sample(path: Path, limits: DecodeLimits = DEFAULT_DECODE_LIMITS) -> DecodedVideo:
    """Decode the first and last key frames of ``path``'s first video stream (blocking).

    Never raises for a bad file or a missing tool; see :class:`DecodedVideo`.
    """
    tool = ffprobe()
    if tool is None or not sys.executable:
        return DecodedVideo(False, failure="服务器缺少解码工具 ffprobe")
    # The report goes to a file, not a pipe: the child's file-size limit caps it.
    with tempfile.TemporaryFile() as out:
        try:
            child = subprocess.Popen(
                _command(tool, path, limits),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.DEVNULL,
                env={k: v for k, v in os.environ.items() if k in ("PATH", "LD_LIBRARY_PATH")},
            )
        except OSError:
            return DecodedVideo(False, failure="无法启动解码工具 ffprobe")
        with child:
            try:
                returncode = child.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                return DecodedVideo(False, failure=f"解码超时（{limits.timeout_s:g} 秒）")
            except BaseException:
                child.kill()
                child.wait()
                raise
        cap = limits.output_kib << 10
        written = out.seek(0, os.SEEK_END)
        cut_off = written >= cap
        out.seek(0)
        # What was written, not the cap: read(cap) would allocate the whole cap up front.
        report = out.read(min(written, cap)).decode("utf-8", "replace")
    decoded = parse_report(report)
    if returncode < 0 or cut_off:
        # Killed by a limit (memory, CPU, output) before the end: the first frame's size
        # stands, but where the stream ends is unknown.
        failure = f"解码程序被迫中止（信号 {-returncode}）"
        return dataclasses.replace(decoded, end_s=None, failure=decoded.failure or failure)
    return decoded


def _fields(line: str) -> dict[str, str]:
    fields = {}
    for part in line.split("|")[1:]:
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    return fields


def _float(value: str | None) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_report(report: str) -> DecodedVideo:
    """ffprobe's compact report -> :class:`DecodedVideo` (ffprobe's exit status does not
    matter: a failed seek or a cut-off tail still leaves what was decoded before it)."""
    width = height = None
    start = end = None
    for line in report.splitlines():
        fields = _fields(line)
        if line.startswith("frame|"):
            w, h = _float(fields.get("width")), _float(fields.get("height"))
            stamp = _float(fields.get("best_effort_timestamp_time"))
            if width is None and w and h and w > 0 and h > 0:
                width, height = int(w), int(h)
            if stamp is not None:
                start = stamp if start is None else min(start, stamp)
        elif line.startswith("packet|"):
            stamp = _float(fields.get("pts_time"))
            if stamp is None:
                stamp = _float(fields.get("dts_time"))
            if stamp is None:
                continue
            start = stamp if start is None else min(start, stamp)
            tail = stamp + max(0.0, _float(fields.get("duration_time")) or 0.0)
            end = tail if end is None else max(end, tail)
    if width is None:
        return DecodedVideo(True, failure="视频数据无法解码出画面")
    return DecodedVideo(True, width, height, start, end)
