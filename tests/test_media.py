"""The media check on real files: videos ffmpeg builds (tests/media_factory.py), broken and
hostile files, every preset's spec, the CLI, and the bounds on time, memory and reading."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from contests.registry import ContestRegistry
from contests.rules import Contest
from tests.cli_runner import run_bot
from tests.media_factory import MediaFactory, Video, shared_root
from validators import media, mediainfo
from validators.hashing import StreamingHash, sha256_file
from validators.media import MediaReport, check_video, inspect_video
from validators.media_probe import CHUNK
from validators.media_rules import evaluate
from validators.media_text import GIB, MIB, format_duration, format_size
from validators.mediainfo import MediaFacts, MediaToolError, ProbeLimits, probe_media, read_facts

ROOT = Path(__file__).resolve().parents[1]

CACSI, CQ, HLJ, MOST23, MOSTCAS = (
    "cacsi-2022-youth",
    "cq-2023-scientist-spirit",
    "hlj-2022-kepu",
    "most-2023-tech-envoy",
    "most-cas-2024-kepu",
)
PRESETS = (CACSI, CQ, HLJ, MOST23, MOSTCAS)

# What each notice asks, hence which checks its report has; nothing else may appear.
PRESET_CHECKS = {
    CACSI: {
        "container",
        "duration",
        "resolution",
        "aspect_ratio",
        "orientation",
        "file_size",
        "video_codec",
        "audio",
        "frame_rate",  # 无跳帧、漏帧
    },
    CQ: {"container", "duration", "resolution", "aspect_ratio", "orientation", "video_codec", "audio"},
    HLJ: {"container", "duration", "file_size", "video_codec", "audio"},
    MOST23: {"audio"},  # the notice gives no format, length, size or resolution
    MOSTCAS: {
        "container",
        "duration",
        "resolution",
        "aspect_ratio",
        "orientation",
        "file_size",
        "video_codec",
        "audio",
    },
}

# ~150 MB, 3分20秒 (inside 3–4, 2–5 and 3–8 minutes), 1080p 16:9, AAC, constant 25 fps,
# encoded 2023-06-01: passes all five presets as they are.
GOOD = Video(seconds=200, bitrate="5M", creation_time="2023-06-01T10:00:00Z")
SHORT = Video(seconds=4)  # 1080p, sound, tiny: too short and too small where the notice says
RECIPES: dict[str, Video] = {
    "good": GOOD,
    "short": SHORT,
    "long": Video(width=640, height=360, seconds=490),  # 8分10秒; a small picture keeps it cheap
    "hd720": Video(width=1280, height=720, seconds=200),
    "portrait": Video(width=1080, height=1920),
    "rotated": Video(rotate=90),  # stored 1920×1080, shown upright as 1080×1920
    "four_three": Video(width=1440, height=1080),
    "anamorphic": Video(width=1440, height=1080, sar="4/3"),  # shown as 16:9
    "qhd": Video(width=2560, height=1440, seconds=2),
    "silent": Video(audio=False),
    "vfr": Video(drop_frames=True),
    "mov_named_mp4": Video(muxer="mov"),
    "mkv_named_mp4": Video(muxer="matroska"),
    "webm_named_mp4": Video(width=320, height=180, seconds=2, codec="libvpx", muxer="webm"),
    "hevc": Video(width=640, height=360, seconds=1, codec="libx265"),
    "mjpeg_in_mp4": Video(width=640, height=360, seconds=1, codec="mjpeg"),
    "mp42_named_mov": Video(brand="mp42", suffix=".mov"),
    "3gp": Video(width=640, height=360, seconds=1, muxer="3gp"),
}

_SMALL = {CACSI: {"duration", "file_size"}, CQ: {"duration"}, HLJ: {"duration", "file_size"}, MOST23: set()}
_SMALL[MOSTCAS] = _SMALL[CACSI]


def _per_preset(
    cacsi: set[str], cq: set[str], hlj: set[str], most23: set[str], mostcas: set[str]
) -> dict[str, set[str]]:
    return {CACSI: cacsi, CQ: cq, HLJ: hlj, MOST23: most23, MOSTCAS: mostcas}


def _small_plus(everywhere: frozenset[str] | set[str] = frozenset(), **only: set[str]) -> dict[str, set[str]]:
    """The short file's failures, plus ``everywhere`` where the preset checks it, plus ``only[preset]``."""
    keys = {"cacsi": CACSI, "cq": CQ, "hlj": HLJ, "most23": MOST23, "mostcas": MOSTCAS}
    out = {}
    for name, preset in keys.items():
        out[preset] = _SMALL[preset] | (set(everywhere) & PRESET_CHECKS[preset]) | only.get(name, set())
    return out


# The exact set of failing checks for every recipe under every preset.
EXPECTED_FAILURES: dict[str, dict[str, set[str]]] = {
    "good": _per_preset(set(), set(), set(), set(), set()),
    "short": _small_plus(),
    "long": _small_plus({"resolution"}),
    "hd720": _per_preset(
        {"resolution", "file_size"}, set(), {"file_size"}, set(), {"resolution", "file_size"}
    ),
    "portrait": _small_plus({"aspect_ratio", "orientation"}, cq={"resolution"}),
    "rotated": _small_plus({"aspect_ratio", "orientation"}, cq={"resolution"}),
    "four_three": _small_plus({"aspect_ratio"}, cq={"resolution"}),
    "anamorphic": _small_plus(cq={"resolution"}),
    "qhd": _small_plus(cq={"resolution"}),
    "silent": _small_plus({"audio"}),
    "vfr": _small_plus({"frame_rate"}),
    "mov_named_mp4": _small_plus({"container"}),
    "mkv_named_mp4": _small_plus({"container"}),
    "webm_named_mp4": _small_plus({"container", "video_codec", "resolution"}),
    "hevc": _small_plus({"resolution"}),
    "mjpeg_in_mp4": _small_plus({"resolution", "video_codec"}),
    "mp42_named_mov": _small_plus(),
    "3gp": _small_plus({"resolution", "container"}),
}


@pytest.fixture(scope="session")
def factory(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    return MediaFactory(shared_root(tmp_path_factory, "media"))


@pytest.fixture(scope="session")
def videos(factory: MediaFactory) -> dict[str, Path]:
    """Every recipe built once for the session (ffmpeg must be installed: scripts/system-deps.sh)."""
    return {name: factory.video(recipe) for name, recipe in RECIPES.items()}


def preset(contests: ContestRegistry, contest_id: str) -> Contest:
    contest = contests.get(contest_id)
    assert contest is not None, contest_id
    return contest


def with_video(contest: Contest, **update: Any) -> Contest:
    """The contest with its video spec changed (e.g. size limits scaled down to small files)."""
    assert contest.video is not None
    return contest.model_copy(update={"video": contest.video.model_copy(update=update)})


def by_id(report: MediaReport) -> dict[str, Any]:
    return {c.id: c for c in report.checks}


def reference_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# --- every preset, every recipe ----------------------------------------------------------------


@pytest.mark.parametrize("contest_id", PRESETS)
@pytest.mark.parametrize("recipe", list(EXPECTED_FAILURES))
def test_every_preset_fails_exactly_the_checks_the_file_breaks(
    recipe: str, contest_id: str, videos: dict[str, Path], contests: ContestRegistry
) -> None:
    report = inspect_video(videos[recipe], preset(contests, contest_id))
    assert report.readable, report.error
    assert {c.id for c in report.checks} == PRESET_CHECKS[contest_id]
    failed = {c.id for c in report.checks if not c.ok}
    assert failed == EXPECTED_FAILURES[recipe][contest_id], report.text_zh()
    assert report.ok is (not failed)
    assert all(c.severity == "error" for c in report.checks)
    assert all(c.severity == "warning" and not c.ok for c in report.warnings)


def test_the_good_file_is_about_150_mb_and_its_report_reads_as_users_see_it(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    path = videos["good"]
    size = path.stat().st_size
    assert 120 * MIB < size < 180 * MIB  # ~150 MB: inside 100–200 (hlj) and 100–300
    report = inspect_video(path, preset(contests, CACSI))
    checks = by_id(report)
    shown = f"{size / 1048576:.1f}MB"
    assert checks["file_size"].message == f"文件大小 {shown}，要求 100～300MB"
    assert checks["duration"].message == "时长 3分20秒，要求 3～8分钟"
    assert checks["resolution"].actual == "1920×1080（1080p）"
    assert checks["aspect_ratio"].actual == "16:9"
    assert checks["container"].actual == "MP4（isom）"
    assert checks["video_codec"].actual == "H.264"
    assert checks["frame_rate"].actual == "25帧/秒，恒定帧率"
    assert (report.width, report.height) == (1920, 1080)
    assert report.duration_s == pytest.approx(200, abs=0.05)
    assert report.size == size
    assert report.sha256 == reference_sha256(path)
    assert report.warnings == ()  # 5 Mb/s is plenty; cacsi has no production window


def test_text_report_has_a_verdict_then_one_line_per_check(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    good = inspect_video(videos["good"], preset(contests, MOSTCAS), sha256="0" * 64)
    lines = good.text_zh().splitlines()
    assert lines[0] == "✅ 视频检查通过：8 项技术要求全部符合。"
    assert lines[1].startswith("文件：MP4（isom） · ")
    assert [line[0] for line in lines[2:]] == ["✓"] * 8

    short = inspect_video(videos["short"], preset(contests, HLJ))
    text = short.text_zh()
    assert text.splitlines()[0] == "❌ 视频有 2 项不符合要求，请修改后重新提交："
    assert "✗ 时长 4秒，要求 2～5分钟" in text
    assert "✗ 文件大小" in text and "要求 100～200MB" in text
    assert "✓ 格式 MP4（isom），要求 MP4" in text


def test_duration_wording_for_each_preset(videos: dict[str, Path], contests: ContestRegistry) -> None:
    expected = {CACSI: "3～8分钟", CQ: "3～4分钟", HLJ: "2～5分钟", MOSTCAS: "2～5分钟"}
    for contest_id, wanted in expected.items():
        check = by_id(inspect_video(videos["long"], preset(contests, contest_id), sha256="-"))["duration"]
        assert check.message == f"时长 8分10秒，要求 {wanted}"
        assert not check.ok


def test_cq_accepts_exactly_1920x1080_or_1280x720(videos: dict[str, Path], contests: ContestRegistry) -> None:
    cq = preset(contests, CQ)
    assert by_id(inspect_video(videos["good"], cq, sha256="-"))["resolution"].ok
    hd = by_id(inspect_video(videos["hd720"], cq))
    assert hd["resolution"].ok and hd["resolution"].expected == "1920×1080 或 1280×720"
    qhd = by_id(inspect_video(videos["qhd"], cq))["resolution"]
    assert qhd.message == "分辨率 2560×1440（1440p），要求 1920×1080 或 1280×720"
    assert not qhd.ok


def test_720p_fails_1080p_notices_with_the_line_count(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    check = by_id(inspect_video(videos["hd720"], preset(contests, MOSTCAS)))["resolution"]
    assert not check.ok
    assert check.message == "分辨率 1280×720（720p），要求 1080p 及以上（画面短边不少于 1080 像素）"


@pytest.mark.parametrize("recipe", ["portrait", "rotated"])
def test_portrait_fails_landscape_notices(
    recipe: str, videos: dict[str, Path], contests: ContestRegistry
) -> None:
    report = inspect_video(videos[recipe], preset(contests, CACSI))
    checks = by_id(report)
    assert (report.width, report.height) == (1080, 1920)
    assert checks["orientation"].actual.startswith("竖屏")
    assert checks["orientation"].expected == "横屏"
    assert checks["aspect_ratio"].message == "画面比例 9:16，要求 16:9"
    if recipe == "rotated":
        assert report.facts is not None and report.facts.rotation in (90, 270)
        assert "旋转" in checks["orientation"].actual


def test_aspect_ratio_is_the_displayed_one(videos: dict[str, Path], contests: ContestRegistry) -> None:
    cacsi = preset(contests, CACSI)
    square_pixels = by_id(inspect_video(videos["four_three"], cacsi))["aspect_ratio"]
    assert square_pixels.message == "画面比例 4:3，要求 16:9"
    anamorphic = by_id(inspect_video(videos["anamorphic"], cacsi))["aspect_ratio"]
    assert anamorphic.ok and anamorphic.actual == "16:9"


def test_missing_audio_fails_where_the_notice_wants_narration(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    for contest_id in PRESETS:  # every preset asks for sound
        check = by_id(inspect_video(videos["silent"], preset(contests, contest_id)))["audio"]
        assert not check.ok
        assert check.actual == "没有音轨（无声）"
    assert by_id(inspect_video(videos["short"], preset(contests, MOST23)))["audio"].actual == "有（AAC）"


def test_dropped_frames_fail_cacsi_only(videos: dict[str, Path], contests: ContestRegistry) -> None:
    report = inspect_video(videos["vfr"], preset(contests, CACSI))
    check = by_id(report)["frame_rate"]
    assert not check.ok
    assert check.actual.startswith("可变帧率，最低")
    assert check.expected == "恒定帧率，无跳帧、漏帧"
    assert report.facts is not None and report.facts.frame_rate_mode == "VFR"
    for contest_id in (CQ, HLJ, MOST23, MOSTCAS):  # their notices say nothing about it
        assert "frame_rate" not in by_id(inspect_video(videos["vfr"], preset(contests, contest_id)))


def test_container_is_judged_from_content_not_name(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    hlj = preset(contests, HLJ)
    mov = by_id(inspect_video(videos["mov_named_mp4"], hlj))["container"]
    assert videos["mov_named_mp4"].suffix == ".mp4"
    assert mov.actual == "QuickTime MOV"
    assert "QuickTime" in mov.message and "只改文件扩展名无效" in mov.message
    assert by_id(inspect_video(videos["mkv_named_mp4"], hlj))["container"].actual == "MKV（Matroska）"
    assert by_id(inspect_video(videos["webm_named_mp4"], hlj))["container"].actual == "WebM"
    assert by_id(inspect_video(videos["3gp"], hlj))["container"].actual.startswith("3GP（3gp")
    mp42 = by_id(inspect_video(videos["mp42_named_mov"], hlj))["container"]
    assert videos["mp42_named_mov"].suffix == ".mov"
    assert mp42.ok and mp42.actual == "MP4（mp42）"


def test_codec_h265_passes_with_a_warning_and_motion_jpeg_fails(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    hevc = inspect_video(videos["hevc"], preset(contests, HLJ))
    assert by_id(hevc)["video_codec"].ok and by_id(hevc)["video_codec"].actual == "H.265"
    assert [w.id for w in hevc.warnings] == ["codec_compat"]
    mjpeg = by_id(inspect_video(videos["mjpeg_in_mp4"], preset(contests, HLJ)))["video_codec"]
    assert not mjpeg.ok and mjpeg.actual == "Motion JPEG"


def test_production_date_outside_the_window_is_a_warning_not_a_failure(
    videos: dict[str, Path], factory: MediaFactory, contests: ContestRegistry
) -> None:
    # Encoded 2023-06-01: inside most-cas-2024's window (2023), outside hlj-2022's (2020–2022-02-28).
    inside = inspect_video(videos["good"], preset(contests, MOSTCAS), sha256="-")
    assert inside.ok and inside.warnings == ()
    outside = inspect_video(videos["good"], preset(contests, HLJ), sha256="-")
    assert outside.ok
    assert [w.id for w in outside.warnings] == ["production_date"]
    warning = outside.warnings[0]
    assert warning.actual == "2023年6月1日"
    assert warning.expected == "2020年1月1日～2022年2月28日"
    assert "⚠ 文件记录的编码日期是 2023年6月1日" in outside.text_zh()
    # No date in the file (ffmpeg writes none unless asked): nothing to warn about.
    undated = inspect_video(videos["short"], preset(contests, MOSTCAS))
    assert undated.facts is not None and undated.facts.encoded_date is None
    assert "production_date" not in {w.id for w in undated.warnings}
    old = factory.video(Video(creation_time="2019-05-01T08:00:00Z"))
    assert "production_date" in {w.id for w in inspect_video(old, preset(contests, MOSTCAS)).warnings}


def test_low_bit_rate_is_a_warning_where_the_notice_sets_a_resolution(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    for contest_id in (CACSI, CQ, MOSTCAS):
        report = inspect_video(videos["anamorphic"], preset(contests, contest_id))
        assert "bit_rate" in {w.id for w in report.warnings}
    for contest_id in (HLJ, MOST23):
        assert "bit_rate" not in {
            w.id for w in inspect_video(videos["anamorphic"], preset(contests, contest_id)).warnings
        }


def test_the_most_2023_report_invents_no_checks(videos: dict[str, Path], contests: ContestRegistry) -> None:
    for recipe in ("good", "short", "portrait", "mov_named_mp4", "vfr", "webm_named_mp4"):
        report = inspect_video(videos[recipe], preset(contests, MOST23), sha256="-")
        assert [c.id for c in report.checks] == ["audio"]
        assert report.ok
        assert report.warnings == ()
        # One rule is not "1 项技术要求全部符合".
        assert report.text_zh().splitlines()[0] == "✅ 视频检查通过：符合通知的这项技术要求。"


def test_a_contest_without_a_video_spec_only_reads_the_file(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    bare = preset(contests, MOST23).model_copy(update={"video": None})
    report = inspect_video(videos["short"], bare)
    assert report.ok and report.readable and report.checks == ()
    assert (
        report.text_zh().splitlines()[0]
        == "✅ 视频可以正常读取。本大赛通知没有规定视频的技术要求，未作其他检查。"
    )


# --- size and duration limits at their edges (spec scaled down to the small file) -----------------


def test_size_limits_are_inclusive_mib(videos: dict[str, Path], contests: ContestRegistry) -> None:
    path = videos["short"]
    size = path.stat().st_size
    exact = size / MIB
    hlj = preset(contests, HLJ)
    at_both_ends = with_video(hlj, min_size_mib=exact, max_size_mib=exact)
    assert by_id(inspect_video(path, at_both_ends))["file_size"].ok
    too_small = by_id(inspect_video(path, with_video(hlj, min_size_mib=(size + 1) / MIB, max_size_mib=None)))[
        "file_size"
    ]
    assert not too_small.ok and too_small.expected.startswith("不少于")
    too_big = by_id(inspect_video(path, with_video(hlj, max_size_mib=(size - 1) / MIB, min_size_mib=None)))
    assert not too_big["file_size"].ok and too_big["file_size"].expected.startswith("不超过")


def test_a_file_just_under_the_limit_shows_its_bytes(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    # 1 byte under 2 MiB prints as "2.0MB", like the limit itself; the byte count explains the ✗.
    path = videos["short"]
    padded = path.with_name("just-under-2mib.mp4")
    padded.write_bytes(path.read_bytes().ljust(2 * MIB - 1, b"\0"))
    check = by_id(inspect_video(padded, with_video(preset(contests, HLJ), min_size_mib=2)))["file_size"]
    assert not check.ok
    assert check.message == f"文件大小 2.0MB（{2 * MIB - 1}字节），要求 2～200MB"


def test_duration_limits_in_whole_seconds(videos: dict[str, Path], contests: ContestRegistry) -> None:
    path = videos["short"]  # 4.0 s
    hlj = preset(contests, HLJ)
    assert by_id(inspect_video(path, with_video(hlj, min_duration_s=4, max_duration_s=4)))["duration"].ok
    longer = by_id(inspect_video(path, with_video(hlj, min_duration_s=5)))["duration"]
    assert not longer.ok and longer.message == "时长 4秒，要求 5秒～5分钟"
    assert not by_id(inspect_video(path, with_video(hlj, max_duration_s=3, min_duration_s=None)))[
        "duration"
    ].ok


# --- broken, empty, non-video, huge and hostile files ------------------------------------------


def _unreadable_files(factory: MediaFactory, videos: dict[str, Path], tmp: Path) -> dict[str, Path]:
    empty = tmp / "empty.mp4"
    empty.touch()
    return {
        "zero_bytes": empty,
        "random_bytes": factory.random_bytes(),
        "text_named_mp4": factory.text(),
        "jpeg_named_mp4": factory.jpeg(),
        "cut_before_moov": factory.truncated(Video(faststart=False)),
        "nested_boxes": factory.nested_boxes(),
        "absurd_sample_tables": factory.absurd_tables(),
        "box_claims_8_eib": factory.huge_box(),
        "missing": tmp / "does-not-exist.mp4",
        "directory": tmp,
    }


UNREADABLE = [
    ("zero_bytes", "文件是空的（0字节）"),
    ("random_bytes", "无法识别的文件"),
    ("text_named_mp4", "无法识别的文件"),
    ("jpeg_named_mp4", "这是一张图片（JPEG），不是视频"),
    ("cut_before_moov", "文件不完整"),
    ("nested_boxes", "没有视频画面"),
    ("absurd_sample_tables", "视频信息缺失"),
    ("box_claims_8_eib", "文件不完整"),
    ("missing", "找不到这个文件"),
    ("directory", "不是一个普通文件"),
]


@pytest.mark.parametrize(("name", "reason"), UNREADABLE)
def test_unreadable_files_get_a_clear_verdict(
    name: str,
    reason: str,
    factory: MediaFactory,
    videos: dict[str, Path],
    contests: ContestRegistry,
    tmp_path: Path,
) -> None:
    path = _unreadable_files(factory, videos, tmp_path)[name]
    for contest_id in PRESETS:
        report = inspect_video(path, preset(contests, contest_id))
        assert not report.readable and not report.ok
        assert reason in report.error
        assert [c.id for c in report.checks] == ["readable"]
        assert report.text_zh().startswith(f"❌ 无法读取这个文件：{report.error}")
        assert json.loads(json.dumps(report.to_dict()))["error"] == report.error


def test_truncated_mp4_whose_header_claims_the_full_length_fails(
    factory: MediaFactory, contests: ContestRegistry
) -> None:
    path = factory.truncated(SHORT)  # moov first, then half the media data
    for contest_id in PRESETS:
        report = inspect_video(path, preset(contests, contest_id))
        assert report.readable and not report.ok
        integrity = by_id(report)["integrity"]
        assert not integrity.ok and "文件不完整" in integrity.actual
        assert report.facts is not None and report.facts.truncated
        assert report.duration_s == pytest.approx(4, abs=0.1)  # the header's claim
    most23 = inspect_video(path, preset(contests, MOST23))
    assert {c.id for c in most23.checks if not c.ok} == {"integrity"}


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, contests: ContestRegistry) -> None:
    fifo = tmp_path / "upload.mp4"
    os.mkfifo(fifo)
    report = inspect_video(fifo, preset(contests, HLJ))
    assert not report.readable and "不是一个普通文件" in report.error


def test_a_10_gb_sparse_file_is_judged_without_reading_it(
    factory: MediaFactory, contests: ContestRegistry
) -> None:
    path = factory.sparse(10 << 30)
    probe = probe_media(path)
    assert probe.bytes_read <= ProbeLimits().read_mib * MIB + CHUNK
    report = inspect_video(path, preset(contests, MOSTCAS))
    assert not report.readable and report.size == 10 << 30
    assert report.sha256 is None  # over the 300MB limit: it will never be submitted, so never hashed
    capped = inspect_video(path, preset(contests, CQ), sha256="given", limits=ProbeLimits(read_mib=1))
    assert capped.sha256 == "given"
    assert "只读了前 1MB 仍未识别" in capped.error
    assert probe_media(path, ProbeLimits(read_mib=1)).bytes_read <= MIB + CHUNK


def test_a_box_flood_is_cut_off_by_the_read_budget_and_by_the_timeout(
    factory: MediaFactory, contests: ContestRegistry
) -> None:
    path = factory.box_flood(64)  # 8 million empty boxes: about 2 s of parsing here
    probe = probe_media(path, ProbeLimits(read_mib=8))
    assert probe.partial and probe.bytes_read <= 8 * MIB + CHUNK
    report = inspect_video(path, preset(contests, HLJ), limits=ProbeLimits(timeout_s=0.2))
    assert not report.readable and report.error.startswith("分析超时")


def test_the_child_memory_cap_turns_an_allocation_into_a_clean_error() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import media_probe; "
        "media_probe.apply_limits(64, 5); bytearray(256 << 20)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(ROOT / "validators")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "MemoryError" in done.stderr


def test_a_checker_that_cannot_run_is_an_operator_error_not_a_verdict(
    videos: dict[str, Path], contests: ContestRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mediainfo, "mediainfo_library", lambda: "/nonexistent/libmediainfo.so.0")
    with pytest.raises(MediaToolError, match="cannot load MediaInfo"):
        inspect_video(videos["short"], preset(contests, HLJ))


def test_parent_memory_stays_flat_while_checking_and_hashing_150_mb(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    path = videos["good"]
    expected = reference_sha256(path)
    tracemalloc.start()
    try:
        report = inspect_video(path, preset(contests, CACSI))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and report.sha256 == expected  # the whole file went through the hash
    assert peak < 8 * MIB


# --- MediaInfo values that are missing or odd -----------------------------------------------------


def _xml(general: str, *tracks: str) -> str:
    body = "".join(
        f'<track type="{kind}">{fields}</track>' for kind, fields in (t.split("|", 1) for t in tracks)
    )
    head = f'<?xml version="1.0"?><Mediainfo><File><track type="General">{general}</track>'
    return f"{head}{body}</File></Mediainfo>"


def test_none_fields_become_unreadable_values_not_errors(contests: ContestRegistry) -> None:
    facts = read_facts(_xml("<Format>MPEG-4</Format><Codec_ID>isom</Codec_ID>", "Video|<Width>1920</Width>"))
    assert facts.height is None and facts.duration_s is None and facts.display_aspect is None
    assert facts.frame_rate is None and facts.audio_tracks == 0 and facts.encoded_date is None
    contest = preset(contests, CACSI)
    checks, _ = evaluate(facts, 150 * MIB, contest)
    by = {c.id: c for c in checks}
    for check_id in ("duration", "resolution", "aspect_ratio", "orientation", "frame_rate"):
        assert not by[check_id].ok and by[check_id].actual == "无法读取"
    assert by["container"].ok and by["file_size"].ok
    assert not by["video_codec"].ok and by["video_codec"].actual == "无法识别"
    report = MediaReport(False, True, checks, (), 150 * MIB, None, None, 1920, None, facts=facts)
    assert json.loads(json.dumps(report.to_dict()))["media"]["width"] == 1920


def test_odd_number_formats_and_dates_are_read(contests: ContestRegistry) -> None:
    facts = read_facts(
        _xml(
            "<Format>Matroska</Format><Duration>abc</Duration>"
            "<Encoded_date>UTC 2023-12-31 20:00:00</Encoded_date>",
            "Video|<Format>AVC</Format><Width>1920</Width><Height>1080</Height><Duration>3000.000000</Duration>"
            "<Frame_rate>25.000</Frame_rate><Rotation>nonsense</Rotation><Pixel_aspect_ratio></Pixel_aspect_ratio>",
        )
    )
    assert facts.container == "mkv" and facts.duration_s == 3.0 and facts.frame_rate == 25.0
    assert facts.rotation == 0 and facts.display_aspect == pytest.approx(16 / 9)
    assert str(facts.encoded_date) == "2024-01-01"  # 20:00 UTC is the next morning in Beijing
    _, warnings = evaluate(facts, 150 * MIB, preset(contests, MOSTCAS))
    assert [w.id for w in warnings] == ["production_date"]


@pytest.mark.parametrize("xml", ["", "not xml", "<Mediainfo><File></File></Mediainfo>"])
def test_garbage_reports_are_unreadable(xml: str) -> None:
    with pytest.raises(mediainfo.UnreadableMedia):
        read_facts(xml)


def _facts(**changes: Any) -> MediaFacts:
    base: dict[str, Any] = {
        "format": "MPEG-4",
        "container": "mp4",
        "brand": "isom",
        "duration_s": 200.0,
        "video_codec": "AVC",
        "width": 1920,
        "height": 1080,
        "rotation": 0,
        "display_aspect": 16 / 9,
        "frame_rate": 25.0,
        "frame_rate_mode": "CFR",
        "min_frame_rate": None,
        "max_frame_rate": None,
        "video_bit_rate": 6_000_000,
        "audio_tracks": 1,
        "audio_codec": "AAC",
        "truncated": False,
        "encoded_date": None,
    }
    return MediaFacts(**{**base, **changes})


def test_frame_rate_jitter_is_not_a_dropped_frame(contests: ContestRegistry) -> None:
    cacsi = preset(contests, CACSI)
    jitter = _facts(frame_rate_mode="VFR", frame_rate=24.9, min_frame_rate=22.0, max_frame_rate=25.0)
    checks, warnings = evaluate(jitter, 150 * MIB, cacsi)
    assert {c.id: c for c in checks}["frame_rate"].ok
    assert [w.id for w in warnings] == ["variable_frame_rate"]
    gaps = _facts(frame_rate_mode="VFR", frame_rate=19.0, min_frame_rate=2.5, max_frame_rate=30.0)
    check = {c.id: c for c in evaluate(gaps, 150 * MIB, cacsi)[0]}["frame_rate"]
    assert not check.ok and check.actual == "可变帧率，最低 2.5帧/秒（有跳帧或漏帧）"


def test_aspect_ratio_tolerance_is_one_percent(contests: ContestRegistry) -> None:
    cacsi = preset(contests, CACSI)
    for aspect, ok in (
        (16 / 9 * 1.0099, True),
        (16 / 9 * 0.9901, True),
        (16 / 9 * 1.0101, False),
        (1.85, False),
    ):
        check = {c.id: c for c in evaluate(_facts(display_aspect=aspect), 150 * MIB, cacsi)[0]}[
            "aspect_ratio"
        ]
        assert check.ok is ok, aspect


def test_durations_are_judged_as_players_round_them(contests: ContestRegistry) -> None:
    cacsi = preset(contests, CACSI)  # 3–8 minutes
    for seconds, ok, shown in ((179.6, True, "3分钟"), (179.4, False, "2分59秒"), (480.4, True, "8分钟")):
        check = {c.id: c for c in evaluate(_facts(duration_s=seconds), 150 * MIB, cacsi)[0]}["duration"]
        assert (check.ok, check.actual) == (ok, shown)


def test_a_low_bit_rate_is_said_in_figures_a_person_reads(contests: ContestRegistry) -> None:
    """Web trial: a 44 kbps export of a 720p video was said to run at "0.0Mbps"."""
    cq = preset(contests, CQ)
    for rate, shown in ((44_000, "44kbps"), (600_000, "600kbps"), (1_400_000, "1.4Mbps")):
        _, warnings = evaluate(_facts(video_bit_rate=rate), 150 * MIB, cq)
        warning = {w.id: w for w in warnings}["bit_rate"]
        assert warning.actual == shown and f"视频码率 {shown} 偏低" in warning.message, warning


def test_sizes_and_durations_read_as_users_see_them() -> None:
    assert format_size(159_697_306) == "152.3MB"
    assert format_size(0) == "0B"
    assert format_size(1536) == "1.5KB"
    assert format_size(MIB - 1) == "1.0MB"
    assert format_size(GIB - 1) == "1.0GB"
    assert format_size(10 << 30) == "10.0GB"
    assert format_duration(92) == "1分32秒"
    assert format_duration(180) == "3分钟"
    assert format_duration(45.2) == "45秒"
    assert format_duration(3725) == "1小时2分5秒"


# --- hashing --------------------------------------------------------------------------------------


def test_streaming_hash_matches_hashlib_however_the_chunks_fall(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4099
    whole = hashlib.sha256(data).hexdigest()
    for step in (1, 1000, 65536, len(data)):
        hasher = StreamingHash()
        for start in range(0, len(data), step):
            hasher.update(memoryview(data)[start : start + step])
        assert hasher.hexdigest() == whole
        assert hasher.size == len(data)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == whole
    assert sha256_file(path, chunk=4096) == whole
    resumed = StreamingHash.from_file(path, length=300_001)
    assert resumed.size == 300_001
    resumed.update(data[300_001:])
    assert resumed.hexdigest() == whole


def test_streaming_hash_counts_bytes_not_items() -> None:
    import array

    hasher = StreamingHash()
    hasher.update(memoryview(array.array("I", [1, 2, 3])))
    assert hasher.size == 12


# --- async ----------------------------------------------------------------------------------------


async def test_check_video_gives_the_same_report_as_inspect_video(
    videos: dict[str, Path], contests: ContestRegistry
) -> None:
    contest = preset(contests, HLJ)
    assert await check_video(videos["short"], contest) == inspect_video(videos["short"], contest)


async def test_check_video_does_not_block_the_event_loop(
    videos: dict[str, Path], contests: ContestRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another user's coroutine keeps running while a 150 MB file is probed and hashed: a
    # blocking check would let it tick once or twice, a check off the loop thousands of times.
    threads: list[int] = []
    real = media.inspect_video

    def recording(*args: Any, **kwargs: Any) -> MediaReport:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(media, "inspect_video", recording)
    ticks = 0
    done = asyncio.Event()

    async def other_user() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_user())
    await asyncio.sleep(0)
    report = await check_video(videos["good"], preset(contests, CACSI))
    done.set()
    await task
    assert report.ok and report.sha256 == reference_sha256(videos["good"])
    assert threads and threads[0] != threading.get_ident()
    assert ticks > 100


# --- the command line -------------------------------------------------------------------------------


def check_video_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_bot(
        ["check-video", *args], env={"BOT_DATA_DIR": str(cwd)}, cwd=cwd
    )  # cwd: no developer's .env


def test_cli_passes_with_exit_0_and_the_json_shape(videos: dict[str, Path], tmp_path: Path) -> None:
    done = check_video_cli(str(videos["good"]), "--contest", MOSTCAS, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["readable"] is True and data["error"] is None
    ids = [c["id"] for c in data["checks"]]
    assert {"container", "duration", "resolution", "aspect_ratio", "file_size"} <= set(ids)
    for check in data["checks"]:
        assert set(check) == {"id", "ok", "actual", "expected", "message", "severity"}
        assert check["ok"] is True
    assert data["warnings"] == []
    assert data["sha256"] == reference_sha256(videos["good"])
    assert data["size"] == videos["good"].stat().st_size
    assert (data["width"], data["height"]) == (1920, 1080)
    assert data["media"]["container"] == "mp4"


def test_cli_fails_with_exit_1_and_says_why_in_chinese(videos: dict[str, Path], tmp_path: Path) -> None:
    done = check_video_cli(str(videos["short"]), "--contest", HLJ, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("❌ 视频有 2 项不符合要求")
    assert "✗ 时长 4秒，要求 2～5分钟" in done.stdout
    as_json = check_video_cli(str(videos["short"]), "--contest", HLJ, "--json", cwd=tmp_path)
    assert as_json.returncode == 1
    assert [c["id"] for c in json.loads(as_json.stdout)["checks"] if not c["ok"]] == ["duration", "file_size"]


def test_cli_exit_2_when_the_file_cannot_be_read(factory: MediaFactory, tmp_path: Path) -> None:
    for path in (factory.text(), factory.jpeg(), tmp_path / "missing.mp4"):
        done = check_video_cli(str(path), "--contest", CACSI, "--json", cwd=tmp_path)
        assert done.returncode == 2, (path, done.stdout, done.stderr)
        data = json.loads(done.stdout)
        assert data["ok"] is False and data["readable"] is False and data["error"]
    text = check_video_cli(str(factory.text()), "--contest", CACSI, cwd=tmp_path)
    assert text.returncode == 2 and text.stdout.startswith("❌ 无法读取这个文件")


def test_cli_exit_2_for_an_unknown_contest(videos: dict[str, Path], tmp_path: Path) -> None:
    done = check_video_cli(str(videos["short"]), "--contest", "no-such-contest", cwd=tmp_path)
    assert done.returncode == 2
    assert "no-such-contest" in done.stderr and CACSI in done.stderr
    as_json = check_video_cli(str(videos["short"]), "--contest", "no-such-contest", "--json", cwd=tmp_path)
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["readable"] is False


def test_cli_finds_a_new_edition_in_the_contest_folder(videos: dict[str, Path], tmp_path: Path) -> None:
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "contests",
            "new",
            "--from",
            HLJ,
            "--id",
            "hlj-2099-kepu",
            "--deadline",
            "2099-05-09",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("BOT_")},
            "BOT_DATA_DIR": str(tmp_path),
        },
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    done = check_video_cli(str(videos["short"]), "--contest", "hlj-2099-kepu", "--json", cwd=tmp_path)
    assert done.returncode == 1
    assert {c["id"] for c in json.loads(done.stdout)["checks"]} == PRESET_CHECKS[HLJ]
