"""The content checks against a matrix of short clips made with ffmpeg in this session.

Each clip differs from a plain one (a moving test picture, a steady tone, Chinese subtitles
burned in with Noto CJK) by one defect; each is decoded once, for all the tests that read it.
Clips are 640×360 at 10 fps and 15 s or so: the checks read seconds, not pixels.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import validators.content as content_module
from contests.registry import ContestRegistry
from contests.rules import Contest
from tests.media_factory import MediaFactory, Video
from tests.test_hostile_media import claim_size
from validators.content import ContentLimits, ContentReport, inspect_content, judge_probe, run_probe
from validators.content_log import read_log
from validators.content_probe import LOG_CAP, SUBTITLE_SAMPLES, ffmpeg_command, run_ffmpeg, subtitle_every
from validators.content_rules import duplicates
from validators.fingerprint import Fingerprint, FingerprintIndex, Match, similarity

SECONDS = 12
SUBTITLE = "科学让生活更美好"
TRADITIONAL = "科學讓生活更美好"
TITLE = "星空的秘密"


def _font() -> str:
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", "Noto Sans CJK SC"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found or "CJK" not in found:
        pytest.skip("fonts-noto-cjk is not installed (scripts/system-deps.sh)")
    return found


@dataclass(frozen=True)
class Clip:
    video: str = ""  # filters after the test picture
    audio: str = ""  # filters after the tone
    subtitle: str = SUBTITLE
    source: str = "testsrc2=s=640x360:rate=10"
    seconds: int = SECONDS


def _text(font: str, text: str, size: int, x: str, y: str, when: str = "") -> str:
    enable = f":enable='{when}'" if when else ""
    return (
        f"drawtext=fontfile={font}:text='{text}':fontsize={size}:fontcolor=white"
        f":box=1:boxcolor=black@0.6:boxborderw=6:x={x}:y={y}{enable}"
    )


BARS = "smptebars=s=640x360:rate=10"  # still and wordless: the sound clips cost OCR nothing
CLIPS: dict[str, Callable[[str], Clip]] = {
    "plain": lambda f: Clip(),
    "loud": lambda f: Clip(audio="volume=20dB", source=BARS, subtitle=""),
    "quiet": lambda f: Clip(audio="volume=-22dB", source=BARS, subtitle=""),
    "pumping": lambda f: Clip(
        audio="volume='if(lt(mod(t,8),4),1,0.12)':eval=frame", source=BARS, subtitle="", seconds=24
    ),
    # Silent for 3 s, black for 2 s, and frame 50 (5 s) held for 4 s.
    "defects": lambda f: Clip(
        audio="volume=0:enable='lt(t,3)'",
        video="drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(t,2)',loop=loop=40:size=1:start=50",
    ),
    "traditional_mark": lambda f: Clip(subtitle=TRADITIONAL, video=_text(f, "抖音", 30, "w-tw-16", "14")),
    "title_credits": lambda f: Clip(
        video=",".join(
            [
                _text(f, TITLE, 56, "(w-tw)/2", "(h-th)/2-30", "lt(t,3)"),
                _text(f, "主创 张明  制作单位 星海科技馆", 26, "(w-tw)/2", "h/2-40", f"gt(t,{SECONDS - 3})"),
                _text(
                    f,
                    "版权所有 星海科技馆  录制时间 2024年5月",
                    26,
                    "(w-tw)/2",
                    "h/2+10",
                    f"gt(t,{SECONDS - 3})",
                ),
            ]
        )
    ),
}


class Matrix:
    """Builds each clip once and checks it once per contest and title."""

    def __init__(self, root: Path, font: str) -> None:
        self.root, self.font = root, font
        self._probes: dict[str, dict[str, Any] | str] = {}

    def path(self, name: str) -> Path:
        out = self.root / f"{name}.mp4"
        if not out.exists():
            clip = CLIPS[name](self.font)
            filters = [clip.video] if clip.video else []
            if clip.subtitle:
                filters.append(_text(self.font, clip.subtitle, 28, "(w-tw)/2", "h-60", "gte(t,1)"))
            audio = "sine=f=440:sample_rate=48000" + (f",{clip.audio}" if clip.audio else "")
            self.ffmpeg(
                "-f", "lavfi", "-i", clip.source, "-f", "lavfi", "-i", audio,
                *(["-vf", ",".join(filters)] if filters else []),
                "-t", str(clip.seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", str(out),
            )  # fmt: skip
        return out

    def ffmpeg(self, *args: str) -> None:
        command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def report(self, name: str, contest: Contest, title: str = "") -> ContentReport:
        """The clip decoded once; judged for each contest and title asked."""
        if name not in self._probes:
            self._probes[name] = run_probe(self.path(name), ContentLimits())
        return judge_probe(self._probes[name], contest, title=title)


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (scripts/system-deps.sh)")
    return Matrix(tmp_path_factory.mktemp("content"), _font())


def item(report: ContentReport, check_id: str) -> dict[str, object]:
    assert report.checked, report.failure
    found = [i.to_dict() for i in report.items if i.id == check_id]
    assert found, f"no {check_id} in {[i.id for i in report.items]}"
    return found[0]


def contest(contests: ContestRegistry, contest_id: str) -> Contest:
    found = contests.get(contest_id)
    assert found is not None
    return found


# --- sound ---------------------------------------------------------------------------------------


def test_a_steady_tone_at_a_normal_level_passes_loudness_with_its_figures(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    loudness = item(matrix.report("plain", contest(contests, "cacsi-2022-youth")), "loudness")
    assert loudness["status"] == "ok"
    values = loudness["values"]
    assert isinstance(values, dict)
    assert -26 <= values["integrated_lufs"] <= -12
    assert values["lra_lu"] < 15


@pytest.mark.parametrize(("name", "words"), [("loud", ["偏大", "真峰值"]), ("quiet", ["偏小"])])
def test_loud_and_quiet_audio_are_warned_with_the_clause(
    matrix: Matrix, contests: ContestRegistry, name: str, words: list[str]
) -> None:
    loudness = item(matrix.report(name, contest(contests, "cacsi-2022-youth")), "loudness")
    assert loudness["status"] == "warning"
    assert all(w in str(loudness["message"]) for w in words)
    assert loudness["clause"] == "音量适中，音质清晰，不失真，无明显过大过小或时大时小"


def test_pumping_audio_is_时大时小(matrix: Matrix, contests: ContestRegistry) -> None:
    loudness = item(matrix.report("pumping", contest(contests, "cacsi-2022-youth")), "loudness")
    assert loudness["status"] == "warning"
    assert "时大时小" in str(loudness["message"])


def test_silence_at_the_start_is_named_with_its_length(matrix: Matrix, contests: ContestRegistry) -> None:
    silence = item(matrix.report("defects", contest(contests, "cacsi-2022-youth")), "silence")
    assert silence["status"] == "warning"
    assert "开头" in str(silence["message"])
    assert item(matrix.report("plain", contest(contests, "cacsi-2022-youth")), "silence")["status"] == "ok"


# --- picture -------------------------------------------------------------------------------------


def test_a_black_opening_and_a_frozen_stretch_are_found_where_they_are(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    cacsi = contest(contests, "cacsi-2022-youth")
    black = item(matrix.report("defects", cacsi), "picture")
    assert black["status"] == "warning"
    assert "开头" in str(black["message"]) and "黑屏" in str(black["message"])
    frozen = item(matrix.report("defects", cacsi), "picture")
    assert frozen["status"] == "warning" and "画面静止" in str(frozen["message"])
    values = frozen["values"]
    assert isinstance(values, dict)
    (start, end), *_ = values["frozen"]
    assert 4 <= start <= 6 and end - start >= 3
    assert item(matrix.report("plain", cacsi), "picture")["status"] == "ok"


# --- text in the picture ---------------------------------------------------------------------------


def test_burned_in_simplified_subtitles_are_found_over_the_sound(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    subtitles = item(matrix.report("plain", contest(contests, "most-cas-2024-kepu")), "subtitles")
    assert subtitles["status"] == "ok"
    values = subtitles["values"]
    assert isinstance(values, dict) and values["share"] >= 0.5 and values["traditional"] == ""


def test_traditional_subtitles_are_reported_where_the_notice_says_简体(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    subtitles = item(matrix.report("traditional_mark", contest(contests, "most-cas-2024-kepu")), "subtitles")
    assert subtitles["status"] == "warning"
    assert "繁体" in str(subtitles["message"]) and "學" in str(subtitles["message"])
    # cacsi asks for 中文字幕 only: traditional characters are Chinese subtitles too.
    assert (
        item(matrix.report("traditional_mark", contest(contests, "cacsi-2022-youth")), "subtitles")["status"]
        == "ok"
    )


def test_a_video_without_subtitles_is_warned(matrix: Matrix, contests: ContestRegistry) -> None:
    subtitles = item(matrix.report("loud", contest(contests, "cacsi-2022-youth")), "subtitles")
    assert subtitles["status"] == "warning" and "字幕不足" in str(subtitles["message"])


def test_the_title_card_is_compared_with_the_typed_title(matrix: Matrix, contests: ContestRegistry) -> None:
    most_cas = contest(contests, "most-cas-2024-kepu")
    assert item(matrix.report("title_credits", most_cas, TITLE), "title_card")["status"] == "ok"
    wrong = item(matrix.report("title_credits", most_cas, "海洋的故事"), "title_card")
    assert wrong["status"] == "warning"
    assert "海洋的故事" in str(wrong["message"]) and TITLE in str(wrong["message"])
    assert item(matrix.report("plain", most_cas, TITLE), "title_card")["status"] == "warning"


def test_credits_naming_all_four_items_pass_and_a_bare_ending_names_what_is_missing(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    most_cas = contest(contests, "most-cas-2024-kepu")
    assert item(matrix.report("title_credits", most_cas, TITLE), "credits")["status"] == "ok"
    bare = item(matrix.report("plain", most_cas, TITLE), "credits")
    assert bare["status"] == "warning"
    assert "主创人员" in str(bare["message"]) and "版权单位" in str(bare["message"])


def test_cq_wants_no_title_card_and_no_watermark(matrix: Matrix, contests: ContestRegistry) -> None:
    cq = contest(contests, "cq-2023-scientist-spirit")
    card = item(matrix.report("title_credits", cq), "no_title_card")
    assert card["status"] == "warning" and TITLE in str(card["message"])
    mark = item(matrix.report("traditional_mark", cq), "watermark")
    assert mark["status"] == "warning" and "右上角有抖音水印" in str(mark["message"])
    assert item(matrix.report("plain", cq), "watermark")["status"] == "ok"


def test_what_a_machine_cannot_judge_is_listed_for_a_person_never_passed(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    envoy = matrix.report("plain", contest(contests, "most-2023-tech-envoy"))
    manual = [i for i in envoy.items if i.status == "manual"]
    assert {i.clause for i in manual} == {"有真人出镜", "需简单配乐"}
    assert all(i.line().startswith("需人工确认") for i in manual)
    assert "需人工确认 有真人出镜" in envoy.text_zh()


def test_the_json_shape_has_every_check_with_id_status_values_and_clause(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    data = matrix.report("loud", contest(contests, "cacsi-2022-youth")).to_dict()
    assert data["checked"] is True and data["seconds_decoded"] >= SECONDS - 1
    for check in data["checks"]:
        assert {"id", "ok", "status", "values", "clause", "message"} <= check.keys()
    assert ContentReport.from_dict(data).to_dict()["checks"] == data["checks"]


# --- duplicates ------------------------------------------------------------------------------------


def test_a_reencoded_resized_trimmed_copy_matches_and_an_unrelated_video_does_not(
    matrix: Matrix, contests: ContestRegistry
) -> None:
    envoy = contest(contests, "most-2023-tech-envoy")
    original = matrix.root / "mandelbrot.mp4"
    matrix.ffmpeg(
        "-f", "lavfi", "-i", "mandelbrot=s=640x360:rate=10", "-f", "lavfi", "-i", "sine=f=330",
        "-t", "16", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(original),
    )  # fmt: skip
    copy = matrix.root / "copy.mp4"
    matrix.ffmpeg(
        "-ss", "2", "-i", str(original), "-vf", "scale=480:270", "-c:v", "libx264", "-b:v", "120k",
        "-c:a", "aac", str(copy),
    )  # fmt: skip
    prints = {}
    for name, path in (("original", original), ("copy", copy)):
        fp = inspect_content(path, envoy).fingerprint
        assert fp is not None
        prints[name] = fp
    unrelated = matrix.report("plain", envoy).fingerprint
    assert unrelated is not None
    prints["unrelated"] = unrelated
    assert similarity(prints["copy"], prints["original"]) >= 0.8
    assert similarity(prints["unrelated"], prints["original"]) < 0.2
    index = FingerprintIndex([("KP2024-0001", prints["original"]), ("KP2024-0002", prints["unrelated"])])
    assert [m.key for m in index.search(prints["copy"])] == ["KP2024-0001"]
    assert Fingerprint.from_bytes(prints["copy"].to_bytes()) == prints["copy"]


def test_a_duplicate_cites_the_notice_only_for_the_editions_its_clause_speaks_of(
    contests: ContestRegistry,
) -> None:
    """hlj's 已参加过历届本活动的作品不再参加本次活动 is about earlier editions' works: another
    entry of this edition is said plainly, for the organisers to check, and cites no clause."""
    hlj, cas = contest(contests, "hlj-2022-kepu"), contest(contests, "most-cas-2024-kepu")
    assert hlj.video is not None and cas.video is not None
    rule = hlj.video.content.duplicates
    this, past = Match("hlj-2022-kepu/HLJ2022-000001", 0.9), Match("hlj-2021-kepu/HLJ2021-000004", 0.9)
    names = {this.key: "本届的另一件投稿", past.key: "往届（2021年）作品"}
    same = duplicates(rule, [this], names, earlier=())
    assert same.status == "warning" and same.clause == ""
    assert same.line() == "⚠ 与本届的另一件投稿画面相同，需主办方核查"
    old = duplicates(rule, [past], names, earlier={past.key})
    assert old.status == "fail" and "历届" in old.line() and "往届（2021年）作品" in old.line()
    both = duplicates(rule, [past, this], names, earlier={past.key})
    assert both.status == "fail" and "另与本届的另一件投稿画面相同" in both.message
    # most-cas's 重复推荐 is about this edition's entries: cited for them.
    twice = duplicates(cas.video.content.duplicates, [this], names, earlier=())
    assert twice.status == "fail" and "重复推荐" in twice.line()


# --- hostile files ---------------------------------------------------------------------------------


def test_a_header_patched_low_resolution_file_reports_the_streams_own_size(
    contests: ContestRegistry, tmp_path: Path
) -> None:
    small = MediaFactory(tmp_path).video(Video(width=320, height=180, seconds=6))
    patched = claim_size(small, tmp_path / "patched.mp4", 1920, 1080)
    report = inspect_content(patched, contest(contests, "cacsi-2022-youth"))
    assert report.checked and report.size == (320, 180)


def test_a_file_that_is_no_video_gets_a_chinese_reason_not_a_crash(
    contests: ContestRegistry, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 4096)
    report = inspect_content(junk, contest(contests, "cacsi-2022-youth"))
    assert not report.checked and "画面" in report.failure
    assert "没有完成" in report.text_zh()


def test_a_check_past_its_timeout_is_ended_with_its_ffmpeg(matrix: Matrix, contests: ContestRegistry) -> None:
    report = inspect_content(
        matrix.path("plain"), contest(contests, "cacsi-2022-youth"), limits=ContentLimits(timeout_s=0.2)
    )
    assert not report.checked and "超时" in report.failure


def test_filter_logs_with_open_stretches_and_a_first_empty_summary_are_read_right() -> None:
    log = (
        "[Parsed_ebur128_0] Summary:\n I: -70.0 LUFS\n LRA: 0.0 LU\n Peak: -inf dBFS\n"
        "[silencedetect] silence_start: 0\n[silencedetect] silence_end: 3.2 | silence_duration: 3.2\n"
        "[blackdetect] black_start:0 black_end:2.1 black_duration:2.1\n"
        "lavfi.freezedetect.freeze_start: 9.5\n"
        "[Parsed_ebur128_0] Summary:\n I: -21.5 LUFS\n LRA: 3.1 LU\n Peak: -8.0 dBFS\n"
    )
    read = read_log(log, 12.0)
    assert read.loudness is not None and read.loudness.integrated == -21.5
    assert [(s.start, s.end) for s in read.silences] == [(0.0, 3.2)]
    assert [(s.start, s.end) for s in read.blacks] == [(0.0, 2.1)]
    assert [(s.start, s.end) for s in read.freezes] == [(9.5, 12.0)]


def test_a_long_video_reads_about_forty_subtitle_bands_and_a_short_one_every_three_seconds() -> None:
    assert subtitle_every(12) == subtitle_every(None) == subtitle_every(float("nan")) == 3
    for seconds in (300, 480, 3600):
        every = subtitle_every(seconds)
        read = len([s for s in range(seconds) if s % every == 1])
        assert SUBTITLE_SAMPLES - 3 <= read <= SUBTITLE_SAMPLES, (seconds, every, read)


# ---------------------------------------------------------------- the child's bounds (review L2)


def test_ffmpeg_decodes_and_filters_on_one_thread() -> None:
    command = ffmpeg_command("clip.mp4", {"audio": True}, (640, 360))
    before_input = command[: command.index("-i")]
    assert before_input[before_input.index("-threads") + 1] == "1"  # the decoder's threads
    assert command[command.index("-filter_threads") + 1] == "1"
    assert command[command.index("-filter_complex_threads") + 1] == "1"


def test_ffmpeg_writing_its_log_without_end_keeps_only_the_tail(tmp_path: Path) -> None:
    noisy = tmp_path / "noisy.py"  # 4 MiB of errors, the summary last, then three 10-byte frames
    noisy.write_text(
        "import sys\n"
        "for i in range(65536):\n"
        "    sys.stderr.write('[h264] error while decoding MB %06d ........................\\n' % i)\n"
        "sys.stderr.write('[Parsed_ebur128_0] Summary: I: -21.5 LUFS\\n')\n"
        "sys.stdout.buffer.write(bytes(range(30)))\n"
    )
    frames: list[tuple[int, bytes]] = []
    returncode, read, log = run_ffmpeg(
        [sys.executable, str(noisy)], 10, lambda second, chunk: frames.append((second, chunk))
    )
    assert returncode == 0 and read == 3 and [s for s, _ in frames] == [0, 1, 2]
    assert frames[2][1] == bytes(range(20, 30))
    assert len(log.encode()) <= LOG_CAP and log.endswith("Summary: I: -21.5 LUFS\n")
    assert "MB 065535" in log and "MB 000000" not in log


def test_a_report_longer_than_its_cap_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chatty = tmp_path / "chatty.py"
    chatty.write_text("import sys\nsys.stdout.write('{\"log\": \"' + 'x' * 100000 + '\"}')\n")
    monkeypatch.setattr(content_module, "_command", lambda path, limits: ([sys.executable, str(chatty)], {}))
    refused = run_probe(tmp_path / "any.mp4", ContentLimits(report_bytes=4096))
    assert isinstance(refused, str) and "结果过大" in refused and "4096 字节" in refused
    read = run_probe(tmp_path / "any.mp4", ContentLimits(report_bytes=1 << 20))
    assert isinstance(read, dict) and len(read["log"]) == 100000


def test_a_failing_frame_reader_ends_ffmpeg_and_says_why(tmp_path: Path) -> None:
    endless = tmp_path / "endless.py"  # frames without end, as a long video would give
    endless.write_text("import sys\nwhile True:\n    sys.stdout.buffer.write(bytes(10))\n")

    def broken(second: int, chunk: bytes) -> None:
        if second == 2:
            raise ValueError("OCR failed")

    with pytest.raises(ValueError, match="OCR failed"):
        run_ffmpeg([sys.executable, str(endless)], 10, broken)
