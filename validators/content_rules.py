"""The notice's content rules, each judged against what the decode measured.

Every rule the contest's :class:`~contests.rules.ContentSpec` sets becomes one
:class:`ContentItem`: ✓ when the measurement meets it, ⚠ when it does not (✗ only where the
notice makes the rule a condition of entry), 需人工确认 where a machine cannot say.  Each item
carries the numbers it was judged on and the notice's clause.

Thresholds, and why:

* loudness between −26 and −12 LUFS integrated: broadcast in China asks −24 ± 2 (GY/T 282),
  web platforms play near −14 to −16; a film outside both is 过大 or 过小 wherever it plays;
* loudness range (LRA) over 15 LU is 时大时小: EBU Tech 3343 finds most programmes under it,
  and past it viewers reach for the volume;
* true peak over −1 dBTP clips in playback (EBU R128's ceiling): 失真;
* silence is under −50 dBFS for 3 s or more (2 s at the start, where a viewer waits for sound).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from contests.rules import ContentRule, ContentSpec, DuplicateRule, VideoSpec
from validators.content_log import FilterLog, Stretch
from validators.fingerprint import Match

Status = Literal["ok", "warning", "fail", "manual"]
MARKS: dict[Status, str] = {"ok": "✓", "warning": "⚠", "fail": "✗", "manual": "需人工确认"}

# Each check in a few words, for a line that must not quote the message (a duplicate's names
# another entrant's work): the console's list, a reminder to the entrant.
CHECK_NAMES = {
    "loudness": "音量",
    "silence": "无声段",
    "picture": "黑屏或静止画面",
    "subtitles": "字幕",
    "title_card": "片头名称",
    "credits": "片尾信息",
    "no_title_card": "片头片尾字卡",
    "watermark": "水印",
    "duplicates": "与已有作品画面相同",
}

LOUDNESS_RANGE = (-26.0, -12.0)
MAX_LRA = 15.0
MAX_TRUE_PEAK = -1.0
SILENT_TRACK = -60.0  # integrated loudness of a track with nothing audible in it
LONG_SILENCE_S = 3.0
OPENING_SILENCE_S = 2.0
LONG_FREEZE_S = 3.0
SUBTITLED = 0.5  # share of the sampled seconds with sound that show subtitles
_HAN = re.compile(r"[\u4e00-\u9fff]")
PLATFORMS = (
    ("抖音", ("抖音", "douyin", "tiktok")),
    ("快手", ("快手", "kuaishou")),
    ("B站", ("哔哩哔哩", "bilibili", "b站")),
    ("西瓜视频", ("西瓜视频",)),
    ("微信视频号", ("视频号",)),
    ("小红书", ("小红书",)),
    ("好看视频", ("好看视频",)),
    ("今日头条", ("头条",)),
    ("微博", ("微博", "weibo")),
)
CREDIT_WORDS = {
    "主创人员": (
        "主创",
        "导演",
        "编导",
        "编剧",
        "策划",
        "摄像",
        "摄影",
        "剪辑",
        "解说",
        "配音",
        "作者",
        "监制",
        "制片",
    ),
    "制作单位": ("制作单位", "制作", "出品", "摄制", "承制"),
    "版权单位": ("版权", "©", "copyright"),
    "录制时间": ("录制时间", "拍摄时间", "制作时间", "年"),
}
CORNER_NAMES = {
    "top_left": "左上角",
    "top_right": "右上角",
    "bottom_left": "左下角",
    "bottom_right": "右下角",
}


@dataclass(frozen=True, slots=True)
class ContentItem:
    """One content rule against the video: the status, the sentence, the numbers and the clause."""

    id: str
    status: Status
    message: str
    clause: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def line(self) -> str:
        clause = f"（通知：{self.clause}）" if self.clause and self.status in ("warning", "fail") else ""
        return f"{MARKS[self.status]} {self.message}{clause}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "status": self.status,
            "mark": MARKS[self.status],
            "message": self.message,
            "clause": self.clause,
            "values": self.values,
        }


@dataclass(frozen=True, slots=True)
class Readings:
    """What the child read: OCR lines by second, corners, subtitle tracks, the decoded length."""

    duration: float | None
    audio: bool
    subtitle_tracks: tuple[dict[str, str], ...]
    opening: tuple[tuple[int, tuple[str, ...]], ...]
    subtitles: tuple[tuple[int, str], ...]
    closing: tuple[tuple[int, tuple[str, ...]], ...]
    corners: dict[str, tuple[str, ...]]


def _item(
    check_id: str, ok: bool, rule: ContentRule, good: str, bad: str, values: dict[str, Any]
) -> ContentItem:
    status: Status = "ok" if ok else ("fail" if rule.condition else "warning")
    return ContentItem(check_id, status, good if ok else bad, rule.clause, values)


def _unique(lines: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def han(text: str) -> int:
    return len(_HAN.findall(text))


def _stretches(stretches: Sequence[Stretch], limit: int = 4) -> str:
    shown = "、".join(s.text() for s in stretches[:limit])
    return shown + (f" 等 {len(stretches)} 处" if len(stretches) > limit else "")


# --- sound -----------------------------------------------------------------------------------


def loudness(rule: ContentRule, log: FilterLog, audio: bool) -> ContentItem:
    if not audio or log.loudness is None:
        return ContentItem("loudness", "warning", "没有可测量的声音轨道，无法判断音量", rule.clause)
    lo = log.loudness
    values = {"integrated_lufs": lo.integrated, "lra_lu": lo.range, "true_peak_dbtp": lo.true_peak}
    problems = []
    if lo.integrated < LOUDNESS_RANGE[0]:
        problems.append(
            f"整体响度 {lo.integrated:.1f} LUFS，偏小（建议 {LOUDNESS_RANGE[0]:g}～{LOUDNESS_RANGE[1]:g}）"
        )
    elif lo.integrated > LOUDNESS_RANGE[1]:
        problems.append(
            f"整体响度 {lo.integrated:.1f} LUFS，偏大（建议 {LOUDNESS_RANGE[0]:g}～{LOUDNESS_RANGE[1]:g}）"
        )
    if lo.range > MAX_LRA:
        problems.append(f"响度范围 {lo.range:.1f} LU，时大时小（建议不超过 {MAX_LRA:g}）")
    if lo.true_peak > MAX_TRUE_PEAK:
        problems.append(f"真峰值 {lo.true_peak:.1f} dBTP，可能削波失真（建议不超过 {MAX_TRUE_PEAK:g}）")
    good = (
        f"音量适中：整体响度 {lo.integrated:.1f} LUFS，响度范围 {lo.range:.1f} LU，"
        f"真峰值 {lo.true_peak:.1f} dBTP"
    )
    return _item("loudness", not problems, rule, good, "音量：" + "；".join(problems), values)


def silence(rule: ContentRule, log: FilterLog, readings: Readings, required: bool) -> ContentItem:
    if not readings.audio:
        return ContentItem("silence", "fail" if required else "warning", "视频没有声音轨道", rule.clause)
    lo = log.loudness
    if lo is not None and lo.integrated <= SILENT_TRACK:
        status: Status = "fail" if required or rule.condition else "warning"
        return ContentItem(
            "silence",
            status,
            "声音轨道是静音的：整段听不到声音",
            rule.clause,
            {"integrated_lufs": lo.integrated},
        )
    long = [
        s
        for s in log.silences
        if s.length >= LONG_SILENCE_S or (s.start < 0.1 and s.length >= OPENING_SILENCE_S)
    ]
    values = {"silences": [[round(s.start, 2), round(s.end, 2)] for s in long]}
    at_start = [s for s in long if s.start < 0.1]
    bad = "有较长的无声段：" + _stretches(long)
    if at_start:
        bad = f"开头 {at_start[0].length:.1f} 秒没有声音；" + bad
    return _item("silence", not long, rule, "声音连续，没有较长的无声段", bad, values)


# --- picture ---------------------------------------------------------------------------------


def picture(rule: ContentRule, log: FilterLog) -> ContentItem:
    freezes = [s for s in log.freezes if s.length >= LONG_FREEZE_S]
    values = {
        "black": [[round(s.start, 2), round(s.end, 2)] for s in log.blacks],
        "frozen": [[round(s.start, 2), round(s.end, 2)] for s in freezes],
    }
    problems = []
    if log.blacks:
        opening = [s for s in log.blacks if s.start < 0.1]
        lead = f"开头 {opening[0].length:.1f} 秒黑屏；" if opening else ""
        problems.append(lead + "黑屏：" + _stretches(log.blacks))
    if freezes:
        problems.append("画面静止：" + _stretches(freezes) + "（若是字卡或定格镜头，可忽略）")
    return _item(
        "picture", not problems, rule, "画面连续：没有黑屏或长时间静止的段落", "；".join(problems), values
    )


# --- text in the picture ------------------------------------------------------------------------


def _inside(second: int, stretches: Sequence[Stretch]) -> bool:
    return any(s.start <= second <= s.end for s in stretches)


@lru_cache(maxsize=1)
def _traditional_only() -> frozenset[str]:
    # zhconv's table of characters used only in traditional writing, read once when a notice
    # asks for 简体 (its own loader keeps the file open and the table in module globals).
    table = json.loads((resources.files("zhconv") / "zhcdict.json").read_bytes())
    return frozenset(table["TRADONLY"])


def traditional(texts: Sequence[str]) -> list[str]:
    """Characters written the traditional way, in the order they appear."""
    only = _traditional_only()
    return list(dict.fromkeys(c for text in texts for c in _HAN.findall(text) if c in only))


def subtitles(rule: ContentRule, spec: ContentSpec, log: FilterLog, readings: Readings) -> ContentItem:
    if readings.subtitle_tracks:
        tracks = "、".join(
            t["codec"] + (f"（{t['language']}）" if t.get("language") else "")
            for t in readings.subtitle_tracks
        )
        return ContentItem(
            "subtitles",
            "ok",
            f"有字幕轨道：{tracks}" + ("；字幕是否为简体需人工确认" if spec.simplified else ""),
            rule.clause,
            {"tracks": list(readings.subtitle_tracks)},
        )
    heard = [(s, text) for s, text in readings.subtitles if not _inside(s, log.silences)]
    if not heard:
        return ContentItem("subtitles", "manual", "没有采样到有声音的画面，无法判断字幕", rule.clause)
    shown = [text for _, text in heard if han(text) >= 2]
    share = len(shown) / len(heard)
    values: dict[str, Any] = {"sampled": len(heard), "with_subtitles": len(shown), "share": round(share, 2)}
    if spec.simplified and shown:
        # A character OCR saw in one frame only may be its own misreading; in two, it is written.
        seen = [c for c in traditional(shown) if sum(c in text for text in shown) >= min(2, len(shown))]
        chars = seen
        values["traditional"] = "".join(chars)
        if chars:
            status: Status = "fail" if rule.condition else "warning"
            return ContentItem(
                "subtitles",
                status,
                f"字幕含繁体字：{''.join(chars[:10])}，通知要求简体中文字幕",
                rule.clause,
                values,
            )
    good = f"有中文字幕：有声音的画面中 {share:.0%} 带字幕（抽查 {len(heard)} 处）"
    bad = f"字幕不足：有声音的画面中只有 {share:.0%} 带中文字幕（抽查 {len(heard)} 处）"
    return _item("subtitles", share >= SUBTITLED, rule, good, bad, values)


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _title_seen(title: str, lines: Sequence[str]) -> float:
    want = _plain(title)
    if not want:
        return 0.0
    joined = _plain("".join(lines))
    if want in joined:
        return 1.0
    return max((difflib.SequenceMatcher(None, want, _plain(line)).ratio() for line in lines), default=0.0)


def title_card(rule: ContentRule, readings: Readings, title: str) -> ContentItem:
    lines = _unique([line for _, texts in readings.opening for line in texts if han(line) >= 2])
    return _title_card(rule, lines, title)


def retitled(item: ContentItem, rule: ContentRule, title: str) -> ContentItem:
    """A stored title-card item judged again for the work's title as it is now (the entrant
    renamed the work after the check): from the opening's lines it kept, not the whole decode
    again.  Any other item, or one judged for this title already, is returned as it is."""
    read = item.values.get("read")
    if item.id != "title_card" or not isinstance(read, list) or item.values.get("title") == title:
        return item
    return _title_card(rule, [str(line) for line in read], title)


def _title_card(rule: ContentRule, lines: list[str], title: str) -> ContentItem:
    values: dict[str, Any] = {"read": lines[:8], "title": title}
    if not title:
        if not lines:
            return _item("title_card", False, rule, "", "开头没有识别到片头文字（片名）", values)
        return ContentItem(
            "title_card",
            "manual",
            f"片头文字：{'／'.join(lines[:3])}；是否与报名的作品名称一致需人工确认",
            rule.clause,
            values,
        )
    likeness = _title_seen(title, lines)
    values["likeness"] = round(likeness, 2)
    good = f"片头名称与作品名称「{title}」一致"
    seen = f"识别到：{'／'.join(lines[:3])}" if lines else "开头没有识别到文字"
    return _item(
        "title_card", likeness >= 0.8, rule, good, f"片头没有找到作品名称「{title}」（{seen}）", values
    )


def credits(rule: ContentRule, spec: ContentSpec, readings: Readings) -> ContentItem:
    lines = _unique([line for _, texts in readings.closing for line in texts if han(line) >= 1])
    values: dict[str, Any] = {"read": lines[:12]}
    if not spec.credit_items:
        return _item(
            "credits",
            bool(lines),
            rule,
            f"片尾有文字：{'／'.join(lines[:3])}",
            "结尾没有识别到片尾文字",
            values,
        )
    joined = "".join(lines).lower()
    missing = [
        item for item in spec.credit_items if not any(w in joined for w in CREDIT_WORDS.get(item, (item,)))
    ]
    values["missing"] = missing
    good = "片尾信息齐全：" + "、".join(spec.credit_items)
    bad = (
        ("片尾缺少：" + "、".join(missing))
        if lines
        else "结尾没有识别到片尾文字（" + "、".join(missing) + "）"
    )
    return _item("credits", not missing, rule, good, bad, values)


def no_title_card(rule: ContentRule, readings: Readings) -> ContentItem:
    opening = _unique([line for s, texts in readings.opening if s < 5 for line in texts if han(line) >= 4])
    closing = _unique([line for _, texts in readings.closing for line in texts if han(line) >= 4])
    found = (["开头：" + "／".join(opening[:2])] if opening else []) + (
        ["结尾：" + "／".join(closing[:2])] if closing else []
    )
    values = {"opening": opening[:6], "closing": closing[:6]}
    bad = "可能有片头或片尾字卡（" + "；".join(found) + "），请确认已去除片头片尾"
    return _item("no_title_card", not found, rule, "开头和结尾没有片头片尾字卡", bad, values)


def watermark(rule: ContentRule, readings: Readings) -> ContentItem:
    marks = []
    for corner, lines in readings.corners.items():
        text = "".join(lines)
        if not _plain(text):
            continue
        platform = next((name for name, words in PLATFORMS if any(w in text.lower() for w in words)), "")
        kind = f"{platform}水印" if platform else "持续存在的文字（可能是水印或台标）"
        marks.append((corner, platform, text, f"{CORNER_NAMES.get(corner, corner)}有{kind}「{text}」"))
    values = {
        "corners": {c: t for c, _, t, _ in marks},
        "platforms": sorted({p for _, p, _, _ in marks if p}),
    }
    return _item(
        "watermark", not marks, rule, "画面四角没有持续存在的水印", "；".join(m[3] for m in marks), values
    )


def duplicates(
    rule: DuplicateRule | None,
    matches: Sequence[Match],
    describe: dict[str, str],
    earlier: Collection[str] = (),
) -> ContentItem:
    """Stored works like this one; shown to the entrant only where the notice forbids it.

    ``earlier``: the keys of the matches that are earlier editions' works.  The notice's clause
    is cited only for the matches it speaks of (hlj's 已参加过历届 not for another entry of this
    edition); the rest are said plainly, for the organisers to check."""
    values = {
        "matches": [{"key": m.key, "score": m.score, "what": describe.get(m.key, m.key)} for m in matches]
    }
    if not matches:
        clause = rule.clause if rule else ""
        return ContentItem("duplicates", "ok", "没有发现与其他投稿或往届作品相同的视频", clause, values)

    def named(found: Sequence[Match]) -> str:
        return "、".join(dict.fromkeys(describe.get(m.key, m.key) for m in found[:3]))

    covered = [m for m in matches if rule is not None and rule.covers(earlier=m.key in earlier)]
    others = [m for m in matches if m not in covered]
    unruled = f"与{named(others)}画面相同，需主办方核查" if others else ""
    if not covered:
        return ContentItem("duplicates", "warning", unruled, "", values)
    assert rule is not None
    status: Status = "fail" if rule.condition else "warning"
    message = f"与已有投稿画面相同：{named(covered)}" + (f"；另{unruled}" if unruled else "")
    return ContentItem("duplicates", status, message, rule.clause, values)


def judge(
    video: VideoSpec, log: FilterLog, readings: Readings, *, title: str = ""
) -> tuple[ContentItem, ...]:
    """One item per content rule the notice sets, then what a person must judge."""
    spec = video.content
    items: list[ContentItem] = []
    if spec.loudness:
        items.append(loudness(spec.loudness, log, readings.audio))
    if spec.silence:
        items.append(silence(spec.silence, log, readings, video.audio_required))
    if spec.picture:
        items.append(picture(spec.picture, log))
    if spec.subtitles:
        items.append(subtitles(spec.subtitles, spec, log, readings))
    if spec.title_card:
        items.append(title_card(spec.title_card, readings, title))
    if spec.credits:
        items.append(credits(spec.credits, spec, readings))
    if spec.no_title_card:
        items.append(no_title_card(spec.no_title_card, readings))
    if spec.watermark:
        items.append(watermark(spec.watermark, readings))
    items += [
        ContentItem(f"manual_{n}", "manual", f"{rule.clause}（机器无法可靠判断）", rule.clause)
        for n, rule in enumerate(spec.manual, 1)
    ]
    return tuple(items)
