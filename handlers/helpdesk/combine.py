"""How the helpdesk puts an answer together: when a best entry far ahead of the next is enough,
which hits stand beside it (the other intents asked, the other routes' ways of delivering), and one
reply for a message that asked several things."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from handlers.helpdesk.analyzer import Query
from handlers.helpdesk.index import Hit
from handlers.helpdesk.replies import AnswerKind, HelpAnswer

#: An entry that ranks this far ahead of the next (1 - second's score / its score) is what is asked
#: even when a long story leaves its words a small part of the message ("我只有一部手机，没有专业相机
#: 和稳定器，用手机拍的能参加吗"): then this share of the threshold is enough.  On the tuning sets'
#: 1,285 searched questions it answers 19 more rightly and 2 wrongly (bench/README.md, session 16).
CLEAR_LEAD = 0.4


CLEAR_LEAD_SHARE = 0.45


def says_what_was_implied(query: Query, top: Hit) -> bool:
    """The best entry holds every term a phrase of the question implies ("他不在我们单位" implies the
    notice's 其他单位人员): those phrases are written for the clauses that answer them."""
    implied = [t for t in query.implied if len(t) > 1]
    return len(implied) >= 2 and all(t in top.entry.text for t in implied)


def clear_lead(hits: Sequence[Hit], threshold: float) -> bool:
    """The best entry is far ahead of the next and covers at least part of the question."""
    top = hits[0]
    second = hits[1].score if len(hits) > 1 else 0.0
    lead = 1 - second / top.score if top.score > 0 else 0.0
    return lead >= CLEAR_LEAD and top.confidence >= threshold * CLEAR_LEAD_SHARE


#: A part whose best entry is matched this little found nothing of its own in the notice.
LOST_BELOW = 0.1


def is_lost(answer: HelpAnswer) -> bool:
    """A part that reads as off-topic, or that nothing in the notice matched."""
    return answer.kind == "offtopic" or (not answer.confident and answer.score < LOST_BELOW)


def together(answers: list[HelpAnswer]) -> HelpAnswer:
    """One reply for a message that asked several things: every answer, sure only if each is."""
    personal = next((a for a in answers if a.kind == "personal"), None)
    if personal is not None:
        return personal
    # A part that reads as off-topic beside parts about the contest was only not understood.
    answers = [replace(a, confident=False, kind="unsure") if a.kind == "offtopic" else a for a in answers]
    unsure = next((a for a in answers if not a.confident), None)
    seen: set[str] = set()
    said = []
    for a in answers:
        # One entry answers two parts once, but two units' places from one rule are two answers.
        key = a.answer if a.entry_id.startswith("fact:quota.") else (a.entry_id or a.answer)
        if key not in seen:
            seen.add(key)
            said.append(a.answer if a.confident else a.suggestion or a.answer)
    text = "\n\n".join(said)
    first = answers[0]
    if unsure is not None:
        return replace(unsure, suggestion=text)
    kind: AnswerKind = "answer" if any(a.kind == "answer" for a in answers) else first.kind
    return replace(first, answer=text, suggestion=text, kind=kind, score=min(a.score for a in answers))


def siblings(hits: list[Hit], top: Hit, chosen: list[Hit], route: str | None) -> list[Hit]:
    """The other routes' ways of delivering, when the asker has no route yet: "光盘寄哪儿" has one
    answer per route (推荐 and 自荐 send to different addresses), and the entrant reads both."""
    if route is not None or not top.entry.id.startswith("fact:delivery.") or not top.entry.id[-1:].isdigit():
        return []
    return [h for h in hits[1:4] if h.entry.id.startswith("fact:delivery.") and h.entry.id[-1:].isdigit()
            and h not in chosen][:2]  # fmt: skip


def more_topics(
    hits: Sequence[Hit], topics: frozenset[str], covered: frozenset[str], threshold: float
) -> list[Hit]:
    """For a question that asks several things ("多长多大"), the best entry of each intent of
    ``topics`` not ``covered`` already (by the top entry, or by a unit's places), two at most."""
    covered = covered & topics
    more = []
    for hit in hits:
        new = (hit.entry.topics & topics) - covered
        if new and hit.confidence >= threshold:
            more.append(hit)
            covered |= new
    return more[:2]
