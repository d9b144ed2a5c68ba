"""Hostile uploads: videos whose header lies, broken and absurd files, and scans that only
look like a JPEG, PNG or PDF from their first bytes.  Each is refused with a Chinese reason,
in bounded time, and nothing is kept.  The files are built here, from real encodes and real
images, and patched the way an entrant (or an attacker) would."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfWriter

from contests.ports import EventIsolation, OrgStore, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from handlers.received import take_scan
from tests.conftest import ChatDriver
from tests.media_factory import MediaFactory, Video
from tests.test_submission_flow import answer_fields, make_handler, small_video_edition
from tests.test_submission_flow import stores as stores
from validators import decode
from validators.decode import DecodedVideo, DecodeLimits, decode_sample, parse_report
from validators.media import MediaReport, inspect_video
from validators.scan import ScanLimits, inspect_scan

CQ, HLJ = "cq-2023-scientist-spirit", "hlj-2022-kepu"
SMALL = Video(width=320, height=180, seconds=4)
MAX_SCAN = 20 * 1024 * 1024

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


def test_a_decode_cut_off_by_its_output_cap_keeps_the_size_and_confirms_no_duration(
    factory: MediaFactory, contests: ContestRegistry
) -> None:
    # A last GOP of more packets than the report may hold: ffprobe is stopped at the cap.
    capped = DecodeLimits(output_kib=1)
    decoded = decode_sample(factory.video(SMALL), capped)
    assert (decoded.width, decoded.height, decoded.end_s) == (320, 180, None)
    assert "被迫中止" in decoded.failure
    report = inspect_video(factory.video(Video(seconds=4)), preset(contests, HLJ), decode=capped)
    assert "时长 文件头标称 4秒，但视频数据无法解码核实" in by_id(report)["duration"]


def test_a_decode_past_its_timeout_is_a_warning_not_a_verdict(
    factory: MediaFactory, contests: ContestRegistry
) -> None:
    # The server, not the file, is slow here: the entrant is told nothing was confirmed.
    report = inspect_video(factory.video(SMALL), preset(contests, HLJ), decode=DecodeLimits(timeout_s=0.001))
    assert [w.id for w in report.warnings] == ["decode_unverified"]
    assert "⚠ 无法解码核实分辨率和时长（解码超时（0.001 秒））" in report.text_zh()
    assert "duration" in by_id(report)  # 4 s against 2–5 minutes: the header's verdict stands


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


# --- hostile scans (defect 11) -----------------------------------------------------------------


def _image(kind: str, size: tuple[int, int] = (800, 1100)) -> bytes:
    out = io.BytesIO()
    page = Image.new("RGB", size, "white")
    ImageDraw.Draw(page).rectangle((40, 40, size[0] - 40, size[1] - 40), outline="black", width=6)  # the form
    page.save(out, {"jpg": "JPEG", "png": "PNG"}[kind])
    return out.getvalue()


def _pdf(pages: int = 1, tail: bytes = b"") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue() + tail


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(side: int = 30000) -> bytes:
    """A one-colour ``side``×``side`` PNG: about 100 KB on disk, 900 megapixels decoded."""
    packer = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # filter byte, then one bit a pixel
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _broken_xref() -> bytes:
    data = bytearray(_pdf())
    at = data.index(b"\nxref\n")
    for i in range(at + 5, data.index(b"trailer", at)):  # every offset in the table points nowhere
        if data[i : i + 1].isdigit():
            data[i : i + 1] = b"7"
    return bytes(data)


HOSTILE_SCANS = {
    "pdf_header_then_script": (b"%PDF-1.4\n<script>alert(document.cookie)</script>\n", "网页代码"),
    "pdf_html_polyglot": (_pdf(tail=b"\n<html><body><script>alert(1)</script></body></html>\n"), "网页代码"),
    "png_signature_html": (b"\x89PNG\r\n\x1a\n<!doctype html><html><script>alert(1)</script>", "网页代码"),
    "png_signature_garbage": (b"\x89PNG\r\n\x1a\n" + bytes(4096), "图片数据无法解码"),
    "jpeg_signature_garbage": (b"\xff\xd8\xff\xe0" + bytes(4096), "图片数据无法解码"),
    "truncated_png": (_image("png")[:1500], "图片数据无法解码"),
    "decompression_bomb_png": (_png_bomb(), "像素多得不合理"),
    "pdf_with_3000_pages": (_pdf(pages=3000), "页数过多"),
    "pdf_with_a_broken_xref": (_broken_xref(), "无法作为 PDF 打开"),
    "pdf_without_xref": (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n", "无法作为 PDF 打开"),
    "pdf_with_javascript": (_pdf(tail=b"\n9 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\n"), "脚本"),
}


@pytest.mark.parametrize("name", list(HOSTILE_SCANS))
def test_a_scan_that_does_not_open_with_a_real_parser_is_refused_and_not_kept(
    name: str, tmp_path: Path
) -> None:
    content, reason = HOSTILE_SCANS[name]
    received = tmp_path / "incoming" / "签字盖章.png"
    received.parent.mkdir()
    received.write_bytes(content)
    folder = tmp_path / "scans"
    size, kind, kept, why = take_scan(received, MAX_SCAN, folder, 1)
    assert (size, kind, kept) == (len(content), None, received)
    assert reason in why and "请重新扫描或用手机拍照，发送 jpg、png 或 pdf 文件" in why
    assert not folder.exists()
    assert received.read_bytes() == content


@pytest.mark.parametrize(
    "content", [b"", b"<html><script>alert(1)</script></html>"], ids=["zero_bytes", "html_named_png"]
)
def test_a_file_that_is_no_scan_at_all_is_refused_and_not_kept(content: bytes, tmp_path: Path) -> None:
    received = tmp_path / "签字盖章.png"
    received.write_bytes(content)
    folder = tmp_path / "scans"
    # No reason: the dialog says its usual "jpg、png 或 pdf only".
    assert take_scan(received, MAX_SCAN, folder, 1) == (len(content), None, received, "")
    assert not inspect_scan(received).ok
    assert not folder.exists()


@pytest.mark.parametrize(
    ("kind", "content"), [("jpg", _image("jpg")), ("png", _image("png")), ("pdf", _pdf(2))]
)
def test_a_real_scan_with_a_wrong_extension_is_kept_under_its_real_kind(
    kind: str, content: bytes, tmp_path: Path
) -> None:
    received = tmp_path / "签字盖章.docx"  # the entrant's name says nothing
    received.write_bytes(content)
    folder = tmp_path / "scans"
    size, got, kept, why = take_scan(received, MAX_SCAN, folder, 1)
    assert (size, got, kept, why) == (len(content), kind, folder / f"scan-1.{kind}", "")
    assert kept.read_bytes() == content


def test_a_parse_that_outlasts_its_timeout_is_refused_not_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "many.pdf"
    # 20,000 pages and half a millisecond: neither a cold child nor one forked from a warm scan
    # server counts them in time (3,000 pages in 10 ms was once counted by a warm one).
    path.write_bytes(_pdf(pages=20000))
    verdict = inspect_scan(path, ScanLimits(timeout_s=0.0005))
    assert not verdict.ok and "秒内没能打开" in verdict.reason


async def test_a_hostile_scan_gets_a_chinese_reason_and_the_submission_stays_incomplete(
    contests: ContestRegistry,
    stores: tuple[Storage, EventIsolation, OrgStore],
    factory: MediaFactory,
    tmp_path: Path,
) -> None:
    source = contests.get("most-cas-2024-kepu")
    assert source is not None
    contest = small_video_edition(source)
    handler = make_handler(contest, stores, tmp_path)
    chat = ChatDriver(handler, UserKey("terminal", "mallory"))
    await answer_fields(chat, contest, "自荐", "self")
    good = factory.video(Video(seconds=4))
    await chat.upload("作品.mp4", good.stat().st_size, path=str(good))
    await chat.say("确认提交")
    for name in ("pdf_header_then_script", "png_signature_html", "decompression_bomb_png"):
        content, reason = HOSTILE_SCANS[name]
        hostile = tmp_path / f"{name}.pdf"
        hostile.write_bytes(content)
        text = await chat.upload("签字盖章.pdf", len(content), "application/pdf", path=str(hostile))
        assert "扫描件“签字盖章.pdf”没有收下：文件开头标明是" in text and reason in text
        assert "已收到" not in text
    assert (await chat.draft() or {})["scans"] == []
    text = await chat.say("完成")
    assert "材料齐全" not in text and "还没有收到扫描件" in text
    sub = await handler.storage.get_submission("KP2026-000001")
    assert sub is not None and sub.status != "complete"
    assert not (tmp_path / "scans").exists()
