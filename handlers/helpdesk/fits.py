"""An entrant's own video figures ("剪完三分半", "720P的", "301MB", "4:3的") checked against the
contest's video rules: the answer says plainly whether the video fits, then quotes the rule.

"时长3—4分钟" answers "三分半可以吧" only for someone who does the arithmetic; asked whether their
video is allowed, entrants want 可以 or 不符合 first.  Only what the question itself measures is
judged, and only where the contest's rules give a bound; everything else is left to the search.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from contests.rules import Contest, VideoSpec
from handlers.helpdesk.analyzer import asked_part
from handlers.helpdesk.index import Entry, KnowledgeBase
from validators.spoken import number_of

#: What an answer from here is called where an entry's id would be (no entry: it is worked out).
VIDEO_FITS = "check:video_fits"

#: A question whether something is allowed or enough ("三分半可以吧", "720P行不行", "超了吗").
ASKS_FIT = re.compile(
    r"行不行|可以吗|可以吧|可以不|可不可以|行吗|行不|行吧|符合|合格|达标|超了|超过了|超没超|够不够|够吗|算不算"
    r"|没问题吧|能不能|能用吗|能交吗|能报吗|要得不|中不中|合适吗|会不会|\bok\b|okay|allowed|acceptable"
    # "刚好没超吧", "是不是太短了": whether it is over or under is asked too.
    r"|没超|刚好|正好|太[长短大小]了?"
    r"|too (?:long|short|big|small|large)",
    re.IGNORECASE,
)

_N = r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+"


_DURATION = re.compile(
    rf"(?P<m>{_N})\s*分\s*(?:(?P<half>半)|(?P<s>{_N})\s*秒|(?P<more>多|来)(?:钟)?|钟)?"
    rf"|(?P<only>{_N})\s*秒|(?<![\d:：])(?P<mm>\d{{1,2}})[:：](?P<ss>\d{{2}})(?![\d:：])"
)
_SIZE = re.compile(rf"(?P<n>{_N})\s*(?P<more>多|来)?\s*(?P<unit>GB|G|MB|M|兆)(?![A-Za-z0-9])", re.IGNORECASE)
_HEIGHT = re.compile(r"(?<!\d)(?P<h>\d{3,4})\s*[pP](?![A-Za-z])|(?P<k>4|2)\s*[kK](?![A-Za-z])")
_PIXELS = re.compile(r"(?<!\d)(?P<w>\d{3,4})\s*[×xX*]\s*(?P<h>\d{3,4})(?!\d)")
_RATIO = re.compile(r"(?<![\d:：])(?P<a>\d{1,2})\s*[:：比]\s*(?P<b>\d{1,2})(?![\d:：])")
#: Picture ratios people name ("10:30" is a time of day, not one of them).
_RATIOS = frozenset({"16:9", "9:16", "4:3", "3:4", "1:1", "21:9", "2:1", "3:2"})
_UPRIGHT = re.compile(r"竖屏|竖版|竖着|竖的|vertical|portrait", re.IGNORECASE)


#: The words that name each measure in the part of a question that asks.
_MEASURES = {
    "fact:video.duration": re.compile(
        r"时长|多长|长度|片长|时间|分钟|超时|太长|太短|long|short|length|duration"
    ),
    "fact:video.size": re.compile(r"大小|多大|体积|文件|超了|太大|big|large|size"),
    "fact:video.resolution": re.compile(r"分辨率|清晰度|像素|画质|resolution"),
    "fact:video.aspect": re.compile(r"比例|画幅|横屏|竖屏|横版|竖版|ratio|aspect|vertical|portrait"),
}


#: Something else measured beside the figure ("扫描件25M", "片头10秒", "4G手机", "100兆宽带",
#: "海报1920×1080"): the video is not what the figure is of.
_OTHER_THING = re.compile(
    r"扫描|附件|表|片头|片尾|素材|封面|海报|图片|照片|宽带|网络|网速|流量|信号|手机|内存|存储|硬盘|卡"
    r"|评审|音乐|配乐|字幕|解说|镜头|广告|水印|邮箱|上传限|限制|每个|原片|二维码"
)
#: A bound said around the figure ("不到两分钟", "超过4分钟", "4分钟以上", "2到4分钟"): no one figure.
_QUALIFIED = re.compile(r"不到|不足|少于|低于|超过|多于|高于|以上|以下|以内|之内|出头|到|至|[-－~～—]")


def _the_one(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The single figure of a measure the question gives, told plainly: None when it gives two
    ("原片5分半，剪到4分钟"), a bound or a range, or the figure sits beside something else."""
    found = list(pattern.finditer(text))
    if len({f.group(0) for f in found}) != 1:  # the same figure said twice is still one
        return None
    figure = found[0]
    before, after = text[max(0, figure.start() - 6) : figure.start()], text[figure.end() : figure.end() + 4]
    if _QUALIFIED.search(before[-3:]) or _QUALIFIED.match(after) or _OTHER_THING.search(before + after):
        return None
    return figure


_OVER_BEFORE = re.compile(r"(?:超过|超出|多于|高于|大于|超)$")
_OVER_AFTER = re.compile(r"^(?:以上|多)")
_UNDER_BEFORE = re.compile(r"(?:不到|不足|少于|低于|小于|还不到)$")


def _beyond(pattern: re.Pattern[str], text: str) -> tuple[re.Match[str], str, str] | None:
    """The single figure of a measure said as a bound on one side ("超过4分钟", "不到两分钟", "300M以上"),
    with the bound as said and "over" or "under"; None for a plain figure, a range, two figures or
    another thing's."""
    found = list(pattern.finditer(text))
    if len({f.group(0) for f in found}) != 1:
        return None
    figure = found[0]
    before, after = text[max(0, figure.start() - 6) : figure.start()], text[figure.end() : figure.end() + 4]
    if _OTHER_THING.search(before + after):
        return None
    if (said := _OVER_BEFORE.search(before)) or (said := _UNDER_BEFORE.search(before)):
        return figure, said.group(0) + figure.group(0).strip(), "over" if said.re is _OVER_BEFORE else "under"
    if said := _OVER_AFTER.match(after):
        return figure, figure.group(0).strip() + said.group(0), "over"
    return None


@dataclass(frozen=True, slots=True)
class _Verdict:
    fits: bool
    said: str
    rule: str
    entry_id: str
    rule_en: str = ""


#: The question is about the video itself (its figure alone, "301MB超了吗", names it too).
_THE_VIDEO = re.compile(
    r"视频|片子|作品|成片|影片|短片|时长|多长|大小|多大|分辨率|清晰度|比例|画幅|横屏|竖屏|横版|竖版|拍的|剪的|剪完|剪了|剪成|拍了"
    r"|\d\s*[×xX*]\s*\d|\d\s*(?:MB|M|GB|G|P|K)(?![A-Za-z])|\d\s*(?:兆|分钟|分半|秒)|[:：]|video|film",
    re.IGNORECASE,
)
#: A bare "30分" or "10:30" is a score or a time of day unless the question speaks of length.
_ABOUT_LENGTH = re.compile(r"时长|长度|片长|多长|剪完|剪出来|总长|\blong\b|length|duration")


def _duration(text: str, video: VideoSpec) -> _Verdict | None:
    low, high = video.min_duration_s, video.max_duration_s
    found = _the_one(_DURATION, text)
    if found is None and (bound := _beyond(_DURATION, text)) is not None:
        return _out_of(bound, low, high, _seconds, "时长", "fact:video.duration", _minutes)
    if found is None or (low is None and high is None):
        return None
    plain = found["m"] and not (found["half"] or found["s"] or found["more"] or "钟" in found.group(0))
    if (plain or found["mm"]) and not _ABOUT_LENGTH.search(text):
        return None
    seconds = _seconds(found)
    rule = _bounds(low, high, _minutes, "")
    fits = (low is None or seconds >= low) and (high is None or seconds <= high)
    return _Verdict(
        fits, found.group(0).strip(), f"时长{rule}", "fact:video.duration", _rule_en("时长", low, high)
    )


def _seconds(found: re.Match[str]) -> float:
    if found["mm"]:
        return int(found["mm"]) * 60 + int(found["ss"])
    if found["only"]:
        return number_of(found["only"]) or 0
    minutes = number_of(found["m"]) or 0
    extra: float = 30 if found["half"] else (number_of(found["s"]) or 0) if found["s"] else 0
    return minutes * 60 + extra + (1 if found["more"] else 0)  # "4分多钟": just over four


def _mib(found: re.Match[str]) -> float:
    figure = (number_of(found["n"]) or 0) + (0.5 if found["more"] else 0)  # "200多兆": just over 200
    # "0.3G" is what entrants call 300M: a thousand, not 1024 (which would refuse it against 300).
    return figure * 1000 if found["unit"].upper().startswith("G") else figure


def _out_of(
    bound: tuple[re.Match[str], str, str],
    low: float | None,
    high: float | None,
    value: Callable[[re.Match[str]], float],
    measure: str,
    entry_id: str,
    show: Callable[[float], str],
) -> _Verdict | None:
    """A figure said as a bound judged only where the bound settles it: "超过4分钟" against at most
    4 minutes is over whatever the exact length; "超过2分钟" against 2–5 minutes settles nothing."""
    found, said, side = bound
    figure = value(found)
    certain = (side == "over" and high is not None and figure >= high) or (
        side == "under" and low is not None and figure <= low
    )
    if not certain:
        return None
    unit = "" if measure == "时长" else "兆（MB）"
    rule = f"{measure}{_bounds(low, high, show, unit)}"
    return _Verdict(False, said.upper(), rule, entry_id, _rule_en(measure, low, high))


def _rule_en(measure: str, low: float | None, high: float | None) -> str:
    """A duration's (seconds) or a size's (MB) bounds in English: "duration of 2–5 minutes"."""
    if measure == "时长":
        said = "duration of " + _bounds(low, high, lambda v: f"{v / 60:g}", " minutes")
    else:
        said = "file size of " + _bounds(low, high, lambda v: f"{v:g}", " MB")
    return said.replace("～", "–").replace("不少于", "at least ").replace("不超过", "at most ")


#: English figures as the Chinese readers above take them ("3 min 45 s" is 3分45秒).
_EN_FIGURES = (
    (
        re.compile(
            r"(\d+(?:\.\d+)?)\s*(?:minutes?|mins?)\b\s*(?:and\s*)?(?:(\d+)\s*(?:seconds?|secs?|s)\b)?", re.I
        ),
        lambda m: f"{m[1]}分{m[2] + '秒' if m[2] else '钟'}",
    ),
    (re.compile(r"(\d+)\s*(?:seconds?|secs?)\b", re.I), lambda m: f"{m[1]}秒"),
)


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}分{rest}秒" if rest else f"{minutes}分钟"


def _bounds(low: float | None, high: float | None, show: Callable[[float], str], unit: str) -> str:
    if low is not None and high is not None:
        return f"{show(low)}～{show(high)}{unit}"
    return f"不少于{show(low)}{unit}" if low is not None else f"不超过{show(high or 0)}{unit}"


def _size(text: str, video: VideoSpec) -> _Verdict | None:
    low, high = video.min_size_mib, video.max_size_mib
    found = _the_one(_SIZE, text)
    if found is None and (bound := _beyond(_SIZE, text)) is not None:
        return _out_of(bound, low, high, _mib, "文件大小", "fact:video.size", lambda v: f"{v:g}")
    if found is None or (low is None and high is None) or number_of(found["n"]) is None:
        return None
    mib = _mib(found)
    fits = (low is None or mib >= low) and (high is None or mib <= high)
    rule = _bounds(low, high, lambda v: f"{v:g}", "兆（MB）")
    said = found.group(0).strip().upper()
    return _Verdict(fits, said, f"文件大小{rule}", "fact:video.size", _rule_en("文件大小", low, high))


def _resolution(text: str, video: VideoSpec) -> _Verdict | None:
    pixels, height = _the_one(_PIXELS, text), _the_one(_HEIGHT, text)
    if pixels is not None:
        size = (int(pixels["w"]), int(pixels["h"]))
        said = pixels.group(0).upper()
    elif height is not None and _PIXELS.search(text) is None:
        h = 2160 if height["k"] == "4" else 1440 if height["k"] == "2" else int(height["h"])
        size, said = (h * 16 // 9, h), height.group(0).upper()
    else:
        return None
    if pixels is not None and video.aspect_ratio is not None:
        w, h = (int(x) for x in video.aspect_ratio.split(":"))
        if size[0] * h != size[1] * w:  # 1080×1920 (upright), 1440×1080 (4:3)
            return _Verdict(
                False, said.strip(), f"画面比例{video.aspect_ratio}（横屏）", "fact:video.aspect",
                f"aspect ratio of {video.aspect_ratio} (landscape)",
            )  # fmt: skip
    if video.resolutions:
        fits = (
            size in video.resolutions
            if pixels is not None
            else any(size[1] == h for _, h in video.resolutions)
        )
        allowed = "或".join(f"{w}×{h}" for w, h in video.resolutions)
        return _Verdict(
            fits, said.strip(), f"分辨率为{allowed}", "fact:video.resolution",
            "resolution of " + " or ".join(f"{w}×{h}" for w, h in video.resolutions),
        )  # fmt: skip
    if video.min_height is not None:
        fits = size[1] >= video.min_height
        return _Verdict(
            fits, said.strip(), f"分辨率{video.min_height}P以上", "fact:video.resolution",
            f"resolution of {video.min_height}p or higher",
        )  # fmt: skip
    return None


def _aspect(text: str, video: VideoSpec) -> _Verdict | None:
    if video.aspect_ratio is None and video.orientation is None:
        return None
    wanted = video.aspect_ratio or "16:9"
    found = _the_one(_RATIO, text)
    if found is not None and f"{found['a']}:{found['b']}" in _RATIOS:
        a, b = int(found["a"]), int(found["b"])
        w, h = (int(x) for x in wanted.split(":"))
        fits = a * h == b * w
        return _Verdict(
            fits, found.group(0).strip(), f"画面比例{wanted}（横屏）", "fact:video.aspect",
            f"aspect ratio of {wanted} (landscape)",
        )  # fmt: skip
    upright = _UPRIGHT.search(text)
    if upright is not None and (video.orientation == "landscape" or video.aspect_ratio == "16:9"):
        return _Verdict(
            False, upright.group(0), f"画面比例{wanted}（横屏）", "fact:video.aspect",
            f"aspect ratio of {wanted} (landscape)",
        )  # fmt: skip
    return None


def video_fits(
    base: KnowledgeBase, contest: Contest, text: str, english: Callable[[Entry], str] | None = None
) -> str | None:
    """Whether the video the question (normalised) measures fits the contest's rules, said plainly
    with each rule quoted; None when it asks no such thing or the rules give no bound for it.
    ``english``: the question is in English, and this says each rule's entry in English."""
    if english is not None:
        for pattern, chinese in _EN_FIGURES:
            text = pattern.sub(chinese, text)
    video = contest.video
    if video is None or not ASKS_FIT.search(text):
        return None
    # The figure must be what is asked about, not the story around another question ("片长4分钟，
    # 里面有30秒是网上下载的素材，这样行不行": the footage is asked): in the part that asks, or
    # that part names the measure.
    core, _ = asked_part(text)
    # "三分钟的视频能不能用手机拍": the phone is asked about, whatever the video's length.
    if not _THE_VIDEO.search(text) or _OTHER_THING.search(core):
        return None
    checks = (_duration, _size, _resolution, _aspect)
    verdicts = [v for v in (check(text, video) for check in checks) if v is not None]
    verdicts = [v for v in verdicts if v.said.lower() in core.lower() or _MEASURES[v.entry_id].search(core)]
    if not verdicts:
        return None
    if not all(v.fits for v in verdicts):  # "竖屏1080P可以吗": what fails is the answer
        verdicts = [v for v in verdicts if not v.fits]
    lines = []
    for v in verdicts:
        if english is not None:
            said = v.said.replace("分钟", " min").replace("分", " min ").replace("秒", " s").strip()
            lines.append(
                f"Yes: the {said} you give is within the required {v.rule_en}."
                if v.fits
                else f"No: the {said} you give does not meet the required {v.rule_en}."
            )
        elif v.fits:
            lines.append(f"可以：您说的“{v.said}”符合通知要求的{v.rule}。")
        else:
            lines.append(f"不符合：您说的“{v.said}”不满足通知要求的{v.rule}。")
    entries = [e for e in (base.entry(v.entry_id) for v in verdicts) if e is not None]
    rules = [english(e) if english is not None else e.render() for e in entries]
    return "\n".join([*lines, *rules])
