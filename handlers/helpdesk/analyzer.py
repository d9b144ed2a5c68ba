"""The helpdesk's reading of text: jieba tokens, synonyms, stop words, a question's intents.

Questions and entries go through the same :class:`Analyzer`, so that 多大, 兆 and MB are one
term on both sides.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contests.rules import Contest
from handlers.helpdesk.lexicon import (
    CONTEST_WORDS,
    DOMAIN_TERMS,
    QUANT_TOPICS,
    QUERY_PHRASES,
    QUERY_REWRITES,
    SHAPES,
    STOPWORDS,
    SYNONYMS,
    words_of,
)
from handlers.helpdesk.spelling import Homophones
from validators.spoken import cn_count

if TYPE_CHECKING:  # jieba is imported when the first index is built, never at import time
    import jieba


_PUNCT = re.compile(r"^[\W_]+$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case: ``ＭＢ`` and ``mb`` are one word."""
    return unicodedata.normalize("NFKC", text).lower()


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """A question as the index sees it: its terms and the intents it states."""

    terms: tuple[str, ...]
    topics: frozenset[str]
    #: The terms of what is asked when a long message tells a story first ("…想问问能以个人身份自荐吗"):
    #: how well an entry covers the question is judged on these.  Empty: all terms.
    focus: frozenset[str] = frozenset()
    #: The message says where its question starts (想问问, 请问): only the focus counts.  Else the
    #: focus is a guess (its last sentence) and counts only where it helps.
    pointed: bool = False
    #: Character pairs of what is asked: they find 优秀微视频 in "评选200部优秀微视频作品" however
    #: jieba cuts either side.
    pairs: tuple[str, ...] = ()
    figures: bool = False  # the question quotes a figure (301兆, 7月1号): it is about a rule's number
    about_contests: bool = False  # words any contest question may have (结果, 评, 奖, 作品, 报名 …)
    #: The question is about filling in a form (表, 填, 栏, 写): a form field's label it names in quotes
    #: is that field ("「创作单位」：填写作品报送单位全称"), not what the notice says of such units.
    about_a_form: bool = False
    #: Terms the phrasing implies rather than says ("既让单位推荐，又自己再自荐" -> 重复).
    implied: frozenset[str] = frozenset()


class Analyzer:
    """jieba tokens mapped to canonical terms, without stop words and bare numbers.

    The jieba dictionary is loaded on the first call, once per instance and under a lock, so
    that importing this module costs nothing and two threads never load it twice.
    """

    def __init__(self, extra_terms: Iterable[str] = ()) -> None:
        # Every synonym is a whole word too: jieba's own dictionary lacks 时长 and cuts it 时 + 长.
        variants = (v for canon, vs in SYNONYMS.items() for v in (canon, *vs) if len(v) > 1)
        # …and every term a phrase implies (参与主体 for "需要他本人同意吗"): an entry saying it must be
        # cut into that word for the question to find it.
        implied = (t for _, terms in QUERY_PHRASES for t in terms.split() if len(t) > 1)
        self._terms = {normalise(t) for t in (*DOMAIN_TERMS, *variants, *implied, *extra_terms) if t.strip()}
        self._canonical = {
            normalise(v): canon for canon, variants in SYNONYMS.items() for v in (canon, *variants)
        }
        self._jieba: jieba.Tokenizer | None = None
        self._homophones = Homophones()
        self._lock = threading.Lock()
        self._shapes = [(re.compile(p), r) for p, r in SHAPES]
        self._phrases = [(re.compile(p), term) for p, term in QUERY_PHRASES]
        self._rewrites = [(re.compile(p), r) for p, r in QUERY_REWRITES]

    def _meaning(self, term: str) -> str:
        return self._canonical.get(term, term)

    def add_terms(self, terms: Iterable[str]) -> None:
        """Teach the tokenizer more whole words (unit names, form titles)."""
        new = {normalise(t) for t in terms if t.strip()} - self._terms
        with self._lock:
            self._terms |= new
            if self._jieba is not None:
                for term in new:
                    self._jieba.add_word(term)
                self._homophones.learn(new, self._meaning)

    def _tokenizer(self) -> jieba.Tokenizer:
        with self._lock:
            if self._jieba is None:
                with warnings.catch_warnings():
                    # jieba 0.42 imports pkg_resources, which newer setuptools deprecates; not ours to fix.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    import jieba
                # jieba logs its dictionary loading at DEBUG on its own stderr handler: keep the CLI quiet.
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for term in sorted(self._terms):
                    tokenizer.add_word(term)
                self._homophones.learn(sorted(self._terms), self._meaning)
                self._jieba = tokenizer
            return self._jieba

    def function_word(self, term: str) -> bool:
        """jieba's dictionary tags ``term`` as a word that only frames a sentence (an adverb, a
        pronoun, a locative, a numeral, a conjunction …): 刚好, 后面, 其中, 一起."""
        return term in _function_words()

    def _shape(self, text: str) -> str:
        text = normalise(text)
        for pattern, replacement in self._shapes:
            text = pattern.sub(replacement, text)
        return text

    def words(self, text: str) -> list[str]:
        """jieba's own cut of ``text``, before any term is mapped or dropped."""
        return [w for w in self._tokenizer().cut(normalise(text), HMM=False) if w.strip()]

    def terms(self, text: str) -> list[str]:
        """Canonical terms of ``text``, in order, repeats kept (BM25 counts them).

        Like jieba's ``cut_for_search``, a long word also yields the dictionary words inside it
        (申报表 -> 申报), so that 申报 finds 申报表; unlike it, a word that is a synonym yields only
        its canonical term (四川话 -> 语言, not also 四川).  HMM guessing is off: it invents
        words such as 歌有 from 歌有问题, which match nothing.
        """
        tokenizer = self._tokenizer()
        out: list[str] = []

        def emit(word: str) -> None:
            if word and not _PUNCT.match(word) and not _NUMBER.match(word):
                term = self._canonical.get(word, word)
                if term not in STOPWORDS:
                    out.append(term)

        for word in tokenizer.cut(self._shape(text), HMM=False):
            word = word.strip()
            if word in self._canonical or len(word) <= 2:
                emit(word)
                continue
            emit(word)
            for n in (2, 3):
                for i in range(len(word) - n + 1):
                    gram = word[i : i + n]
                    if gram != word and tokenizer.FREQ.get(gram):
                        emit(gram)
        return out

    def query(self, question: str) -> Query:
        """The question's distinct terms, plus the terms its phrasing implies (``几号前`` -> 截止)."""
        tokenizer = self._tokenizer()
        text = self._homophones.correct(
            normalise(question),
            lambda w: bool(tokenizer.FREQ.get(w)),
            lambda c: tokenizer.FREQ.get(c, 0) >= EVERYDAY_CHARACTER,
        )
        text = _CN_FIGURE.sub(_in_digits, text)
        for pattern, replacement in self._rewrites:
            text = pattern.sub(replacement, text)
        text = _CN_FIGURE.sub(_in_digits, text)  # a unit a rewrite mended ("三到八分中": 分钟)
        implied = [term for pattern, terms in self._phrases if pattern.search(text) for term in terms.split()]
        # "去年参加过这个活动的片子" dates the earlier entry, not the work: 历届 is asked, not 年份.
        if "历届" in implied:
            implied = [t for t in implied if t != "年份"]
        said_outright = self.terms(text)
        # searched as the index holds them (使用权 is 权利 there, as in "永久使用权"), but an intent
        # keeps its own name (联系方式 is the 联系方式 topic, not 联系)
        searched = (t if t in QUANT_TOPICS else self._canonical.get(t, t) for t in implied)
        terms = list(dict.fromkeys([*said_outright, *searched]))
        topics = frozenset(t for t in terms if t in QUANT_TOPICS)
        core, pointed = asked_part(text)
        focus: frozenset[str] = frozenset()
        who = _WHO_DOES.search(core)
        if who is not None and (core == text or not pointed):
            # "个人自荐的话，需要谁来审核" asks who reviews: the channel is the scene, not the matter.
            # What its phrasing implies stays asked ("俩人一起做的，谁来报名": the makers, 多人).
            focus = frozenset([*self.terms(who.group(0)), *implied]) & set(terms)
        elif core != text:
            said = [
                term for pattern, terms in self._phrases if pattern.search(core) for term in terms.split()
            ]
            focus = frozenset([*self.terms(core), *said]) & set(terms)
            # "去年参加过…评选，没获奖，今年还能再投吗": entering again asks of the earlier entry.
            if "历届" in implied and _AGAIN.search(core):
                focus |= {"历届"}
            # The story's figures ("大概4分半", "2021年底") are not what is asked.
            if pointed or topics & focus:
                topics = topics & focus
        return Query(
            tuple(terms), topics, focus, pointed, char_pairs(core), bool(_FIGURE.search(text)),
            # implied: only what the words do not say outright ("学生可以参加吗" says 参加 itself)
            bool(CONTEST_WORDS.search(text)), bool(_FORM_WORDS.search(text)),
            frozenset(implied) - frozenset(said_outright),
        )  # fmt: skip


#: A size or length in Chinese numerals ("两百兆", "三分钟", "一百五十字"): in digits, as the index and
#: the phrases read figures (jieba cuts 两百兆 into 两 + 百兆, a word of its own).
_CN_FIGURE = re.compile(
    r"(?<![零一二两三四五六七八九十百千万])([一二两三四五六七八九十百千][零一二两三四五六七八九十百千]*)"
    r"(?=\s*(?:兆|mb|gb|g\b|m\b|分钟|秒|个?字))"
)


def _in_digits(match: re.Match[str]) -> str:
    value = cn_count(match.group(1))
    return match.group(1) if value is None else str(value)


#: How often (in jieba's dictionary) a character standing alone is used for it to be an everyday word
#: (号 44621, 出 85847, 又 150749), which a typist who slipped on both characters of a term hardly
#: picks for both (结 3761 and 指 13375 for 截止).
EVERYDAY_CHARACTER = 20000


#: Entering again ("还能再投吗", "能不能再报"), asked after a story of an earlier entry.
_AGAIN = re.compile(r"再(?:投|报|参加|参赛|交|送|评)|还能(?:投|报|参加|参赛)")


#: jieba's part-of-speech tags of words that frame a sentence rather than name a matter.
#: (adverbs, locatives, numerals, pronouns, times, conjunctions, prepositions, measure words,
#: particles, interjections, status words …)
FUNCTION_TAGS = frozenset(
    words_of("d f m r t c p q y e o u ad mq dg df vd rr rz rg tg mg z zg k h uj ul uz ug uv ud")
)


@functools.cache
def _function_words() -> frozenset[str]:
    """jieba's dictionary's framing words, read once a process on first use (~0.2 s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import jieba
    words = set()
    with jieba.get_dict_file() as dictionary:
        for line in dictionary:
            word, _, tag = line.decode("utf-8").rstrip().rpartition(" ")
            if tag in FUNCTION_TAGS:
                words.add(word.rpartition(" ")[0])
    return frozenset(words)


#: A figure with a unit a contest's rules use (301兆, 7月1号, 4分半, 16:9); "2号线", "300度" are none.
_FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:分钟|分|秒|兆|mb|m\b|gb|g\b|部|个|字|月|日|号(?!线)|年|%|％|p|k\b|×|x|\*|帧|人|天|周|票|张|份"
    r"|:|：|万|千|百|点|届|$)|\d{4}",
    re.IGNORECASE,
)
_FORM_WORDS = re.compile(r"表|填|栏|写|格|签|盖|form|field", re.IGNORECASE)

#: Where a long message turns to its question: what follows is what is asked.
_ASKING = re.compile(
    r"(想问问|想问一下|想问下|想请问|请问一下|请问|想问|问一下|问下|想咨询一下|想咨询|咨询一下)"
)
#: "Who does it" ("谁来审核", "该谁报"): the deed is what is asked.
_WHO_DOES = re.compile(
    r"(?:该|由|应该|应由)?谁(?:来|去|负责)?(?:审核|审查|把关|审|报送|提交|申报|自荐|报|交|评审|评|打分)"
)
_SENTENCES = re.compile(r"[^。！？!?；;]+[。！？!?；;]?")


#: A piece of a message that asks something; one that does not ("我们公司想自己报", "大美科技特派团的
#:视频") sets the scene for the question, or tells a story after it.
ASKS = re.compile(
    # 几 after 十/百/千 is a figure ("三十几个", "一百几十"), not "how many".
    r"[吗呢嘛么?？]|啥|什么|多少|多[大长久宽高]|(?<![十百千])几|哪|谁|怎么|咋|如何|能不能|可不可以|可以不|是否|要不要|有没有"
    r"|行不行|算不算|不$"
    r"|\b(what|how|when|where|who|which|can|may|is|are|do|does|should)\b",
    re.IGNORECASE,
)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: Pairs that only say "a question is asked": no entry is about them.
_ASKING_PAIRS = frozenset(
    words_of("可以 什么 怎么 是否 能不 不能 可不 不可 多少 哪些 哪个 需要 要求 一下 请问 想问")
)


def char_pairs(text: str) -> tuple[str, ...]:
    """Adjacent Chinese characters of ``text`` (normalised), question words left out."""
    pairs: list[str] = []
    for run in _HAN_RUN.findall(normalise(text)):
        pairs.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tuple(p for p in pairs if p not in _ASKING_PAIRS)


#: A sentence saying the asker does not know or cannot find something ("我不晓得在哪点查").
UNKNOWING = re.compile(
    r"^(?:我|俺|我们)?(?:也|还|实在|真)?(?:不晓得|不知道|不清楚|搞不清|搞不懂|没找到|找不到|找不着)"
)


def asked_part(text: str) -> tuple[str, bool]:
    """The part of a message that asks, and whether the message pointed at it (after 想问问/请问…)
    or it is a guess (its last sentence that asks); a short message whole unless a remark
    follows its question."""
    sentences = [s for s in _SENTENCES.findall(text) if len(s.strip("。！？!?；; ")) > 1]
    # The last sentence that asks: "最晚哪天得交上去啊？我们县里片子还在剪，怕赶不上" asks first.
    # "我不晓得在哪点查" after a question says the asker cannot find its answer: it asks nothing new.
    asking = [s for s in sentences if ASKS.search(s) and not UNKNOWING.match(s.strip())] or [
        s for s in sentences if ASKS.search(s)
    ]
    if len(text) <= 24:
        # Short, but a question then a remark ("要不要配音乐？我们原片是纯现场声"): the question.
        if len(sentences) > 1 and asking and asking[-1] != sentences[-1]:
            return asking[-1], False
        return text, False
    marker = None
    for found in _ASKING.finditer(text):
        marker = found  # the last one: a story may ask itself questions before the real one
    if marker is not None and len(text) - marker.end() >= 4:
        return text[marker.end() :], True
    if len(sentences) > 1:
        # A short count after a question ("…由谁来提交？能交几部？"), or the detail of its answer ("截到
        # 哪天啊？听说是六月底，具体是几号"), asks of the same thing.
        if len(asking) > 1 and (len(asking[-1].strip("。！？!?；; ")) <= 6 or "具体" in asking[-1]):
            return asking[-2] + asking[-1], False
        return (asking or sentences)[-1], False
    parts = [p for p in re.split(r"[，,]", text) if p.strip()]
    return ("，".join(parts[-2:]) if len(parts) > 2 else text), False


def contest_terms(contest: Contest) -> set[str]:
    """Names jieba should keep whole for this contest: units, form and field labels, channels."""
    terms: set[str] = set()
    for ch in contest.channels:
        terms.add(ch.label)
        for rule in ch.quota:
            terms.update(rule.units)
            terms.update(rule.bonus_units)
    for form in contest.forms:
        terms.update(f.label for f in form.fields if len(f.label) <= 8)
    return {t for t in terms if 2 <= len(t) <= 12}
