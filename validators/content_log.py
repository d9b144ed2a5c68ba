"""What ffmpeg's filters wrote while the content check decoded a video, read into numbers.

``ebur128`` ends with a summary (integrated loudness, loudness range, true peak);
``silencedetect``, ``blackdetect`` and ``freezedetect`` write one line per stretch they find.
A stretch still open when the file ends has a start and no end: it runs to the end.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = r"(-?(?:\d+(?:\.\d*)?|inf))"


@dataclass(frozen=True, slots=True)
class Stretch:
    """A stretch of the video, in seconds from its start."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return max(0.0, self.end - self.start)

    def text(self) -> str:
        return f"{_clock(self.start)}–{_clock(self.end)}（{self.length:.1f} 秒）"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Loudness:
    """EBU R128: integrated loudness (LUFS), loudness range (LU), true peak (dBTP)."""

    integrated: float
    range: float
    true_peak: float


@dataclass(frozen=True, slots=True)
class FilterLog:
    loudness: Loudness | None
    silences: tuple[Stretch, ...]
    blacks: tuple[Stretch, ...]
    freezes: tuple[Stretch, ...]


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else (-math.inf if value < 0 else math.inf)


def _loudness(log: str) -> Loudness | None:
    # ffmpeg may configure the graph twice and print an empty summary first: the last one counts.
    summaries = log.split("Summary:")
    if len(summaries) < 2:
        return None
    last = summaries[-1]
    found = {key: re.search(rf"{key}:\s+{_NUMBER}", last) for key in ("I", "LRA", "Peak")}
    if any(match is None for match in found.values()):
        return None
    i, lra, peak = (_float(m.group(1)) for m in found.values() if m is not None)
    return Loudness(i, lra, peak)


def _pairs(log: str, start_key: str, end_key: str, duration: float | None) -> tuple[Stretch, ...]:
    stretches: list[Stretch] = []
    start: float | None = None
    for match in re.finditer(rf"({start_key}|{end_key})[:=]\s*{_NUMBER}", log):
        key, value = match.group(1), _float(match.group(2))
        if key == start_key:
            start = value
        elif start is not None:
            stretches.append(Stretch(start, value))
            start = None
    if start is not None and duration is not None and duration > start:
        stretches.append(Stretch(start, duration))
    return tuple(stretches)


def _blacks(log: str) -> tuple[Stretch, ...]:
    found = re.finditer(rf"black_start:{_NUMBER}\s+black_end:{_NUMBER}", log)
    return tuple(Stretch(_float(m.group(1)), _float(m.group(2))) for m in found)


def read_log(log: str, duration: float | None) -> FilterLog:
    """The filters' findings from ffmpeg's log; ``duration`` closes stretches left open."""
    return FilterLog(
        loudness=_loudness(log),
        silences=_pairs(log, "silence_start", "silence_end", duration),
        blacks=_blacks(log),
        freezes=_pairs(log, "lavfi.freezedetect.freeze_start", "lavfi.freezedetect.freeze_end", duration),
    )
