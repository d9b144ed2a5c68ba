"""Real test files for the media check, built with ffmpeg once per test session.

A :class:`Video` is a recipe; :meth:`MediaFactory.video` builds it into the factory's folder the
first time it is asked for and hands back the same path afterwards.  Long videos are cheap:
a short video-only segment is encoded once, looped with stream copy (no re-encoding) to the
length wanted, and given a freshly encoded audio track, so a 150 MB, 3-minute 1080p MP4 takes
a few seconds.  The segment goes through NUT, whose time base keeps 25/30 fps exact, so the
loop stays constant frame rate.

Broken and hostile files (truncated, random, nested boxes, a 10 GB sparse file) are made
here too, so that tests and the bench build them one way.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import shutil
import struct
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

SEGMENT_S = 2  # looped to any length; a multiple of every frame duration used here (25 and 30 fps)


class MissingTool(RuntimeError):
    """ffmpeg is not installed: run scripts/system-deps.sh."""


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise MissingTool("ffmpeg not found; run scripts/system-deps.sh (installs it with apt-get as root)")
    return found


@dataclass(frozen=True)
class Video:
    """How to make one test video; every field is part of the cache key."""

    width: int = 1920
    height: int = 1080
    seconds: float = 4
    fps: int = 25
    audio: bool = True
    codec: str = "libx264"  # libx264, libx265, libvpx, mjpeg
    muxer: str = "mp4"  # ffmpeg's -f: mp4, mov, matroska, webm, 3gp
    bitrate: str | None = None  # constant video bit rate with filler ("6M"); None: about 200 kb/s
    sar: str | None = None  # sample aspect ratio, "4/3" for anamorphic 1440×1080
    rotate: int | None = None  # a display-rotation flag, as phones write
    creation_time: str | None = None  # "2023-06-01T10:00:00Z" -> MediaInfo's Encoded_Date
    brand: str | None = None  # ftyp major brand for the mp4 muxer ("mp42")
    faststart: bool = True  # moov before mdat, as "web optimised" exports do
    drop_frames: bool = False  # variable frame rate with gaps: 跳帧
    suffix: str = ".mp4"  # the name the entrant gave it; the checker must not care

    def key(self) -> str:
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:16]


def shared_root(factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder every pytest-xdist worker of this run shares (each worker's base temp folder is a
    child of the run's), so media built by one worker are not built again by the other."""
    base = factory.getbasetemp()
    root = base.parent / name if os.environ.get("PYTEST_XDIST_WORKER") else base / name
    root.mkdir(parents=True, exist_ok=True)
    return root


class MediaFactory:
    """Builds and caches test media under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _run(self, *args: str) -> None:
        command = [ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")

    # --- videos ------------------------------------------------------------------------------
    def video(self, recipe: Video) -> Path:
        out = self.root / f"video-{recipe.key()}{recipe.suffix}"
        if out.exists():
            return out
        # Several pytest-xdist workers may share ``root`` (see ``shared_root``): one builds at a
        # time (segments are shared between videos), the others wait and find the file.
        with (self.root / "build.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not out.exists():
                partial = out.with_name(out.name + ".part")
                self._build(recipe, partial)
                partial.rename(out)
        return out

    def _encoder_args(self, recipe: Video) -> list[str]:
        if recipe.codec == "libx264":
            args = [
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-g",
                str(2 * recipe.fps),
            ]
            if recipe.bitrate:
                b = recipe.bitrate
                args += [
                    "-b:v",
                    b,
                    "-minrate",
                    b,
                    "-maxrate",
                    b,
                    "-bufsize",
                    b,
                    "-x264-params",
                    "nal-hrd=cbr",
                ]
            else:  # small files: quality is beside the point, a 490 s video stays ~12 MB
                args += ["-b:v", "200k", "-maxrate", "200k", "-bufsize", "400k"]
            return args
        if recipe.codec == "libx265":
            return ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]
        if recipe.codec == "libvpx":
            return ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
        return ["-c:v", recipe.codec]

    def _filters(self, recipe: Video) -> list[str]:
        chain = []
        if recipe.sar:
            chain.append(f"setsar={recipe.sar}")
        if recipe.drop_frames:
            # Drop 10 frames out of every 25: the stream keeps 25 fps timing with 0.4 s holes.
            chain.append(f"select='not(between(mod(n\\,{recipe.fps})\\,5\\,14))'")
        return ["-vf", ",".join(chain)] if chain else []

    def _segment(self, recipe: Video, seconds: float) -> Path:
        """The picture alone, ``seconds`` long, in NUT (exact time base, any codec)."""
        picture_only = {
            "audio": False,
            "muxer": "nut",
            "suffix": ".nut",
            "creation_time": None,
            "rotate": None,
        }
        seg = Video(
            **{**asdict(recipe), **picture_only, "seconds": seconds, "brand": None, "faststart": True}
        )
        out = self.root / f"segment-{seg.key()}.nut"
        if not out.exists():
            source = f"testsrc2=size={recipe.width}x{recipe.height}:rate={recipe.fps}"
            args = ["-f", "lavfi", "-i", source, "-t", f"{seconds:g}", *self._filters(recipe)]
            if recipe.drop_frames:
                args += ["-fps_mode", "vfr"]
            self._run(*args, *self._encoder_args(recipe), "-f", "nut", str(out))
        return out

    def _build(self, recipe: Video, out: Path) -> None:
        seconds = recipe.seconds
        looped = seconds > SEGMENT_S and not recipe.drop_frames
        segment = self._segment(recipe, SEGMENT_S if looped else seconds)
        args: list[str] = []
        if looped:
            args += ["-stream_loop", str(int(seconds // SEGMENT_S) + 1)]
        args += ["-i", str(segment)]
        if recipe.audio:
            args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        args += ["-map", "0:v"]
        if recipe.audio:
            audio_codec = "libopus" if recipe.muxer == "webm" else "aac"
            args += ["-map", "1:a", "-c:a", audio_codec, "-b:a", "128k"]
        args += ["-c:v", "copy", "-t", f"{seconds:g}"]
        if recipe.codec == "libx265":
            args += ["-tag:v", "hvc1"]  # the tag Apple players want; MediaInfo reads HEVC either way
        if recipe.rotate is not None:
            args += ["-metadata:s:v:0", f"rotate={recipe.rotate}"]
        if recipe.creation_time:
            args += ["-metadata", f"creation_time={recipe.creation_time}"]
        if recipe.brand:
            args += ["-brand", recipe.brand]
        if recipe.faststart and recipe.muxer in ("mp4", "mov", "3gp"):
            args += ["-movflags", "+faststart"]
        self._run(*args, "-f", recipe.muxer, str(out))

    # --- broken and hostile files ----------------------------------------------------------
    def truncated(self, recipe: Video, fraction: float = 0.5) -> Path:
        """The first part of a real video: an upload or copy that stopped half way."""
        source = self.video(recipe)
        out = self.root / f"truncated-{recipe.key()}-{fraction:g}.mp4"
        if not out.exists():
            data = source.read_bytes()
            out.write_bytes(data[: int(len(data) * fraction)])
        return out

    def file(self, name: str, data: bytes) -> Path:
        out = self.root / name
        if not out.exists():
            out.write_bytes(data)
        return out

    def random_bytes(self, size: int = 1 << 20) -> Path:
        return self.file("random.mp4", random.Random(3).randbytes(size))

    def text(self) -> Path:
        return self.file("notes.mp4", "这不是视频，只是改了扩展名的文本。\n".encode() * 200)

    def jpeg(self) -> Path:
        out = self.root / "photo.mp4"  # a photo with a video's name
        if not out.exists():
            self._run(
                "-f", "lavfi", "-i", "testsrc2=size=1920x1080", "-frames:v", "1", "-f", "mjpeg", str(out)
            )
        return out

    def sparse(self, size: int = 10 << 30) -> Path:
        """A file that claims ``size`` bytes of zeros and occupies none on disk."""
        out = self.root / f"sparse-{size}.mp4"
        if not out.exists():
            with out.open("wb") as fh:
                fh.truncate(size)
        return out

    def nested_boxes(self, depth: int = 200_000) -> Path:
        """An ftyp and then ``depth`` moov/trak boxes each holding the next: a recursion bomb."""
        data = bytearray(_box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41"))
        for level in range(depth):
            data += struct.pack(">I4s", 8 * (depth - level), b"moov" if level % 2 == 0 else b"trak")
        return self.file(f"nested-{depth}.mp4", bytes(data))

    def box_flood(self, mib: int = 64) -> Path:
        """``mib`` MiB of empty 'free' boxes after an ftyp: millions of things to parse."""
        body = _box(b"free") * ((mib << 20) // 8)
        return self.file(f"flood-{mib}.mp4", _box(b"ftyp", b"isom\0\0\2\0isom") + body)

    def absurd_tables(self, tracks: int = 500) -> Path:
        """Video tracks whose sample tables claim four billion samples the file does not have."""
        stsz = struct.pack(">I4sIII", 20, b"stsz", 0, 0, 0xFFFFFFF0)
        stco = _box(b"stco", struct.pack(">II", 0, 0xFFFFFFF0))
        stsd = _box(b"stsd", struct.pack(">II", 0, 1) + _box(b"avc1", b"\0" * 70))
        stbl = _box(b"stbl", stsd + stsz + stco)
        hdlr = _box(b"hdlr", struct.pack(">II4s12s", 0, 0, b"vide", b"\0" * 12) + b"x\0")
        mdia = _box(
            b"mdia", _box(b"mdhd", struct.pack(">6I", 0, 0, 0, 1000, 2**31, 0)) + hdlr + _box(b"minf", stbl)
        )
        trak = _box(b"trak", _box(b"tkhd", b"\0" * 84) + mdia)
        moov = _box(
            b"moov", _box(b"mvhd", struct.pack(">5I", 0, 0, 0, 1000, 2**31) + b"\0" * 80) + trak * tracks
        )
        return self.file(f"tables-{tracks}.mp4", _box(b"ftyp", b"isom\0\0\2\0isom") + moov)

    def huge_box(self) -> Path:
        """A moov box whose 64-bit size says 8 EiB."""
        data = _box(b"ftyp", b"isom\0\0\2\0isom") + struct.pack(">I4sQ", 1, b"moov", 2**63) + b"\0" * 100
        return self.file("hugebox.mp4", data)


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload
