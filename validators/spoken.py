"""Answers as people type them in a chat: the words around a value that are not the value.

"哦，是2025年3月8日", "去年10月15号发的", "大概1.2万吧", "科普动画吧", "嗯嗯 没问题": the date, the
figure, the category and the agreement are in there, with a filler, a relative year, a hedge or a
particle around them.  These helpers take the words off (pure, no I/O); the checks of
:mod:`validators.text` and :mod:`validators.fields` then read what is left as they read any answer.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# Said before a date: an interjection, "是", "应该是", "大概在"... (any run of them, with commas).
_DATE_LEAD = re.compile(
    r"^(?:哦|噢|喔|嗯|啊|呃|额|唔|那个|就是|应该是|应该|大概是|大概|大约|约|差不多是|差不多|好像是|好像"
    r"|记得是|我记得是|我记得|印象中是|是在|是|在|于)[，,。、\s:：~～]*"
)
# Said after it: "发的", "播出的", "左右", "那天"...
_DATE_TAIL = re.compile(
    r"[，,。、\s!！~～]*(?:发的|发布的|播出的|播的|首播的|上线的|发出的|发布|播出|首播|上线|发了|播了|发"
    r"|左右|前后|那天|当天|的时候|吧|的|了|啊|呀|哈|哦)$"
)
# A year said relative to today: "去年10月15号" is last year's.
_RELATIVE_YEAR = {"大前年": 3, "前年": 2, "去年": 1, "今年": 0}
_RELATIVE = re.compile(r"^(大前年|前年|去年|今年)")


def date_words(text: str, today: dt.date | None = None) -> str:
    """``text`` without the words said around a date, and with 去年/前年/今年 written as the year
    (relative to ``today``; without it they are left as typed)."""
    text = unicodedata.normalize("NFKC", text).strip()
    before = None
    while before != text:
        before = text
        text = _DATE_TAIL.sub("", _DATE_LEAD.sub("", text)).strip()
    m = _RELATIVE.match(text)
    if m and today is not None:
        text = f"{today.year - _RELATIVE_YEAR[m[1]]}年" + text[m.end() :].lstrip("的")
    return text


# Hedging around a figure ("大概1.2万吧", "差不多1500个左右", "有3000多人了"): it says nothing of it.
_FIGURE_LEAD = re.compile(
    r"^(?:大概|大约是?|差不多|将近|接近|目前|现在|已经|有|发了|发过|一共|总共)+(?=\d|约)"
)
_FIGURE_TAIL = re.compile(r"(?:左右|上下|的样子)?(?:吧|啊|呀|哦|嘛|了)*[。.!！~～]*$")
_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
#: Tens said in words ("四十", "十二"): the figures entrants give for followers and works.
_TENS = re.compile(r"(?<![一二两三四五六七八九十百千万])([一二两三四五六七八九])?十([一二三四五六七八九])?")
#: "四十几个", "20几个": forty-odd is at least forty, said as 40多.
_ODD = re.compile(r"(\d+0)几")


def figure_words(text: str) -> str:
    """``text`` without the hedging words said around a figure, its tens in digits."""
    text = _TENS.sub(lambda m: str(_DIGIT.get(m[1] or "一", 1) * 10 + _DIGIT.get(m[2] or "", 0)), text)
    text = _ODD.sub(r"\1多", text)
    return _FIGURE_TAIL.sub("", _FIGURE_LEAD.sub("", text))


# A modal particle after a short answer ("科普动画吧", "生命科学呗"): a tone, not part of the value.
_PARTICLE = re.compile(r"(?P<value>.*[\u4e00-\u9fffA-Za-z0-9])(?:吧|呗|啊|呀|哈|啦|哦)+[。.!！~～\s]*")
PARTICLE_MAX_CHARS = 12


def without_particle(text: str) -> str:
    """A short answer without the modal particle after it; anything else as it is."""
    stripped = text.strip()
    m = _PARTICLE.fullmatch(stripped)
    if m is None or len(stripped) > PARTICLE_MAX_CHARS or len(m["value"]) < 2:
        return text
    if not set(m["value"]) - set("吧呗啊呀哈啦哦"):  # "哈哈哈" is all tone: left as typed
        return text
    return m["value"]
