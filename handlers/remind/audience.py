"""Who a broadcast goes to: ``all``, ``drafts``, ``members`` or ``unit:<名称>``, read from the
organiser's words and looked up in the stores when the job starts (not when it is made)."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from contests.org import Role, normalise_name
from contests.ports import OrgStore, Storage
from contests.records import UserKey
from dialogs.states import Step

__all__ = ["AudienceError", "AudienceKind", "audience_of", "list_draft_users", "parse_audience"]

AudienceKind = Literal["all", "drafts", "members", "unit"]
_AUDIENCE_WORDS: dict[str, AudienceKind] = {
    "all": "all", "全部": "all", "所有人": "all", "全体": "all", "所有": "all",
    "drafts": "drafts", "草稿": "drafts", "未完成": "drafts", "未完成报名": "drafts",
    "members": "members", "代表": "members", "推荐单位": "members", "成员": "members", "单位代表": "members",
}  # fmt: skip


class AudienceError(ValueError):
    """The audience is not one we know, or names an unknown unit; the message says which."""


def parse_audience(text: str) -> str:
    """``all`` / ``drafts`` / ``members`` / ``unit:<名称>`` from the CLI's or the chat's words."""
    raw = unicodedata.normalize("NFKC", text).strip()
    low = raw.casefold()
    if low in _AUDIENCE_WORDS:
        return _AUDIENCE_WORDS[low]
    m = re.fullmatch(r"(?:unit|单位)\s*:\s*(.+)", raw, flags=re.IGNORECASE)
    if m and m.group(1).strip():
        return "unit:" + m.group(1).strip()
    raise AudienceError(
        f"受众“{text}”不认识：可用 全部(all)、草稿(drafts)、代表(members)、单位:名称(unit:名称)"
    )


async def list_draft_users(storage: Storage, contest_id: str | None = None) -> list[UserKey]:
    """Users with a draft (of ``contest_id``, when given)."""
    return [
        d.user
        for d in await storage.list_drafts()
        if contest_id is None or d.data.get("contest") == contest_id
    ]


async def audience_of(storage: Storage, org: OrgStore, contest_id: str, spec: str) -> list[UserKey]:
    """The users of an audience (:func:`parse_audience`'s ``spec``) right now, each once, in a
    stable order.  Raises :class:`AudienceError` for an unknown audience or unit."""
    found: set[UserKey] = set()
    if spec == "all":
        # The contest's people, not the deployment's: whoever has a draft or a submission in
        # it, and its members and organisers (a user of another contest only is not one).
        found.update(await list_draft_users(storage, contest_id))
        found.update(s.user for s in await storage.list_submissions(contest_id=contest_id))
        found.update(m.user for m in await org.list_memberships(contest_id=contest_id))
    elif spec == "drafts":
        found.update(
            d.user
            for d in await storage.list_drafts()
            if d.data.get("contest") == contest_id and d.data.get("step") != Step.SCAN
        )
    elif spec == "members":
        found.update(
            m.user for m in await org.list_memberships(contest_id=contest_id) if m.role is Role.MEMBER
        )
    elif spec.startswith("unit:"):
        unit = await org.get_unit(contest_id, spec[5:])
        if unit is None:
            raise AudienceError(f"本赛事没有登记名为“{spec[5:]}”的推荐单位。")
        found.update(
            m.user
            for m in await org.list_memberships(contest_id=contest_id)
            if m.role is Role.MEMBER and m.unit_key == unit.key
        )
        found.update(
            s.user
            for s in await storage.list_submissions(contest_id=contest_id)
            if s.status != "withdrawn" and normalise_name(str(s.extra.get("unit") or "")) == unit.key
        )
    else:
        raise AudienceError(f"不认识的受众：{spec}")
    return sorted(found, key=str)
