"""How many works *this* unit may recommend: the quota rule a question's unit falls under.

"万州区能推几个" and "渝北区能推几个" have different answers in cq (其它区县 1–2, the twelve named
districts 3–5); "北京市科委能推荐几部" is a province's 5 without the 三区 place, "大连" a 计划单列市's 3.
The unit is recognised by name (the rule's own list, its 三区 list), by the kind of unit the rule's
label names (省/自治区/直辖市, 计划单列市/副省级城市, 兵团, 联席会议成员单位, 区县, 单位会员 …), and
for those kinds by the country's provincial-level and sub-provincial names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from contests.names import PROVINCES, SUB_PROVINCIAL_CITIES
from contests.rules import Contest, EntryRoute, QuotaRule
from handlers.helpdesk.analyzer import normalise

#: A question about how many: with a unit named, it asks that unit's places ("城口县4个都能推荐吗").
HOW_MANY = re.compile(r"几|多少|全部|都能|都可以|能推荐|可以推荐|能报|推荐上去")
#: A question whether a unit is among the 三区 (not a story that mentions their places).
ASKS_BONUS = re.compile(
    r"(?:算不算|是不是|属不属于|在不在|有没有|算|是|属于|也在|应该在).{0,8}三区"
    r"|三区.{0,8}(?:吗|么|嘛|吧|没有|不|没)(?:[?？。]|$)"
)

_SUFFIX = re.compile(r"(维吾尔|壮族|回族)?(自治区|特别行政区|自治县|省|市|区|县|新区)$")


def core(name: str) -> str:
    """A unit's name without its administrative suffix: 渝北区 -> 渝北, 广西壮族自治区 -> 广西."""
    stem = _SUFFIX.sub("", name)
    return stem if len(stem) >= 2 else name


@dataclass(frozen=True, slots=True)
class NamedUnit:
    """The rule a named unit falls under, and what the question named."""

    route: EntryRoute
    rule: QuotaRule
    named: str  # the unit or kind as the question put it
    in_bonus: bool | None  # None: the rule grants no extra places by name


def _named(text: str, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in text or core(n) in text), None)


def listed_units(contest: Contest) -> tuple[str, ...]:
    """Units the contest names anywhere: its rules' lists and its forms' choices of recommender."""
    names = [u for route in contest.channels for rule in route.quota for u in rule.units]
    for form in contest.forms:
        for field in form.fields:
            if field.options and field.role in ("recommender", "unit"):
                names.extend(field.options)
    return tuple(dict.fromkeys(names))


def place_of(question: str, contest: Contest) -> NamedUnit | None:
    """The quota rule of the unit a question names, or None when it names none that a rule fits."""
    rules = [(route, rule) for route in contest.channels for rule in route.quota]
    for route, rule in rules:  # a unit the rule lists by name decides at once
        unit = _named(question, rule.units)
        if unit:
            return NamedUnit(route, rule, unit, None)
    listed = _named(question, listed_units(contest))
    if listed:  # named by the notice but in no rule's list: the rule for the others of its kind
        for route, rule in rules:
            if not rule.units and re.search(r"其[它他]", rule.label):
                return NamedUnit(route, rule, listed, None)
    province = _named(question, PROVINCES)
    city = _named(question, tuple(SUB_PROVINCIAL_CITIES))
    for route, rule in rules:
        label = rule.label
        if city and ("计划单列市" in label or "副省级" in label):
            return NamedUnit(route, rule, city, None)
        if re.search(r"计划单列市|副省级|兵团", question) and re.search(r"计划单列市|副省级|兵团", label):
            kind = re.search(r"计划单列市|副省级城市|兵团", question)
            return NamedUnit(route, rule, kind.group(0) if kind else label, None)
        if re.search(r"联席会议|成员单位", question) and "联席会议" in label:
            return NamedUnit(route, rule, "全国科普工作联席会议成员单位", None)
        if re.search(r"单位会员|个人会员", question) and label in re.findall(r"单位会员|个人会员", question):
            return NamedUnit(route, rule, label, None)
    for route, rule in rules:
        label = rule.label
        if (
            not city
            and (province or re.search(r"省|自治区|直辖市|科技厅", question))
            and ("省" in label and "计划单列市" not in label)
        ):
            named = province or "省级单位"
            # A province unnamed ("我们省", "省科技厅") may or may not be on the 三区 list.
            on_list = any(core(u) == core(named) for u in rule.bonus_units)
            bonus = None if not rule.bonus_units or not province else on_list
            return NamedUnit(route, rule, named, bonus)
        if not rule.units and re.search(r"区|县", question) and re.search(r"区县|区、县", label):
            return NamedUnit(route, rule, "区县", None)
    return None


def describe(place: NamedUnit, quota: str) -> str:
    """The answer: the unit, the rule it falls under, its places (``quota`` as the facts word it)."""
    rule = place.rule
    label = (
        rule.label if not rule.units or len(rule.label) <= 20 else f"通知列名的{len(rule.units)}个单位之一"
    )
    text = f"{place.named}属于“{label}”（{place.route.label}）：{quota}。"
    if place.in_bonus is True:
        total = (place.rule.max_works or 0) + place.rule.bonus
        text += f"{place.named}在“三区”名单内，增加{place.rule.bonus}个名额，共{total}部。"
    elif place.in_bonus is False:
        text += f"{place.named}不在“三区”名单内，不增加名额。"
    elif rule.bonus_units and rule.bonus:
        text += f"在“三区”名单内的增加{rule.bonus}个名额，共{(rule.max_works or 0) + rule.bonus}部。"
    return text


#: A part of a message about some unit's places or the 三区 ("有没有三区加的名额").
_ABOUT_PLACES = re.compile(
    r"名额|三区|几部|几个(?!小时|钟头|月|星期|礼拜|工作日|字|人)|多少部|多少个(?!小时|字)|推荐几|能推|可以推"
)


#: What place_of names a unit asked of by its kind alone ("区县能推几个", "省里能推几部").
_KIND_WORDS = frozenset({"区县", "省级单位"})


def with_unit_named(
    parts: list[str], contest: Contest, read: Callable[[str], str] = lambda part: part
) -> list[str]:
    """``parts`` of one message, the unit one of them names given to the others that ask about
    places without naming one ("北京市科委能推荐几部？有没有三区加的名额" asks Beijing's 三区
    place, not the 三区 rule in general).  ``read``: the Chinese a part says (an English one's
    terms and places: "We are in Beibei. … how many can the district send on?")."""
    said = [read(p) for p in parts]
    found = [place_of(normalise(p), contest) for p in said]
    # A unit by its name (北碚区, 北京市), not the kind's word alone (区县, 省里), is the asker; a part
    # naming only its kind asks of it ("We are in Beibei … how many can the district send on?"), one
    # naming another kind asks of that kind ("联席会议成员单位推几部 省科技厅推几部").
    named = next((p for p in found if p is not None and p.named not in _KIND_WORDS), None)
    if named is None:
        return parts
    return [
        f"{named.named}{part}"
        if _ABOUT_PLACES.search(words) and (place is None or _of_kind(named.named, place.named))
        else part
        for part, words, place in zip(parts, said, found, strict=True)
    ]


def _of_kind(unit: str, kind: str) -> bool:
    """Whether the unit named is one of the kind a part names by its word alone (北碚区 a 区县)."""
    if kind == "区县":
        return bool(re.search(r"[区县]$", unit))
    return kind == "省级单位" and _named(unit, PROVINCES) is not None


#: The asker's own unit, said as "we" ("我们区能推几个", "我们能推几个", "咱们县有几个名额").
_OURS = re.compile(r"我们|咱们|俺们|我区|我县|我市|我省|本区|本县|本市|本单位")


#: Places asked with no subject at all ("能推几部", "最多可以推荐几个？"): the asker's unit's.
_NO_SUBJECT = re.compile(
    r"(?:请问)?(?:一共|总共|最多|最少|至少)?(?:能|可以)?(?:推荐|推|报送|报)(?:几|多少)(?:部|个)?[?？。]?$"
)


def of_own_unit(question: str, contest: Contest, unit: str) -> str:
    """``question`` with the asker's ``unit`` (the one their draft enters through) named, where it
    asks about "our" places and names no unit of its own; else the question as it is."""
    words = normalise(question)
    if not ((_OURS.search(words) or _NO_SUBJECT.match(words)) and _ABOUT_PLACES.search(words)):
        return question
    place = place_of(words, contest)
    if place is not None and place.named not in _KIND_WORDS:
        return question
    return f"{unit}{question}"


def each_unit(question: str, contest: Contest) -> list[str]:
    """A question about places that names two or more units by name ("江津区和北碚区分别能推几个") as
    one question per unit, in the order named, the others' names taken out; else the question alone."""
    words = normalise(question)
    if not _ABOUT_PLACES.search(words):
        return [question]
    bonus = tuple(u for ch in contest.channels for r in ch.quota for u in r.bonus_units)
    labels = " ".join(r.label for ch in contest.channels for r in ch.quota)
    # Provinces and cities are units only where a rule's places are theirs (not cq's 重庆 itself).
    regions = (*PROVINCES, *SUB_PROVINCIAL_CITIES) if re.search(r"省|计划单列市|副省级", labels) else ()
    names = (*listed_units(contest), *bonus, *regions)
    said = {
        n: question.find(core(n)) for n in dict.fromkeys(names) if len(core(n)) >= 2 and core(n) in question
    }
    # a name inside another one said ("江北" in "江北区", 北京 twice) counts once, where it stands
    named = sorted({at: n for n, at in sorted(said.items(), key=lambda kv: len(kv[0]))}.items())
    units = [n for _, n in named]
    if len(units) < 2:
        return [question]
    parts = []
    for unit in units:
        part = question
        for other in units:
            if other != unit:
                spelled = "|".join(map(re.escape, sorted({other, core(other)}, key=len, reverse=True)))
                part = re.sub(rf"[和与跟及、，,\s]*(?:{spelled})[和与跟及、，,\s]*", "", part, count=1)
        parts.append(part)
    return parts
