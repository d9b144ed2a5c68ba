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

__all__ = [
    "channel_correction",
    "channels_meant",
    "contest_in_clauses",
    "contests_meant",
    "contests_near",
    "kind_not_offered",
    "picked_number",
]

# Words around a contest's name that are not part of it: "我要报名黑龙江的那个比赛".
_FILLER = re.compile(
    r"我想|我要|我们|想|要|报名|参加|参赛|投稿|报|投|的|那个|这个|比赛|大赛|征集|活动|吧|呢|啊|一下"
)
# A number picked in words: "选2", "第2个", "2号".
_PICKED = re.compile(r"(?:选择?|第|^)\s*(\d{1,2})(?!\d)\s*(?:个|项|号|$)|(?<!\d)(\d{1,2})\s*(?:号|$)")
_RECOMMEND = ("推荐", "单位报", "单位报送", "单位申报")
_SELF = ("自荐", "自己报", "自己申报", "自己", "个人", "社会征集", "自行")
_NOT_KIND = re.compile(r"(?:不走|不是|不要|不用|不通过|不经过|没有|没|不)(?P<kind>推荐|自荐)")
# "不是会员" / "非会员": the member route is what the entrant is not.
_NEGATED = re.compile(r"(?:不是|并非|非|没有|没|未)(?:加入)?(?:协会)?(?:的)?(?:单位|个人)?会员")


def contests_meant(text: str, contests: Sequence[Contest]) -> list[Contest]:
    """The contests of ``contests`` that ``text`` names by part of its id, title, short title
    or organiser (at least two characters), filler words aside: "我要报名重庆的短视频大赛" by its
    pieces, "黑龙江科普微视频" by most of its character pairs."""
    names = [(c.id, [c.id, c.title, c.short_title]) for c in contests]
    keys = find_all(text, names)
    if not keys:
        keys = find_all(_FILLER.sub("", fold(text)), names)
    if not keys:
        keys = _by_pieces(text, contests)
    return [c for c in contests if c.id in keys]


_CLAUSE = re.compile(r"[，,。；;！!？?\s]+")


def contest_in_clauses(text: str, contests: Sequence[Contest]) -> tuple[Contest | None, str]:
    """The one contest a clause of ``text`` names when the whole names none, and the other
    clauses ("我要报黑龙江的，个人自荐": hlj, "个人自荐"; "你好，我们公司想报重庆那个…": cq, "你好");
    ``(None, "")`` when no clause, or more than one, names a contest."""
    clauses = [c for c in _CLAUSE.split(text) if c]
    if len(clauses) < 2:
        return None, ""
    named = [(i, found) for i, c in enumerate(clauses) if (found := contests_meant(c, contests))]
    if len(named) != 1 or len(named[0][1]) != 1:
        return None, ""
    at, [contest] = named[0]
    return contest, "，".join(c for i, c in enumerate(clauses) if i != at)


#: Of a phrase's character pairs, the share one contest's name must hold to be meant by it.
PAIRS_MEANT = 0.75


def _by_pieces(text: str, contests: Sequence[Contest]) -> list[str]:
    """Contests every piece of ``text`` (between filler words) is part of a name of, else the one
    contest whose best name holds the most of its character pairs (at least :data:`PAIRS_MEANT`)."""
    pieces = [p for p in _FILLER.split(fold(text)) if len(p) >= 2]
    if not pieces:
        return []
    named = {c.id: [fold(n) for n in (c.title, c.short_title, *c.organisers) if n] for c in contests}
    whole = [k for k, ns in named.items() if all(any(p in n for n in ns) for p in pieces)]
    if whole:
        return whole
    pairs = {p[i : i + 2] for p in pieces for i in range(len(p) - 1)}
    # A year typed is the edition meant ("2024年全国科普微视频大赛" is not the 2026 one).
    years = re.findall(r"\d{2,}", fold(text))
    named = {k: [n for n in ns if all(y in n for y in years)] for k, ns in named.items()}
    share = {k: max(len(pairs & _bigrams(n)) for n in ns) / len(pairs) for k, ns in named.items() if ns}
    best = max(share.values(), default=0.0)
    top = [k for k, v in share.items() if v == best]
    return top if best >= PAIRS_MEANT and len(top) == 1 else []


#: Of a phrase's characters (filler words aside), the share a contest's name must hold for the
#: contest to be offered as the one probably meant ("黑龙家省的科普视频征集": a typo of 黑龙江).
CHARS_NEAR = 0.6


def contests_near(text: str, contests: Sequence[Contest]) -> list[Contest]:
    """The contests whose names hold the most of ``text``'s characters, when that is at least
    :data:`CHARS_NEAR` of them: offered to the entrant as a choice, never taken."""
    typed = "".join(p for p in _FILLER.split(fold(text)) if len(p) >= 2)
    if len(typed) < 3:
        return []
    share: dict[str, float] = {}
    for c in contests:
        names = [fold(n) for n in (c.title, c.short_title, *c.organisers) if n]
        share[c.id] = max(sum(ch in n for ch in typed) / len(typed) for n in names)
    best = max(share.values(), default=0.0)
    return [c for c in contests if best >= CHARS_NEAR and share[c.id] == best]


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


def without_names(text: str, names: Sequence[str]) -> str:
    """``text`` without the runs of three characters or more it shares with ``names`` (the
    contest's own title: "我要报名大美科技特派团的微视频征集" names no channel by its 征集)."""
    folded = [fold(n) for n in names if n]
    out, i = [], 0
    while i < len(text):
        j = i + 3
        while j <= len(text) and any(text[i:j] in n for n in folded):
            j += 1
        if j - 1 - i >= 3:
            i = j - 1
            out.append(" ")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def channels_meant(text: str, channels: Sequence[EntryRoute], names: Sequence[str] = ()) -> list[EntryRoute]:
    """The channels a phrase means: by the words of their labels and quota kinds no other
    channel shares ("会员", "省级", "个人会员"), then by their kind (推荐 / 自荐).  The best
    scored ones; several when the phrase fits them equally.  ``names``: the contest's own, which
    name no channel."""
    text = without_names(fold(text), names)
    negated = _NEGATED.search(text) is not None
    said = _NEGATED.sub("", text)
    # "自己单位报，不走推荐": the kind named after a "not" is the one not meant.
    refused = {"recommend" if m["kind"] == "推荐" else "self" for m in _NOT_KIND.finditer(said)}
    said = _NOT_KIND.sub("", said)
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
        if ch.kind in refused:
            score = 0
        scores.append(score)
    best = max(scores, default=0)
    return [ch for ch, s in zip(channels, scores, strict=True) if best and s == best]


# "不对，我选的是自荐", "选错了，应该是社会征集": the entrant takes the channel back, at any field.
_CORRECTION = re.compile(
    r"^(?:不对|错了|选错了|搞错了|弄错了|点错了|不是这个)?[，,。！!\s]*(?:我)?"
    r"(?:选的是|要选|想选|应该选|应该是|要走|走的是|改成|换成|改为|改选|要报|想报|改报|报的是)(?P<meant>.{1,16})$"
)


def _corrected_to(text: str) -> str | None:
    """What a correction says was meant ("不对，我选的是自荐" -> "自荐"), or None."""
    m = _CORRECTION.match(fold(text).strip().rstrip("。！!"))
    return m["meant"] if m else None


def channel_correction(text: str, channels: Sequence[EntryRoute], current: str | None) -> EntryRoute | None:
    """The one channel a correction names ("不对，我选的是自荐") other than ``current``, else None."""
    meant_text = _corrected_to(text)
    meant = channels_meant(meant_text, channels) if meant_text else []
    return meant[0] if len(meant) == 1 and meant[0].id != current else None


def contest_correction(text: str, contests: Sequence[Contest], current: str | None) -> Contest | None:
    """The one other contest a correction names ("换成重庆那个", "不对，我要报黑龙江的"), else None."""
    meant_text = _corrected_to(text)
    meant = contests_meant(meant_text, contests) if meant_text else []
    return meant[0] if len(meant) == 1 and meant[0].id != current else None


def kind_not_offered(text: str, channels: Sequence[EntryRoute]) -> bool:
    """Whether a correction ("不对，我选的是自荐") names a kind of route the contest does not have
    (cq: only 区县推荐): the entrant is told so rather than asked the field again."""
    meant = _corrected_to(text) or ""
    kinds = {"self"} if any(w in meant for w in ("自荐", "个人", "自己")) else set()
    kinds |= {"recommend"} if "推荐" in meant else set()
    return bool(kinds) and not any(c.kind in kinds for c in channels)
