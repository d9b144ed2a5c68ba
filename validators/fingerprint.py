"""Perceptual fingerprints of whole videos, and how alike two of them are.

A fingerprint is one 64-bit DCT hash per second of picture (from the content check's decode,
:mod:`validators.content_probe`), flat frames left out.  Re-encoding, resizing and a changed
bit rate move a hash by a few bits; a trim shifts the seconds.  Two videos are the same work
when, at one time offset (±1 s), most seconds of the shorter one find a hash within
:data:`NEAR_BITS` in the other: the order must agree too, so two videos that merely share a
black frame or a logo card do not match.

:class:`FingerprintIndex` compares one video with thousands: each hash is cut into four 16-bit
bands, and only videos sharing a band with the query (any hash within 3 bits shares one; a
re-encode keeps most hashes that close) are aligned in full.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NEAR_BITS = 10  # of 64: a re-encode moves a hash by 0–6 bits, unrelated frames by ~32
SAME_WORK = 0.6  # share of the shorter video's seconds aligned with the other
MIN_SECONDS = 5  # fewer hashed seconds than this say nothing about a whole work
_RECORD = struct.Struct("<IQ")

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Hashes of one video, each with the second it was taken at."""

    seconds: tuple[int, ...]
    hashes: tuple[int, ...]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, str]]) -> Fingerprint:
        """From the probe's ``[second, "hex"]`` pairs."""
        items = [(int(s), int(h, 16)) for s, h in pairs]
        return cls(tuple(s for s, _ in items), tuple(h for _, h in items))

    def to_bytes(self) -> bytes:
        return b"".join(_RECORD.pack(s, h) for s, h in zip(self.seconds, self.hashes, strict=True))

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        if len(data) % _RECORD.size:
            raise ValueError("fingerprint bytes are not whole records")
        items = list(_RECORD.iter_unpack(data))
        return cls(tuple(s for s, _ in items), tuple(h for _, h in items))

    def __len__(self) -> int:
        return len(self.hashes)


def _popcount(values: U64) -> npt.NDArray[np.uint8]:
    return np.bitwise_count(values)


def _arrays(fp: Fingerprint) -> tuple[npt.NDArray[np.int64], U64]:
    return np.asarray(fp.seconds, dtype=np.int64), np.asarray(fp.hashes, dtype=np.uint64)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Share (0–1) of the shorter video's seconds that align with the other at one offset."""
    if min(len(a), len(b)) < MIN_SECONDS:
        return 0.0
    sa, ha = _arrays(a)
    sb, hb = _arrays(b)
    near = _popcount(ha[:, None] ^ hb[None, :]) <= NEAR_BITS
    rows, cols = np.nonzero(near)
    if rows.size == 0:
        return 0.0
    offsets = sb[cols] - sa[rows]
    low = int(offsets.min())
    votes = np.bincount(offsets - low)
    # A second of the query counts once at the best offset, allowing the ±1 s a trim that is
    # not a whole second puts between the two samplings.
    best = 0
    for centre in np.argsort(votes)[-3:]:
        window = np.abs(offsets - low - centre) <= 1
        # Each second counts once on both sides, so a run of near-identical frames cannot
        # stand in for a whole film.
        best = max(best, min(np.unique(rows[window]).size, np.unique(cols[window]).size))
    return best / min(len(a), len(b))


@dataclass(frozen=True, slots=True)
class Match:
    """A stored video like the one checked; ``key`` is whatever the caller stored it under."""

    key: str
    score: float


class FingerprintIndex:
    """Many stored fingerprints, searched for the ones of the same work as a query."""

    def __init__(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        self._entries = [(key, fp) for key, fp in entries if len(fp) >= MIN_SECONDS]
        owners: list[npt.NDArray[np.int64]] = []
        hashes: list[U64] = []
        for number, (_, fp) in enumerate(self._entries):
            hashes.append(np.asarray(fp.hashes, dtype=np.uint64))
            owners.append(np.full(len(fp), number, dtype=np.int64))
        self._owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        self._bands = [
            ((all_hashes >> np.uint64(16 * i)) & np.uint64(0xFFFF)).astype(np.uint16) for i in range(4)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def search(self, query: Fingerprint, threshold: float = SAME_WORK) -> list[Match]:
        """Stored videos of the same work as ``query``, the likest first."""
        if len(query) < MIN_SECONDS or not self._entries:
            return []
        q = np.asarray(query.hashes, dtype=np.uint64)
        hit = np.zeros(self._owner.size, dtype=bool)
        for i, band in enumerate(self._bands):
            wanted = ((q >> np.uint64(16 * i)) & np.uint64(0xFFFF)).astype(np.uint16)
            hit |= np.isin(band, wanted)
        counts = np.bincount(self._owner[hit], minlength=len(self._entries))
        # A candidate needs band hits on a fair share of the seconds the two could share.
        sizes = np.asarray([len(fp) for _, fp in self._entries])
        needed = np.minimum(sizes, len(query)) * threshold / 2
        matches = []
        for number in np.nonzero(counts >= needed)[0]:
            key, fp = self._entries[int(number)]
            score = similarity(query, fp)
            if score >= threshold:
                matches.append(Match(key, round(score, 3)))
        return sorted(matches, key=lambda m: -m.score)
