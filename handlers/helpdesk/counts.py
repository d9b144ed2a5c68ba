"""Whether the number of works (or 科普号) the asker says they will send fits a quota rule.

"我们单位自荐报2部可以吗" is answered by envoy's 自荐 rule (不超过1部), which the entrant must
compare with their 2 themselves; "三条都报行吗", "推荐了6部，超了吗" likewise.  The verdict is said
first — 可以 where the count is within the rule's places, 不可以 where it is over (or under a
minimum, cq's 3—5部) — and the rule's clause follows as the answer it was.  Where the count falls
inside places only a 三区 unit has, who the asker is decides, and nothing is said first.
"""

from __future__ import annotations

import re

from contests.rules import Contest, QuotaRule
from handlers.helpdesk.fits import ASKS_FIT
from handlers.helpdesk.polarity import ASKS_MAY
from validators.spoken import number_of

_N = r"\d{1,3}|[一二两三四五六七八九十]{1,3}"
#: A count of works the asker will send: "报1部", "三条都报", "两个作品", "6部片子", "推荐3个科普号".
#: 部 counts works on its own; 个/条/支 only with what they count ("两个作品", "三条片子"), before
#: 都 ("三条都报") or after a sending verb ("推荐3个").
_WORKS = re.compile(
    rf"(?P<n>{_N})\s*(?:部(?!手机|相机|电脑|分|门)"
    rf"|(?:个|条|支)\s*(?:(?P<what>作品|片子|视频|微视频|短视频|科普号|账号)|(?=都)))"
)
_SENDS = re.compile(rf"(?:报|推|交|送|荐|投)[了上去个]{{0,2}}\s*(?P<n>{_N})\s*(?:个|条)(?P<acc>科普号|账号)?")
#: A second sending beside the first ("再推荐", "同时走省级推荐"): one work twice, not a count.
_TWICE = re.compile(r"再|又|同时|另外|另|也|重复|两条路|两个渠道")
#: A count said as a bound, not as the works offered ("5个以上", "多于3部", "超过6部").
_BOUND = re.compile(rf"(?:{_N})\s*(?:部|个|条)?\s*(?:以上|往上|多(?!少)|起)|多于|超过|不止|大于|以上")
#: "最多几部", "能报几个": a figure asked for, not a count offered for judgement.
_ASKS_FIGURE = re.compile(r"几|多少|上限|最多|至多")


def _count(text: str) -> tuple[int, bool] | None:
    """The one count the question offers, and whether it counts 科普号 (accounts) not works."""
    found: list[tuple[int, bool]] = []
    for m in _WORKS.finditer(text):
        n = m.group("n")
        value = number_of(n)
        if value is not None:
            found.append((int(value), m.group("what") in ("科普号", "账号")))
    spans = [m.span("n") for m in _WORKS.finditer(text)]
    for m in _SENDS.finditer(text):
        n = m.group("n")
        value = number_of(n)
        if value is not None and m.span("n") not in spans:  # the same figure read by both
            found.append((int(value), m.group("acc") is not None))
    # Two counts ("收到8个，推几个": the received and the sent) or one work sent twice ("自荐1部，单位
    # 再推荐1部") leave the asker's own unclear; so does a count said as a bound ("5个以上", "多于3部").
    if len(set(found)) != 1 or _TWICE.search(text) or _BOUND.search(text):
        return None
    return found[0]


#: A city named that is neither a province-level one nor a 副省级 one (石家庄市): whose places it
#: has, the rule of the province it is in does not say.
_CITY = re.compile(
    r"(?<!直辖)(?!北京|上海|天津|重庆|大连|青岛|宁波|厦门|深圳|哈尔滨|长春|沈阳|南京|杭州|济南|武汉|广州|成都|西安)"
    r"[\u4e00-\u9fff]{2,3}市(?!级|场|民|面|里)"
)
#: The level of an office the asker names: 县 of 县科技局, 市 of 市科委.
_LEVEL = re.compile(r"([县市区乡镇])(?:里|级)?的?(?:科技局|科协|科委|科技部门|政府|宣传部|文旅局|农业局)")
#: Words of a rule's or route's label that name no one in particular.
_GENERIC = frozenset({"推荐", "单位", "作品", "地方", "社会", "征集", "部门", "机构", "管理", "其它", "其他"})


def quota_rule(contest: Contest, entry_id: str, question: str) -> QuotaRule | None:
    """The rule a ``fact:quota.<route>.<kind>`` entry states, where ``question`` names who it binds
    (a word of its label or its route's: 自荐, 特派团, 个人会员); None for any other entry, and
    where the search chose the rule for an asker who said nothing of who they are ("我们拍了两部，
    都报可以吗": a province's 10 or a county team's 1)."""
    if not entry_id.startswith("fact:quota."):
        return None
    route_id, _, kind = entry_id.removeprefix("fact:quota.").partition(".")
    route = next((r for r in contest.channels if r.id == route_id), None)
    rule = next((q for q in route.quota if q.kind == kind), None) if route is not None else None
    if rule is None or route is None:
        return None
    # Pairs of characters only this rule's label (or its route's) has: 科技, 技局 or 市科 name every
    # kind of office and are no sign of which one asks.
    others = " ".join(
        [contest.title, *(r.label for c in contest.channels for r in c.quota if r is not rule)]
        + [c.label for c in contest.channels if c is not route]
    )
    label = f"{rule.label} {route.label}"
    pairs = {label[i : i + 2] for i in range(len(label) - 1)} - _GENERIC
    own = {p for p in pairs if re.fullmatch(r"[\u4e00-\u9fff]{2}", p) and p not in others}
    # An office of a level the rule does not name ("我们县科技局" under a province's rule).
    if any(level not in rule.label for level in _LEVEL.findall(question)):
        return None
    return rule if any(p in question for p in own) else None


def count_verdict(
    question: str, rule: QuotaRule, *, in_bonus: bool | None = None, uncapped: bool = False
) -> str:
    """可以/不可以 for the count a may-I ``question`` offers against ``rule`` ("" where it offers
    none, asks for a figure, or the 三区 place of an unnamed unit decides).  ``in_bonus``: whether
    the asker's unit is known to be on the 三区 list (None: not known)."""
    if not (ASKS_MAY.search(question) or ASKS_FIT.search(question)) or _ASKS_FIGURE.search(question):
        return ""
    if _CITY.search(question):  # "石家庄市科技局": a city with no places of its own under a province's rule
        return ""
    counted = _count(question)
    if counted is None:
        return ""
    n, accounts = counted
    most = rule.max_accounts if accounts else rule.max_works
    least = None if accounts else rule.min_works
    what = "个科普号" if accounts else "部"
    if most is None and least is None:
        return ""
    extra = rule.bonus if rule.bonus and not accounts else 0
    if most is not None and extra and in_bonus is None:
        if n <= most:
            return f"可以：{n}{what}在名额之内。"
        if n <= most + extra:
            return ""  # only a 三区 unit may: who asks decides
        return f"不可以：{n}{what}超过了名额，最多{most}{what}（“三区”名单内的{most + extra}{what}）。"
    most = most + extra if most is not None and in_bonus else most
    if most is not None and n > most and uncapped:
        return ""  # envoy: a province's count is not capped by its 帮扶县 teams' works
    if most is not None and n > most:
        return f"不可以：{n}{what}超过了名额，最多{most}{what}。"
    if least is not None and n < least:
        return f"不可以：{n}{what}不够，至少{least}{what}。"
    return f"可以：{n}{what}在名额之内。"


def _uncapped(contest: Contest, rule: QuotaRule) -> bool:
    """Whether units of another kind on the same route add works beyond ``rule``'s cap (envoy: a
    province's 帮扶县 teams recommend theirs 不受10部限制)."""
    route = next((c for c in contest.channels if rule in c.quota), None)
    return route is not None and any(not r.counted_in_parent for r in route.quota if r is not rule)


#: Who offers the count is a creating unit or a person, not the unit that recommends ("我们是渝北
#: 区的公司，报2个作品可以吗": the district's 3—5 are not the company's).
_CREATOR = re.compile(r"公司|企业|高校|大学|学院|学校|研究所|研究院|医院|个人|作者|自荐|我(?!们|省|市|区|县)")


def verdict_for(contest: Contest, rule: QuotaRule, question: str, *, in_bonus: bool | None = None) -> str:
    """:func:`count_verdict` for ``rule`` as the asker's, where the question offers its count as the
    recommending unit; "" where a creating unit or a person offers it."""
    if _CREATOR.search(question) and not rule.personal and not _SELF_RULE.search(rule.label):
        return ""
    return count_verdict(question, rule, in_bonus=in_bonus, uncapped=_uncapped(contest, rule))


#: A rule whose units are the entrants themselves (自荐's 单位或组织, 公民).
_SELF_RULE = re.compile(r"单位或组织|公民|个人|法人机构|团体")
