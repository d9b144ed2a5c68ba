"""What kind of answer a question wants (a number, a date, a person to call, an e-mail, an address),
and whether an entry has one.

Retrieval matches words; a question's words can sit in an entry that does not answer it ("省科技厅那边
的联系人是谁" shares 省科技厅 with the notice's greeting line, which names nobody).  An entry that
lacks the kind of thing asked for yields to one among the close runners-up that has it, else its
confidence is damped so that a person confirms it.  The classic "expected answer type" check of
question answering, kept to kinds that a regular expression can recognise in the notices' text.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from handlers.helpdesk.index import Hit

Wanted = Literal["date", "number", "contact", "email", "address"]

#: Checked in this order: "几号截止" wants a date, not a number.
_ASKS: tuple[tuple[Wanted, re.Pattern[str]], ...] = (
    ("email", re.compile(r"邮箱(是|地址|多少|号)|哪个邮箱|什么邮箱|啥邮箱|e-?mail|邮件地址|发到哪个")),
    ("contact", re.compile(r"联系人|打给谁|电话(是|多少|号)|联系电话|手机号|联系方式")),
    ("address", re.compile(r"寄(到|去|往)?(哪|什么地方|啥地方)|邮寄地址|收件地址|地址(是|在)|邮编")),
    ("date", re.compile(r"什么时候|啥时候|几号|哪天|哪一天|几月|何时|截止(到|日期|时间)|最晚|日期是")),
    (
        "number",
        re.compile(
            # "和几个同学拍的", "我们几个人": several, not how many
            r"多少|(?<![和跟与们好这那带请找叫])几(个|部|项|分|天|周年|年|人|名|次|条|种|位|件|兆|秒|分钟)"
            r"|多[大长久]|几[?？]?$|尺寸|大小"
        ),
    ),
)

_HAS: dict[Wanted, re.Pattern[str]] = {
    "email": re.compile(r"@"),
    "contact": re.compile(r"\d{7,}|\d{3,4}-\d{4}|联系人|电话|QQ|微信"),
    "address": re.compile(r"路|街|号|邮编|大厦|出版社|收件|\d{6}"),
    "date": re.compile(r"\d{1,2}月|\d{4}年|\d{1,2}日|[上中下]旬|月底|月初|截止|未写明日期"),
    "number": re.compile(
        r"\d|[一二两三四五六七八九十百千万]+[个部项分天年名人次条种位件兆秒]"
        r"|不限|若干|永[久远]|长期"
    ),
}

#: A runner-up that has what is asked is promoted only if its score is at least this share of the top's.
CLOSE_SCORE = 0.6
#: A top entry that lacks what is asked keeps this share of its confidence.
TYPE_DAMPING = 0.6


def wanted(question: str) -> Wanted | None:
    """The kind of answer ``question`` (normalised) asks for, if one a pattern can tell."""
    return next((kind for kind, pattern in _ASKS if pattern.search(question)), None)


_NO_FIGURES = re.compile(r"\d{4}\s*年(\s*\d{0,2}\s*月)?(\s*\d{0,2}\s*日)?|附件\s*\d+|《[^》]*》")
#: What a stage of the schedule says in place of its dates when the notice gives none.
UNDATED = "通知未写明日期"
#: An entry saying the notice does not give the thing ("邮箱未在通知中公布") answers in its own way.
_UNSTATED = re.compile(r"未在通知中公布|未写明|没有(规定|写明)|未规定|未公布")


def has(kind: Wanted, hit: Hit) -> bool:
    entry = hit.entry
    said = f"{entry.text} {entry.quote}"
    if kind == "number":  # a year, a form's date line ("2022年 月 日"), 附件2, a title: no figures
        said = _NO_FIGURES.sub("", said)
    if kind != "date":  # a stage's missing date says nothing of its numbers or contacts
        said = said.replace(UNDATED, "")
    return entry.silent or bool(_HAS[kind].search(said) or _UNSTATED.search(said))


#: A question about a least ("至少发过多少作品", "粉丝门槛") or a most ("最多能推几部"), and an entry's
#: words for either bound: "不少于50部" answers the first, "不超过3部" the second.
_ASKS_LEAST = re.compile(r"至少|最少|起码|最低|门槛|下限")
_ASKS_MOST = re.compile(r"最多|至多|顶多|上限|封顶")
_SAYS_LEAST = re.compile(r"不少于|不低于|不得少于|至少|以上|最少|起码")
_SAYS_MOST = re.compile(r"不超过|不得超过|最多|至多|以内|上限|限\s*\d|限[一二三四五六七八九十]")


def _bound(question: str) -> re.Pattern[str] | None:
    least, most = bool(_ASKS_LEAST.search(question)), bool(_ASKS_MOST.search(question))
    if least == most:
        return None
    return _SAYS_LEAST if least else _SAYS_MOST


def by_wanted(hits: list[Hit], question: str) -> list[Hit]:
    """``hits`` with the best close entry that has what ``question`` asks for first; if none
    has it, the top one's confidence damped."""
    bound = _bound(question)
    if bound is not None and hits and not bound.search(hits[0].entry.text):
        for hit in hits[1:4]:
            if bound.search(hit.entry.text) and hit.score >= CLOSE_SCORE * hits[0].score:
                hits = [hit, *(h for h in hits if h is not hit)]
                break
    kind = wanted(question)
    if kind is None or not hits or has(kind, hits[0]):
        return hits
    top = hits[0]
    for hit in hits[1:4]:
        if has(kind, hit) and hit.score >= CLOSE_SCORE * top.score:
            return [hit, *(h for h in hits if h is not hit)]
    return [replace(top, confidence=round(top.confidence * TYPE_DAMPING, 4)), *hits[1:]]
