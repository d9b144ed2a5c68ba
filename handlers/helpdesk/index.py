"""The helpdesk's index: entries, scored with BM25, with a confidence that decides the answer."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from contests.rules import Contest
from handlers.helpdesk.analyzer import Analyzer, Query, char_pairs
from handlers.helpdesk.lexicon import INTENTS, QUANT_TOPICS


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

    def knows(self, term: str) -> bool:
        """Some document contains ``term``."""
        return term in self._idf

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
    quote: str = ""  # the notice's own words behind a fact
    needs: tuple[str, ...] = ()  # words one of which a question must have to be about this entry

    def render(self) -> str:
        if self.kind == "clause":
            return f"通知原文：“{self.text}”\n（依据：{self.source}）"
        if self.quote:
            return f"{self.text}\n（依据：{self.source}：“{self.quote}”）"
        return f"{self.text}\n（依据：{self.source}）"


#: How much the words of a long message's story count against those of its question.
STORY_WEIGHT = 0.3
#: An entry that needs a word the question lacks (the scans' upload limit needs 扫描件/附件/表) yields.
MISSING_NEED_DAMPING = 0.2
#: The idf, summed over the words an entry shares with a question, at which that sharing counts in full
#: (a word in one entry of a hundred has an idf of about 4.3; one in every fifth entry about 1.6).
INFORMATION_FULL = 4.0
#: How much the character-pair match counts against the word match (each scaled to its best hit).
PAIR_WEIGHT = 0.3
#: Words of a contest's name that are also what questions ask about: they still count.
SUBJECTS = frozenset({"视频", "作品", "科普号", "推荐", "自荐", "申报"})
#: How much a one-character term counts towards a question's coverage, against a word's 1.0.
SINGLE_CHAR_WEIGHT = 0.3
#: The same for a word no entry has that jieba's dictionary tags as framing a sentence (an adverb, a
#: pronoun, a locative: 刚好, 其中, 后面): helpdesk_eval +17 answered, +1 error on the tuning sets;
#: and for one of the analyzer's own intents that no entry has (+2, no error).
FRAMING_WEIGHT = 0.3
#: Words that only ask (how many, when, whether): no entry contains them, and counted as words an
#: entry fails to cover they would hand off "附件最多能传几个" (helpdesk_eval: +11 answered, +3 errors
#: over the tuning sets' 854 questions).  What kind of answer they want is ``wanted.py``'s.
ASKING_TERMS = re.compile(
    r"(哪)?几[个天号分句部项次年名位种条]?|哪几个|多少|多久|啥时候|什么时候|需不需要|要不要|能不能|有没有"
)
#: Intents that say "how much" of anything: alone with an unknown word, the question is about that word.
GENERIC_MEASURES = frozenset({"大小", "时长"})
#: …when the measure is asked ("宇宙有多大"); "时长超了扣分吗" says the video's length.
MEASURE_ASKED = re.compile(
    r"多(?:大|长|久|重|高|宽|远|少)|几(?:米|公里|斤|吨)|size of|how (?:big|long|large)"
)

# --- search ------------------------------------------------------------------------------------

#: A fact whose topic is the question's intent is multiplied by this: structured numbers win.
TOPIC_BOOST = 2.0
#: An entry that only says "the notice is silent" yields to one that says something on the matter.
SILENT_DAMPING = 0.5
#: An entry that names a word of the question in quotes (通知未规定“类别”的可选项) is about that word, not
#: one that lists it among others.
QUOTED = re.compile(r"[“「]([^”」]{1,12})[”」]")
QUOTED_BOOST = 2.0
#: An entry holding a word the question's phrasing implies without saying it ("既让单位推荐，又自己再
#: 自荐一份" -> 重复: the once-only rule) is about what is asked.
IMPLIED_BOOST = 1.5


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    score: float  # BM25 with the topic boost: ranks
    confidence: float  # 0..1: decides answer or hand-off
    pairs: float = 0.0  # the character-pair match alone, scaled to the best entry's (1.0)


class KnowledgeBase:
    """The searchable entries of one contest."""

    def __init__(
        self, contest: Contest, entries: Sequence[Entry], analyzer: Analyzer, names: str = ""
    ) -> None:
        self.contest = contest
        self.entries = tuple(entries)
        self.analyzer = analyzer
        # The contest's own names ("黑龙江 科普 视频 征集") choose the contest, not the entry: they
        # do not count towards how well an entry covers the question.
        self.name_terms = (
            frozenset(analyzer.terms(f"{contest.title} {contest.short_title} {names}"))
            - QUANT_TOPICS
            - SUBJECTS
        )
        self._docs = [analyzer.terms(f"{e.keys} {e.text}") for e in self.entries]
        # What an entry names in quotes (“类别”, 「封面图」) is what it is about.
        self._quoted = [frozenset(QUOTED.findall(e.text)) for e in self.entries]
        self.index = BM25(self._docs)
        self.pairs = BM25([char_pairs(f"{e.keys} {e.text}") for e in self.entries])

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def off_topic(self, query: Query, text: str = "") -> bool:
        """The question is not about the contest: none of its words is in any entry ("今天天气怎么样"),
        or its only known word is a bare measure (多大) of something unknown here ("宇宙有多大")."""
        words = [t for t in query.terms if len(t) > 1]
        known = [t for t in words if self.index.knows(t)]
        if (
            words
            and not any(self.index.knows(t) for t in query.terms)
            and not query.figures
            and not query.about_contests
        ):
            return True
        # An asking word ("时长多久": 多久) is no unknown thing the measure could be of.
        unknown = [
            t
            for t in words
            if not self.index.knows(t) and not any(k in t for k in known) and not ASKING_TERMS.fullmatch(t)
        ]
        # …a measure asked ("多大"), not one said ("时长超了扣分吗" is about the video's length).
        return (
            bool(unknown and known)
            and set(known) <= GENERIC_MEASURES
            and not query.figures
            and (not text or bool(MEASURE_ASKED.search(text)))
        )

    def _weights(self, terms: Iterable[str]) -> dict[str, float]:
        """How much each asked term counts towards coverage: its idf, less for a single character
        (打, 写, 加: jieba leaves one where it found no word); the contest's own names and the
        question's own asking words (几个, 啥时候: what kind of answer, not what about) not at all."""
        terms = [t for t in terms if not ASKING_TERMS.fullmatch(t)] or list(terms)
        asked = [t for t in terms if t not in self.name_terms] or list(terms)
        return {t: self.index.idf(t) * self._weight(t) for t in asked}

    def _weight(self, term: str) -> float:
        if len(term) == 1:
            return SINGLE_CHAR_WEIGHT
        # A word no entry has counts in full (what the index cannot answer), unless it only frames
        # the sentence ("粉丝刚好1000能报吗" asks about followers, not about 刚好) or is our own name
        # for what the asker's words mean (联系方式 for "电话多少"), which this notice never uses.
        if not self.index.knows(term) and (self.analyzer.function_word(term) or term in INTENTS):
            return FRAMING_WEIGHT
        return 1.0

    def search(self, query: Query, limit: int = 3) -> list[Hit]:
        if not query.terms:
            return []
        raw = self.index.scores(query.terms)
        if query.focus:  # what is asked ranks first; the story around it counts for a third
            asked = self.index.scores(tuple(query.focus))
            raw = [a + (r - a) * STORY_WEIGHT for a, r in zip(asked, raw, strict=True)]
        by_pairs = self.pairs.scores(query.pairs) if query.pairs else [0.0] * len(raw)
        top_pairs = max(by_pairs, default=0.0) or 1.0
        top_words = max(raw, default=0.0)
        weighings = [self._weights(query.focus or query.terms)]
        if query.focus and not query.pointed:  # a guessed focus counts only where it helps
            weighings.append(self._weights(query.terms))
        hits = []
        for i, (entry, score) in enumerate(zip(self.entries, raw, strict=True)):
            if score <= 0 and by_pairs[i] <= 0:
                continue
            # Characters side by side, as the entrant wrote them, rank beside jieba's words.
            score += PAIR_WEIGHT * top_words * by_pairs[i] / top_pairs
            matched = entry.topics & query.topics
            # The whole message's coverage counts only for an entry about what it asks as well.
            asks = not query.focus or any(self.index.contains(i, t) for t in query.focus)
            covered = max(
                sum(w for t, w in weights.items() if self.index.contains(i, t)) / sum(weights.values())
                for weights in (weighings if asks else weighings[:1])
            )
            # BM25 alone favours short entries that repeat one word; an entry that covers more of
            # the question's informative words should rank first.
            score *= (0.5 + covered) * (TOPIC_BOOST if matched else 1.0)
            if entry.silent:
                score *= SILENT_DAMPING
            if any(len(t) > 1 and t in self._quoted[i] for t in query.terms) and (
                not entry.id.startswith("fact:forms.") or query.about_a_form
            ):
                score *= QUOTED_BOOST
            if any(t not in QUANT_TOPICS and self.index.contains(i, t) for t in query.implied):
                score *= IMPLIED_BOOST
            if entry.needs and not any(n in query.terms for n in entry.needs):
                score *= MISSING_NEED_DAMPING
            # A structured fact whose topic is the question's intent answers it even when the
            # question has words it lacks ("渝北区能推荐几部作品呀老师"): half the confidence comes
            # from the intent, half from the words covered.
            # A question of one common word ("咋报名") covered by an entry that shares it proves little:
            # the words an entry shares must together carry enough information.
            shared = sum(self.index.idf(t) for t in query.terms if self.index.contains(i, t))
            covered *= min(1.0, shared / INFORMATION_FULL)
            confidence = 0.5 + 0.5 * covered if matched else covered
            hits.append(Hit(entry, score, round(confidence, 4), round(by_pairs[i] / top_pairs, 4)))
        hits.sort(key=lambda h: (-h.score, h.entry.id))
        return hits[:limit]
