"""Homophone slips of a pinyin keyboard, read as the word meant: 截至→截止, 分辨律→分辨率, 视平→视频.

Entrants type with a pinyin input method, so their slips sound like the word they meant.  A run of
characters that is not a word jieba knows, but sounds like one of the helpdesk's terms (with the
usual loose pairs of such keyboards: zh/z, ch/c, sh/s, in/ing, en/eng, an/ang, l/n), is replaced
by that term before the question is read.  A real word is never replaced (事件 stays 事件 although
it sounds like 时间), and a sound shared by two terms is left alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_LOOSE = ((re.compile(r"^zh"), "z"), (re.compile(r"^ch"), "c"), (re.compile(r"^sh"), "s"),
          (re.compile(r"^l"), "n"), (re.compile(r"ng$"), "n"))  # fmt: skip


def _loose(syllable: str) -> str:
    for pattern, replacement in _LOOSE:
        syllable = pattern.sub(replacement, syllable)
    return syllable


class Homophones:
    """Maps a sound to the one term that makes it; built once per analyzer, on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sounds: dict[tuple[str, ...], str | None] = {}
        self._meanings: dict[tuple[str, ...], str] = {}
        self._pinyin: Callable[[str], list[str]] | None = None

    def _reader(self) -> Callable[[str], list[str]]:
        with self._lock:
            if self._pinyin is None:
                from pypinyin import lazy_pinyin

                self._pinyin = lazy_pinyin
            return self._pinyin

    def sound(self, text: str) -> tuple[str, ...]:
        return tuple(_loose(s) for s in self._reader()(text))

    def learn(self, terms: Iterable[str], meaning: Callable[[str], str] = lambda term: term) -> None:
        """Add terms (pure Chinese, 2–4 characters) whose sound should be recognised, each read as
        its ``meaning`` (its canonical term): 截止 and 截至 sound alike and mean one thing."""
        for term in terms:
            if 2 <= len(term) <= 4 and _CJK_RUN.fullmatch(term):
                key, meant = self.sound(term), meaning(term)
                if key not in self._sounds:
                    self._sounds[key] = term
                    self._meanings[key] = meant
                elif self._meanings.get(key) != meant:
                    self._sounds[key] = None  # two meanings, one sound: ambiguous

    def correct(
        self, text: str, is_word: Callable[[str], bool], common: Callable[[str], bool] = lambda c: False
    ) -> str:
        """``text`` with each non-word run that sounds like a known term replaced by that term;
        ``common`` tells a character that is an everyday word on its own (又, 号, 出)."""
        if not self._sounds:
            return text

        def fix(run: str) -> str:
            out, i = [], 0
            while i < len(run):
                for n in (4, 3, 2):
                    piece = run[i : i + n]
                    if len(piece) < n or is_word(piece):
                        continue
                    term = self._sounds.get(self.sound(piece))
                    # A slip changes one character of the word meant (视平/视频, 分辨律/分辨率); a run
                    # sharing none ("那个视" is not 格式) only happens to sound alike.
                    if (
                        term
                        and term != piece
                        and (
                            sum(a == b for a, b in zip(term, piece, strict=True)) >= len(term) - 1
                            # both characters slipped, but to the very sound (结指 for 截止), the
                            # first is not the end of a word before it (主题叫: 题 is 主题's), and
                            # not both are everyday words of their own (10号出结果 is no 好处, 又小
                            # no 有效)
                            or (
                                self._reader()(piece) == self._reader()(term)
                                and not (i > 0 and is_word(run[i - 1 : i + 1]))
                                and not all(common(c) for c in piece)
                            )
                        )
                        and not _covered_by_words(run, i, n, is_word)
                        and not _straddled(run, i, n, is_word)
                    ):
                        out.append(term)
                        i += n
                        break
                else:
                    out.append(run[i])
                    i += 1
            return "".join(out)

        return _CJK_RUN.sub(lambda m: fix(m.group(0)), text)


def _covered_by_words(run: str, start: int, size: int, is_word: Callable[[str], bool]) -> bool:
    """Whether the piece is made of real words already (两部 = 两 + 部): then it is no slip."""
    piece = run[start : start + size]
    return any(
        is_word(piece[:k]) and is_word(piece[k:]) and len(piece[:k]) > 1 and len(piece[k:]) > 1
        for k in range(1, len(piece))
    )


def _straddled(run: str, start: int, size: int, is_word: Callable[[str], bool]) -> bool:
    """Whether the piece's last character begins a real word with what follows and the rest then
    starts no word ("有消息了没": 消息, and 息了 is nothing): the characters were meant as that word,
    not as a slip of 有效.  "视平分辨律" stays a slip: 分辨 starts a word after 视平."""
    end = start + size
    crossed = any(is_word(run[end - 1 : end + m]) for m in (1, 2) if end + m <= len(run))
    rest_starts = any(is_word(run[end : end + m]) for m in (2, 3) if end + m <= len(run))
    return crossed and not rest_starts
