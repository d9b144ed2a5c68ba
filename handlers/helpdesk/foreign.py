"""What a question is not about: the entries of another route, another form or another track sink
below the rest.  A 自荐 entrant asking "光盘寄到哪" is not answered from the 推荐 route's delivery
line; "推荐表承诺书里…" is not the 自荐表's; cacsi's 科普号 questions are not answered from its
微视频 section.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from contests.rules import Contest
from handlers.helpdesk.index import Entry, Hit

#: How entrants name the forms.
FORM_NAMES = ("推荐表", "自荐表", "申报表", "报送表")


def _foreign(contest: Contest, route: str | None, text: str) -> tuple[set[str], set[str]]:
    """The forms and routes a question is *not* about: those of other routes than the asker's, and
    every form but the one the question names ("推荐表承诺书里…")."""
    forms: set[str] = set()
    routes: set[str] = set()
    channel = next((c for c in contest.channels if c.id == route), None)
    if channel is not None:
        # A route the question names itself ("个人能报吗" from a 推荐 draft) is what it asks about.
        asked = {c.id for c in contest.channels if c.id != channel.id and _NAMES_KIND[c.kind].search(text)}
        forms |= {f.id for f in contest.forms} - set(channel.forms.values())
        forms -= {fid for c in contest.channels if c.id in asked for fid in c.forms.values()}
        routes |= {c.id for c in contest.channels} - {channel.id} - asked
    named = next((n for n in FORM_NAMES if n in text), None)
    if named is not None:
        others = {f.id for f in contest.forms if named not in f.title}
        if len(others) < len(contest.forms):
            forms |= others
    return forms, routes


#: How a question names a kind of route in words.
_NAMES_KIND = {
    "self": re.compile(r"自荐|个人|自己(?:报|申报|投|参加)|社会征集|以个人"),
    "recommend": re.compile(r"单位推荐|地方推荐|推荐(?!表|理由|意见)|推上去|报上去"),
}


#: A route named in so many words, where no draft says the asker's ("推荐作品由谁审核": not the 自荐
#: form's reviewers).  Stricter than :data:`_NAMES_KIND`: "个人" alone is as often 个人信息.
_SAYS_KIND = {
    "self": re.compile(r"自荐(?!表)|社会征集|以个人(?:名义|身份)"),
    "recommend": re.compile(r"(?:单位|地方|部门)推荐|推荐(?:的)?(?:作品|片子|视频)|推荐上去"),
}


def _says_only(text: str, kinds: Collection[str]) -> bool:
    """``text`` names a route of ``kinds`` in so many words, and no other route."""
    said = {kind for kind, says in _SAYS_KIND.items() if says.search(text)}
    return bool(said) and said <= set(kinds)


def route_named(contest: Contest, text: str) -> str | None:
    """The one route of ``contest`` whose kind ``text`` names in so many words, else None."""
    kinds = [kind for kind, says in _SAYS_KIND.items() if says.search(text)]
    if len(kinds) != 1:
        return None
    of_kind = [c.id for c in contest.channels if c.kind == kinds[0]]
    return of_kind[0] if len(of_kind) == 1 and len(contest.channels) > 1 else None


def sink_foreign(hits: list[Hit], contest: Contest, route: str | None, text: str) -> list[Hit]:
    """Hits about a form or route the question is not about (:func:`_foreign`) sink below the rest:
    that form's facts and its attachment's clauses, that route's places and description."""
    forms, routes = _foreign(contest, route, text)
    other = _other_track(text)
    if not forms and not routes and other is None:
        return hits
    if other is not None and len({f.track for f in contest.forms}) > 1:
        # The other track's forms (cacsi: the 科普号申报表 for a 微视频 question).
        forms |= {f.id for f in contest.forms if f.track == _TRACK_OF[other]}
    sections = tuple(f"{f.attachment} " for f in contest.forms if f.id in forms and f.attachment)
    # Another route's name as the notice writes it ("地方、部门推荐", "社会征集"): its delivery line
    # and its section's clauses are that route's.
    names = tuple(_ROUTE_CORE.sub("", c.label) for c in contest.channels if c.id in routes)
    # A clause about other routes' works alone ("社会征集的自荐作品，需由…审核" for a 推荐 question).
    kinds = {c.kind for c in contest.channels if c.id in routes} - {
        c.kind for c in contest.channels if c.id not in routes
    }

    def foreign(hit: Hit) -> bool:
        entry = hit.entry
        if entry.kind == "clause":  # the other form's own attachment, the other track's section
            cite = entry.source.split(" ", 1)[-1] + " "
            heading = _ITEM_NUMBER.sub("", entry.source)
            return (
                (bool(sections) and cite.startswith(sections))
                or (other is not None and (other in heading or _only_of(entry.text, other)))
                or any(n and n in heading for n in names)
                or (bool(kinds) and _says_only(entry.text, kinds))
            )
        if entry.id.startswith("fact:delivery.") and names:
            said = entry.text.removeprefix("提交方式：").partition("：")[0]
            return any(n and (said.startswith(n) or n.startswith(said)) for n in names) if said else False
        parts = entry.id.split(".")
        return len(parts) > 1 and (
            (parts[0] == "fact:forms" and parts[1] in forms)
            or (parts[0] in ("fact:quota", "fact:channels") and parts[1] in routes)
        )

    return sorted(hits, key=lambda h: (foreign(h), -h.score, h.entry.id))


#: A route's label without its gloss: "社会征集（自荐）" is written "社会征集" in the notice's lines.
_ROUTE_CORE = re.compile(r"[（(][^）)]*[）)]")


#: A notice calling for two things (cacsi: 科普号 accounts and 微视频 works) states each one's rules in a
#: section of its own: a question naming one alone is not about the other's section.
_TRACKS = (("科普号", re.compile(r"科普号|账号|帐号")), ("微视频", re.compile(r"视频|片子")))
_ITEM_NUMBER = re.compile(r"\s\d+[.．、]$")


_TRACK_OF = {"科普号": "account", "微视频": "work"}


def _tracks_named(text: str) -> list[str]:
    return [name for name, pattern in _TRACKS if pattern.search(text)]


def _only_of(text: str, track: str) -> bool:
    """A clause that speaks of ``track`` alone ("将评选出20个优秀的科普号…"): that track's."""
    return _tracks_named(text) == [track]


def _other_track(text: str) -> str | None:
    named = _tracks_named(text)
    if len(named) != 1:
        return None
    return next(name for name, _ in _TRACKS if name != named[0])


def forms_alike(contest: Contest, top: Entry, route: str | None, text: str) -> list[str]:
    """The same fact of the other forms a question's form word also names: "申报表签名能打字吗"
    asks of cacsi's 科普号申报表 and 微视频申报表 alike, and only the second says 签字须手写."""
    parts = top.id.split(".", 2)
    if route is not None or len(parts) != 3 or parts[0] != "fact:forms" or _tracks_named(text):
        return []
    named = next((n for n in FORM_NAMES if n in text), None)
    alike = [f.id for f in contest.forms if named is not None and named in f.title]
    if parts[1] not in alike:
        return []
    return [f"fact:forms.{form}.{parts[2]}" for form in alike if form != parts[1]]


#: What a draft's track is called in a question, for a contest calling for both (cacsi).
TRACK_WORDS = {"work": "微视频", "account": "科普号"}


def names_no_track(text: str) -> bool:
    """Whether ``text`` names neither a 科普号 nor a video: then the asker's own track is meant."""
    return not _tracks_named(text)
