"""The organisers' use case: roles, units import, invites and binding, visibility, exports.

Roles are per contest: *organiser*, *member* (the representative of one imported unit), and
everybody else an *entrant* (see :mod:`handlers.admin.invites` for how one becomes a member).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contests.audit import AuditEntry
from contests.events import Document
from contests.org import Invite, PlaceState, RedeemStatus, Role, hash_code, normalise_name, unit_holder
from contests.ports import AuditLog, OrgStore, Storage
from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.review import awaiting_unit
from contests.rules import SHANGHAI, Contest
from handlers.admin.invites import (
    DEFAULT_INVITE_VALIDITY,
    BindLimits,
    BindResult,
    IssuedInvite,
    limited_text,
    new_code,
    normalise_code,
)
from handlers.admin.units import (
    ImportSummary,
    UnitsImportError,
    UnitsPreview,
    UnitsPreviewChanged,
    read_units,
)
from handlers.export import FORMATS, ExportRow, Viewer, render, visible_submission
from handlers.quota.rules import find_unit, recommender_of, rule_for_unit, selection_field, submitted_through
from handlers.quota.service import utcnow
from validators.content import unnamed

__all__ = ["AdminService", "Denied"]

_ROLE_CN = {Role.MEMBER: "推荐单位代表", Role.ORGANISER: "主办方"}


@dataclass(frozen=True, slots=True)
class Denied:
    """A refused request, with the reply for the user."""

    text: str


class AdminService:
    """Roles, units, invites and exports of every contest in ``contests``."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        clock: Callable[[], dt.datetime] = utcnow,
        bind_limits: BindLimits | None = None,
        *,
        audit: AuditLog | None = None,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.clock = clock
        self.bind_limits = bind_limits or BindLimits()
        self.audit = audit  # every export: who, which contest and unit, format, how many rows

    def contest(self, contest_id: str) -> Contest:
        contest = self.contests.get(contest_id)
        if contest is None:
            known = "、".join(c.id for c in self.contests)
            raise KeyError(f"没有找到大赛 {contest_id!r}；可用：{known}")
        return contest

    # -- roles ----------------------------------------------------------------------------

    async def viewer(self, user: UserKey, contest_id: str) -> Viewer:
        """The user's role in the contest, as :mod:`handlers.export` needs it."""
        member = await self.org.get_membership(user, contest_id)
        if member is None:
            return Viewer(user, "entrant")
        if member.role is Role.ORGANISER:
            return Viewer(user, "organiser")
        return Viewer(user, "member", f"unit:{member.unit_key}" if member.unit_key else None)

    async def is_organiser(self, user: UserKey, contest_id: str) -> bool:
        return (await self.viewer(user, contest_id)).role == "organiser"

    # -- units ----------------------------------------------------------------------------

    async def preview_units(self, contest_id: str, data: bytes | str) -> UnitsPreview:
        """What importing a CSV file would do, line by line (name → place, kind, places), with
        nothing saved: shown to the organiser, who confirms before :meth:`import_units`."""
        contest = self.contest(contest_id)
        return read_units(data, contest, await self.org.list_units(contest.id))

    async def import_units(
        self, contest_id: str, data: bytes | str, *, shown: str | None = None
    ) -> ImportSummary:
        """Import (add or update by name) the units of a CSV file, mapped as
        :meth:`preview_units` shows them.  ``shown``: the digest of the preview the organiser
        confirmed; when the file maps differently now (edited, or other units imported
        meanwhile), nothing is saved (:class:`UnitsPreviewChanged`).  Lines that cannot be
        mapped are skipped only when the organiser confirmed a preview that showed them so;
        without ``shown`` a file with such a line is refused whole, and a file with no line
        to import imports nothing (:class:`UnitsImportError` naming the lines)."""
        preview = await self.preview_units(contest_id, data)
        if shown is not None and preview.digest != shown:
            raise UnitsPreviewChanged
        if preview.skipped and (shown is None or not preview.rows):
            raise UnitsImportError(preview.errors)
        await self.org.put_units(contest_id, preview.units)
        updated = sum(1 for r in preview.rows if r.updates)
        return ImportSummary(
            len(preview.rows) - updated, updated, preview.notes, preview.rows, preview.skipped, preview.header
        )

    # -- invites ----------------------------------------------------------------------------

    async def create_invite(
        self,
        contest_id: str,
        role: Role,
        unit: str | None = None,
        *,
        by: UserKey | None = None,
        valid_for: dt.timedelta = DEFAULT_INVITE_VALIDITY,
    ) -> IssuedInvite | Denied:
        """A new code.  ``by`` is the organiser asking in chat (checked); None is the operator's CLI."""
        contest = self.contest(contest_id)
        if by is not None and not await self.is_organiser(by, contest.id):
            return Denied("只有主办方可以生成邀请码。")
        unit_key: str | None = None
        if role is Role.MEMBER:
            found = await find_unit(self.org, contest.id, unit or "", contest=contest)
            if found is None:
                return Denied(f"本赛事没有登记名为“{unit or ''}”的推荐单位，请先导入单位名单。")
            unit, unit_key = found.name, found.key
        elif unit:
            return Denied("主办方邀请码不属于任何单位，请不要指定单位。")
        if valid_for <= dt.timedelta(0):
            return Denied("有效期须为正数。")
        now = self.clock()
        code = new_code()
        expires = now + valid_for
        await self.org.add_invite(Invite(hash_code(code), contest.id, role, unit_key, now, expires))
        return IssuedInvite(code, contest.id, role, unit if role is Role.MEMBER else None, expires)

    async def bind(self, user: UserKey, code: str) -> BindResult:
        """Bind ``user`` to the role of an invite code (any channel, any time)."""
        canonical = normalise_code(code)
        if canonical is None:
            return BindResult(
                False, "malformed", "邀请码格式不对：应形如 KP-XXXX-XXXX-XXXX-XXXX，请核对后重发。"
            )
        now = self.clock()
        # Counted before the code is looked up, so that a limited user learns nothing about it.
        retry_at = await self.org.count_attempt(self.bind_limits.for_try(user, canonical), now)
        if retry_at is not None:
            return BindResult(False, "limited", limited_text(retry_at, now), retry_at=retry_at)
        result = await self.org.redeem_invite(hash_code(canonical), user, now)
        if result.status is RedeemStatus.UNKNOWN:
            return BindResult(False, "unknown", "没有这个邀请码，请核对后重发，或向主办方索取新的邀请码。")
        if result.status is RedeemStatus.USED:
            return BindResult(
                False, "used", "这个邀请码已经被使用过了；每个邀请码只能绑定一次，请向主办方索取新的。"
            )
        if result.status is RedeemStatus.EXPIRED:
            return BindResult(False, "expired", "这个邀请码已过期，请向主办方索取新的邀请码。")
        member = result.membership
        assert member is not None
        contest = self.contests.get(member.contest_id)
        title = contest.short_title if contest else member.contest_id
        text = f"绑定成功：您是【{title}】的{_ROLE_CN[member.role]}"
        if member.role is Role.MEMBER and member.unit_key:
            unit = await self.org.get_unit(member.contest_id, member.unit_key)
            text += f"（{unit.name if unit else member.unit_key}）"
        text += "。发送“配额”查看名额，发送“导出”获取报名表。"
        if member.role is Role.MEMBER and contest is not None and member.unit_key:
            bound = await self.org.get_unit(member.contest_id, member.unit_key)
            if bound is not None and any(
                selection_field(contest, c) and rule_for_unit(c, bound) for c in contest.channels
            ):
                text += "发送“推荐列表”查看报送至本单位的作品，“推荐 编号”推荐，“推荐表”生成推荐表。"
        return BindResult(True, "ok", text, member)

    # -- visibility -------------------------------------------------------------------------

    async def holders(self, contest: Contest, subs: list[Submission]) -> dict[str, str]:
        """Submission number -> the unit whose work it is: the holder of its place (a committed
        one over a withdrawn one), else, for a work submitted through a unit that has not
        chosen it yet (cq 待区县推荐), that unit, else the unit whose confirmation the entry
        waits for (``extra["awaiting_unit"]``)."""
        found: dict[str, str] = {}
        for p in await self.org.list_places(contest.id):
            if p.number and (
                p.state is PlaceState.COMMITTED or (p.state is PlaceState.WITHDRAWN and p.number not in found)
            ):
                found[p.number] = p.holder
        units = await self.org.list_units(contest.id)
        for sub in subs:
            if sub.number not in found and (through := submitted_through(contest, sub, units)):
                found[sub.number] = through.holder
            elif sub.number not in found and (waiting := awaiting_unit(sub)):
                # Named to a unit that has not confirmed it yet: that unit's to decide on.
                found[sub.number] = unit_holder(waiting)
        return found

    async def visible_submission(self, viewer: UserKey, submission: Submission) -> dict[str, Any]:
        """``submission`` as ``viewer`` may see it: personal data (phones, e-mails, addresses,
        contact persons) only for its owner, its unit's member and the organisers."""
        contest = self.contest(submission.contest_id)
        holder = (await self.holders(contest, [submission])).get(submission.number)
        role = await self.viewer(viewer, contest.id)
        unit = str(submission.extra.get("unit") or "")
        return visible_submission(role, submission, contest, holder=holder, unit=unit)

    async def submissions_for(self, user: UserKey, contest_id: str) -> list[dict[str, Any]]:
        """What the user may list: organisers every work, members their unit's (with the works
        submitted through it), entrants their own."""
        role = await self.viewer(user, contest_id)
        contest = self.contest(contest_id)
        subs = await self.storage.list_submissions(contest_id=contest_id)
        holders = await self.holders(contest, subs)
        return [
            visible_submission(
                role, s, contest, holder=holders.get(s.number), unit=str(s.extra.get("unit") or "")
            )
            for s in subs
            if role.entitled(s, holders.get(s.number))
        ]

    async def unnamed_for(
        self,
        contest: Contest,
        video: dict[str, Any],
        unit: str | None,
        holders: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``video`` as a unit's member reads it (``unit``: the unit's holder key; ``holders``:
        number -> holder where known): its content report's duplicate note names only the works
        the unit may see, the others said plainly (README: not named to those who cannot see it)."""
        stored = video.get("content")
        if not isinstance(stored, dict):
            return video
        numbers = [
            number
            for check in stored.get("checks") or ()
            if isinstance(check, dict) and check.get("id") == "duplicates"
            for m in (check.get("values") or {}).get("matches") or ()
            if isinstance(m, dict)
            for c, _, number in [str(m.get("key")).partition("/")]
            if c == contest.id
        ]
        if not numbers:
            return video
        if holders is None:
            subs = [s for n in numbers if (s := await self.storage.get_submission(n)) is not None]
            holders = await self.holders(contest, subs)

        def shown(key: str) -> bool:
            other, _, number = key.partition("/")
            return other == contest.id and unit is not None and holders.get(number) == unit

        rule = contest.video.content.duplicates if contest.video else None
        return {**video, "content": unnamed(stored, rule, contest.id, shown)}

    # -- exports ----------------------------------------------------------------------------

    async def export_rows(self, contest_id: str, unit: str | None = None) -> list[ExportRow]:
        """Every submission of the contest (or of one unit, with the works submitted through
        it) with its unit and, where units choose (cq), whether it was recommended; oldest first."""
        contest = self.contest(contest_id)
        subs = await self.storage.list_submissions(contest_id=contest.id)
        places = await self.org.list_places(contest.id)
        committed = {p.number for p in places if p.number and p.state is PlaceState.COMMITTED}
        placed = {p.number for p in places if p.number and p.state is not PlaceState.PENDING}
        holders = await self.holders(contest, subs)
        units = {u.holder: u for u in await self.org.list_units(contest.id)}
        wanted = f"unit:{normalise_name(unit)}" if unit is not None else None
        rows = []
        for sub in subs:
            holder = holders.get(sub.number)
            if wanted is not None and holder != wanted:
                continue
            known = units.get(holder or "")
            named = recommender_of(contest, sub)
            name = known.name if known else (named or str(sub.extra.get("unit") or ""))
            kind = str(sub.extra.get("unit_kind") or (known.kind if known else ""))
            # Counted against the unit: committed, or withdrawn together with the submission.
            counted = sub.number in committed or (sub.status == "withdrawn" and sub.number in placed)
            selection = ""
            if named and sub.status != "withdrawn":
                selection = "已推荐" if sub.number in committed else "待推荐"
            if wanted is not None:  # a unit's list: another unit's work is not named to it
                video = await self.unnamed_for(contest, sub.video, wanted, holders)
                sub = dataclasses.replace(sub, video=video)
            rows.append(ExportRow(sub, name, kind, known is not None and counted, selection))
        return rows

    async def export_counted(
        self, contest_id: str, fmt: str, unit: str | None = None
    ) -> tuple[Document, int]:
        """The export as a file, and how many submissions it holds; not audited here: every
        caller records it (:meth:`exported`, the console's own record)."""
        if fmt not in FORMATS:
            raise ValueError(f"格式应为 {'、'.join(FORMATS)} 之一：{fmt!r}")
        contest = self.contest(contest_id)
        rows = await self.export_rows(contest.id, unit)
        # openpyxl builds the workbook in memory: seconds for thousands of rows, so not in the loop.
        content = await asyncio.to_thread(render, fmt, contest, rows)
        stamp = self.clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
        scope = "unit" if unit is not None else "all"
        return Document(f"{contest.id}-{scope}-{stamp}.{fmt}", content, FORMATS[fmt]), len(rows)

    async def exported(
        self,
        by: UserKey,
        role: str,
        contest_id: str,
        fmt: str,
        rows: int,
        *,
        unit: str | None = None,
        source: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One export in the audit log (when there is one): ``export.<format>``, its unit as
        the target, the format and the number of rows in the detail."""
        if self.audit is None:
            return
        named = unit
        if unit is not None and (found := await self.org.get_unit(contest_id, unit)) is not None:
            named = found.name
        extra = {"unit": named} if named else {}
        entry = AuditEntry(
            at=self.clock(),
            actor=str(by),
            role=role,
            action=f"export.{fmt}",
            contest_id=contest_id,
            target=named or "",
            detail={"format": fmt, "rows": rows, **extra, **(detail or {})},
            source=source,
        )
        await self.audit.append(entry)

    async def export_for(self, user: UserKey, contest_id: str, fmt: str = "xlsx") -> Document | Denied:
        """The 导出 command: organisers get every submission, a member their unit's only;
        audited."""
        if fmt not in FORMATS:
            return Denied(f"导出格式应为 {'、'.join(FORMATS)} 之一。")
        if self.contests.get(contest_id) is None:
            return Denied(f"没有找到大赛“{contest_id}”。")
        member = await self.org.get_membership(user, contest_id)
        if member is None:
            return Denied("只有主办方和推荐单位代表可以导出报名表；请先发送邀请码绑定。")
        if member.role is Role.ORGANISER:
            unit, role = None, "organiser"
        elif member.unit_key:
            unit, role = member.unit_key, "member"
        else:
            return Denied("您的绑定没有对应的推荐单位，请联系主办方。")
        document, rows = await self.export_counted(contest_id, fmt, unit)
        # Recorded before the file is handed over: personal data never leaves unaudited.
        await self.exported(user, role, contest_id, fmt, rows, unit=unit, source="chat")
        return document
