"""Which clause of the notice states a fact, and the words of it to quote.

A fact is made from the preset (``100～300兆``); entrants should see where the notice says it, as
the notice names it ("附件1 一、作品要求 （三）作品规格 2.") and in its own words.  The clause is the
one of the cited section that shares most of the fact's figures (numbers, dates, addresses) and,
after them, most of its wording.
"""

from __future__ import annotations

import re

from handlers.helpdesk.sources import Clause, NoticeText

#: What identifies a fact in a clause: figures and Latin words (MP4, QQ, e-mail addresses).
#: A number keeps the unit written after it: envoy's 投票期为10天 is not its 2023年10月—12月.
_FIGURE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d+(?:\.\d+)?[天月日年部个分秒]?|[A-Za-z]{2,}")
_SENTENCE = re.compile(r"[^。；;！？!?]+[。；;！？!?]?")
#: A quote longer than this is cut to the sentences that hold the fact.
QUOTE_MAX = 90


def _figures(text: str) -> set[str]:
    return {m.group(0).lower() for m in _FIGURE.finditer(text)}


def _bigrams(text: str) -> set[str]:
    cjk = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def _score(clause_text: str, figures: set[str], grams: set[str]) -> tuple[int, float]:
    have = _figures(clause_text)
    shared = _bigrams(clause_text) & grams
    return len(figures & have), (len(shared) / len(grams) if grams else 0.0)


def states_all(clause_text: str, text: str) -> bool:
    """Whether the clause states every figure of ``text`` (and ``text`` has some)."""
    figures = _figures(text)
    return bool(figures) and figures <= _figures(clause_text)


def best_clause(notice: NoticeText, text: str, section: str) -> Clause | None:
    """The clause of ``section`` (a citation prefix; empty: the whole notice) that states ``text``."""
    clauses = [
        c for c in notice.clauses if not section or c.cite == section or c.cite.startswith(section + " ")
    ]
    if not clauses:
        return None
    figures, grams = _figures(text), _bigrams(text)
    best = max(clauses, key=lambda c: _score(c.text, figures, grams))
    if _score(best.text, figures, grams) == (0, 0.0):
        return clauses[0]
    return best


def quote_of(clause_text: str, text: str) -> str:
    """The clause's words to quote for ``text``: all of it when short, else the sentences holding
    the fact's figures (or, without figures, its wording)."""
    if len(clause_text) <= QUOTE_MAX:
        return clause_text
    sentences = [s for s in _SENTENCE.findall(clause_text) if s.strip()]
    figures, grams = _figures(text), _bigrams(text)
    keep = [s for s in sentences if figures & _figures(s)]
    if not keep:
        ranked = sorted(sentences, key=lambda s: -len(_bigrams(s) & grams))
        keep = ranked[:1]
    quoted = "".join(s for s in sentences if s in keep).strip()
    return quoted if len(quoted) <= QUOTE_MAX * 2 else quoted[: QUOTE_MAX * 2] + "…"
