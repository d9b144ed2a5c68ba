"""Whether a person may enter on their own, said plainly before the rule that decides it.

"个人能报吗" asked of a contest that only units enter (cq: 创作单位为在渝企业、本科院校、科研院所) is
answered by the notice's 参与对象 clause, which never says "no": the entrant must infer it; asked
where a 自荐 route names persons (hlj, most-cas, cacsi), the best-ranked entry may be another
route's or the sign-up channel's.  Both are told here: 不能 or 可以 first, then the rule.
"""

from __future__ import annotations

import re

from contests.rules import Contest

#: The asker is a person on their own ("我是自由职业者", "个人拍的", "没有单位").
AS_A_PERSON = re.compile(r"(?<![几两三四五六多每一])个人|自由职业|私人|没有单位|没单位|不属于任何单位")
#: …asking whether they may take part (not about the people filmed: "宣传主体个人").
MAY_ENTER = re.compile(r"报名|参赛|参加|报(?:吗|不|得|嘛|么|哦)|能报|可以报|投稿")


#: A member asking as one ("我是个人会员能报吗") enters by the members' route, which names no 个人.
_AS_A_MEMBER = re.compile(r"会员")
_NOT_A_MEMBER = re.compile(r"不是[^，。,？?]{0,4}会员|非会员|没(?:有)?入会")
#: Conditions beside "may a person enter" that the plain yes would not answer: a count, another's
#: work, not the first maker, a place ("个人可以报名两部吗", "转载别人的视频", "我是外省的").
_CONDITIONS = re.compile(
    r"\d|[两几二三四五]部|多部|转载|别人|他人|非原创|不是第一|外省|外地|省外|港澳|台湾|外国|国外"
)


def person_may_enter(contest: Contest, text: str) -> tuple[str, str] | None:
    """For a person asking plainly whether they may enter ("个人能报吗", "不是会员的个人能不能报"):
    the plain answer and the id of the entry whose rule decides it; None for any other question,
    for a member, for a yes a condition said beside it would qualify (两部, 转载别人的, 外省), and
    where no route names persons though a 自荐 route exists (envoy's names 单位或组织: left to the
    search)."""
    if not (AS_A_PERSON.search(text) and MAY_ENTER.search(text)):
        return None
    if not any(route.kind == "self" for route in contest.channels):
        who = next((route.submitter for route in contest.channels if route.submitter), "")
        said = f"不能以个人名义报名：报名者须为{who}。" if who else "不能以个人名义报名。"
        return said, "fact:audience"
    if _CONDITIONS.search(text) or (_AS_A_MEMBER.search(text) and not _NOT_A_MEMBER.search(text)):
        return None
    routes = (r for r in contest.channels if r.kind == "self" and "个人" in f"{r.label}{r.submitter}")
    route = next(routes, None)
    return (f"可以：个人可通过「{route.label}」报名。", f"fact:channels.{route.id}") if route else None
