"""Whether a person may enter on their own, said plainly before the rule that decides it.

"个人能报吗" asked of a contest that only units enter (cq: 创作单位为在渝企业、本科院校、科研院所) is
answered by the notice's 参与对象 clause, which never says "no": the entrant must infer it.
"""

from __future__ import annotations

import re

from contests.rules import Contest, EntryRoute

#: The asker is a person on their own ("我是自由职业者", "个人拍的", "没有单位").
AS_A_PERSON = re.compile(r"个人|自由职业|私人|没有单位|没单位|不属于任何单位")
#: …asking whether they may take part (not about the people filmed: "宣传主体个人").
MAY_ENTER = re.compile(r"报名|参赛|参加|报(?:吗|不|得|嘛|么|哦)|能报|可以报|投稿")


def plainly_barred(contest: Contest, entry_id: str, text: str) -> str:
    """The plain "no" for a person asking to enter a contest no 自荐 route is open to, else ""."""
    if entry_id != "fact:audience" or any(route.kind == "self" for route in contest.channels):
        return ""
    if not (AS_A_PERSON.search(text) and MAY_ENTER.search(text)):
        return ""
    who = next((route.submitter for route in contest.channels if route.submitter), "")
    return f"不能以个人名义报名：报名者须为{who}。" if who else "不能以个人名义报名。"


#: A member asking as one ("我是个人会员能报吗") enters by the members' route, which names no 个人.
_AS_A_MEMBER = re.compile(r"会员")
_NOT_A_MEMBER = re.compile(r"不是[^，。,？?]{0,4}会员|非会员|没(?:有)?入会")
#: Conditions beside "may a person enter" that the plain yes would not answer: a count, another's
#: work, not the first maker, a place ("个人可以报名两部吗", "转载别人的视频", "我是外省的").
_CONDITIONS = re.compile(
    r"\d|[两几二三四五]部|多部|转载|别人|他人|非原创|不是第一|外省|外地|省外|港澳|台湾|外国|国外"
)


def person_route(contest: Contest, text: str) -> EntryRoute | None:
    """The 自荐 route naming persons ("其他机构和个人自荐") that a person asking plainly whether they
    may enter ("个人能报吗", "不是会员的个人能不能报") takes; None when the question sets conditions
    (两部, 转载别人的, 外省), speaks as a member, or no route names persons."""
    if not (AS_A_PERSON.search(text) and MAY_ENTER.search(text)) or _CONDITIONS.search(text):
        return None
    if _AS_A_MEMBER.search(text) and not _NOT_A_MEMBER.search(text):
        return None
    return next(
        (r for r in contest.channels if r.kind == "self" and "个人" in f"{r.label}{r.submitter}"), None
    )


def plainly_open(route: EntryRoute) -> str:
    """The plain "yes" said before the route's own rule."""
    return f"可以：个人可通过「{route.label}」报名。"
