"""The child side of the content check: one ffmpeg decode, OCR and fingerprints, under hard limits.

    python -I content_probe.py FILE MEMORY_MIB CPU_S

It runs in a short-lived child (never in the bot) because it decodes untrusted media and runs
an OCR model.  One ffmpeg pass decodes the file once and feeds every measurement:

* the first audio stream through ``ebur128`` (EBU R128 loudness, range, true peak) and
  ``silencedetect``;
* the video, thinned to 5 frames a second and shrunk, through ``blackdetect`` and
  ``freezedetect`` (black and frozen stretches last seconds; every frame is not needed);
* one frame a second, grey and at most 960 pixels wide, written to this process's pipe: it is
  read while ffmpeg still decodes, fingerprinted (a 64-bit DCT hash) and, for a few of them,
  read by OCR (rapidocr-onnxruntime, whose models ship in its wheel: nothing is fetched).

OCR is the dear part, so it reads only what a check needs: the opening seconds (the title
card), the bottom band of one frame in three seconds, or of about forty frames spread over a
longer video (subtitles), the closing seconds (credits)
and once, at the end, each corner of the temporal median of the frames (a mark that stays put
survives the median; the moving picture under it does not).  Frames that look like the one
read just before are not read again.

ffmpeg decodes and filters on one thread (``-threads 1``, ``-filter_threads 1``): OCR takes the
other core of a two-core machine, and the service's own work is not starved.  Its log is read
from a pipe as it comes and only its last LOG_CAP bytes kept (a hostile file may make ffmpeg
write errors without end); nothing of it goes to disk.

The standard library, numpy, OpenCV and rapidocr only; nothing of the project.  The report is
one JSON object on stdout; the filters' log lines go in it raw, for the parent to read.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

MAX_SIDE = 960  # OCR reads 1080p subtitles at half size well; it costs a quarter of full size
OPENING_S = 10  # a title card is up within the first seconds
CLOSING_S = 12  # credits roll in the last seconds
MAX_CARDS = 4  # OCR reads of the opening, and of the closing: a card held still is read once
SUBTITLE_EVERY_S = 3
# Subtitle bands read in a whole video at most: 40 samples put the share of subtitled speech
# within a few points, and a 5-minute film read every 3 s spent 100 of its 110 OCR calls on
# bands (bench/README.md 'Content check' session 2: 110 → 48 calls, ratio 1.59–1.68 → 1.08–1.37).
SUBTITLE_SAMPLES = 40
SUBTITLE_BAND = 0.7  # subtitles sit in the bottom 30 % of the picture
CORNER_EVERY_S = 3
MAX_SECONDS = 3600  # no notice allows an hour; frames past it are not read
LOG_CAP = 1 << 20  # bytes of ffmpeg's log kept: its tail, where loudness's summary is
FILE_CAP = 64 << 20  # bytes this process and its ffmpeg may write to any file (they write none)
MIN_SCORE = 0.6  # OCR lines less sure than this are noise (textures, logos read as letters)
_FORMATS = "mov,matroska,avi,flv,mpegts,mpeg,asf,nut,rm,ivf,h264,hevc,mpegvideo"


def apply_limits(memory_mib: int, cpu_s: int) -> None:
    """Cap this process and, by inheritance, its ffmpeg: address space, CPU, priority, no cores."""
    import resource

    memory = memory_mib << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_CAP, FILE_CAP))
    os.nice(10)


def probe(path: str) -> dict[str, Any]:
    """The header's streams and duration (ffprobe reads the header only; no decoding)."""
    done = subprocess.run(
        [
            "ffprobe",
            "-v",
            "quiet",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            _FORMATS,
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            f"file:{path}",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    info = json.loads(done.stdout or b"{}")
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    subtitles = [
        {"codec": s.get("codec_name", ""), "language": s.get("tags", {}).get("language", "")}
        for s in streams
        if s.get("codec_type") == "subtitle"
    ]
    try:
        duration = float(info.get("format", {}).get("duration", "nan"))
    except ValueError:
        duration = float("nan")
    return {
        "video": video is not None,
        "width": int(video.get("width", 0)) if video else 0,
        "height": int(video.get("height", 0)) if video else 0,
        "audio": any(s.get("codec_type") == "audio" for s in streams),
        "subtitle_tracks": subtitles,
        "duration": duration if duration == duration else None,
    }


def subtitle_every(duration: Any) -> int:
    """Seconds between two subtitle bands read: every SUBTITLE_EVERY_S seconds, spread further
    in a long video so that about SUBTITLE_SAMPLES are read."""
    if not isinstance(duration, int | float) or duration != duration or duration <= 0:
        return SUBTITLE_EVERY_S
    return max(SUBTITLE_EVERY_S, -(-int(min(duration, MAX_SECONDS)) // SUBTITLE_SAMPLES))


def frame_size(width: int, height: int) -> tuple[int, int]:
    """The size ffmpeg's scale below produces: the longer side at most MAX_SIDE, both even."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    w, h = round(width * scale), round(height * scale)
    return max(2, w - w % 2), max(2, h - h % 2)


def ffmpeg_command(path: str, info: dict[str, Any], size: tuple[int, int]) -> list[str]:
    graph = [
        "[0:v:0]split[det][ocr]",
        "[det]fps=5,scale=160:-2:flags=fast_bilinear,"
        "blackdetect=d=1:pix_th=0.10,freezedetect=n=0.003:d=2,nullsink",
        f"[ocr]fps=1,scale={size[0]}:{size[1]}:flags=area,format=gray[frames]",
    ]
    if info["audio"]:
        graph.insert(0, "[0:a:0]ebur128=peak=true:framelog=verbose,silencedetect=n=-50dB:d=2,anullsink")
    # One thread for the decoder and for the filters: OCR has the other core (see Reader).
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
        "-filter_threads", "1", "-filter_complex_threads", "1",
        "-protocol_whitelist", "file", "-format_whitelist", _FORMATS,
        "-threads", "1", "-i", f"file:{path}", "-filter_complex", ";".join(graph),
        "-map", "[frames]", "-f", "rawvideo", "-t", str(MAX_SECONDS), "pipe:1",
    ]  # fmt: skip


def _keep_tail(stream: IO[bytes], tail: bytearray, cap: int) -> None:
    """Read ``stream`` to its end, keeping only its last ``cap`` bytes in ``tail``."""
    with contextlib.suppress(OSError, ValueError):  # closed under it: the reader gave up
        while chunk := os.read(stream.fileno(), 64 * 1024):
            tail += chunk
            if len(tail) > 2 * cap:  # trimmed now and then, not at every chunk
                del tail[:-cap]
    del tail[:-cap]


def run_ffmpeg(
    command: list[str], frame_bytes: int, frame: Callable[[int, bytes], None]
) -> tuple[int, int, str]:
    """Run ``command``, handing each ``frame_bytes`` of its stdout to ``frame`` as it arrives:
    (its exit status, the frames read, the last LOG_CAP bytes of its stderr).  The log is read
    by a thread as it comes, so that a child writing without end neither blocks nor fills a
    disk nor this process's memory."""
    tail = bytearray()
    child = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None and child.stderr is not None
    logger = threading.Thread(target=_keep_tail, args=(child.stderr, tail, LOG_CAP), daemon=True)
    logger.start()
    second = 0
    try:
        while True:
            chunk = child.stdout.read(frame_bytes)
            if len(chunk) < frame_bytes:
                break
            frame(second, chunk)
            second += 1
    except BaseException:
        child.kill()  # the frames' reader failed: ffmpeg need not decode the rest
        raise
    finally:
        child.stdout.close()  # a child stopped early (MAX_SECONDS) is not left blocked on it
        child.wait()
        logger.join()  # its stderr ended with it: the thread is done before the pipe closes
        child.stderr.close()
    return child.returncode, second, bytes(tail).decode("utf-8", "replace")


class Reader:
    """Everything done to the one-a-second frames as they arrive."""

    def __init__(self, size: tuple[int, int], every: int = SUBTITLE_EVERY_S) -> None:
        import cv2
        import numpy as np
        from rapidocr_onnxruntime import RapidOCR

        self.np, self.cv2 = np, cv2
        # One thread: ffmpeg decodes on the other core meanwhile.  "max" keeps a thin band at
        # its size (the default scales the shorter side up to 736 pixels, 10× the work).
        self.ocr = RapidOCR(
            det_limit_side_len=MAX_SIDE, det_limit_type="max", intra_op_num_threads=1, inter_op_num_threads=1
        )
        self.width, self.height = size
        self.subtitle_every = every
        self.fingerprint: list[tuple[int, str]] = []
        self.opening: list[tuple[int, list[str]]] = []
        self.subtitles: list[tuple[int, str]] = []
        self.closing: list[tuple[int, list[str]]] = []
        self.corner_stack: list[Any] = []
        self.tail: collections.deque[tuple[int, Any]] = collections.deque(maxlen=CLOSING_S)
        self.ocr_calls = 0
        self.ocr_s = 0.0
        self._last_opening: Any = None

    def read(self, image: Any, above: float = 1.0) -> list[str]:
        """OCR lines of a grey image, the sure ones only; ``above``: only lines whose middle is
        above that share of the height (a title card's lines, not the subtitle under it)."""
        started = time.monotonic()
        rgb = self.np.ascontiguousarray(self.np.repeat(image[:, :, None], 3, axis=2))
        result, _ = self.ocr(rgb, use_cls=False)
        self.ocr_calls += 1
        self.ocr_s += time.monotonic() - started
        limit = image.shape[0] * above
        return [
            str(text)
            for box, text, score in result or ()
            if float(score) >= MIN_SCORE and sum(float(p[1]) for p in box) / len(box) <= limit
        ]

    def _blank(self, frame: Any) -> bool:
        return float(frame.std()) < 4.0  # one flat colour: nothing written on it

    def _like(self, a: Any, b: Any) -> bool:
        # Mean absolute difference of 16×9 thumbnails under 2 levels: the same card held.
        small = (16, 9)
        ta = self.cv2.resize(a, small, interpolation=self.cv2.INTER_AREA).astype("int16")
        tb = self.cv2.resize(b, small, interpolation=self.cv2.INTER_AREA).astype("int16")
        return float(self.np.abs(ta - tb).mean()) < 2.0

    def phash(self, frame: Any) -> str | None:
        """64-bit DCT hash: the low frequencies' signs against their median (survives re-encoding
        and resizing); None for a flat frame, which would match every other flat frame."""
        if self._blank(frame):
            return None
        small = self.cv2.resize(frame, (32, 32), interpolation=self.cv2.INTER_AREA).astype("float32")
        low = self.cv2.dct(small)[:8, :8].flatten()[1:]
        bits = low > self.np.median(low)
        value = 0
        for bit in bits:
            value = (value << 1) | int(bit)
        return f"{value:016x}"

    def frame(self, second: int, frame: Any) -> None:
        digest = self.phash(frame)
        if digest is not None:
            self.fingerprint.append((second, digest))
        opening = second < OPENING_S and len(self.opening) < MAX_CARDS and not self._blank(frame)
        if opening and (self._last_opening is None or not self._like(frame, self._last_opening)):
            self.opening.append((second, self.read(frame, above=SUBTITLE_BAND)))
            self._last_opening = frame
        if second % self.subtitle_every == 1:
            band = frame[int(self.height * SUBTITLE_BAND) :, :]
            self.subtitles.append((second, " ".join(self.read(band)) if not self._blank(band) else ""))
        if second % CORNER_EVERY_S == 0:
            self.corner_stack.append(self._corners(frame))
        self.tail.append((second, frame))

    def _corners(self, frame: Any) -> Any:
        # at least a pixel: a 1920×8 picture would otherwise slice the whole frame and fail to stack
        cw, ch = max(1, int(self.width * 0.25)), max(1, int(self.height * 0.18))
        return self.np.stack([frame[:ch, :cw], frame[:ch, -cw:], frame[-ch:, :cw], frame[-ch:, -cw:]])

    def finish(self) -> None:
        previous = None
        # From the last frame back: credits sit at the very end, after any fade.
        for second, frame in list(self.tail)[::-2]:
            if self._blank(frame) or (previous is not None and self._like(frame, previous)):
                continue
            if len(self.closing) == MAX_CARDS:
                break
            self.closing.append((second, self.read(frame)))
            previous = frame
        self.closing.reverse()

    def corners(self) -> dict[str, list[str]]:
        """Text in each corner that reads the same in the medians of both halves of the video:
        a mark that stays; a clock or a caption that changes is not one."""
        if len(self.corner_stack) < 4:
            return {}
        half = len(self.corner_stack) // 2
        medians = [
            self.np.median(self.np.stack(part), axis=0).astype("uint8")
            for part in (self.corner_stack[:half], self.corner_stack[half:])
        ]
        found = {}
        for i, name in enumerate(("top_left", "top_right", "bottom_left", "bottom_right")):
            first, second = ([] if self._blank(m[i]) else self.read(m[i]) for m in medians)
            found[name] = [line for line in first if line in second]
        return found


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: content_probe.py FILE MEMORY_MIB CPU_S", file=sys.stderr)
        return 64
    path, memory_mib, cpu_s = argv[1], int(argv[2]), int(argv[3])
    apply_limits(memory_mib, cpu_s)
    started = time.monotonic()
    info = probe(path)
    if not info["video"] or not info["width"] or not info["height"]:
        json.dump({"probe": info, "error": "no_video"}, sys.stdout)
        return 0
    size = frame_size(info["width"], info["height"])
    reader = Reader(size, subtitle_every(info.get("duration")))
    frame_bytes = size[0] * size[1]

    def frame(second: int, chunk: bytes) -> None:
        reader.frame(second, reader.np.frombuffer(chunk, dtype=reader.np.uint8).reshape(size[1], size[0]))

    # The log's tail: loudness's summary is written last; a flickering video's black lines come before.
    returncode, second, text = run_ffmpeg(ffmpeg_command(path, info, size), frame_bytes, frame)
    reader.finish()
    corners = reader.corners()
    report = {
        "probe": info,
        "returncode": returncode,
        "seconds_read": second,
        "fingerprint": reader.fingerprint,
        "opening": reader.opening,
        "subtitles": reader.subtitles,
        "closing": reader.closing,
        "corners": corners,
        "ocr_calls": reader.ocr_calls,
        "ocr_s": round(reader.ocr_s, 3),
        "wall_s": round(time.monotonic() - started, 3),
        "log": text,
    }
    json.dump(report, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
