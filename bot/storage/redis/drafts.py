"""Redis storage backend and cross-worker event isolation, for production with several workers.

Key layout (``p`` is the prefix, ``{prefix}`` itself on a Redis Cluster so that all keys share
one hash slot; ``{x}`` a percent-encoded component so that ``:`` in an id
cannot make two keys collide)::

    p:draft:{channel}:{user_id}   hash  data (JSON), version, updated_at
    p:counter:{number prefix}     int   last sequence number handed out for that prefix
    p:seq                         int   global insertion counter (index score)
    p:submissions                 hash  number -> submission JSON
    p:idx:all                     zset  number, score = insertion seq
    p:idx:contest:{contest_id}    zset  the same, per contest
    p:idx:user:{channel}:{user}   zset  the same, per entrant
    p:lock:{key}                  str   RedisIsolation lock token (with expiry)
    p:session:{token hash}        str   a web session's user, ``{channel}:{user_id}`` (with expiry)

Compare-and-set on drafts and the whole of ``create_submission`` run as Lua scripts, so each
is atomic on the server whatever the number of workers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import WatchError

from bot.storage.base import dump_json, parse_utc, utc_iso
from bot.storage.redis import followups
from bot.storage.redis.common import as_text, claim_key, connect, part, turn_mark
from bot.storage.redis.lane import ScriptLane
from bot.storage.redis.lock import RedisIsolation, TurnHandle
from contests.records import (
    AlreadyClaimed,
    Draft,
    FollowUp,
    InboundClaim,
    StaleDraftError,
    Submission,
    Turn,
    UserKey,
    apply_update,
    merge_extra,
)

__all__ = ["RedisIsolation", "RedisStorage"]

log = logging.getLogger(__name__)

# The draft's compare-and-set: KEYS[1] draft hash; ARGV: expected version, new version, data
# JSON, updated_at.  Returns 0 (stale) before anything is written.
_VERSION_CHECK_LUA = """
local current = redis.call('HGET', KEYS[1], 'version')
local expected = tonumber(ARGV[1])
if current then
    if tonumber(current) ~= expected then return 0 end
elseif expected ~= 0 then
    return 0
end
"""
_DRAFT_WRITE_LUA = """
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3], 'updated_at', ARGV[4])
"""
_SAVE_DRAFT_LUA = _VERSION_CHECK_LUA + _DRAFT_WRITE_LUA + "return 1\n"

# A save that also ends the user's turn: the lock is the last key, its token the last
# argument (RELEASE_LUA's test: only while the lock is still ours).  Released after the write,
# and only when the write was made.
_END_TURN_LUA = """
if redis.call('GET', KEYS[#KEYS]) == ARGV[#ARGV] then redis.call('DEL', KEYS[#KEYS]) end
return 1
"""

# The turn taken with the draft read: KEYS lock, draft; ARGV token, TTL in ms.  Returns nil
# when the lock is held by someone else, else the draft's data, version, updated_at.
_TAKE_TURN_LUA = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('HMGET', KEYS[2], 'data', 'version', 'updated_at')
"""

# The contact record: the user's field of the contacts hash keeps the latest ISO time (fixed
# width, so text order is time order), even if two workers record out of order.  An empty field:
# no record (an event's claim).
_TOUCH_FN = """
local function touch(contacts, field, at)
    if field == '' then return end
    local seen = redis.call('HGET', contacts, field)
    if (not seen) or seen < at then redis.call('HSET', contacts, field, at) end
end
"""

# save_draft with an inbound claim: KEYS draft, claim, contacts; ARGV as _SAVE_DRAFT_LUA, then
# the claim's TTL in ms, the contact's field and ISO time.  Returns -1 when the key is claimed
# already (nothing written), 0 for a stale version (nothing written), 1 when all is done.
_SAVE_DRAFT_CLAIMED_LUA = (
    _TOUCH_FN
    + "if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end\n"
    + _VERSION_CHECK_LUA
    + """
redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
touch(KEYS[3], ARGV[6], ARGV[7])
"""
    + _DRAFT_WRITE_LUA
)

# KEYS: counter, global seq, submissions hash, idx:all, idx:contest, idx:user, draft, the
# submissions' version, the contest's changed index (number scored by the version it was written at),
# the turn's lock (the draft again when there is none), then the follow-ups' three keys
# (bot.storage.redis.followups).
# ARGV: number prefix, submission JSON, the draft's expected version and the turn's lock token
# ("" for no check); the next draft's JSON before and after its number ("" and "" for none) and
# its updated_at; the follow-up's payload ("" for none), owner and due in ms.  Returns the new
# number, or nil (nothing written) when the draft is no longer at that version or the lock no
# longer holds that token.
# The format must match bot.storage.base.format_number (the contract suite checks it).
_CREATE_SUBMISSION_LUA = """
if ARGV[3] ~= '' and tonumber(redis.call('HGET', KEYS[7], 'version') or '0') ~= tonumber(ARGV[3]) then
    return false
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[10]) ~= ARGV[4] then return false end
local n = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
local number = string.format('%s-%06d', ARGV[1], n)
if redis.call('HEXISTS', KEYS[3], number) == 1 then
    return redis.error_reply('submission ' .. number .. ' exists already')
end
redis.call('INCR', KEYS[1])
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], number, ARGV[2])
redis.call('ZADD', KEYS[4], seq, number)
redis.call('ZADD', KEYS[5], seq, number)
redis.call('ZADD', KEYS[6], seq, number)
local version = tonumber(redis.call('HGET', KEYS[7], 'version') or '0')
redis.call('DEL', KEYS[7])
if ARGV[5] ~= '' then
    local data = ARGV[5] .. number .. ARGV[6]
    redis.call('HSET', KEYS[7], 'version', version + 1, 'data', data, 'updated_at', ARGV[7])
end
if ARGV[8] ~= '' then
    redis.call('HSET', KEYS[11], number, ARGV[8])
    redis.call('HSET', KEYS[12], number, ARGV[9])
    redis.call('ZADD', KEYS[13], ARGV[10], number)
end
redis.call('ZADD', KEYS[9], redis.call('INCR', KEYS[8]), number)
return number
"""


# KEYS: the submissions' version, the contest's changed index.  ARGV: number.  A write's stamp,
# queued in the same MULTI as the write (see submissions_changed).
_STAMP_LUA = """
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[1]), ARGV[1])
return 1
"""


# KEYS[1] contacts hash.  ARGV: field, ISO time.
_TOUCH_LUA = (
    _TOUCH_FN
    + """
touch(KEYS[1], ARGV[1], ARGV[2])
return 1
"""
)

# claim_inbound: KEYS claim, contacts; ARGV TTL in ms, field, ISO time.  The claim, and only
# when it is ours, the contact.
_CLAIM_INBOUND_LUA = (
    _TOUCH_FN
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
touch(KEYS[2], ARGV[2], ARGV[3])
return 1
"""
)

# claim_inbound within a turn: KEYS claim, contacts, the user's draft, the turn's lock; ARGV TTL
# in ms, field, ISO time, the turn's mark ("t:" token ":").  A free key is set to the mark and
# the draft's version.  A key marked by another turn is that turn's while the user's lock still
# holds its token (this turn lost its lock to it): left alone, not ours.  Else that turn has
# ended (its lock expired or was released) without its release settling the claim: its worker
# died, and the claim is taken over while the draft is at the version it was claimed at, else
# settled ("1": its effects landed).  "1" is a claim done.
_CLAIM_IN_TURN_LUA = (
    _TOUCH_FN
    + """
local version = redis.call('HGET', KEYS[3], 'version') or '0'
local held = redis.call('GET', KEYS[1])
if held then
    if string.sub(held, 1, 2) ~= 't:' then return 0 end
    if string.sub(held, 1, #ARGV[4]) == ARGV[4] then return 1 end
    if redis.call('GET', KEYS[4]) == string.match(held, '^t:([^:]*):') then return 0 end
    if string.sub(held, #held - #version) ~= ':' .. version then
        redis.call('SET', KEYS[1], '1', 'KEEPTTL')
        return 0
    end
end
redis.call('SET', KEYS[1], ARGV[4] .. version, 'PX', ARGV[1])
touch(KEYS[2], ARGV[2], ARGV[3])
return 1
"""
)

# claim_first: KEYS are claim keys (as claim_once names them), ARGV[1] their TTL in ms.  Returns
# the 1-based position of the first key SET NX could take, 0 when none was free.
_CLAIM_FIRST_LUA = """
for i, key in ipairs(KEYS) do
    if redis.call('SET', key, '1', 'NX', 'PX', ARGV[1]) then return i end
end
return 0
"""


def _contact_field(user: UserKey) -> str:
    """The user's field of the contacts hash (``list_contacts`` splits it back)."""
    return f"{part(user.channel)}:{part(user.user_id)}"


def _ms(ttl: dt.timedelta) -> int:
    """A claim's TTL for ``PX``: whole milliseconds, at least one."""
    return max(1, int(ttl.total_seconds() * 1000))


def _draft_from(user: UserKey, fields: Sequence[Any]) -> Draft | None:
    """A draft from its hash's data, version, updated_at (None when any is missing)."""
    data, version, updated_at = fields
    if data is None or version is None or updated_at is None:
        return None
    return Draft(
        user=user, data=json.loads(data), version=int(version), updated_at=parse_utc(as_text(updated_at))
    )


def _submission_from_json(number: str, payload: str | bytes) -> Submission:
    doc = json.loads(payload)
    return Submission(
        number=number,
        contest_id=doc["contest_id"],
        user=UserKey(doc["channel"], doc["user_id"]),
        channel_id=doc["channel_id"],
        form_id=doc["form_id"],
        answers=doc["answers"],
        video=doc["video"],
        created_at=parse_utc(doc["created_at"]),
        status=doc["status"],
        extra=doc.get("extra", {}),
    )


class RedisStorage:
    """:class:`~contests.ports.Storage` in Redis, shared by several workers.

    Takes ownership of ``redis``: :meth:`close` closes it.  Works with and without
    ``decode_responses``.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = prefix
        # The scripts of every update on connections of their own (not on a cluster's client).
        self._lane = ScriptLane(redis) if isinstance(redis, aioredis.Redis) else None
        self._save_draft = redis.register_script(_SAVE_DRAFT_LUA)
        self._save_draft_claimed = redis.register_script(_SAVE_DRAFT_CLAIMED_LUA + "return 1\n")
        self._save_draft_ending = redis.register_script(_VERSION_CHECK_LUA + _DRAFT_WRITE_LUA + _END_TURN_LUA)
        self._save_draft_claimed_ending = redis.register_script(_SAVE_DRAFT_CLAIMED_LUA + _END_TURN_LUA)
        self._take_turn = redis.register_script(_TAKE_TURN_LUA)
        self._create_submission = redis.register_script(_CREATE_SUBMISSION_LUA)
        self._follow_ups = followups.RedisFollowUps(redis, prefix)
        self._touch = redis.register_script(_TOUCH_LUA)
        self._claim_inbound = redis.register_script(_CLAIM_INBOUND_LUA)
        self._claim_in_turn = redis.register_script(_CLAIM_IN_TURN_LUA)
        self._claim_first = redis.register_script(_CLAIM_FIRST_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisStorage:
        """A store on a new client for ``url`` (``redis://host:port/db``); connects lazily."""
        return cls(connect(url), prefix)

    # -- keys -------------------------------------------------------------------------------

    def _draft_key(self, user: UserKey) -> str:
        return f"{self.prefix}:draft:{part(user.channel)}:{part(user.user_id)}"

    def _user_index(self, user: UserKey) -> str:
        return f"{self.prefix}:idx:user:{part(user.channel)}:{part(user.user_id)}"

    def _changed_index(self, contest_id: str) -> str:
        return f"{self.prefix}:idx:changed:{part(contest_id)}"

    def _contest_index(self, contest_id: str) -> str:
        return f"{self.prefix}:idx:contest:{part(contest_id)}"

    @property
    def _all_index(self) -> str:
        return f"{self.prefix}:idx:all"

    @property
    def _changes(self) -> str:
        return f"{self.prefix}:subs:changes"

    @property
    def _submissions(self) -> str:
        return f"{self.prefix}:submissions"

    def _claim_key(self, key: str) -> str:
        return claim_key(self.prefix, key)

    @property
    def _contacts(self) -> str:
        return f"{self.prefix}:contacts"

    async def _hot(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """A script of every update: on the lane where there is one (bench/README.md "Redis CPU
        per update (issue 19, part 3)"), else through the client."""
        if self._lane is not None:
            return await self._lane.run(script, keys, args)
        return await script(keys=keys, args=args)

    async def release_turn(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """The turn's release (:class:`RedisIsolation`'s script), on the same lane."""
        return await self._hot(script, keys, args)

    # -- drafts -----------------------------------------------------------------------------

    async def get_draft(self, user: UserKey) -> Draft | None:
        fields = await self._redis.hmget(self._draft_key(user), ["data", "version", "updated_at"])
        return _draft_from(user, fields)

    async def take_turn(
        self, lock_name: str, token: str, ttl_ms: int, user: UserKey
    ) -> tuple[bool, Draft | None]:
        """Take the turn's lock (``SET NX PX``) and, when it was free, read ``user``'s draft in
        the same script: (taken, the draft).  Called by :class:`RedisIsolation`."""
        fields = await self._hot(self._take_turn, [lock_name, self._draft_key(user)], [token, ttl_ms])
        return (False, None) if fields is None else (True, _draft_from(user, fields))

    async def save_draft(
        self, draft: Draft, *, claim: InboundClaim | None = None, turn: Turn | None = None
    ) -> Draft:
        encoded = dump_json(draft.data)
        now = dt.datetime.now(dt.UTC)
        new_version = draft.version + 1
        keys = [self._draft_key(draft.user)]
        args: list[Any] = [draft.version, new_version, encoded, utc_iso(now)]
        if claim is not None:
            keys += [self._claim_key(claim.key), self._contacts]
            field = _contact_field(claim.user) if claim.contact else ""
            args += [_ms(claim.ttl), field, utc_iso(claim.when)]
        ending = turn is not None and turn.may_end_in_save and isinstance(turn.handle, TurnHandle)
        if ending:
            assert turn is not None and isinstance(turn.handle, TurnHandle)
            keys.append(turn.handle.lock_name)
            args.append(turn.handle.token)
            script = self._save_draft_ending if claim is None else self._save_draft_claimed_ending
        else:
            script = self._save_draft if claim is None else self._save_draft_claimed
        stored = int(await self._hot(script, keys, args))
        if stored == -1 and claim is not None:
            raise AlreadyClaimed(claim.key)
        if stored != 1:
            raise StaleDraftError(f"draft of {draft.user} is not at version {draft.version}")
        if ending:
            assert turn is not None
            turn.ended = True
        # The caller's own data: decoding what was just encoded would only copy it.
        return Draft(user=draft.user, data=draft.data, version=new_version, updated_at=now)

    async def list_drafts(self) -> list[Draft]:
        head = f"{self.prefix}:draft:"
        # SCAN, not KEYS: reminders run while the bot serves, and this must not block Redis.
        keys = sorted({as_text(k) async for k in self._redis.scan_iter(match=head + "*", count=1000)})
        drafts: list[Draft] = []
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in chunk:
                    pipe.hmget(key, ["data", "version", "updated_at"])
                found = await pipe.execute()
            for key, (data, version, updated) in zip(chunk, found, strict=True):
                if data is None or version is None or updated is None:
                    continue  # deleted between the scan and the read
                channel, _, user_id = key[len(head) :].partition(":")
                drafts.append(
                    Draft(
                        UserKey(unquote(channel), unquote(user_id)),
                        json.loads(data),
                        int(version),
                        parse_utc(as_text(updated)),
                    )
                )
        return sorted(drafts, key=lambda d: (d.user.channel, d.user.user_id))

    async def delete_draft(self, user: UserKey) -> bool:
        return int(await self._redis.delete(self._draft_key(user))) > 0

    # -- submissions ------------------------------------------------------------------------

    async def create_submission(
        self,
        *,
        prefix: str,
        contest_id: str,
        user: UserKey,
        channel_id: str,
        form_id: str,
        answers: dict[str, Any],
        video: dict[str, Any],
        now: dt.datetime,
        extra: dict[str, Any] | None = None,
        draft_version: int | None = None,
        turn: Turn | None = None,
        next_draft: dict[str, Any] | None = None,
        follow_up: FollowUp | None = None,
    ) -> Submission:
        head = tail = ""
        if next_draft is not None:
            # The number goes between the two halves (the script knows it, this code does not).
            mark = "\u0000number\u0000"
            head, _, tail = dump_json({**next_draft, "number": mark}).partition(dump_json(mark))
            head, tail = head + '"', '"' + tail
        follow: list[Any] = ["", "", 0]
        if follow_up is not None:
            follow = [followups.payload(follow_up), follow_up.owner, followups.ms(follow_up.due)]
        payload = dump_json(
            {
                "contest_id": contest_id,
                "channel": user.channel,
                "user_id": user.user_id,
                "channel_id": channel_id,
                "form_id": form_id,
                "answers": answers,
                "video": video,
                "extra": merge_extra({}, extra or {}),
                "status": "submitted",
                "created_at": utc_iso(now),
            }
        )
        handle = turn.handle if turn is not None and isinstance(turn.handle, TurnHandle) else None
        number = await self._create_submission(
            keys=[
                f"{self.prefix}:counter:{part(prefix)}",
                f"{self.prefix}:seq",
                self._submissions,
                self._all_index,
                self._contest_index(contest_id),
                self._user_index(user),
                self._draft_key(user),
                self._changes,
                self._changed_index(contest_id),
                self._draft_key(user) if handle is None else handle.lock_name,
                *self._follow_ups.keys,
            ],
            args=[
                prefix,
                payload,
                "" if draft_version is None else draft_version,
                "" if handle is None else handle.token,
                head,
                tail,
                utc_iso(now),
                *follow,
            ],
        )
        if number is None:
            raise StaleDraftError(f"draft of {user} not at version {draft_version}, or its turn lost")
        return _submission_from_json(as_text(number), payload)

    # -- follow-ups -------------------------------------------------------------------------

    async def take_follow_ups(
        self, owner: str, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[FollowUp]:
        return await self._follow_ups.take(owner, now, lease, limit)

    async def keep_follow_up(self, follow_up: FollowUp) -> bool:
        return await self._follow_ups.keep(follow_up)

    async def finish_follow_up(self, number: str, owner: str) -> bool:
        return await self._follow_ups.finish(number, owner)

    async def submissions_version(self) -> int:
        return int(await self._redis.get(self._changes) or 0)

    async def submissions_changed(self, contest_id: str, since: int) -> tuple[int, list[Submission]]:
        version = await self.submissions_version()  # first: a row written later comes too
        if since <= 0:  # all of them (also those stored before the changed index was kept)
            return version, await self.list_submissions(contest_id=contest_id)
        numbers = [
            as_text(n)
            for n in await self._redis.zrangebyscore(self._changed_index(contest_id), f"({since}", "+inf")
        ]
        if not numbers:
            return version, []
        payloads = await self._redis.hmget(self._submissions, numbers)
        found = [_submission_from_json(n, p) for n, p in zip(numbers, payloads, strict=True) if p is not None]
        found.sort(key=lambda s: (s.created_at, s.number))
        return version, found

    async def get_submission(self, number: str) -> Submission | None:
        payload = await self._redis.hget(self._submissions, number)
        return None if payload is None else _submission_from_json(number, payload)

    async def list_submissions(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Submission]:
        # The user's index is the smallest; the contest filter is then applied to the records.
        if user is not None:
            index = self._user_index(user)
        elif contest_id is not None:
            index = self._contest_index(contest_id)
        else:
            index = self._all_index
        numbers = [as_text(n) for n in await self._redis.zrange(index, 0, -1)]  # by insertion seq
        if not numbers:
            return []
        payloads = await self._redis.hmget(self._submissions, numbers)
        found = [
            _submission_from_json(number, payload)
            for number, payload in zip(numbers, payloads, strict=True)
            if payload is not None
        ]
        if contest_id is not None:
            found = [s for s in found if s.contest_id == contest_id]
        # Oldest first; ties keep insertion order (sort is stable), as in SqliteStorage.
        found.sort(key=lambda s: s.created_at)
        return found

    async def update_submission(
        self,
        number: str,
        *,
        status: str | None = None,
        video: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        answers: dict[str, Any] | None = None,
        history: dict[str, Any] | None = None,
    ) -> Submission:
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:  # optimistic: retried when another worker changed the record meanwhile
                try:
                    await pipe.watch(self._submissions)
                    payload = await pipe.hget(self._submissions, number)
                    if payload is None:
                        raise KeyError(number)
                    doc = json.loads(payload)
                    doc.update(
                        apply_update(
                            doc, status=status, video=video, extra=extra, answers=answers, history=history
                        )
                    )
                    encoded = dump_json(doc)
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                    pipe.hset(self._submissions, number, encoded)
                    changed = self._changed_index(str(doc["contest_id"]))
                    # EVAL, not EVALSHA: a cluster's transaction does not load scripts first, and
                    # a missing one would fail alone inside EXEC, after the HSET was applied.
                    pipe.eval(_STAMP_LUA, 2, self._changes, changed, number)
                    await pipe.execute()
                    return _submission_from_json(number, encoded)
                except WatchError:
                    continue

    async def claim_once(self, key: str, ttl: dt.timedelta) -> bool:
        return bool(await self._redis.set(self._claim_key(key), "1", nx=True, px=_ms(ttl)))

    async def claim_first(self, keys: Sequence[str], ttl: dt.timedelta) -> int | None:
        if not keys:
            return None
        names = [self._claim_key(key) for key in keys]
        position = int(await self._claim_first(keys=names, args=[_ms(ttl)]))
        return position - 1 if position else None

    async def claim_inbound(
        self,
        key: str,
        ttl: dt.timedelta,
        user: UserKey,
        when: dt.datetime,
        *,
        turn: Turn | None = None,
        contact: bool = True,
    ) -> bool:
        keys = [self._claim_key(key), self._contacts]
        args: list[Any] = [_ms(ttl), _contact_field(user) if contact else "", utc_iso(when)]
        if turn is None or not isinstance(turn.handle, TurnHandle):
            return bool(await self._hot(self._claim_inbound, keys, args))
        keys += [self._draft_key(user), turn.handle.lock_name]
        args.append(turn_mark(turn.handle.token))
        claimed = bool(await self._hot(self._claim_in_turn, keys, args))
        if claimed:
            turn.claims.append(key)
        return claimed

    async def touch_contact(self, user: UserKey, when: dt.datetime) -> None:
        await self._touch(keys=[self._contacts], args=[_contact_field(user), utc_iso(when)])

    async def last_contact(self, user: UserKey) -> dt.datetime | None:
        value = await self._redis.hget(self._contacts, _contact_field(user))
        return None if value is None else parse_utc(as_text(value))

    async def list_contacts(self) -> list[UserKey]:
        fields = sorted(as_text(f) for f in await self._redis.hkeys(self._contacts))
        users = [UserKey(unquote(c), unquote(u)) for c, _, u in (f.partition(":") for f in fields)]
        return sorted(users, key=lambda k: (k.channel, k.user_id))

    def _session_key(self, token_hash: str) -> str:
        return f"{self.prefix}:session:{part(token_hash)}"

    async def open_session(self, token_hash: str, user: UserKey, ttl: dt.timedelta) -> None:
        await self._redis.set(self._session_key(token_hash), _contact_field(user), px=_ms(ttl))

    async def session_user(self, token_hash: str) -> UserKey | None:
        value = await self._redis.get(self._session_key(token_hash))
        if value is None:
            return None
        channel, _, user_id = as_text(value).partition(":")
        return UserKey(unquote(channel), unquote(user_id))

    async def close_session(self, token_hash: str) -> None:
        await self._redis.delete(self._session_key(token_hash))

    async def ping(self) -> None:
        """Raise :class:`redis.exceptions.ConnectionError` when the server cannot be reached."""
        await self._redis.ping()

    async def close(self) -> None:
        """Close the client and its connection pool, and the lane's connections."""
        if self._lane is not None:
            await self._lane.close()
        await self._redis.aclose()
