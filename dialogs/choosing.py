"""Which contest or channel a typed phrase means, as entrants type them.

"黑龙江", "全国科普微视频大赛", "重庆" name a contest by part of its name; "我是单位推荐的",
"我是个人会员，选2", "自己报" name a channel.  Both give every candidate they could mean: one is
taken, several are offered as a choice (never a guess), none is refused by the caller.  The
comparison itself is :mod:`contests.names`'.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from contests.names import find_all, fold
from contests.rules import Contest, EntryRoute

__all__ = ["channels_meant", "contests_meant", "picked_number"]

# Words around a contest's name that are not part of it: "我要报名黑龙江的那个比赛".
_FILLER = re.compile(r"我想|我要|我们|想|要|报名|参加|参赛|投稿|的|那个|这个|比赛|活动|吧|呢|啊|一下")
# A number picked in words: "选2", "第2个", "2号".
_PICKED = re.compile(r"(?:选择?|第|^)\s*(\d{1,2})(?!\d)\s*(?:个|项|号|$)|(?<!\d)(\d{1,2})\s*(?:号|$)")
_RECOMMEND = ("推荐", "单位报", "单位报送", "单位申报")
_SELF = ("自荐", "自己报", "自己申报", "自己", "个人", "社会征集", "自行")
# "不是会员" / "非会员": the member route is what the entrant is not.
_NEGATED = re.compile(r"(?:不是|并非|非|没有|没|未)(?:加入)?(?:协会)?(?:的)?(?:单位|个人)?会员")


def contests_meant(text: str, contests: Sequence[Contest]) -> list[Contest]:
    """The contests of ``contests`` that ``text`` names by part of its id, title or short
    title (at least two characters), filler words aside."""
    names = [(c.id, [c.id, c.title, c.short_title]) for c in contests]
    keys = find_all(text, names)
    if not keys:
        keys = find_all(_FILLER.sub("", fold(text)), names)
    return [c for c in contests if c.id in keys]


def _bigrams(text: str) -> set[str]:
    """Pairs of neighbouring CJK characters, within one word of a label."""
    pairs: set[str] = set()
    for word in re.split(r"[（）()、/，,\s]+", text):
        pairs |= {word[i : i + 2] for i in range(len(word) - 1)}
    return pairs


def picked_number(text: str) -> int | None:
    """A number chosen in words ("选2", "第 2 个"), else None."""
    m = _PICKED.search(unicodedata.normalize("NFKC", text).strip())
    if m is None:
        return None
    return int(m.group(1) or m.group(2))


def channels_meant(text: str, channels: Sequence[EntryRoute]) -> list[EntryRoute]:
    """The channels a phrase means: by the words of their labels and quota kinds no other
    channel shares ("会员", "省级", "个人会员"), then by their kind (推荐 / 自荐).  The best
    scored ones; several when the phrase fits them equally."""
    negated = _NEGATED.search(fold(text)) is not None
    said = _NEGATED.sub("", fold(text))
    shares: dict[str, int] = {}
    for ch in channels:
        for pair in _bigrams(ch.label):
            shares[pair] = shares.get(pair, 0) + 1
    scores: list[int] = []
    for ch in channels:
        score = 0
        # A quota kind or a whole word of the label typed: 个人会员, 单位会员, 省级推荐.
        phrases = {r.label for r in ch.quota} | set(re.split(r"[（）()、/，,\s]+", ch.label))
        score += 3 * sum(1 for p in phrases if len(p) >= 2 and fold(p) in said)
        score += sum(1 for p in _bigrams(ch.label) if shares[p] == 1 and p in said)
        words = _RECOMMEND if ch.kind == "recommend" else _SELF
        if any(w in said for w in words) and not (
            ch.kind == "self" and "推荐" in said and "自荐" not in said
        ):
            score += 1
        if negated and "会员" in ch.label:
            score = 0  # "不是会员，自己报": any route but the members'
        scores.append(score)
    best = max(scores, default=0)
    return [ch for ch, s in zip(channels, scores, strict=True) if best and s == best]
