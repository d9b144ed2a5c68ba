"""An entrant's own count of characters in a form's cell ("推荐理由我写了95个字", "简介写了350字，超了
吗") checked against the cell's limit: the answer says plainly whether it fits, then quotes the rule.

"限100字以内" answers "写了120字超了吗" only for someone who compares the figures; asked whether their
text fits, entrants want 可以 or 超了 first.  Only a cell the question names, with a limit the
contest's forms give, is judged; everything else is left to the search.
"""

from __future__ import annotations

import re

from contests.rules import Contest, Form, FormField
from handlers.helpdesk.fits import ASKS_FIT
from handlers.helpdesk.foreign import FORM_NAMES
from handlers.helpdesk.index import KnowledgeBase
from validators.fields import max_chars_of
from validators.spoken import cn_count

#: What an answer from here is called where an entry's id would be (no entry: it is worked out).
TEXT_FITS = "check:text_fits"

#: A count of characters as entrants tell it ("95个字", "两百五十字", "120字左右"), not a 字幕, 字体
#: or 字母 ("三个字母缩写").
_COUNT = re.compile(
    r"(?P<n>\d{1,4}|[零一二两三四五六七八九十百千]+)\s*(?:多)?\s*(?:个)?\s*(?:汉)?字(?![幕体号数母节])"
)
#: Another text than a form's cell, whose count the asker may tell beside the cell they ask about
#: ("字幕有100个字，内容简介可以吗": the subtitles' figure says nothing of the 内容简介).
_OTHER_TEXT = re.compile(r"字幕|标题|片名|题目|解说词?|旁白|台词|文案|片头|片尾|封面|画面")
#: Where the part of a sentence that a count belongs to starts.
_PIECE_START = re.compile(r"[，,。；;？?！!]")
#: The rule's wording around a figure ("限100字", "100字以内", "不超过100字"): not the entrant's own.
_RULE_BEFORE = re.compile(r"(?:限|限制|不超过|不能超过|最多|以|要求|规定|说)\s*$")
_RULE_AFTER = re.compile(r"^\s*(?:以内|之内|以下|内)")
#: The question asks whether the text fits, or whether it is over ("超了吗", "要删吗").
_ASKS_OVER = re.compile(r"超|多了|要删|删吗|删减|太长|够不够|够吗|可以吧|可以吗|行吗|行吧|没问题")


def _told(text: str, cells: list[tuple[Form, FormField]]) -> tuple[int, str] | None:
    """The one character count the question gives as its own text's in one of ``cells``, with how
    it was written; a count told of another text (字幕, 标题) in its part of the sentence is not."""
    counts: dict[int, str] = {}
    for found in _COUNT.finditer(text):
        if _RULE_BEFORE.search(text[max(0, found.start() - 4) : found.start()]) or _RULE_AFTER.match(
            text[found.end() : found.end() + 3]
        ):
            continue
        piece = _PIECE_START.split(text[: found.start()])[-1]
        if _OTHER_TEXT.search(piece) and not any(n in piece for _, f in cells for n in _names(f)):
            continue
        raw = found["n"]
        n = int(raw) if raw.isdigit() else cn_count(raw)
        if n is not None and n > 0:
            counts[n] = found.group(0).strip()
    return next(iter(counts.items())) if len(counts) == 1 else None


def _names(field: FormField) -> tuple[str, ...]:
    """How a question names a cell: its label, and without 作品/内容/主要 ("简介", "创新点")."""
    short = re.sub(r"^(?:作品|内容|主要)", "", field.label)
    return tuple(dict.fromkeys(n for n in (field.label, short) if len(n) >= 2))


def _forms_asked(contest: Contest, text: str) -> list[Form]:
    """The forms a question is about: the one it names (推荐表, 自荐表…), else all of them."""
    named = [w for w in FORM_NAMES if w in text]
    return [form for form in contest.forms if not named or any(w in form.title for w in named)]


def _cells(contest: Contest, text: str) -> list[tuple[Form, FormField]]:
    """The limited cells the question names, in the form it names if it names one."""
    cells = [
        (form, field)
        for form in _forms_asked(contest, text)
        for field in form.fields
        if field.max_chars and any(n in text for n in _names(field))
    ]
    # "内容简介" names that cell, not also a form's "简介" cell beside it.
    longest = max((max(len(n) for n in _names(f) if n in text) for _, f in cells), default=0)
    return [(form, f) for form, f in cells if any(len(n) == longest and n in text for n in _names(f))]


def text_fits(base: KnowledgeBase, contest: Contest, text: str) -> str | None:
    """Whether the characters the question (normalised) says it wrote fit the cell it names, said
    plainly with each cell's rule; None when it asks no such thing or no form limits that cell."""
    if not (_ASKS_OVER.search(text) or ASKS_FIT.search(text)):
        return None
    cells = _cells(contest, text)
    told = _told(text, cells) if cells else None
    if told is None:
        return None
    count, said = told
    lines, rules = [], []
    for limit in sorted({f.max_chars for _, f in cells if f.max_chars}):
        at = [(form, f) for form, f in cells if f.max_chars == limit]
        form, field = at[0]
        where = f"「{field.label}」" if len(cells) == len(at) else f"《{form.title}》「{field.label}」"
        inferred = "" if all(form.reproduced for form, _ in at) else "（通知未附表样，按往年同类表格）"
        if count <= limit:
            lines.append(f"可以：您说的“{said}”没有超过{where}{limit}字以内的限制{inferred}。")
        else:
            lines.append(
                f"超了：您说的“{said}”超过了{where}限定的{limit}字{inferred}，请删减到{limit}字以内。"
            )
        for form, f in at:
            entry = base.entry(f"fact:forms.{form.id}.{f.id}")
            if entry is not None and entry not in rules:
                rules.append(entry)
    return "\n".join([*lines, *(e.render() for e in rules)])


#: What a "the notice sets no limit" reply from here is called where an entry's id would be.
LIMIT_UNSAID = "check:limit_unsaid"
#: A cell's limit asked ("内容简介限多少字", "作品名称有字数限制吗", "要写好多字以内").
_ASKS_LIMIT = re.compile(
    r"字数|多少字|几个字|好多字|几百字|字以内|多少个字|写多长|限多少|有没有.{0,3}限制|有限制"
)
#: The shortest run of a cell's label a question must repeat to name it ("内容简介" of 内容简介及主要创新点).
_NAMED_RUN = 4


def _named_in(label: str, text: str) -> bool:
    if len(label) < _NAMED_RUN:
        return label in text
    return any(label[i : i + _NAMED_RUN] in text for i in range(len(label) - _NAMED_RUN + 1))


def limit_unsaid(base: KnowledgeBase, contest: Contest, text: str) -> str | None:
    """ "通知没有规定…字数" for a question asking the limit of a cell the contest's forms have but limit
    nowhere (cq's 内容简介及主要创新点, a 作品名称), with the form's columns; None when it asks no
    such thing, names no cell, or a form limits the cell it names."""
    if not _ASKS_LIMIT.search(text) or _COUNT.search(text) is not None:
        return None
    cells = [
        (form, field)
        for form in _forms_asked(contest, text)
        for field in form.fields
        if _named_in(field.label, text)
    ]
    if (
        not cells
        or any(field.max_chars for _, field in cells)
        or not all(form.reproduced for form, _ in cells)
    ):
        return None
    labels = "、".join(dict.fromkeys(f"「{field.label}」" for _, field in cells))
    # The assistant's own bound where the form sets none (a title's 50), said beside the silence.
    taken = sorted({n for _, field in cells if (n := max_chars_of(field)) is not None})
    own = f"（本助手接受{taken[0]}字以内。）" if len(taken) == 1 else ""
    form_ids = dict.fromkeys(form.id for form, _ in cells)
    columns = [e for e in (base.entry(f"fact:forms.{fid}.fields") for fid in form_ids) if e is not None]
    return "\n".join([f"通知没有规定{labels}的字数。{own}", *(e.render() for e in columns)])
