"""An entrant's own figures ("粉丝大概800个", "发了80多条视频") checked against the minimums a form
sets (cacsi's 科普号: 粉丝量 and 发布作品数): the answer says whether the entry qualifies."""

from __future__ import annotations

import re

from contests.rules import Contest
from handlers.helpdesk.index import KnowledgeBase
from handlers.helpdesk.windows import QUALIFIES
from validators.spoken import number_of

#: A figure in digits or Chinese numerals ("八百多", "两千", "三十几"); 一 alone is "a" (做了一个视频).
_NUMBER = (
    r"(\d+(?:\.\d+)?|(?:[二两三四五六七八九十百千]|一[十百千万])[一二两三四五六七八九十百千万]*)"
    r"\s*(万)?\s*(?:多|来|几)?\s*"
)
#: How an entrant tells each measured thing, by the words of its field's label.
_TOLD = {
    "粉丝": re.compile(
        rf"粉丝(?:数|量)?[^\d，,。；;？?！!]{{0,6}}?{_NUMBER}|{_NUMBER}(?:个|名|人)?\s*(?:左右\s*)?粉丝"
    ),
    "作品": re.compile(
        rf"(?:发布?|更新|发表|做|上传)(?:了|过)?\s*(?:作品|视频)?\s*{_NUMBER}(?:条|部|个|篇|期|集)"
        rf"|(?:作品|视频)(?:数|量)?\s*(?:有|才|是|共|一共)\s*{_NUMBER}(?:条|部|个|篇|期|集)?"
    ),
}
#: What an answer from here is called where an entry's id would be (no entry: it is worked out).
MINIMUMS = "check:minimums"


def _figure(match: re.Match[str]) -> float | None:
    groups = match.groups()
    for i in range(0, len(groups), 2):
        if groups[i] is not None:
            value = number_of(groups[i])
            return None if value is None else value * (10000 if groups[i + 1] else 1)
    raise ValueError(match.group(0))


def below_minimums(base: KnowledgeBase, contest: Contest, text: str) -> str | None:
    """What the question tells of its entry that falls short of a form's minimum, with the figures
    that meet theirs beside it and each field's rule; None when nothing told falls short, or the
    question does not ask whether it may take part."""
    if not QUALIFIES.search(text):
        return None
    verdicts, rules, short = [], [], False
    for form in contest.forms:
        for field in form.fields:
            if field.min_value is None:
                continue
            told = next((p for word, p in _TOLD.items() if word in field.label), None)
            found = told.search(text) if told is not None else None
            if found is None:
                continue
            figure = _figure(found)
            if figure is None:  # numerals that make no number ("十百")
                continue
            said = found.group(0).strip()
            if figure < field.min_value:
                short = True
                verdicts.append(
                    f"您说的“{said}”，少于通知要求的「{field.label}」不少于{field.min_value}，按通知还不符合申报条件。"
                )
            else:
                verdicts.append(f"您说的“{said}”，达到了「{field.label}」不少于{field.min_value}的要求。")
            entry = base.entry(f"fact:forms.{form.id}.{field.id}")
            if entry is not None and entry not in rules:
                rules.append(entry)
    if not short:
        return None
    return "\n".join([*verdicts, *(e.render() for e in rules)])
