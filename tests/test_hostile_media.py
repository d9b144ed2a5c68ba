"""Hostile uploads: videos whose header lies, broken and absurd files.  Each is refused with
a Chinese reason, in bounded time.  The files are built here, from real encodes, and patched
the way an entrant (or an attacker) would."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.contests import Contest, ContestRegistry
from tests.media_factory import MediaFactory, Video
from validators import decode
from validators.decode import DecodedVideo, decode_sample, parse_report
from validators.media import MediaReport, inspect_video

CQ, HLJ = "cq-2023-scientist-spirit", "hlj-2022-kepu"
SMALL = Video(width=320, height=180, seconds=4)

# --- building hostile videos ------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end], descending into the
    containers on the way to tkhd, mdhd, mvhd and stsd."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        yield kind, pos + header, pos + size
        if kind in _CONTAINERS:
            yield from _boxes(data, pos + header, pos + size)
        pos += size


def claim_size(path: Path, out: Path, width: int, height: int) -> Path:
    """``path`` with the picture size in every tkhd and avc1 sample entry set to width×height:
    the container's word, not the H.264 stream's, which still codes the original size."""
    data = bytearray(path.read_bytes())
    patched = 0
    for kind, body, end in list(_boxes(data, 0, len(data))):
        if kind == b"tkhd" and struct.unpack(">II", data[end - 8 : end]) != (0, 0):
            data[end - 8 : end] = struct.pack(">II", width << 16, height << 16)  # 16.16 fixed
            patched += 1
        elif kind == b"stsd":
            entry = body + 8  # version/flags, entry count
            if data[entry + 4 : entry + 8] == b"avc1":
                # VisualSampleEntry: 6 reserved, data reference index, 16 predefined, then w, h
                at = entry + 8 + 24
                data[at : at + 4] = struct.pack(">HH", width, height)
                patched += 1
    assert patched == 2, "one video tkhd and one avc1 entry"
    out.write_bytes(data)
    return out


def claim_duration(path: Path, out: Path, seconds: int) -> Path:
    """``path`` with mvhd, every tkhd and every mdhd saying ``seconds`` long (version 0 boxes)."""
    data = bytearray(path.read_bytes())
    movie_scale = 1000
    for kind, body, _end in list(_boxes(data, 0, len(data))):
        if kind == b"mvhd":
            movie_scale = struct.unpack(">I", data[body + 12 : body + 16])[0]
            data[body + 16 : body + 20] = struct.pack(">I", seconds * movie_scale)
        elif kind == b"tkhd":
            data[body + 20 : body + 24] = struct.pack(">I", seconds * movie_scale)
        elif kind == b"mdhd":
            scale = struct.unpack(">I", data[body + 12 : body + 16])[0]
            data[body + 16 : body + 20] = struct.pack(">I", seconds * scale)
    out.write_bytes(data)
    return out


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    return MediaFactory(tmp_path_factory.mktemp("hostile-media"))


def preset(contests: ContestRegistry, contest_id: str, **video: object) -> Contest:
    contest = contests.get(contest_id)
    assert contest is not None and contest.video is not None
    return contest.model_copy(update={"video": contest.video.model_copy(update=video)})


def by_id(report: MediaReport) -> dict[str, str]:
    return {c.id: c.message for c in report.checks if not c.ok}


# --- the header-patched video (defect 4) -------------------------------------------------------


def test_a_320x180_video_whose_header_claims_1080p_fails_naming_both_sizes(
    factory: MediaFactory, contests: ContestRegistry, tmp_path: Path
) -> None:
    lying = claim_size(factory.video(SMALL), tmp_path / "1080p.mp4", 1920, 1080)
    cq = preset(contests, CQ, min_duration_s=None, max_duration_s=None)  # 1920×1080 or 1280×720
    report = inspect_video(lying, cq)
    assert report.facts is not None and (report.facts.width, report.facts.height) == (1920, 1080)
    assert not report.ok
    failed = by_id(report)
    assert set(failed) == {"resolution", "aspect_ratio", "orientation"}
    assert "文件头标称 1920×1080，实际解码 320×180（180p）" in failed["resolution"]
    assert "要求 1920×1080 或 1280×720" in failed["resolution"]
    assert report.text_zh().startswith("❌ 视频有 3 项不符合要求")
    # The untouched encode passes the same checks on the same frames: only the lie fails.
    honest = inspect_video(factory.video(Video(seconds=4)), cq)
    assert honest.ok, honest.text_zh()


def test_a_4_second_video_whose_header_claims_3_minutes_fails_naming_both_durations(
    factory: MediaFactory, contests: ContestRegistry, tmp_path: Path
) -> None:
    lying = claim_duration(factory.video(SMALL), tmp_path / "long.mp4", 200)
    hlj = preset(contests, HLJ, min_size_mib=None, max_size_mib=None)  # 2–5 minutes
    report = inspect_video(lying, hlj)
    assert report.facts is not None and report.facts.duration_s == pytest.approx(200, abs=1)
    assert not report.ok
    assert by_id(report) == {
        "duration": "时长 文件头标称 3分20秒，实际解码 4秒，要求 2～5分钟。"
        "文件头记录的信息与视频数据不符（文件可能被改动或已损坏），请用剪辑软件重新导出"
    }


def test_without_ffprobe_the_report_warns_that_size_and_duration_are_unconfirmed(
    factory: MediaFactory, contests: ContestRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decode, "ffprobe", lambda: None)
    lying = claim_size(factory.video(SMALL), tmp_path / "1080p.mp4", 1920, 1080)
    report = inspect_video(lying, preset(contests, CQ, min_duration_s=None, max_duration_s=None))
    assert [w.id for w in report.warnings if w.id == "decode_unverified"] == ["decode_unverified"]
    assert "⚠ 无法解码核实分辨率和时长（服务器缺少解码工具 ffprobe）" in report.text_zh()


def test_the_decoded_sample_reads_the_stream_not_the_header(factory: MediaFactory, tmp_path: Path) -> None:
    lying = claim_size(factory.video(SMALL), tmp_path / "1080p.mp4", 1920, 1080)
    decoded = decode_sample(lying)
    assert (decoded.verified, decoded.width, decoded.height) == (True, 320, 180)
    assert decoded.duration_s == pytest.approx(4, abs=0.1)
    # A cut-off tail ends the stream where the data ends; nothing decodes from text.
    cut = factory.truncated(SMALL)
    assert (decode_sample(cut).duration_s or 0) < 3.5
    text = factory.text()
    assert decode_sample(text) == DecodedVideo(True, failure="视频数据无法解码出画面")


def test_ffprobe_reports_that_stop_early_or_hold_garbage_are_parsed_safely() -> None:
    assert parse_report("") == DecodedVideo(True, failure="视频数据无法解码出画面")
    garbage = "frame|width=abc|height=-5\npacket|pts_time=nan|duration_time=inf\nnonsense"
    assert parse_report(garbage).width is None
    both = parse_report("packet|pts_time=1.5|duration_time=0.04\nframe|width=640|height=360\n")
    assert (both.width, both.height, both.start_s, both.end_s) == (640, 360, 1.5, pytest.approx(1.54))


# --- broken and absurd videos ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        ("truncated", "文件不完整"),
        ("zero_bytes", "文件是空的（0字节）"),
        ("huge_box", "文件不完整"),
        ("jpeg_named_mp4", "这是一张图片（JPEG），不是视频"),
        ("text_named_mp4", "无法识别的文件"),
    ],
)
def test_broken_and_absurd_videos_are_refused_with_a_chinese_reason(
    make: str, reason: str, factory: MediaFactory, contests: ContestRegistry, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    path = {
        "truncated": lambda: factory.truncated(SMALL),
        "zero_bytes": lambda: empty,
        "huge_box": factory.huge_box,
        "jpeg_named_mp4": factory.jpeg,
        "text_named_mp4": factory.text,
    }[make]()
    for contest_id in (CQ, HLJ):
        report = inspect_video(path, preset(contests, contest_id))
        assert not report.ok
        assert reason in report.text_zh()
        assert report.text_zh().startswith("❌")
