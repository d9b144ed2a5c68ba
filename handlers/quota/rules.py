"""The notice's quota rules, read from a contest (pure: no store, no clock of its own).

Which rule governs a unit and how many places it has (:func:`rule_for_unit`,
:func:`limit_for`), the contest-wide claims of an entry (:func:`claims_for`), the two-step
channels' recommending unit (:func:`selection_field`, :func:`recommender_of`), and one
unit's usage at a moment (:func:`unit_usage`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contests.names import name_keys, place_of_unit, province_of
from contests.org import Membership, Place, PlaceState, Role, Track, Unit, normalise_name
from contests.ports import OrgStore
from contests.records import Submission
from contests.rules import SHANGHAI, Contest, EntryRoute, Form, FormField, QuotaRule
from validators.text import split_names

__all__ = [
    "AuthorRules",
    "UnitUsage",
    "author_rules",
    "chosen_rule",
    "claims_for",
    "days_left",
    "field_value",
    "find_unit",
    "first_author",
    "limit_for",
    "listed_names",
    "place_counts",
    "recommender_of",
    "rule_for_unit",
    "same_unit",
    "selection_field",
    "selection_window",
    "submitted_through",
    "unit_usage",
]


@dataclass(frozen=True, slots=True)
class AuthorRules:
    """The notice's rules about authors that can be checked from the form."""

    one_work_per_first_author: bool  # "只能由第一作者提交，限1部" / "同一作者只能申报一部作品"
    one_channel_per_work: bool  # "作品只能通过……一种方式参加评选"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def author_rules(contest: Contest) -> AuthorRules:
    """Read the author rules from the preset's own words.

    The contest schema has no field for them, so the notice's sentences (kept verbatim in the
    presets' ``submitter`` and ``rules``) are recognised here.  Pinned per preset by the tests.
    """
    submitters = [_flat(c.submitter) for c in contest.channels]
    rules = [_flat(r) for r in contest.rules]
    one_per_author = any("限1部" in s for s in submitters) or any("同一作者只能申报一部" in r for r in rules)
    one_channel = any("只能通过" in r and "一种方式" in r for r in rules)
    return AuthorRules(one_per_author, one_channel)


async def unit_of_member(org: OrgStore, member: Membership | None) -> Unit | None:
    """The imported unit a member represents; None for organisers and entrants."""
    if member is None or member.role is not Role.MEMBER or not member.unit_key:
        return None
    return await org.get_unit(member.contest_id, member.unit_key)


async def find_unit(
    org: OrgStore, contest_id: str, named: str, *, contest: Contest | None = None
) -> Unit | None:
    """The imported unit a typed name means: the name itself, else the one unit it is another
    name of (河北省科技厅 for an imported 河北省科学技术厅); None when none or several are.

    With ``contest``, also the one unit that stands for the same name of the notice's lists
    (:func:`listed_names`) as the typed name: "江北区", "江北科委" and "重庆市江北区科学技术局"
    all find the 江北区 however it was imported."""
    found = await org.get_unit(contest_id, named)
    if found is not None or not named.strip():
        return found
    keys = name_keys(named)
    units = await org.list_units(contest_id)
    alike = [u for u in units if not keys.isdisjoint(name_keys(u.name))]
    if len(alike) == 1 or contest is None:
        return alike[0] if len(alike) == 1 else None
    listed = listed_names(contest)
    place = place_of_unit(named, listed) if listed else None
    if place is None:
        return None
    same = [u for u in units if place_of_unit(u.name, listed) == place]
    return same[0] if len(same) == 1 else None


def listed_names(contest: Contest) -> tuple[str, ...]:
    """The units and places the notice lists by name: the units its quota rules name (cq's
    12 districts) and the 区县 a two-step channel's entries choose from."""
    names: list[str] = []
    for channel in contest.channels:
        for rule in channel.quota:
            names.extend(rule.units)
        fld = selection_field(contest, channel)
        if fld is not None:
            names.extend(fld.options)
    return tuple(dict.fromkeys(names))


def rule_for_unit(channel: EntryRoute, unit: Unit) -> QuotaRule | None:
    """The rule of ``channel`` that governs ``unit``: one that names it, else one of its kind
    that names nobody (cq's 12 listed districts vs. every other 区县)."""
    for rule in channel.quota:
        if rule.units and place_of_unit(unit.name, rule.units) is not None:
            return rule  # "江北区科技局" is the 江北区 the notice lists, whatever its suffix
    for rule in channel.quota:
        if rule.kind == unit.kind and not rule.units:
            return rule
    return None


def chosen_rule(channel: EntryRoute, form: Form, answers: Mapping[str, Any]) -> QuotaRule | None:
    """The rule of ``channel`` the entrant's answer to the form's ``membership`` field picks
    (cacsi: 个人会员 → 科普号1个，作品1部), or None."""
    return channel.chosen_rule(form, answers)


def _bonus(rule: QuotaRule, unit: Unit | None) -> int:
    if unit is None or not rule.bonus:
        return 0
    names = {normalise_name(n) for n in rule.bonus_units}
    # A province's department is imported under its own name; its province column (else the
    # name's own start: 河北省科技厅) names the province.
    province = unit.province or province_of(unit.name)
    return rule.bonus if unit.key in names or (province and normalise_name(province) in names) else 0


def limit_for(rule: QuotaRule | None, unit: Unit | None, track: Track) -> int | None:
    """Places of one holder on ``track``: works count against ``max_works`` (plus the rule's
    bonus for the units it lists), 科普号 against ``max_accounts``.  None: no limit."""
    if rule is None:
        return None
    if track == "account":
        return rule.max_accounts
    if rule.max_works is None:
        return None
    return rule.max_works + _bonus(rule, unit)


def field_value(form: Form, answers: Mapping[str, Any], role: str) -> Any:
    """The answer to ``form``'s field of ``role`` ("title", "unit", ...), or None."""
    fld = next((f for f in form.fields if f.role == role), None)
    return answers.get(fld.id) if fld is not None else None


def first_author(form: Form, answers: Mapping[str, Any]) -> str:
    """The first name of the ``authors`` field (stored as a list; a string is split like the form does)."""
    value = field_value(form, answers, "authors")
    if isinstance(value, list):
        first = str(value[0]) if value else ""
    elif isinstance(value, str):
        first = re.split(r"[、,，;；\n]", value.strip(), maxsplit=1)[0]
    else:
        return ""
    # "陈晓明（北京大学 研究员）": the person, not their affiliation (a third trial round entered a
    # second work for 陈晓明 so); the form still prints what was typed.
    first = _AFFILIATION.sub("", first).strip() or first
    # "陈晓明 周雪" kept whole by an earlier version (a draft, a stored work): its first name.
    return split_names(first)[0].strip() if first.strip() else ""


_AFFILIATION = re.compile(r"\s*[（(][^（）()]*[）)]\s*")


def _title_key(title: str) -> str:
    # Quotes, book-title marks and spacing differ between two copies of one title; words do not.
    return "".join(ch for ch in normalise_name(title) if ch.isalnum())


def claims_for(
    contest: Contest, form: Form, answers: Mapping[str, Any]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The contest-wide keys this entry must hold, and each key's human form for messages."""
    rules = author_rules(contest)
    author = first_author(form, answers)
    if form.track != "work" or not author:
        return (), {}
    claims: list[str] = []
    shown: dict[str, str] = {}
    title = str(field_value(form, answers, "title") or "").strip()
    if rules.one_channel_per_work and title:
        key = f"work:{_title_key(title)}|{normalise_name(author)}"
        claims.append(key)
        shown[key] = f"《{title}》（第一作者{author}）"
    if rules.one_work_per_first_author:
        key = f"author:{normalise_name(author)}"
        claims.append(key)
        shown[key] = author
    return tuple(claims), shown


def days_left(contest: Contest, now: dt.datetime) -> int:
    """Whole days from today (Beijing) to the deadline day; negative once it has passed."""
    return (contest.deadline - now.astimezone(SHANGHAI).date()).days


def selection_field(contest: Contest, channel: EntryRoute) -> FormField | None:
    """The ``recommender`` field of the channel's work form: set when entries are submitted
    through a unit that later recommends some of them (cq: 报送区县), else None."""
    form_id = channel.forms.get("work")
    return contest.form(form_id).recommender() if form_id else None


def recommender_of(contest: Contest, sub: Submission) -> str:
    """The unit a two-step entry was submitted through: ``extra.district``, else its answer."""
    try:
        fld = contest.form(sub.form_id).recommender()
    except KeyError:
        return ""
    if fld is None:
        return ""
    return str(sub.extra.get("district") or sub.answers.get(fld.id) or "").strip()


def submitted_through(contest: Contest, sub: Submission, units: Iterable[Unit]) -> Unit | None:
    """The imported unit a two-step entry was submitted through, or None (not two-step, or
    the unit is not imported)."""
    try:
        fld = contest.form(sub.form_id).recommender()
    except KeyError:
        return None
    if fld is None:
        return None
    named = recommender_of(contest, sub)
    return next((u for u in units if same_unit(fld, u, named)), None)


def same_unit(fld: FormField, unit: Unit, named: str) -> bool:
    """Whether the imported ``unit`` ("重庆市江北区科学技术局" or "江北区") is the one named."""
    if not named:
        return False
    canonical = place_of_unit(unit.name, fld.options) or unit.name
    return normalise_name(canonical) == normalise_name(named)


def selection_window(contest: Contest, channel: EntryRoute) -> tuple[dt.date | None, dt.date | None, str]:
    """(first day, last day, stage name) in which the units recommend.  Without the stage (a
    copied edition whose schedule is not written yet): from the day after the deadline, no end."""
    stage = contest.stage(channel.selection_stage)
    if stage is not None:
        return stage.start, stage.end, stage.name
    return contest.deadline + dt.timedelta(days=1), None, ""


@dataclass(frozen=True, slots=True)
class UnitUsage:
    """One holder's places at a moment: what ``quota --json`` prints per unit."""

    holder: str
    name: str
    kind: str
    label: str
    used: int
    limit: int | None
    min_works: int | None
    accounts_used: int
    accounts_limit: int | None
    works: tuple[str, ...]  # numbers of the committed works, oldest first
    accounts: tuple[str, ...]

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def to_json(self, *, with_accounts: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "unit": self.name,
            "kind": self.kind,
            "used": self.used,
            "limit": self.limit,
            "min": self.min_works,
            "remaining": self.remaining,
            "works": list(self.works),
        }
        if with_accounts:
            doc |= {
                "accounts_used": self.accounts_used,
                "accounts_limit": self.accounts_limit,
                "accounts_remaining": (
                    None if self.accounts_limit is None else max(self.accounts_limit - self.accounts_used, 0)
                ),
                "accounts": list(self.accounts),
            }
        return doc


def place_counts(place: Place, track: Track, now: dt.datetime) -> bool:
    """Whether ``place`` uses up a place of ``track`` at ``now``."""
    return place.track == track and place.counts(now)


def unit_usage(contest: Contest, unit: Unit, places: list[Place], now: dt.datetime) -> UnitUsage:
    """``unit``'s share of ``places`` at ``now``, against the limits of the rule that governs it."""
    rule = next((r for c in contest.channels if (r := rule_for_unit(c, unit)) is not None), None)
    mine = [p for p in places if p.holder == unit.holder]
    committed = [p for p in mine if p.state is PlaceState.COMMITTED and p.number]
    return UnitUsage(
        holder=unit.holder,
        name=unit.name,
        kind=rule.kind if rule else unit.kind,
        label=rule.label if rule else "",
        used=sum(1 for p in mine if place_counts(p, "work", now)),
        limit=limit_for(rule, unit, "work"),
        min_works=rule.min_works if rule else None,
        accounts_used=sum(1 for p in mine if place_counts(p, "account", now)),
        accounts_limit=limit_for(rule, unit, "account"),
        works=tuple(p.number or "" for p in committed if p.track == "work"),
        accounts=tuple(p.number or "" for p in committed if p.track == "account"),
    )
