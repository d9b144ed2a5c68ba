"""Whether a person may enter on their own, said plainly before the rule that decides it.

"个人能报吗" asked of a contest that only units enter (cq: 创作单位为在渝企业、本科院校、科研院所) is
answered by the notice's 参与对象 clause, which never says "no": the entrant must infer it; asked
where a 自荐 route names persons (hlj, most-cas, cacsi), the best-ranked entry may be another
route's or the sign-up channel's.  Both are told here: 不能 or 可以 first, then the rule.
"""

from __future__ import annotations

import re

from contests.names import PROVINCES, SUB_PROVINCIAL_CITIES
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


#: The kinds of body a notice's 参与对象 names, and how an asker says they are one ("我们是县委宣传部
#: 的" is a 宣传部门, "我是农业大学的老师" of the 院校师生).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("宣传部门", re.compile(r"宣传部")),
    ("农业部门", re.compile(r"农业(?:农村)?局|农业部门|农业农村部门")),
    ("科技部门", re.compile(r"科技局|科技厅|科委|科技部门")),
    ("影视制作公司", re.compile(r"影视(?:制作)?公司|影视工作室|影视传媒")),
    ("院校师生", re.compile(r"大学|学院|高校|院校")),
    ("本科院校", re.compile(r"大学|学院|高校|院校")),
    ("科研院所", re.compile(r"研究所|研究院|科学院|农科院|科研院所")),
    ("社会团体", re.compile(r"协会|学会|研究会")),
    ("企事业单位", re.compile(r"公司|企业|事业单位")),
    ("企业", re.compile(r"公司|企业")),
)
#: The asker says what they are ("我们是…的", "我是…", "我们单位是…").
_ASKER_IS = re.compile(r"(?:我们|我|俺们|咱们|本单位|我们单位)(?:这边|这里)?(?:是|属于|在)")
#: The asker's own college a vocational one ("我们是一所高职", "我们是重庆的职业技术学院"), which a
#: notice naming 本科院校 does not list; not a person filmed (高级技师) nor a part of a university.
_VOCATIONAL = re.compile(
    r"(?<=我们是)[^，,。？?]{0,8}?(高职|专科|职业技术|中专|技师|技工)(?=[^，,。？?]{0,6}(?:学院|学校|院校|$|[，,。？?\s]))"
    r"|(?<=我们是一所)(高职|专科|中专)|(?<=我们是重庆的一所)(高职|专科|中专)"
)
#: …unless it says it is undergraduate (职业技术大学, 职业本科, 属于本科).
_UNDERGRADUATE = re.compile(r"职业技术大学|职业大学|职业本科|本科(?!院校)|属于本科")
#: A kind the notice does not mean by its word: a vocational college is no 本科院校; a person.
_NOT_THE_KIND = re.compile(r"职业|高职|专科|技师|技工|中专|个人")


def kind_may_enter(contest: Contest, audience: str, text: str) -> str | None:
    """For a body asking plainly whether its kind may enter ("我们是县委宣传部的，也能报吗"), 可以 with
    the words of ``audience`` (the notice's 参与对象) that name its kind; None when the question
    asks more (a count, another's work), the asker says no kind the audience names, or the
    audience qualifies that kind by a place the question does not name (cq: 在渝企业)."""
    if not (_ASKER_IS.search(text) and MAY_ENTER.search(text)) or _CONDITIONS.search(text):
        return None
    if _ANOTHER_BODY.search(text):
        return None
    vocational = _VOCATIONAL.search(text)
    if vocational and "本科院校" in audience and not _UNDERGRADUATE.search(text):
        # "我们是一所高职，专科院校可以报吗": the notice lists 本科院校, which a vocational college is not
        kind = next(g for g in vocational.groups() if g)
        return f"不在所列之内：通知的参与对象写的是“本科院校”，{kind}院校不在其中。"
    if _NOT_THE_KIND.search(text):
        return None
    for kind, said in _KINDS:
        at = audience.find(kind)
        if at < 0 or not any(not _DENIED.search(text[: m.start()]) for m in said.finditer(text)):
            continue
        qualified = re.search(r"在([\u4e00-\u9fff])$", audience[:at])  # "在渝企业": 渝 or 重庆 must be said
        if qualified and (
            (qualified.group(1) not in text and _PLACES.get(qualified.group(1), "-") not in text)
            or any(p in text for p in _PLACE_NAMES if p != _PLACES.get(qualified.group(1)))
        ):
            return None
        start = qualified.start() if qualified else at
        return f"可以：通知的参与对象包括“{audience[start : at + len(kind)]}”。"
    return None


#: What the asker says they are not ("不是科技部门"), just before the kind's word.
_DENIED = re.compile(r"(?:不是|并非|非|不属于)[^，,。；]{0,6}$")
#: A place's one-character name in a notice, and its full one.
_PLACES = {"渝": "重庆", "京": "北京", "沪": "上海", "津": "天津"}
#: The provinces and 副省级城市 as askers name them ("四川的企业", "成都的公司"): a body of another
#: place than the one a kind is qualified by is not told yes.
_PLACE_END = re.compile(r"(?:省|市|(?:壮族|回族|维吾尔)?自治区|特别行政区)$")
_PLACE_NAMES = tuple(_PLACE_END.sub("", n) for n in (*PROVINCES, *SUB_PROVINCIAL_CITIES))
#: Another body than the asker's is asked about ("我们的合作企业…他们能报吗", "合作的公司也能参加吗"):
#: the asker's own kind does not answer for it.
_ANOTHER_BODY = re.compile(r"他们|[他她]|对方|人家|合作(?:的|方|单位|企业|公司)|请的|找的|委托的")
