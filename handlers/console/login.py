"""Signing in to the web console: ``后台`` in any chat gives a bound organiser or unit member a
personal one-time link, valid :data:`LOGIN_TTL`; opening it (a POST, so that a link preview's
GET burns nothing) opens a console session that lasts :data:`SESSION_IDLE` past its last use.

The store keeps only hashes (the bootstrap passes ``bot.storage.base.session_hash``): the
link's token under ``console-login:<token>``, the cookie under ``console:<cookie>``, so that a
copy of the store opens nothing.  A link is used once (:meth:`Storage.claim_once`), and tries
are counted per client address in the org store, shared by every worker.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from contests.audit import AuditEntry
from contests.events import Reply
from contests.org import AttemptLimit, Membership, Role
from contests.ports import AuditLog, OrgStore, Storage
from contests.records import UserKey
from handlers.quota.service import utcnow

__all__ = ["LOGIN_TTL", "SESSION_IDLE", "ConsoleCommand", "ConsoleSignIn", "LoginLimits", "SignIn"]

LOGIN_TTL = dt.timedelta(minutes=10)
SESSION_IDLE = dt.timedelta(minutes=30)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
_COMMANDS = frozenset({"后台", "管理后台", "/console"})
NOT_BOUND = (
    "“后台”是主办方和推荐单位代表查看、审核作品的网页，您还没有绑定身份。"
    "如果您是主办方或推荐单位代表，请先发送主办方给您的邀请码（绑定 KP-…）。"
)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many sign-in links one client address may try."""

    per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=10)

    def for_address(self, address: str) -> tuple[AttemptLimit]:
        return (AttemptLimit(f"console-login:ip:{address}", self.per_address, self.window),)


@dataclass(frozen=True, slots=True)
class SignIn:
    """What opening a link did: ``ok`` with the new session's ``cookie``, or why not."""

    status: Literal["ok", "invalid", "used", "limited"]
    user: UserKey | None = None
    cookie: str = ""
    retry_at: dt.datetime | None = None


def role_name(member: Membership) -> str:
    return "organiser" if member.role is Role.ORGANISER else "member"


class ConsoleSignIn:
    """Mints sign-in links, turns them into sessions, and finds the user of a session."""

    def __init__(
        self,
        storage: Storage,
        org: OrgStore,
        audit: AuditLog,
        *,
        base_url: str,
        hash_token: Callable[[str], str],
        clock: Callable[[], dt.datetime] = utcnow,
        limits: LoginLimits | None = None,
    ) -> None:
        self.storage = storage
        self.org = org
        self.audit = audit
        self.base_url = base_url.rstrip("/")
        self._hash = hash_token
        self.clock = clock
        self.limits = limits or LoginLimits()

    def _login_key(self, token: str) -> str:
        return self._hash("console-login:" + token)

    def _session_key(self, cookie: str) -> str:
        return self._hash("console:" + cookie)

    async def mint(self, user: UserKey) -> str | None:
        """A personal sign-in link for ``user``, or None when they hold no organiser's or
        member's role."""
        if not await self.org.list_memberships(user=user):
            return None
        token = secrets.token_urlsafe(32)
        await self.storage.open_session(self._login_key(token), user, LOGIN_TTL)
        return f"{self.base_url}/console/login/{token}"

    async def peek(self, token: str) -> UserKey | None:
        """Whose live, unused link this is (the page that asks to confirm), or None."""
        if not _TOKEN.match(token):
            return None
        return await self.storage.session_user(self._login_key(token))

    async def redeem(self, token: str, address: str) -> SignIn:
        """Use the link once and open a console session for its user."""
        now = self.clock()
        retry_at = await self.org.count_attempt(self.limits.for_address(address), now)
        if retry_at is not None:
            return SignIn("limited", retry_at=retry_at)
        user = await self.peek(token)
        if user is None:
            return SignIn("invalid")
        key = self._login_key(token)
        if not await self.storage.claim_once(key, LOGIN_TTL * 2):
            return SignIn("used")
        await self.storage.close_session(key)
        cookie = secrets.token_urlsafe(32)
        await self.storage.open_session(self._session_key(cookie), user, SESSION_IDLE)
        for member in await self.org.list_memberships(user=user):
            await self.audit.append(
                AuditEntry(
                    at=now,
                    actor=str(user),
                    role=role_name(member),
                    action="console.login",
                    contest_id=member.contest_id,
                    source=address,
                )
            )
        return SignIn("ok", user, cookie)

    async def user_of(self, cookie: str) -> UserKey | None:
        """The user of a live session, whose idle time starts again; None otherwise."""
        if not _TOKEN.match(cookie):
            return None
        key = self._session_key(cookie)
        user = await self.storage.session_user(key)
        if user is not None:
            await self.storage.open_session(key, user, SESSION_IDLE)
        return user

    def session_id(self, cookie: str) -> str:
        """What the session's CSRF token is derived from: the stored hash, not the cookie."""
        return self._session_key(cookie)

    async def sign_out(self, cookie: str) -> None:
        if _TOKEN.match(cookie):
            await self.storage.close_session(self._session_key(cookie))


class ConsoleCommand:
    """``后台``: the sender's personal sign-in link (a :class:`~handlers.router.ChatCommand`)."""

    def __init__(self, sign_in: ConsoleSignIn) -> None:
        self.sign_in = sign_in

    def matches(self, user: UserKey, text: str) -> bool:
        return text.strip() in _COMMANDS

    async def __call__(self, user: UserKey, text: str) -> list[Reply] | None:
        if not self.matches(user, text):
            return None
        link = await self.sign_in.mint(user)
        if link is None:
            return [Reply(NOT_BOUND)]
        minutes = int(LOGIN_TTL.total_seconds() // 60)
        return [
            Reply(
                f"您的管理后台登录链接（{minutes} 分钟内有效，只能使用一次，请勿转发）：\n{link}\n"
                "打开后点击“进入后台”。如已过期，再发送“后台”获取新的链接。"
            )
        ]
