"""The organiser side: units import, invite codes, binding by code, roles, visibility, exports.

Roles are per contest: *organiser*, *member* (the representative of one imported unit), and
everybody else an *entrant*.  A user becomes a member or organiser only by sending an invite
code that an organiser (or the operator, ``python -m bot invite``) created: codes carry 80
random bits, are single-use, expire, and are stored only as a hash.

:class:`OrgCommands` recognises the chat commands (绑定 / 配额 / 撤回 / 导出, and for the
units that choose among the works submitted through them, cq's 区县: 推荐列表 / 推荐 / 取消推荐 /
推荐表) and answers them with :class:`~contests.events.Reply` lists, so a channel routes a
message to it before the submission dialog.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from contests.events import Document, Reply
from contests.org import (
    AttemptLimit,
    Invite,
    Membership,
    PlaceState,
    RedeemStatus,
    Role,
    Unit,
    hash_code,
    normalise_name,
)
from contests.ports import OrgStore, Storage
from contests.records import Submission, UserKey
from contests.rules import SHANGHAI, Contest, ContestRegistry
from handlers.export import FORMATS, ExportRow, Viewer, render, visible_submission
from handlers.quota.rules import recommender_of, rule_for_unit, selection_field, submitted_through
from handlers.quota.service import QuotaService, utcnow

__all__ = [
    "AdminService",
    "BindLimits",
    "BindResult",
    "Denied",
    "ImportSummary",
    "IssuedInvite",
    "OrgCommands",
    "UnitsImportError",
    "new_code",
    "normalise_code",
    "parse_bind",
    "parse_units_csv",
]

# Crockford's base32: no I, L, O or U, so a code read aloud or retyped survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 16  # 80 bits: not guessable, not worth brute-forcing
CODE_PREFIX = "KP"
DEFAULT_INVITE_VALIDITY = dt.timedelta(days=7)
_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_BARE_CODE = re.compile(r"^KP[-\s]?(?:[0-9A-Z]{4}[-\s]?){3}[0-9A-Z]{4}$")
# "绑定 <code>": only code-like text after the word, so that an answer such as "绑定一生的科学"
# (a title) still reaches the dialog.
_BIND = re.compile(r"^(?:绑定|/?bind(?=[\s:]))\s*:?\s*([0-9A-Za-z][0-9A-Za-z\s\-_]*)$", re.IGNORECASE)
_ROLE_CN = {Role.MEMBER: "推荐单位代表", Role.ORGANISER: "主办方"}


class UnitsImportError(ValueError):
    """The units file has errors; ``errors`` names each line.  Nothing was imported."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ImportSummary:
    added: int
    updated: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    code: str  # shown once; only its hash is stored
    contest_id: str
    role: Role
    unit: str | None
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class BindResult:
    ok: bool
    status: Literal["ok", "unknown", "used", "expired", "malformed", "limited"]
    text: str
    membership: Membership | None = None
    retry_at: dt.datetime | None = None  # "limited": when a code may be tried again


@dataclass(frozen=True, slots=True)
class BindLimits:
    """How many codes may be tried: a few a minute per user, and more an hour per code prefix
    (its first four characters), so that many chats together cannot sweep one region of the
    code space either.  Counted in the org store, shared by every worker."""

    per_user: int = 5
    user_window: dt.timedelta = dt.timedelta(minutes=1)
    per_prefix: int = 30
    prefix_window: dt.timedelta = dt.timedelta(hours=1)

    def for_try(self, user: UserKey, canonical: str) -> tuple[AttemptLimit, AttemptLimit]:
        prefix = canonical.removeprefix(CODE_PREFIX + "-")[:4]
        return (
            AttemptLimit(f"bind:user:{user.channel}:{user.user_id}", self.per_user, self.user_window),
            AttemptLimit(f"bind:prefix:{prefix}", self.per_prefix, self.prefix_window),
        )


@dataclass(frozen=True, slots=True)
class Denied:
    """A refused request, with the reply for the user."""

    text: str


# ------------------------------------------------------------------ invite codes


def new_code() -> str:
    """A fresh invite code such as ``KP-7H3Q-M9X2-4RTB-ZK5N``."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_CHARS))
    return CODE_PREFIX + "-" + "-".join(body[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalise_code(text: str) -> str | None:
    """The canonical form of a typed code (case, spaces, dashes, full-width and O/0 I/1 L/1
    confusions do not matter), or None when it cannot be a code."""
    raw = unicodedata.normalize("NFKC", text).upper()
    raw = re.sub(r"[\s\-_—–]", "", raw)
    raw = raw.removeprefix(CODE_PREFIX).translate(_LOOKALIKE)
    if len(raw) != CODE_CHARS or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return CODE_PREFIX + "-" + "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def _limited_text(retry_at: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, -(-int((retry_at - now).total_seconds()) // 60))
    at = retry_at.astimezone(SHANGHAI).strftime("%H:%M")
    return (
        f"邀请码尝试次数过多，请于北京时间 {at} 之后（约 {minutes} 分钟后）再试。"
        "如果邀请码确实无误，请向主办方核对。"
    )


def parse_bind(text: str) -> str | None:
    """The code of a binding message: "绑定 KP-…", "/bind KP-…", or the bare code alone.

    Returns the text after 绑定 even when it is not a valid code (so the user hears why);
    a bare message counts only when it looks exactly like a code, so that no answer to a
    form field is ever taken for one.
    """
    stripped = unicodedata.normalize("NFKC", text).strip()
    if m := _BIND.match(stripped):
        return m.group(1).strip()
    if _BARE_CODE.match(stripped.upper()) and normalise_code(stripped):
        return stripped
    return None


# ------------------------------------------------------------------ units file

_HEADER = {
    "name": "name", "名称": "name", "单位名称": "name", "单位": "name",
    "kind": "kind", "类别": "kind", "类型": "kind", "名额类别": "kind",
    "province": "province", "省份": "province", "所在省份": "province", "省": "province",
}  # fmt: skip


def _decode(data: bytes) -> str:
    # Excel saves UTF-8 with a BOM; WPS and Excel on Chinese Windows save GB18030 ("ANSI").
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnitsImportError(["文件既不是 UTF-8 也不是 GBK 编码，请另存为 CSV UTF-8"]) from None


def parse_units_csv(data: bytes | str, contest: Contest) -> tuple[list[Unit], list[str]]:
    """Units from CSV ``name,kind,province`` (a header row first), checked against the contest's
    quota kinds.  Returns the units and notes; raises :class:`UnitsImportError` naming every
    bad line."""
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    rules = {r.kind: r for c in contest.channels for r in c.quota if r.kind != "self"}
    listed = {normalise_name(u): r for c in contest.channels for r in c.quota for u in r.units}
    kinds = "、".join(rules) or "（无）"
    errors: list[str] = []
    notes: list[str] = []
    units: list[Unit] = []
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    columns: list[str] | None = None
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if columns is None:
            columns = [_HEADER.get(c.casefold(), "") for c in cells]
            if "name" not in columns or "kind" not in columns:
                got = ",".join(row)
                raise UnitsImportError(
                    [f"第 {line} 行应为表头 name,kind,province（或 名称,类别,省份），实为：{got}"]
                )
            continue
        if len(cells) > len(columns) and any(cells[len(columns) :]):
            errors.append(f"第 {line} 行：多出 {len(cells) - len(columns)} 列（表头只有 {len(columns)} 列）")
            continue
        rec = dict(zip(columns, cells, strict=False))
        name, kind, province = rec.get("name", ""), rec.get("kind", ""), rec.get("province", "")
        if not name:
            errors.append(f"第 {line} 行：单位名称为空")
            continue
        if len(name) > 100:
            errors.append(f"第 {line} 行：单位名称超过 100 字")
            continue
        if kind == "self":
            errors.append(f"第 {line} 行：“{name}”的类别 self 指自荐者本人，不需要导入")
            continue
        if kind not in rules:
            errors.append(f"第 {line} 行：“{name}”的类别“{kind}”不是本赛事的名额类别（可用：{kinds}）")
            continue
        key = normalise_name(name)
        named_in = listed.get(key)
        if named_in is not None and named_in.kind != kind:
            notes.append(f"第 {line} 行：“{name}”在通知名单中，类别按通知改为 {named_in.kind}")
            kind = named_in.kind
        elif rules[kind].units and named_in is None:
            others = [k for k, r in rules.items() if not r.units and k != kind]
            hint = f"；其他单位请用 {'、'.join(others)}" if others else ""
            errors.append(f"第 {line} 行：“{name}”不在通知列出的 {kind} 名单中{hint}")
            continue
        rule = rules[kind]
        bonus = {normalise_name(u) for u in rule.bonus_units}
        if bonus and key not in bonus and not province:
            notes.append(
                f"第 {line} 行：“{name}”未填省份，无法判断是否属于通知所列"
                "可增加名额的地区（如附件2“三区”），按不增加计"
            )
        if key in seen:
            errors.append(f"第 {line} 行：“{name}”与第 {seen[key]} 行重复")
            continue
        seen[key] = line
        units.append(Unit(contest.id, name, kind, province))
    if columns is None:
        errors.append("文件是空的：第一行应为表头 name,kind,province")
    if errors:
        raise UnitsImportError(errors)
    return units, notes


# ------------------------------------------------------------------ the service


class AdminService:
    """Roles, units, invites and exports of every contest in ``contests``."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        clock: Callable[[], dt.datetime] = utcnow,
        bind_limits: BindLimits | None = None,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.clock = clock
        self.bind_limits = bind_limits or BindLimits()

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

    async def import_units(self, contest_id: str, data: bytes | str) -> ImportSummary:
        """Import (add or update by name) the units of a CSV file; all or nothing."""
        contest = self.contest(contest_id)
        units, notes = parse_units_csv(data, contest)
        existing = {u.key for u in await self.org.list_units(contest.id)}
        await self.org.put_units(contest.id, units)
        updated = sum(1 for u in units if u.key in existing)
        return ImportSummary(len(units) - updated, updated, tuple(notes))

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
            found = await self.org.get_unit(contest.id, unit or "")
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
            return BindResult(False, "limited", _limited_text(retry_at, now), retry_at=retry_at)
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

    async def _holders(self, contest: Contest, subs: list[Submission]) -> dict[str, str]:
        """Submission number -> the unit whose work it is: the holder of its place (a committed
        one over a withdrawn one), else, for a work submitted through a unit that has not
        chosen it yet (cq 待区县推荐), that unit."""
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
        return found

    async def visible_submission(self, viewer: UserKey, submission: Submission) -> dict[str, Any]:
        """``submission`` as ``viewer`` may see it: personal data (phones, e-mails, addresses,
        contact persons) only for its owner, its unit's member and the organisers."""
        contest = self.contest(submission.contest_id)
        holder = (await self._holders(contest, [submission])).get(submission.number)
        role = await self.viewer(viewer, contest.id)
        unit = str(submission.extra.get("unit") or "")
        return visible_submission(role, submission, contest, holder=holder, unit=unit)

    async def submissions_for(self, user: UserKey, contest_id: str) -> list[dict[str, Any]]:
        """What the user may list: organisers every work, members their unit's (with the works
        submitted through it), entrants their own."""
        role = await self.viewer(user, contest_id)
        contest = self.contest(contest_id)
        subs = await self.storage.list_submissions(contest_id=contest_id)
        holders = await self._holders(contest, subs)
        return [
            visible_submission(
                role, s, contest, holder=holders.get(s.number), unit=str(s.extra.get("unit") or "")
            )
            for s in subs
            if role.entitled(s, holders.get(s.number))
        ]

    # -- exports ----------------------------------------------------------------------------

    async def export_rows(self, contest_id: str, unit: str | None = None) -> list[ExportRow]:
        """Every submission of the contest (or of one unit, with the works submitted through
        it) with its unit and, where units choose (cq), whether it was recommended; oldest first."""
        contest = self.contest(contest_id)
        subs = await self.storage.list_submissions(contest_id=contest.id)
        places = await self.org.list_places(contest.id)
        committed = {p.number for p in places if p.number and p.state is PlaceState.COMMITTED}
        placed = {p.number for p in places if p.number and p.state is not PlaceState.PENDING}
        holders = await self._holders(contest, subs)
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
            rows.append(ExportRow(sub, name, kind, known is not None and counted, selection))
        return rows

    async def export_file(self, contest_id: str, fmt: str, unit: str | None = None) -> Document:
        """The export as a file (the operator's CLI: no role check)."""
        if fmt not in FORMATS:
            raise ValueError(f"格式应为 {'、'.join(FORMATS)} 之一：{fmt!r}")
        contest = self.contest(contest_id)
        rows = await self.export_rows(contest.id, unit)
        # openpyxl builds the workbook in memory: seconds for thousands of rows, so not in the loop.
        content = await asyncio.to_thread(render, fmt, contest, rows)
        stamp = self.clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
        scope = "unit" if unit is not None else "all"
        return Document(f"{contest.id}-{scope}-{stamp}.{fmt}", content, FORMATS[fmt])

    async def export_for(self, user: UserKey, contest_id: str, fmt: str = "xlsx") -> Document | Denied:
        """The 导出 command: organisers get every submission, a member their unit's only."""
        if fmt not in FORMATS:
            return Denied(f"导出格式应为 {'、'.join(FORMATS)} 之一。")
        if self.contests.get(contest_id) is None:
            return Denied(f"没有找到大赛“{contest_id}”。")
        member = await self.org.get_membership(user, contest_id)
        if member is None:
            return Denied("只有主办方和推荐单位代表可以导出报名表；请先发送邀请码绑定。")
        if member.role is Role.ORGANISER:
            return await self.export_file(contest_id, fmt)
        if not member.unit_key:
            return Denied("您的绑定没有对应的推荐单位，请联系主办方。")
        return await self.export_file(contest_id, fmt, unit=member.unit_key)


# ------------------------------------------------------------------ chat commands


@dataclass(frozen=True, slots=True)
class Command:
    name: Literal[
        "bind", "quota", "withdraw", "export", "candidates", "recommend", "unrecommend", "district_list"
    ]
    arg: str = ""
    contest: str | None = None


_NUMBER = r"([A-Z]{2,6}\d{4}-\d{6})"
_CONTEST = r"(?:\s+([a-z0-9][a-z0-9_-]+))?"
_QUOTA = re.compile(r"^(?:配额|名额|quota|/quota)(?:\s+(\S+))?$", re.IGNORECASE)
_WITHDRAW = re.compile(rf"^(?:撤回|withdraw|/withdraw)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
_EXPORT = re.compile(rf"^(?:导出|export|/export)(?:\s+(xlsx|csv|json|excel))?{_CONTEST}$", re.IGNORECASE)
# The units that choose among the works submitted through them (cq 区县).  "推荐" alone is a
# dialog answer (the channel): only "推荐 <编号>" is the command.
_CANDIDATES = re.compile(rf"^(?:推荐列表|待推荐|/?recommendations|/?candidates){_CONTEST}$", re.IGNORECASE)
_RECOMMEND = re.compile(rf"^(?:推荐|/?recommend)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
_UNRECOMMEND = re.compile(rf"^(?:取消推荐|/?unrecommend)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
# "推荐表", "推荐表 cq-2023-scientist-spirit", and for an organiser "推荐表 江北区".
_DISTRICT_LIST = re.compile(
    rf"^(?:推荐表|/?district_list|/?recommend_form){_CONTEST}(?:\s+(\S+))?$", re.IGNORECASE
)


def match_command(text: str) -> Command | None:
    """The organisation command a whole message is, if any."""
    stripped = unicodedata.normalize("NFKC", text).strip()
    if (code := parse_bind(stripped)) is not None:
        return Command("bind", code)
    if m := _QUOTA.match(stripped):
        return Command("quota", contest=m.group(1))
    if m := _WITHDRAW.match(stripped):
        return Command("withdraw", m.group(1).upper())
    if m := _EXPORT.match(stripped):
        fmt = (m.group(1) or "xlsx").lower()
        return Command("export", "xlsx" if fmt == "excel" else fmt, contest=m.group(2))
    if m := _CANDIDATES.match(stripped):
        return Command("candidates", contest=m.group(1))
    if m := _RECOMMEND.match(stripped):
        return Command("recommend", m.group(1).upper())
    if m := _UNRECOMMEND.match(stripped):
        return Command("unrecommend", m.group(1).upper())
    if m := _DISTRICT_LIST.match(stripped):
        return Command("district_list", m.group(2) or "", contest=m.group(1))
    return None


class OrgCommands:
    """绑定 / 配额 / 撤回 / 导出, 推荐列表 / 推荐 / 取消推荐 / 推荐表 in any channel.  ``handle``
    returns None for any other message."""

    def __init__(self, admin: AdminService, quota: QuotaService) -> None:
        self.admin = admin
        self.quota = quota

    @staticmethod
    def matches(text: str) -> bool:
        """Whether :meth:`handle` may act on ``text`` (else it returns None); no I/O."""
        return match_command(text) is not None

    async def handle(
        self, user: UserKey, text: str, *, contest_hint: str | None = None
    ) -> list[Reply] | None:
        command = match_command(text)
        if command is None:
            return None
        if command.name == "bind":
            result = await self.admin.bind(user, command.arg)
            return [Reply(result.text, meta={"bind": result.status})]
        if command.name == "withdraw":
            done = await self.quota.withdraw(user, command.arg)
            return [Reply(done.text, meta={"withdraw": done.code})]
        if command.name in ("recommend", "unrecommend"):
            act = self.quota.recommend if command.name == "recommend" else self.quota.unrecommend
            picked = await act(user, command.arg)
            return [Reply(picked.text, meta={command.name: picked.code})]
        contest_id = await self._contest_for(user, command.contest or contest_hint)
        if contest_id is None:
            example = next(iter(self.admin.contests)).id if len(self.admin.contests) else "大赛编号"
            word = {"quota": "配额", "export": "导出", "candidates": "推荐列表", "district_list": "推荐表"}
            text = f"请注明大赛，例如：{word[command.name]} {example}"
            return [Reply(text, meta={"error": "contest_needed"})]
        if command.name == "quota":
            return [Reply(await self.quota.quota_text(user, contest_id))]
        if command.name == "candidates":
            return [Reply(await self.quota.candidates_text(user, contest_id))]
        if command.name == "district_list":
            return await self._district_list(user, contest_id, command.arg or None)
        got = await self.admin.export_for(user, contest_id, command.arg)
        if isinstance(got, Denied):
            return [Reply(got.text, meta={"error": "export_denied"})]
        return [Reply(f"报名表已导出：{got.filename}", document=got)]

    async def _district_list(self, user: UserKey, contest_id: str, unit: str | None) -> list[Reply]:
        """推荐表: the unit's list form (cq 附件2) of the works it recommended, PDF and DOCX."""
        from forms.render import DISTRICT_FORM, filename_stem, render_district_list_async
        from forms.sheet import FormError

        pick = await self.quota.district_pick(user, contest_id, unit)
        if isinstance(pick, str):
            return [Reply(pick, meta={"error": "district_list"})]
        try:
            form = pick.contest.form(DISTRICT_FORM)
            rendered = await render_district_list_async(pick.contest, pick.unit.name, pick.submissions)
        except (KeyError, FormError) as exc:
            return [Reply(f"推荐表没能生成：{exc}", meta={"error": "district_list"})]
        stem = filename_stem(form, pick.unit.name)
        pdf = Document(f"{stem}.pdf", rendered.pdf, "application/pdf")
        docx = Document(
            f"{stem}.docx",
            rendered.docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        text = (
            f"“{pick.unit.name}”的《{form.title}》已生成，共 {len(pick.submissions)} 部作品"
            "（PDF 用于打印，Word 版可编辑）。请填写推荐意见、加盖公章。"
            + "".join(note.removeprefix("说明：") for note in form.footnotes)
        )
        return [Reply(text, document=pdf), Reply(docx.filename, document=docx)]

    async def _contest_for(self, user: UserKey, named: str | None) -> str | None:
        """The contest a command is about: named, else the one the user is bound in, else the
        one the user submitted to, else the one open."""
        if named:
            return named
        bound = {m.contest_id for m in await self.admin.org.list_memberships(user=user)}
        if len(bound) == 1:
            return bound.pop()
        if not bound:
            entered = {s.contest_id for s in await self.admin.storage.list_submissions(user=user)}
            if len(entered) == 1:
                return entered.pop()
            open_now = self.admin.contests.open(self.admin.clock())
            if len(open_now) == 1:
                return open_now[0].id
        return None
