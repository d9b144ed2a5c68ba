"""A plain 可以 before the clause that allows what a yes-or-no question asks about.

"能用手机拍吗" is answered by hlj's 制作要求 ("可通过PC、手机、相机……摄录"), which allows it without the
word the entrant waits for: the clause is quoted, and 可以 is said first only where the clause
itself allows the very thing asked (the asked word inside the allowing phrase) and forbids
nothing near it. Where it both allows and forbids, or the word is elsewhere, nothing is added.
And a plain 不行 where the question offers what the clause's requirement rules out (a link kept for
7 days where it must be permanent, a signature where a seal is required).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

#: A question asking whether something may be done or is accepted ("行不行", "能用…吗", "要得不").
ASKS_MAY = re.compile(
    r"能不能|能否|可不可以|可否|行不行|成不成|中不中|要得不|允(?:许|不允许)"
    r"|(?:能|可以|行|成)[^。？?！!，,]{0,14}(?:吗|么|嘛|不|没)(?:[?？。！!]|$)"
    r"|(?:可以|行|能)(?:吗|么|嘛|不)|算不算"
)
#: A question that asks more than may-or-may-not (a figure, a list, a way), which 可以 does not answer.
ASKS_MORE = re.compile(r"多少|几|哪些|哪个|什么|啥|怎么|如何|为什么|多大|多长|多久")
#: The clause allows: its subject just before ("作品形式可为…") and the words after, up to the
#: phrase's end, are what is allowed.
_ALLOWS = re.compile(r"[^。；;，,]{0,6}(?:可为|可通过|可配|可以|可用|可采用|均可|鼓励)[^。；;！!？?]{0,60}")
_FORBIDS = re.compile(r"不得|不能|禁止|不允许|不接受|不可|严禁|不予")
#: A figure in the question ("动画可以做10分钟吗"): whether it fits is a matter of the bound, not of 可以.
_FIGURE = re.compile(r"\d|[一二两三四五六七八九十百]+\s*(?:分钟|分|秒|兆|部|个|张|人|M|G)")
#: What a question's words map to whatever is made or done ("拍" is 制作): no matter of its own.
_GENERIC = frozenset({"制作", "作品", "视频", "参加", "参赛", "报名", "使用", "提交"})


def plain_yes(question: str, clause: str, asked: Iterable[str]) -> str:
    """ "可以。" when ``clause`` allows one of the ``asked`` words of a may-I ``question``, else ""."""
    if not ASKS_MAY.search(question) or ASKS_MORE.search(question) or _FORBIDS.search(clause):
        return ""
    if _FIGURE.search(question):
        return ""
    asked = [w for w in asked if w not in _GENERIC]
    allowed = " ".join(m.group(0) for m in _ALLOWS.finditer(clause))
    # Everything asked inside the allowing phrase: "能用手机竖着拍吗" asks 竖 too, which a clause
    # allowing phones does not.
    if not asked or any(w not in allowed for w in asked):
        return ""
    return "可以。" if any(len(w) > 1 and w in question for w in asked) else ""


_DAYS = r"(?:\d+|[一二两三四五六七八九十]+)\s*(?:天|日|个月|周|年)"


class _Instead(NamedTuple):
    """What a may-I question offers instead of what a clause requires, and the plain "no" it gets."""

    offered: re.Pattern[str]
    required: re.Pattern[str]
    no: str
    #: …unless the question says it keeps the requirement after all, or the clause lets some
    #: askers do without it and the asker does not say they are a unit (then who the asker is
    #: decides, and a plain no would guess it).
    kept: re.Pattern[str] | None = None
    waived: re.Pattern[str] | None = None


_INSTEAD = (
    # A link kept for a while where the clause wants it for ever ("网盘链接设置7天有效可以吗"): the
    # days must be how long it is kept ("7天有效", "有效期30天"), not when it is opened ("链接永久
    # 有效，7天后还能打开吗").
    _Instead(
        re.compile(
            rf"{_DAYS}(?:的)?(?:有效|期限|过期|失效)|有效期[^，。？?]{{0,4}}{_DAYS}|设(?:置)?(?:成|为|了)?{_DAYS}|短期|临时"
        ),
        re.compile(r"永久有效"),
        "不行：通知要求链接设置为永久有效。",
        kept=re.compile(r"永久"),
    ),
    # A signature alone where the clause wants a unit's seal ("公章在总部盖不了，光签个字行不行"); a
    # 自荐机构's seal binds an institution, and a person entering by the same form signs it (hlj:
    # 个人自荐需手写签字; cacsi: 如以团队或个人为主体注册，则无需盖章).
    _Instead(
        re.compile(
            r"(?:光|只|仅|就)(?:签|写)[^，。？?]{0,3}(?:字|名)|不盖章|没(?:有)?盖章|盖不了|没有公章|没公章"
        ),
        re.compile(r"(?:需|须|必须)加盖公章|(?:单位|机构)（盖章）"),
        "不行：按通知，这份表须加盖公章，只签字不够。",
        waived=re.compile(
            r"无需盖章|不需(?:要)?盖章|不用盖章|个人[^，。；;]{0,6}(?:签字|签名)|为主体注册时|自荐机构（盖章）"
        ),
    ),
    # No one on screen where the clause wants a real person ("纯动画没人出镜行吗", "全用航拍不拍人").
    _Instead(
        re.compile(
            r"(?:不|没有?|无)(?:出现|拍)(?:真)?人|(?:没|没有|无)(?:真)?人出镜|不拍人|没人出镜"
            r"|(?:纯|全用|全是|只用)(?:动画|航拍|风景|空镜)|只拍(?:风景|景色|大棚|果树|庄稼|田|空镜)"
        ),
        re.compile(r"真人出镜"),
        "不行：通知要求有真人出镜。",
    ),
    # A title card, credits or a logo kept where the clause wants them gone ("片头片尾能保留吗", "做了个
    # 单位logo的片头…能保留吗"; cq: 去除所有水印和片头片尾).
    _Instead(
        re.compile(
            r"(?:保留|留着|留下|加|放|带|加上)[^，,。？?]{0,8}(?:片头|片尾|水印|logo|台标)"
            # not one the asker already took out ("片头片尾去掉了，这样原声能保留吗": the sound kept)
            r"|(?:片头|片尾|水印|logo|台标)(?:(?!去掉|去除|去了|删|剪掉)[^？?]){0,16}(?:保留|留着|留下|不去|不删)"
        ),
        re.compile(r"去除[^。；]{0,4}(?:水印|片头)"),
        "不行：通知要求去除所有水印和片头片尾。",
    ),
)
#: The asker enters as a person, an author or a team, whose part of a form is signed, not sealed.
_AS_PERSON = re.compile(r"个人|自己|本人|我一个人|作者|团队")
#: …or as a unit, whose seal a form wants even where persons sign instead ("单位推荐的表", "我们公司").
_AS_UNIT = re.compile(r"单位|机构|公司|企业|学校|院校|协会|学会|研究所|研究院")


#: A may-I piece that points back at what the rest of the message offered.
_POINTS_BACK = re.compile(r"这些|这样|这个|它们|它")


def plain_no(question: str, clause: str, piece: str = "") -> str:
    """A plain "不行" when a may-I ``question`` offers, instead of what ``clause`` requires, a thing
    the clause rules out (a link kept for days where it must be permanent); else "".  ``piece`` is
    the part of it that asks may-I (the whole question where empty): what is offered must be there
    ("只拍果树的话，可以用手机拍吗" offers the phone, not a film without people); who asks is read
    in the whole."""
    # "…，这些能保留吗": the piece points back at what the rest offered
    asked = question if not piece or _POINTS_BACK.search(piece) else piece
    if not ASKS_MAY.search(asked) or _AS_PERSON.search(question):
        return ""
    for case in _INSTEAD:
        if (
            case.offered.search(asked)
            and case.required.search(clause)
            and not (case.kept and case.kept.search(question))
            and not (case.waived and case.waived.search(clause) and not _AS_UNIT.search(question))
        ):
            return case.no
    return ""
