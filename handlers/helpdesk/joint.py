"""Who submits a work several people or bodies made, said first, then the rule of each route.

"我们所和隔壁大学合拍了一部，两家能各报一次吗", "好几家机构一起做的视频走自荐，应该哪家出面报",
"几个同学一起做的，该由谁来自荐": the notices answer each with their route's 提交人 rule (只能由第一
作者/第一制作单位/第一制作机构/第一制作人提交, 限1部), but the question's story (合拍, 隔壁大学, 出面)
shares few words with it and the search hands it off or answers with the route's places.  The rule is
the preset's ``submitter`` of each route, quoted from the clause of the notice that states it; a work
about the 三区 asks the same rule's 三区 part ("涉及“三区”的微视频须由该区域的作者提交").
"""

from __future__ import annotations

import re

from contests.rules import Contest, EntryRoute
from handlers.helpdesk.index import KnowledgeBase
from handlers.helpdesk.quoting import quote_of

_MAKE = r"(?:拍|做|制作|创作|出品|完成|摄制|折腾|弄)"
#: Made by several: 合拍, 两家合作的片子, 跟农科院合作拍了, 几个同学一起做了, 多个单位共同制作.
JOINT = re.compile(
    rf"合拍|联合{_MAKE}|共同(?:参与)?{_MAKE}|一起{_MAKE}|合作{_MAKE}|合作的(?:片子|作品|视频|片)"
    rf"|(?:两|几|多|好几|[2-9二三四五六])(?:家|个|位|所)[^，。？?！!]{{0,8}}(?:一起|合作|共同|联合)"
    rf"|组队|组团|团队(?:创作|制作|合作)|[两三四五六几多]个?人(?:一起|合作|合拍|组)"
    rf"|(?:和|跟|与)[^，。？?！!]{{1,12}}(?:合作|一起|共同|联合)[^，。？?！!]{{0,3}}{_MAKE}"
)
#: The makers are persons (同学, 几个人) or bodies (两家, 机构, 大学); None where the question does not say.
_PERSONS = re.compile(
    r"同学|队长|队员|几个人|多人|[两三四五六几]个?人|作者|导演|剪辑|组队|组团|团队|朋友|同事"
)
_BODIES = re.compile(r"[两几多]家|单位|机构|公司|大学|学校|研究所|[我本]所|院|局|台|中心")
#: A work about the 三区 (革命老区、边远贫困地区、边疆少数民族地区).
THREE_AREAS = re.compile(r"三区|革命老区|边远|贫困地区|边疆|少数民族地区")
#: Asking who submits, or in whose name.
ASKS_WHO = re.compile(r"谁|哪家|哪个(?:单位|机构|人|来|去)|哪一(?:家|个|方)|哪方|出面|什么名义|名义")
#: Asking whether each maker may enter it again ("两家能各报一次吗", "能不能再单独报一次").
_SEND = r"(?:报|交|提交|投|申报|自荐|推荐)"
ASKS_EACH = re.compile(
    rf"各(?:自|报各的)?{_SEND}|分别{_SEND}|都(?:能|可以)?{_SEND}|单独(?:再)?{_SEND}|再(?:单独)?{_SEND}"
    rf"|(?:两|2|二)次|多(?:个|一个|一次)机会"
)
#: Asking whether the 三区 work may take a 三区 place ("能不能占用三区那个名额").
_ASKS_PLACE = re.compile(r"名额|占用|算(?:不算|吗)|能不能|可以吗|可不可以")
#: A work made there ("拍了个边疆少数民族地区的片子"), not a province asking for its 三区 place.
_MADE_THERE = re.compile(r"拍|片子|题材|涉及")
#: The area is what the work is about ("拍了个革命老区的片子", "边疆题材的片子"), not where the asker is
#: ("我们是边疆的单位，拍了片子，谁来推荐": who recommends, not the 三区 rule).
_ABOUT_THERE = re.compile(
    rf"(?:拍|涉及|关于|讲|反映|记录)[^，,。？?！!]{{0,8}}(?:{THREE_AREAS.pattern})"
    rf"|(?:{THREE_AREAS.pattern})[^，,。？?！!]{{0,6}}(?:题材|片子|故事|作品|视频|内容)"
)
#: "Who" of another errand: who signs, seals, fills in a cell or reviews ("合拍的，承诺书谁签字").
_OTHER_ERRAND = re.compile(r"签字|签名|签章|盖章|盖谁|填|写|栏|格|署名|审核|联系|寄|邮")
#: A count asked ("三区的省能推几部"): the places' business, not who submits.
_ASKS_COUNT = re.compile(r"几部|几个名额|多少")
#: Who the rule names: 第一作者, 第一制作单位, 第一制作机构, 第一制作人.
FIRST = re.compile(r"第一(?:制作单位|制作机构|制作人|作者)")


def _parts(route: EntryRoute, three_areas: bool, persons: bool | None, strict: bool = False) -> list[str]:
    """The parts of the route's 提交人 rule the question is about: its 三区 part for a 三区 work, else
    the parts for works several made (多个单位共同…, 多人参与…: of persons or of bodies, as the asker
    says), else those naming who comes first.  ``strict``: none where the route has no part for the
    makers the asker says (persons, where only 机构 may 自荐)."""
    parts = [p.strip("。 ") for p in re.split(r"[；;]", route.submitter) if p.strip("。 ")]
    if three_areas:
        return [p for p in parts if "三区" in p]
    firsts = [p for p in parts if FIRST.search(p)]
    if persons is not None:
        kind = [p for p in firsts if bool(re.search(r"多人|制作人|作者", p)) == persons]
        firsts = kind if kind or strict else firsts
    return [p for p in firsts if re.search(r"多个|多人|共同|参与制作", p)] or firsts


def _clause_of(base: KnowledgeBase, part: str) -> tuple[str, str] | None:
    """The notice's clause stating ``part`` (the one naming the same 第一… with most of its words),
    its source and the words of it to quote."""
    key = FIRST.search(part) or re.search(r"三区", part)
    if key is None:
        return None
    grams = {part[i : i + 2] for i in range(len(part) - 1)}
    clauses = [e for e in base.entries if e.kind == "clause" and key.group(0) in e.text]
    if not clauses:
        return None
    best = max(clauses, key=lambda e: sum(g in e.text for g in grams))
    return best.source, quote_of(best.text, part)


def joint_submitter(
    base: KnowledgeBase, contest: Contest, text: str, route: str | None
) -> tuple[str, str] | None:
    """The reply for a question about who submits a work several made (or a 三区 work), and the id
    of the route entry it stands for; None for any other question or where no route has the rule.
    ``route`` is the draft's or the one the question names: only its rule is said."""
    three_areas = bool(
        THREE_AREAS.search(text) and _MADE_THERE.search(text) and _ABOUT_THERE.search(text)
    ) and not _ASKS_COUNT.search(text)
    joint = bool(JOINT.search(text))
    each = bool(ASKS_EACH.search(text))
    who = bool(ASKS_WHO.search(text))
    if not (joint or three_areas) or not (each or who or (three_areas and _ASKS_PLACE.search(text))):
        return None
    if _OTHER_ERRAND.search(text):
        return None
    persons = None
    if _PERSONS.search(text) and not _BODIES.search(text):
        persons = True
    elif _BODIES.search(text) and not _PERSONS.search(text):
        persons = False
    routes = [r for r in contest.channels if r.submitter and (route is None or r.id == route)]
    # Each route's rule for the makers the asker says; any route's where none has one.
    chosen = [(r, p) for r in routes for p in _parts(r, three_areas and not joint, persons, strict=True)] or [
        (r, p) for r in routes for p in _parts(r, three_areas and not joint, persons)
    ]
    if not chosen:
        return None
    firsts = list(dict.fromkeys(m.group(0) for _, p in chosen for m in FIRST.finditer(p)))
    first = "或".join(firsts)
    if three_areas and not joint:
        lead = ""  # the rule's own words say it
    elif each:
        lead = f"不可以分别报：几方共同制作的同一部作品只报一次，由{first}提交。"
    else:
        lead = f"由{first}提交。"
    lines, quoted = [lead] if lead else [], set()
    for r, part in chosen:
        lines.append(f"{r.label}：{part}。")
        cited = _clause_of(base, part)
        if cited is not None and cited not in quoted:
            quoted.add(cited)
            lines.append(f"（依据：{cited[0]}：“{cited[1]}”）")
    return "\n".join(lines), f"fact:channels.{chosen[0][0].id}"


#: A team asked about ("可以几个人组队做吗", "主办方对团队创作是啥态度").
TEAM = re.compile(
    r"组队|组团|团队(?:创作|合作|制作)|(?:几个人|多人|多个人|好几个人|[两三四五六几]个?人)(?:一起|合作|合拍)?.{0,3}(?:做|拍|制作|创作|参加|报)"
)
_MAY_OR_HOW = re.compile(r"可以|能不能|能否|能吗|行吗|行不行|允许|态度|只能|还是")
#: The several people are what is filmed ("视频里可以拍几个人一起做实验吗", "画面里能不能出现三个人一起
#: 做饭的镜头"), not who makes the work.
_FILMED = re.compile(
    r"视频里|片子里|画面|镜头|出镜|出现|拍(?:摄)?[^，,。？?]{0,2}(?:几|多|好几|[两三四五六])个?人"
)
#: What 团队合作 does not say: how big a team may be ("队伍最多几个人"), how many works it enters.
_TEAM_SIZE = re.compile(r"最多|最少|几个人$|几个人(?:以内|为限)|人数|多个作品|几部")


def team_work(base: KnowledgeBase, text: str) -> tuple[str, str] | None:
    """ "可以几个人组队做吗": 可以, where a clause of the notice encourages 团队合作, with that clause;
    None for any other question, a notice without one, or one asking who submits (:func:`joint_submitter`)."""
    if (
        not (TEAM.search(text) and _MAY_OR_HOW.search(text))
        or ASKS_WHO.search(text)
        or ASKS_EACH.search(text)
        or _FILMED.search(text)
        or _TEAM_SIZE.search(text)
    ):
        return None
    clause = next((e for e in base.entries if e.kind == "clause" and "团队合作" in e.text), None)
    if clause is None:
        return None
    said = f"可以，通知鼓励团队合作。\n（依据：{clause.source}：“{quote_of(clause.text, '鼓励团队合作')}”）"
    return said, clause.id
