"""What a console viewer may see and do: the roles of :mod:`handlers.admin` applied to every
page, API call and download, and every view of personal data, download, export, decision and
sign-in written to the audit log.

A viewer's roles come from their memberships: an organiser of a contest sees all its
submissions, a unit's member only their unit's (the works whose place the unit holds, those
submitted through it, and those waiting for its confirmation: :meth:`AdminService.holders`).
Personal data (phones, e-mails, addresses) only where :meth:`Viewer.entitled` says so.
Decisions go to the review use case (:class:`ReviewService`), which checks the organiser's role again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from contests.audit import AuditEntry
from contests.events import Document
from contests.org import Role, normalise_name, unit_holder
from contests.ports import AuditLog, OrgStore
from contests.records import Submission, UserKey
from contests.review import ITEM_LABELS, VIA_CONSOLE, Decision, awaiting_district, awaiting_unit
from contests.rules import Contest, Form
from handlers.admin.service import AdminService
from handlers.admin.units import ImportSummary, UnitsImportError, UnitsPreview
from handlers.console.views import (
    ConsoleEntry,
    ConsoleFile,
    Filters,
    Listing,
    history_rows,
    operator_labels,
    video_lines,
    when,
)
from handlers.export import Viewer, visible_submission
from handlers.quota.rules import submitted_through
from handlers.quota.service import QuotaService, utcnow
from handlers.review.service import LINK_CHECKS, ReviewOutcome, ReviewService

__all__ = ["ConsoleService", "ConsoleUser", "Scope"]


@dataclass(frozen=True, slots=True)
class Scope:
    """The viewer's role in one contest; ``holder`` the member's unit (``unit:<key>``)."""

    contest_id: str
    role: Literal["organiser", "member"]
    holder: str | None = None


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A signed-in viewer and their role in each contest."""

    user: UserKey
    scopes: dict[str, Scope] = field(default_factory=dict)

    def viewer(self, contest_id: str) -> Viewer:
        scope = self.scopes.get(contest_id)
        if scope is None:
            return Viewer(self.user, "entrant")
        return Viewer(self.user, scope.role, scope.holder)

    def sees(self, contest_id: str, holder: str | None) -> bool:
        """Whether the viewer may open a submission of ``contest_id`` counted against ``holder``."""
        scope = self.scopes.get(contest_id)
        if scope is None:
            return False
        return scope.role == "organiser" or (holder is not None and holder == scope.holder)

    def role(self, contest_id: str) -> str:
        scope = self.scopes.get(contest_id)
        return scope.role if scope else "entrant"


@dataclass(slots=True)
class _Kept:
    """A contest's submissions as of ``version``, oldest first, and the entries made of them."""

    version: int = 0
    subs: list[Submission] = field(default_factory=list)
    entries: dict[str, ConsoleEntry] = field(default_factory=dict)

    def apply(self, version: int, changed: list[Submission]) -> None:
        if version < self.version:  # a slower request read an older state: the newer one is here
            return
        if not changed:
            self.version = version
            return
        at = {s.number: i for i, s in enumerate(self.subs)}
        added = False
        for sub in changed:
            self.entries.pop(sub.number, None)
            if sub.number in at:
                self.subs[at[sub.number]] = sub
            else:
                at[sub.number] = len(self.subs)
                self.subs.append(sub)
                added = True
        if added:  # new works are the newest, but two workers may have stored them out of order
            self.subs.sort(key=lambda s: s.created_at)
        self.version = version


class ConsoleService:
    """The console's use cases over the admin and quota services and the audit log."""

    def __init__(
        self,
        admin: AdminService,
        quota: QuotaService,
        org: OrgStore,
        audit: AuditLog,
        *,
        review: ReviewService | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.admin = admin
        self.quota = quota
        self.org = org
        self.audit = audit
        self.review = review
        self.clock = clock
        # contest -> its submissions as of a Storage.submissions_version, and the entries made of
        # them: reading and decoding 10,000 stored works is what a list page costs
        # (bench/README.md 'Console'); brought up to date with only what changed since.
        self._kept: dict[str, _Kept] = {}

    # -- who ------------------------------------------------------------------------------

    async def who(self, user: UserKey) -> ConsoleUser:
        scopes = {}
        for m in await self.org.list_memberships(user=user):
            if self.admin.contests.get(m.contest_id) is None:
                continue
            if m.role is Role.ORGANISER:
                scopes[m.contest_id] = Scope(m.contest_id, "organiser")
            elif m.unit_key:
                scopes[m.contest_id] = Scope(m.contest_id, "member", f"unit:{normalise_name(m.unit_key)}")
        return ConsoleUser(user, scopes)

    async def describe(self, user: UserKey) -> str:
        """Who ``user`` is to the console, as a person reads it (the sign-in page): each contest's
        role, a member's unit named, never the server's id of the chat user."""
        parts = []
        for m in await self.org.list_memberships(user=user):
            contest = self.admin.contests.get(m.contest_id)
            if contest is None:
                continue
            if m.role is Role.ORGANISER:
                parts.append(f"「{contest.short_title}」主办方")
            elif m.unit_key:
                parts.append(f"「{contest.short_title}」{m.unit_key}的单位代表")
        return "、".join(dict.fromkeys(parts)) or "您"

    async def record(
        self,
        viewer: ConsoleUser,
        action: str,
        contest_id: str,
        *,
        target: str = "",
        source: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One audit entry: actor, role, action, contest, target, source address."""
        await self.audit.append(
            AuditEntry(
                at=self.clock(),
                actor=str(viewer.user),
                role=viewer.role(contest_id),
                action=action,
                contest_id=contest_id,
                target=target,
                detail=detail or {},
                source=source,
            )
        )

    # -- lists ----------------------------------------------------------------------------

    async def entries(self, viewer: ConsoleUser, contest_id: str) -> list[ConsoleEntry]:
        """Every submission of the contest the viewer may see, oldest first."""
        contest = self.admin.contests.get(contest_id)
        if contest is None or contest_id not in viewer.scopes:
            return []
        subs, built = await self._submissions(contest)
        # Holders and unit names come from the org store (places, units), which the version does
        # not follow: read each time (a few ms), and an entry whose holder moved is made again.
        holders = await self.admin.holders(contest, subs)
        names = {u.holder: u.name for u in await self.org.list_units(contest_id)}
        out = []
        for sub in subs:
            holder = holders.get(sub.number)
            if not viewer.sees(contest_id, holder):
                continue
            unit = self._unit_name(sub, holder, names)
            entry = built.get(sub.number)
            if entry is None or entry.holder != holder or entry.unit != unit:
                entry = built[sub.number] = ConsoleEntry.of(sub, contest, holder, unit)
            out.append(entry)
        return out

    async def _submissions(self, contest: Contest) -> tuple[list[Submission], dict[str, ConsoleEntry]]:
        kept = self._kept.setdefault(contest.id, _Kept())
        version, changed = await self.admin.storage.submissions_changed(contest.id, kept.version)
        kept.apply(version, changed)
        return kept.subs, kept.entries

    @staticmethod
    def _unit_name(sub: Any, holder: str | None, names: dict[str, str]) -> str:
        if holder in names:
            return names[holder or ""]
        if holder and holder.startswith("self:"):
            return "自荐"
        return awaiting_unit(sub) or str(sub.extra.get("unit") or "")

    async def listing(self, viewer: ConsoleUser, filters: Filters) -> Listing:
        contests = [c for c in self.admin.contests if c.id in viewer.scopes]
        chosen = next((c for c in contests if c.id == filters.contest), contests[0] if contests else None)
        if chosen is None:
            return Listing.build([], filters)
        filters = Filters(**{**_fields(filters), "contest": chosen.id})
        entries = await self.entries(viewer, chosen.id)
        scope = viewer.scopes[chosen.id]
        units = [(u.holder, u.name) for u in await self.org.list_units(chosen.id)]
        if scope.role == "member":
            units = [(h, n) for h, n in units if h == scope.holder]
        return Listing.build(
            entries,
            filters,
            contests=[(c.id, c.short_title) for c in contests],
            channels=[(ch.id, ch.label) for ch in chosen.channels],
            units=units,
        )

    async def entry(self, viewer: ConsoleUser, number: str) -> ConsoleEntry | None:
        """One submission the viewer may see, or None (absent, or not theirs to see: the
        same answer, so that nobody learns which numbers exist)."""
        if not number or len(number) > 40:
            return None
        sub = await self.admin.storage.get_submission(number)
        if sub is None or sub.contest_id not in viewer.scopes:
            return None
        contest = self.admin.contests.get(sub.contest_id)
        if contest is None:
            return None
        holder = (await self.admin.holders(contest, [sub])).get(sub.number)
        if not viewer.sees(contest.id, holder):
            return None
        names = {u.holder: u.name for u in await self.org.list_units(contest.id)}
        return ConsoleEntry.of(sub, contest, holder, self._unit_name(sub, holder, names))

    # -- one submission -------------------------------------------------------------------

    async def detail(self, viewer: ConsoleUser, entry: ConsoleEntry, *, source: str) -> dict[str, Any]:
        """Everything the page shows of one submission; the view is audited."""
        sub, contest = entry.sub, entry.contest
        role = viewer.viewer(contest.id)
        seen = visible_submission(role, sub, contest, holder=entry.holder, unit=entry.unit)
        personal = not seen["redacted"] and role.entitled(sub, entry.holder)
        labels: dict[str, str] = seen["labels"]
        fields = [
            {"id": fid, "label": label, "value": _text(seen["answers"].get(fid))}
            for fid, label in labels.items()
        ]
        await self.record(
            viewer,
            "submission.view",
            contest.id,
            target=sub.number,
            source=source,
            detail={"personal": personal},
        )
        return {
            **entry.row(),
            "form": seen["form"],
            "user": seen["user"],
            "personal": personal,
            "fields": fields,
            "state": entry.state.value,
            "history": history_rows(
                sub,
                labels,
                operator_labels(sub, await self.org.list_memberships(contest_id=contest.id)),
                personal=personal,
            ),
            "video": video_lines(
                await self._video(viewer, entry), personal=personal, form=_form_of(contest, sub)
            ),
            "video_kind": str(sub.video.get("kind") or ""),
            "files": [
                {"kind": f.kind, "label": f.label, "name": f.name, "index": f.index, "inline": f.inline}
                for f in self.files(entry)
            ],
            "items": [{"id": k, "label": v} for k, v in self._items(entry, labels).items()],
            "may_decide": viewer.role(contest.id) == "organiser",
            # A link is not opened by the server: the organisers check it themselves.
            "link_checks": list(LINK_CHECKS.items())
            if sub.video.get("kind") in ("link", "share_link")
            else [],
            "link_check": sub.extra.get("link_check") or {},
            "submitted": when(sub.created_at),
        }

    async def _video(self, viewer: ConsoleUser, entry: ConsoleEntry) -> dict[str, Any]:
        """The video's record as the viewer may read it: a duplicate's note names another work
        to the organisers and to a member who may open that work, to nobody else."""
        scope = viewer.scopes.get(entry.contest.id)
        if scope is not None and scope.role == "organiser":
            return entry.sub.video
        return await self.admin.unnamed_for(entry.contest, entry.sub.video, scope.holder if scope else None)

    def _items(self, entry: ConsoleEntry, labels: dict[str, str]) -> dict[str, str]:
        """What a 退回修改 may name: as the review use case has it."""
        if self.review is not None:
            return self.review.valid_items(entry.contest, entry.sub)
        return {**labels, **ITEM_LABELS}

    @staticmethod
    def files(entry: ConsoleEntry) -> list[ConsoleFile]:
        """The submission's files kept by the service: its video, its scans (the form and the
        receipt are drawn on demand by the pages)."""
        found = []
        video = entry.sub.video
        if video.get("kind") == "file" and video.get("stored"):
            name = str(video.get("name") or "video.mp4")
            found.append(ConsoleFile("video", "参赛视频", name, _path(video["stored"])))
        for i, scan in enumerate(entry.scans, 1):
            suffix = scan.rsplit(".", 1)[-1].lower() if "." in scan else "bin"
            found.append(ConsoleFile("scan", f"扫描件 {i}", f"扫描件{i}.{suffix}", _path(scan), i))
        return found

    # -- decisions ------------------------------------------------------------------------

    async def decide(
        self,
        viewer: ConsoleUser,
        entry: ConsoleEntry,
        decision: str,
        reason: str,
        items: Sequence[str],
        *,
        source: str,
    ) -> ReviewOutcome:
        """An organiser's decision, through the review use case (which checks the role again
        and writes the decision to the audit log); a refusal here is audited here."""
        contest_id = entry.contest.id
        if viewer.role(contest_id) != "organiser":
            result = ReviewOutcome(False, "forbidden", "只有主办方可以作出审核决定。")
        elif decision not in set(Decision):
            result = ReviewOutcome(False, "invalid", "请选择“通过”“退回修改”或“未通过”。")
        elif self.review is None:
            result = ReviewOutcome(False, "unavailable", "审核功能尚未启用。")
        else:
            out = await self.review.decide(
                entry.number,
                Decision(decision),
                reason,
                by=viewer.user,
                items=tuple(items),
                source=source,
                via=VIA_CONSOLE,
            )
            return out
        await self.record(
            viewer,
            "submission.decide_refused",
            contest_id,
            target=entry.number,
            source=source,
            detail={"decision": decision[:20], "code": result.code},
        )
        return result

    async def check_link(
        self, viewer: ConsoleUser, entry: ConsoleEntry, checks: Mapping[str, bool], note: str, *, source: str
    ) -> ReviewOutcome:
        """An organiser's check of a cloud-drive link (网盘链接核验), through the review use case."""
        if viewer.role(entry.contest.id) != "organiser":
            result = ReviewOutcome(False, "forbidden", "只有主办方可以核验网盘链接。")
        elif self.review is None:
            result = ReviewOutcome(False, "unavailable", "审核功能尚未启用。")
        else:
            out = await self.review.check_link(
                entry.number, by=viewer.user, checks=checks, note=note, source=source, via=VIA_CONSOLE
            )
            return out
        await self.record(
            viewer, "review.link_check_refused", entry.contest.id, target=entry.number, source=source
        )
        return result

    # -- units and exports ----------------------------------------------------------------

    async def units(self, viewer: ConsoleUser, contest_id: str) -> list[dict[str, Any]] | None:
        """Every unit (a member: their own) with its places used, its limit and the entries
        waiting for its confirmation; None when the viewer has no role in the contest."""
        scope = viewer.scopes.get(contest_id)
        if scope is None:
            return None
        contest = self.admin.contests.get(contest_id)
        subs = await self.admin.storage.list_submissions(contest_id=contest_id)
        waiting: dict[str, list[dict[str, str]]] = {}
        units = await self.org.list_units(contest_id)
        for sub in subs:
            if sub.status == "withdrawn" or contest is None:
                continue
            # Named to a unit that has not confirmed it, or (cq) submitted through a unit that has
            # not chosen it yet: the chat's 推荐列表 lists both as waiting (待推荐).
            holder = unit_holder(name) if (name := awaiting_unit(sub)) else ""
            if not holder and awaiting_district(sub) and (through := submitted_through(contest, sub, units)):
                holder, name = through.holder, through.name
            if holder:
                entry = ConsoleEntry.of(sub, contest, holder, name)
                waiting.setdefault(holder.removeprefix("unit:"), []).append(
                    {"number": sub.number, "title": entry.title}
                )
        bound = {
            m.unit_key
            for m in await self.org.list_memberships(contest_id=contest_id)
            if m.role is Role.MEMBER and m.unit_key
        }
        out = []
        for u in await self.quota.usage(contest_id):
            if scope.role == "member" and u.holder != scope.holder:
                continue
            key = u.holder.removeprefix("unit:")
            out.append(
                {
                    "unit": u.name,
                    "kind": u.label or u.kind,
                    "used": u.used,
                    "limit": u.limit,
                    "accounts_used": u.accounts_used,
                    "accounts_limit": u.accounts_limit,
                    "waiting": len(waiting.get(key, [])),
                    "entries": waiting.get(key, []),
                    # Who may confirm from this page: the unit's own member; an organiser only
                    # for a unit nobody is bound to (as 推荐 编号 in the chat).
                    "may_confirm": scope.role == "member" or key not in bound,
                    "bound": key in bound,
                }
            )
        return out

    async def confirm_for_unit(self, viewer: ConsoleUser, number: str, *, source: str) -> tuple[bool, str]:
        """A unit's confirmation of an entry named to it (its member, or an organiser on behalf
        of a unit nobody is bound to): :meth:`QuotaService.recommend`, audited."""
        result = await self.quota.recommend(viewer.user, number, source=source, via=VIA_CONSOLE)
        return result.ok, result.text

    async def preview_units(
        self, viewer: ConsoleUser, contest_id: str, data: str
    ) -> UnitsPreview | list[str] | None:
        """An organiser's pasted units file mapped onto the notice's list and tier, nothing saved
        (the lines that cannot be mapped shown skipped, with their reasons; when no line can be
        imported, the reasons instead); None for anyone else."""
        scope = viewer.scopes.get(contest_id)
        if scope is None or scope.role != "organiser":
            return None
        try:
            preview = await self.admin.preview_units(contest_id, data)
        except UnitsImportError as exc:
            return exc.errors
        return preview if preview.rows or not preview.skipped else preview.errors

    async def import_units(
        self, viewer: ConsoleUser, contest_id: str, data: str, *, shown: str, source: str
    ) -> ImportSummary | list[str] | None:
        """The units previewed, saved once the organiser confirmed them, exactly as the preview
        whose digest is ``shown`` showed them (else nothing, and a new preview is asked for);
        audited."""
        scope = viewer.scopes.get(contest_id)
        if scope is None or scope.role != "organiser":
            return None
        try:
            summary = await self.admin.import_units(contest_id, data, shown=shown)
        except UnitsImportError as exc:
            return exc.errors
        target = f"新增 {summary.added} 个，更新 {summary.updated} 个"
        detail: dict[str, Any] = {"units": [r.unit.name for r in summary.rows]}
        if summary.skipped:
            target += f"，跳过 {len(summary.skipped)} 行"
            detail["skipped"] = [s.message for s in summary.skipped]
        await self.record(viewer, "units.import", contest_id, target=target, source=source, detail=detail)
        return summary

    async def export(self, viewer: ConsoleUser, contest_id: str, *, source: str) -> Document | None:
        """The xlsx list: the organisers' of the whole contest, a member's of their unit; audited."""
        scope = viewer.scopes.get(contest_id)
        if scope is None:
            return None
        unit = scope.holder.removeprefix("unit:") if scope.role == "member" and scope.holder else None
        document, rows = await self.admin.export_counted(contest_id, "xlsx", unit=unit)
        detail = {"format": "xlsx", "rows": rows}
        await self.record(viewer, "export.xlsx", contest_id, target=unit or "", source=source, detail=detail)
        return document

    async def provinces(self, contest_id: str) -> dict[str, str]:
        """Unit holder -> the province it belongs to (for folder names such as cacsi's)."""
        return {u.holder: u.province for u in await self.org.list_units(contest_id)}

    def contest(self, contest_id: str) -> Contest | None:
        return self.admin.contests.get(contest_id)


def _fields(filters: Filters) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in Filters.__dataclass_fields__}


def _form_of(contest: Contest, sub: Submission) -> Form | None:
    """The submission's form (its notice's clauses are said in its words), if the contest has it."""
    try:
        return contest.form(sub.form_id)
    except KeyError:
        return None


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else str(value)


def _path(text: Any) -> Path:
    return Path(str(text))
