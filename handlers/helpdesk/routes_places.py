"""Answers about places and routes: how many works the unit a question names may recommend (its
rule, and a count offered judged against it), the other tiers beside one, and every route where a
question asks which to take or how they differ."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from contests.rules import Contest, EntryRoute
from handlers.helpdesk.analyzer import Query, normalise
from handlers.helpdesk.counts import quota_rule, verdict_for
from handlers.helpdesk.english import english_answer
from handlers.helpdesk.facts import quota_text
from handlers.helpdesk.foreign import route_named
from handlers.helpdesk.index import Entry, Hit, KnowledgeBase
from handlers.helpdesk.places import ASKS_BONUS, HOW_MANY, NamedUnit, describe, listed_units, place_of
from handlers.helpdesk.replies import HelpAnswer


def unit_places(
    contest: Contest, base: KnowledgeBase, query: Query, text: str, english: bool
) -> HelpAnswer | None:
    """How many works the unit the question names may recommend, from the rule it falls under, a
    count of works offered judged against it first; None where the question names no unit or asks
    no count."""
    bonus = bool(ASKS_BONUS.search(text))  # "北京算不算三区": the unit's standing decides
    if not ({"名额", "推荐"} & set(query.terms) or bonus) or _ASKS_PRIZES.search(text):
        return None
    if _ASKS_WHO.search(text):  # "讲三区的那部由谁提交": who sends it, not how many
        return None
    place = place_of(normalise(text), contest)
    # The count must be what is asked, not the story around it ("省里说用三区名额推荐，材料谁交").
    counted = "名额" in query.topics and (not query.focus or "名额" in query.focus)
    listed = place is not None and place.named in listed_units(contest) and HOW_MANY.search(text)
    if place is None or not (counted or listed or (bonus and place.in_bonus is not None)):
        return None
    named_route = route_named(contest, normalise(text))
    if named_route is not None and named_route != place.route.id:
        return None  # "我是河北省的个人，自荐2部可以吗": the 自荐 rule, not the province's places
    entry = base.entry(f"fact:quota.{place.route.id}.{place.rule.kind}")
    if entry is None:
        return None
    tiers = route_tiers(base, place.route)
    if place.named == _DISTRICTS and len(tiers) > 1:
        # "我们区能推几个" with no district named: one of cq's twelve has 3—5, another 1—2.
        said = "\n".join(english_answer(e, contest) if english else e.render() for e in tiers)
        return HelpAnswer(
            said, True, entry.source, 1.0, contest.id, said, entry.id, query.terms, "answer", english
        )
    said = describe(place, quota_text(place.rule, whole=False))
    judged = not english and _judged(place, contest, text)
    verdict = verdict_for(contest, place.rule, normalise(text), in_bonus=place.in_bonus) if judged else ""
    said = f"{verdict}\n{said}" if verdict else said
    quote = f"：“{entry.quote}”" if entry.quote else ""
    rendered = (
        english_answer(replace(entry, text=said), contest) if english
        else f"{said}\n（依据：{entry.source}{quote}）"
    )  # fmt: skip
    if _COMPARES.search(text):  # "两江新区跟普通区县名额一样吗": the other tiers of the route too
        for other in (e for e in tiers if e is not entry):
            rendered += "\n" + (english_answer(other, contest) if english else other.render())
    return HelpAnswer(
        rendered, True, entry.source, 1.0, contest.id, rendered, entry.id, query.terms, "answer", english
    )


_COMPARED = re.compile(r"区别|不同|差别|哪个好|有什么两样|difference|differ")


#: How entrants name the two kinds of route.
_ROUTE_WORDS = {"recommend": ("推荐", "recommend"), "self": ("自荐", "自己报", "个人", "self")}


#: Which route to take ("走什么渠道报", "我们是推荐还是自荐"): every route, as the notice states it.
_WHICH_ROUTE = re.compile(
    r"走(?:什么|哪个|哪种|哪条)(?:渠道|途径|路子|通道)|(?:什么|哪个|哪种|哪条)(?:渠道|途径)(?:报|参加|参赛|申报)"
    r"|是推荐还是自荐|是自荐还是推荐|走推荐还是(?:走)?自荐|走自荐还是(?:走)?推荐"
)


def routes_compared(base: KnowledgeBase, contest: Contest, text: str) -> list[Entry]:
    """The routes' entries when a question compares the routes it names (推荐 and 自荐), or asks
    which one to take."""
    if _WHICH_ROUTE.search(text) and len({c.kind for c in contest.channels}) > 1:
        found = [base.entry(f"fact:channels.{c.id}") for c in contest.channels]
        return [e for e in found if e is not None]
    places = bool(_MORE_PLACES.search(text))
    if not (_COMPARED.search(text) or places):
        return []
    kinds = {kind for kind, words in _ROUTE_WORDS.items() if any(w in text for w in words)}
    if len(kinds) < 2:
        return []
    if places:  # "推荐和自荐哪个能报的多": each route's places, side by side
        found = [
            base.entry(f"fact:quota.{c.id}.{r.kind}")
            for c in contest.channels
            if c.kind in kinds
            for r in c.quota
        ]
    else:
        found = [base.entry(f"fact:channels.{c.id}") for c in contest.channels if c.kind in kinds]
    return [e for e in found if e is not None]


#: Which of two routes lets one send more ("推荐和自荐哪个能报的多", "哪个名额多"); more of something
#: else ("哪个要求多一些", "哪个材料更多", "哪个多一些人报") is no route's places.
_MORE_PLACES = re.compile(
    r"哪(?:个|种|条)[^，,。？?]{0,6}"
    r"(?:(?:报|推|交|投)(?:的|得)(?:多|更多)|(?:能|可以)?(?:报|推|交|投)(?:更多|多一些)(?:部|个|作品)?(?:[，,。？?吗呢]|$)"
    r"|(?:名额|数量|部数)(?:多|更多|多一些))"
)


#: Prizes counted ("优秀组织奖有几个名额？我们区想争取"): not the places a unit may recommend.
_ASKS_PRIZES = re.compile(r"[一二三]等奖|优秀奖|组织奖|奖项|获奖|得奖|评上")


#: Who does something ("由谁提交", "谁来报"): a person or a unit asked for, not a count.
_ASKS_WHO = re.compile(r"由谁|谁来|谁去|谁提交|谁报|谁交|哪个单位(?:来|去)?(?:提交|报)|\bwho\b")


#: Two or more things asked at once ("单位会员和省级协会的数量分别是多少").
SEVERAL = re.compile(r"分别|各自|各(?:是|有|能|可以|可|为)|respectively|each of")


def other_quotas(base: KnowledgeBase, hits: Sequence[Hit], top: Hit, terms: Sequence[str]) -> list[Hit]:
    """The other units' places a question asking them "分别" names: quota facts among the hits that
    have a word of the question the best one lacks (省级, 协会 beside 单位会员)."""
    index = base.entries.index
    lacked = [t for t in terms if len(t) > 1 and not base.index.contains(index(top.entry), t)]
    others = [h for h in hits[1:] if h.entry.id.startswith("fact:quota.")]
    return [h for h in others if any(base.index.contains(index(h.entry), t) for t in lacked)][:2]


#: The word alone for districts ("我们区"): one of cq's twelve named ones (3—5) or another (1—2).
_DISTRICTS = "区县"


def _judged(place: NamedUnit, contest: Contest, text: str) -> bool:
    """Whether a count offered may be judged against ``place``'s rule: not where the question names
    the other route ("我是河北省的个人，自荐2部可以吗"), nor where only the word 区县 named a unit
    of a route with several tiers ("我们区推荐4个": one of the twelve, or another district)."""
    named = route_named(contest, normalise(text))
    if named is not None and named != place.route.id:
        return False
    return not (place.named == _DISTRICTS and len(place.route.quota) > 1)


def names_whose(contest: Contest, entry_id: str, text: str) -> bool:
    """Whether ``text`` says whose places a ``fact:quota.`` entry states: a unit by name or kind
    (:func:`place_of`), or a word of the rule's or its route's label (:func:`quota_rule`)."""
    words = normalise(text)
    return place_of(words, contest) is not None or quota_rule(contest, entry_id, words) is not None


def every_tier(base: KnowledgeBase, contest: Contest, top: Hit, *, every_route: bool) -> list[Hit]:
    """The other tiers of the route whose places ``top`` states (``every_route``: of every route,
    where neither the question nor a draft says which), as hits beside it."""
    route_id = top.entry.id.split(".")[1]
    routes = [r for r in contest.channels if every_route or r.id == route_id]
    entries = (e for r in routes for e in route_tiers(base, r))
    return [Hit(e, top.score, top.confidence) for e in entries if e is not top.entry]


def route_tiers(base: KnowledgeBase, route: EntryRoute) -> list[Entry]:
    """The places facts of each tier of ``route`` (cq's district route: the twelve named, the rest)."""
    entries = (base.entry(f"fact:quota.{route.id}.{rule.kind}") for rule in route.quota)
    return [e for e in entries if e is not None]


#: A question comparing one unit's places with others'.
_COMPARES = re.compile(r"一样|区别|不同|差别|相比|比(?:其他|别的|普通|一般)|compared?|same as|differ")
