"""The helpdesk's index: entries, scored with BM25, with a confidence that decides the answer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from contests.rules import Contest
from handlers.helpdesk.analyzer import Analyzer, Query


class BM25:
    """Okapi BM25 over pre-tokenised documents.

    ``b`` is 0.5 rather than the usual 0.75: entries are answers, and a complete answer (a quota
    with its list of 三区 provinces) should not lose to a short one for being complete.
    """

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.5) -> None:
        self.k1, self.b = k1, b
        self._tf = [Counter(doc) for doc in docs]
        self._len = [len(doc) for doc in docs]
        self._avg = (sum(self._len) / len(docs)) if docs else 0.0
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        # A word no entry contains is the most informative of all: it is what the index cannot answer.
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self._tf)

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.unseen_idf)

    def contains(self, index: int, term: str) -> bool:
        return term in self._tf[index]

    def scores(self, query: Sequence[str]) -> list[float]:
        out = []
        for tf, length in zip(self._tf, self._len, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self._avg) if self._avg else self.k1
            out.append(sum(self._idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in query if t in tf))
        return out


# --- entries -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One answerable piece of knowledge.

    ``text`` is what the answer says, ``source`` where it comes from; ``keys`` is extra search
    text (how people ask for it) that is never shown.  ``topics`` are the intents this entry
    answers exactly; ``silent`` marks an entry that only records that the notice says nothing,
    which is worth telling the entrant but still goes to an operator.
    """

    id: str
    kind: Literal["fact", "clause", "faq"]
    text: str
    source: str
    keys: str = ""
    topics: frozenset[str] = frozenset()
    silent: bool = False

    def render(self) -> str:
        body = f"通知原文：“{self.text}”" if self.kind == "clause" else self.text
        return f"{body}\n（依据：{self.source}）"


# --- search ------------------------------------------------------------------------------------

#: A fact whose topic is the question's intent is multiplied by this: structured numbers win.
TOPIC_BOOST = 2.0
#: An entry that only says "the notice is silent" yields to one that says something on the matter.
SILENT_DAMPING = 0.5


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    score: float  # BM25 with the topic boost: ranks
    confidence: float  # 0..1: decides answer or hand-off


class KnowledgeBase:
    """The searchable entries of one contest."""

    def __init__(self, contest: Contest, entries: Sequence[Entry], analyzer: Analyzer) -> None:
        self.contest = contest
        self.entries = tuple(entries)
        self.analyzer = analyzer
        self._docs = [analyzer.terms(f"{e.keys} {e.text}") for e in self.entries]
        self.index = BM25(self._docs)

    def search(self, query: Query, limit: int = 3) -> list[Hit]:
        if not query.terms:
            return []
        raw = self.index.scores(query.terms)
        weights = {t: self.index.idf(t) for t in query.terms}
        total = sum(weights.values())
        hits = []
        for i, (entry, score) in enumerate(zip(self.entries, raw, strict=True)):
            if score <= 0:
                continue
            matched = entry.topics & query.topics
            covered = sum(w for t, w in weights.items() if self.index.contains(i, t)) / total
            # BM25 alone favours short entries that repeat one word; an entry that covers more of
            # the question's informative words should rank first.
            score *= (0.5 + covered) * (TOPIC_BOOST if matched else 1.0)
            if entry.silent:
                score *= SILENT_DAMPING
            # A structured fact whose topic is the question's intent answers it even when the
            # question has words it lacks ("渝北区能推荐几部作品呀老师"): half the confidence comes
            # from the intent, half from the words covered.
            confidence = 0.5 + 0.5 * covered if matched else covered
            hits.append(Hit(entry, score, round(confidence, 4)))
        hits.sort(key=lambda h: (-h.score, h.entry.id))
        return hits[:limit]
