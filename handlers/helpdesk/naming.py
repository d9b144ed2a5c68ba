"""Which contest a question is about: the one it names, else the latest; and another contest than
the asker's draft one that a question names by a name of its own ("重庆那个科学家精神短视频要求的
分辨率是多少" asked from a hlj draft)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from contests.rules import Contest
from handlers.helpdesk.analyzer import normalise
from handlers.helpdesk.places import listed_units
from handlers.helpdesk.sources import NoticeText

NoticeOf = Callable[[str], NoticeText | None]


def _names(contest: Contest, notice: NoticeText | None) -> set[str]:
    return {contest.short_title, contest.title, *(notice.aliases if notice else ())}


def pick_contest(contests: Iterable[Contest], notice_of: NoticeOf, question: str) -> tuple[Contest, bool]:
    """The contest a question names (True), else the one with the latest deadline (False)."""
    contests = list(contests)
    text = normalise(question)
    best: tuple[int, Contest] | None = None
    for contest in contests:
        weight = sum(len(n) for n in _names(contest, notice_of(contest.id)) if n and normalise(n) in text)
        # Named as much as another: the later edition (a new one shares its notice's names).
        if weight and (best is None or (weight, contest.deadline) > (best[0], best[1].deadline)):
            best = (weight, contest)
    if best:
        return best[1], True
    # A place only one contest lists ("万州区能推几个": a Chongqing district) names that contest.
    placed = [c for c in contests if any(p in text for p in _places_listed(c))]
    if placed and len({c.lineage for c in placed}) == 1:  # its editions: the latest
        return max(placed, key=lambda c: (c.deadline, c.id)), True
    latest = max(contests, key=lambda c: (c.deadline, c.id), default=None)
    if latest is None:
        raise KeyError("no contests")
    return latest, False


def other_named(
    contests: Iterable[Contest], notice_of: NoticeOf, contest_id: str, question: str
) -> Contest | None:
    """Another contest a question names by a name of its own (科学家精神, 大美科技特派团,
    全国科普微视频大赛), where the question says nothing of ``contest_id``'s and compares nothing
    with it: None otherwise.  A name that ``contest_id``'s notice itself uses (hlj recommends its
    winners to the 全国科普微视频大赛), a short or generic one (重庆, 科普微视频大赛) does not count."""
    contests = list(contests)
    current = next((c for c in contests if c.id == contest_id), None)
    if current is None:
        return None
    text = normalise(question)
    own = notice_of(contest_id)
    if any(n and len(n) >= 2 and normalise(n) in text for n in _names(current, own)):
        return None
    if _COMPARED_WITH.search(text) or _THIS_ONE.search(text):
        return None

    def names_it(name: str) -> bool:
        marked = text.replace(name, "<>")
        return (
            len(name) >= 5
            and name in text
            and not _GENERIC_NAME.fullmatch(name)
            and bool(_CONTEST_NAME.search(name) or _POINTED.search(marked))
            and not _BACKGROUND.search(marked)
        )

    named = [
        (contest, [n for n in map(normalise, _names(contest, notice_of(contest.id))) if names_it(n)])
        for contest in contests
        if contest.lineage != current.lineage
    ]
    named = [(contest, names) for contest, names in named if names]
    if not named:
        return _named_in_a_span(contests, notice_of, current, text)
    own_text = _notice_text(current, own)  # read only now: most questions name no other contest
    best: tuple[int, Contest] | None = None
    for contest, names in named:
        weight = sum(len(n) for n in names if n not in own_text)
        if weight and (best is None or (weight, contest.deadline) > (best[0], best[1].deadline)):
            best = (weight, contest)
    return best[1] if best else None


#: The contest asked about compared with another ("你们这个和全国科普微视频大赛一样是2到5分钟吧"):
#: the question is about this one.
_COMPARED_WITH = re.compile(
    r"(?:和|跟|同|与|像)[^，。？?]{0,16}(?:一样|相同|一致|差不多|似的|不同|区别)|(?:你们|咱们|我们)?这个(?:比赛|大赛|活动)?(?:和|跟|同|与)"
)
#: A contest's own name ends like one (…大赛, …活动, …征集); a theme or a role (科学家精神, 科技特派员,
#: 科技辅导员) names another contest only pointed at ("重庆那个科学家精神短视频").
_CONTEST_NAME = re.compile(r"(?:大赛|比赛|活动|征集|评选)$")
_POINTED = re.compile(r"那个\s*<>|<>\s*那个|<>(?:那边|那里)")
#: The other contest as the asker's past or subject, not what is asked of ("参加过大美科技特派团的
#: 活动", "讲的是…的故事", "已经报了全国科普微视频大赛"); and this one pointed at ("这次", "本次").
_BACKGROUND = re.compile(r"(?:参加过|报过|报了|得过|获过)[^，,。？?]{0,8}<>|(?:讲|拍|是)(?:的是)?\s*<>")
_THIS_ONE = re.compile(r"这次|本次|这一届|本届|这个(?:比赛|大赛|活动|征集)|(?:这个|这边|你们|咱们)呢")
#: A name any contest may be called by ("短视频大赛", "科普微视频大赛"): it names no other one.
_GENERIC_NAME = re.compile(r"(?:短视频|微视频|科普微视频|科普)(?:大赛|比赛|活动|征集)")


#: The other contest as what the asker saw or heard ("我看重庆那个比赛是要求去掉的"): a comparison.
_HEARD = re.compile(r"看|听|据说|好像|比如|像|参考")
#: A contest called by a phrase of the asker's own that ends like a contest's name: "重庆那个弘扬科学家
#: 精神短视频大赛", "黑龙江省那个优秀科普微视频评选".
_NAME_SPAN = re.compile(r"[^，,。？?！!、；;\s]{2,20}?(?:大赛|比赛|活动|征集|评选)")
#: What follows a phrase that makes it a work of that contest ("…活动的作品", "…的奖"), and entering it.
_WORK_OF_IT = re.compile(r"的?(?:作品|片子|视频|奖|获奖)")
_ENTERS = re.compile(r"报|参加|参赛|投")


def _named_in_a_span(
    contests: list[Contest], notice_of: NoticeOf, current: Contest, text: str
) -> Contest | None:
    """Another contest whose own names (two characters or more, not a generic one) stand in a phrase
    that ends like a contest's name, pointed at with 那个 or naming only it; not the asker's past
    ("参加过…大赛", "得过…活动的奖", "…活动的作品能报吗") nor, unless pointed at, a name ``current``'s
    notice also uses ("弘扬科学家精神主题活动" asked of the national contest, whose theme it is) or a
    place alone ("重庆市里组织的初选活动": a city's round of any contest)."""
    found: dict[str, tuple[int, Contest]] = {}
    own_text: str | None = None
    places = {p for c in contests for p in _places_listed(c)}
    for span in _NAME_SPAN.finditer(text):
        phrase = span.group(0)
        before = text[: span.start()][-6:]
        if _HEARD.search(before + phrase) or _GENERIC_NAME.fullmatch(phrase):
            continue
        if _WORK_OF_IT.match(text[span.end() :]) and _ENTERS.search(text[span.end() :]):
            continue  # "大美科技特派团活动的作品能报吗": a work of that contest entered in this one
        pointed = "那个" in phrase
        if own_text is None:
            own_text = _notice_text(current, notice_of(current.id))
        for contest in contests:
            if contest.lineage == current.lineage:
                continue
            candidates = sorted(
                (
                    n
                    for n in map(normalise, _names(contest, notice_of(contest.id)))
                    if len(n) >= 2 and n in phrase
                ),
                key=len,
                reverse=True,
            )
            marked = before + phrase
            for n in candidates:
                marked = marked.replace(n, "<>")
            if _BACKGROUND.search(marked):
                continue
            names = [
                n
                for n in candidates
                if not _GENERIC_NAME.fullmatch(n)
                and (pointed or (n not in own_text and not any(p.startswith(n) for p in places)))
            ]
            weight = sum(map(len, names))
            if weight and weight > found.get(contest.id, (0, contest))[0]:
                found[contest.id] = (weight, contest)
    if len(found) != 1:  # two contests' names in the asker's phrase: which is meant is unsure
        return None
    return next(iter(found.values()))[1]


def _notice_text(contest: Contest, notice: NoticeText | None) -> str:
    """A contest's title and its whole notice, normalised: the names it uses itself."""
    return normalise(
        " ".join([contest.title, *(c.text for c in notice.clauses)] if notice else [contest.title])
    )


def _places_listed(contest: Contest) -> set[str]:
    """The units a contest names (:func:`listed_units`) and those its rules add places for (the 三区
    provinces): 渝中区, 万州区, 河北省.  Names of two characters or fewer are left out (区, 省)."""
    bonus = (u for ch in contest.channels for r in ch.quota for u in r.bonus_units)
    return {normalise(n) for n in (*listed_units(contest), *bonus) if len(n) > 2}


def contest_preface(title: str, named: bool, english: bool) -> str:
    """The line before an answer saying which contest it is about: the one ``named``, or the latest."""
    if english and named:
        return f"(About “{title}”.)\n"
    if english:
        return f"(No contest named; this is about the latest one, “{title}”. Name another to ask.)\n"
    if named:
        return f"（以下按“{title}”回答）\n"
    return f"（您没有说明是哪个大赛，以下按最近的“{title}”回答；问的是其他大赛请注明名称）\n"
