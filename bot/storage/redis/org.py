"""The organisation store in Redis, shared by several workers.

Key layout (``p`` is the prefix, ``{x}`` percent-encoded, ``c`` a contest id)::

    p:org:units:{c}                 hash  normalised name -> unit JSON
    p:org:unit_order:{c}            zset  normalised name, score = import order
    p:org:members                   hash  {c}:{channel}:{user} -> membership JSON
    p:org:invite:{sha256}           hash  one invite (kept after use or expiry: a late code says so)
    p:org:bucket:{c}:{holder}:{track} zset  place tokens that count; score = expiry (ms) or +inf
    p:org:places:{c}                hash  token -> place JSON (kept after withdrawal)
    p:org:claims:{c}                hash  claim -> token
    p:org:numbers:{c}               hash  submission number -> token
    p:org:seq:{c}                   int   order of places
    p:org:attempts:{key}:{start}    int   tries under a limit in the window from ``start``
                                          (Unix seconds); expires when the window ends

Reserving, committing, releasing, withdrawing and redeeming an invite are each one Lua
script, hence atomic on the server whatever the number of workers.  Every key a script
touches is passed in KEYS.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from bot.storage.base import dump_json, parse_utc, utc_iso
from bot.storage.redis.common import as_text, connect, part
from bot.storage.redis.lock import TurnHandle
from contests.org import (
    DEFAULT_HOLD_TTL,
    AttemptLimit,
    Invite,
    Membership,
    Place,
    PlaceState,
    QuotaRefusal,
    RedeemResult,
    RedeemStatus,
    Reservation,
    Role,
    Track,
    Unit,
    normalise_name,
)
from contests.records import Turn, UserKey

__all__ = ["RedisOrgStore"]

# KEYS: units hash, order zset.  ARGV: key1, json1, key2, json2, ...
_PUT_UNITS_LUA = """
for i = 1, #ARGV, 2 do
    redis.call('ZADD', KEYS[2], 'NX', redis.call('ZCARD', KEYS[2]), ARGV[i])
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
"""

# KEYS: invite hash.  ARGV: field, value, field, value...  Never overwrites.
_ADD_INVITE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: invite hash, members hash.  ARGV: now (ISO, fixed width), channel, user id, member field suffix.
# Returns {status, invite fields...}.
_REDEEM_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown'} end
local used = redis.call('HGET', KEYS[1], 'used_at')
if used and used ~= '' then return {'used'} end
if redis.call('HGET', KEYS[1], 'expires_at') <= ARGV[1] then return {'expired'} end
redis.call('HSET', KEYS[1], 'used_at', ARGV[1], 'used_channel', ARGV[2], 'used_user', ARGV[3])
local contest = redis.call('HGET', KEYS[1], 'contest_id')
local member = cjson.encode({
    contest_id = contest, channel = ARGV[2], user_id = ARGV[3],
    role = redis.call('HGET', KEYS[1], 'role'), unit_key = redis.call('HGET', KEYS[1], 'unit_key'),
    bound_at = ARGV[1]})
redis.call('HSET', KEYS[2], redis.call('HGET', KEYS[1], 'member_prefix') .. ':' .. ARGV[4], member)
return {'ok'}
"""

# KEYS: one counter per limit.  ARGV: limit1, ttl ms 1, limit2, ttl ms 2, ...
# Returns {} when the attempt was counted, else the (1-based) indices of the limits reached.
_COUNT_ATTEMPT_LUA = """
local reached = {}
for i = 1, #KEYS do
    if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2 * i - 1]) then
        reached[#reached + 1] = i
    end
end
if #reached > 0 then return reached end
for i = 1, #KEYS do
    redis.call('INCR', KEYS[i])
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
end
return reached
"""

# Shared by the scripts below: free a token's place and the claims it still holds.
_DROP_FN = """
local function drop(bucket, claims, places, token, doc)
    for _, c in ipairs(doc.claims) do
        if redis.call('HGET', claims, c) == token then redis.call('HDEL', claims, c) end
    end
    redis.call('HDEL', places, token)
    redis.call('ZREM', bucket, token)
end
"""

# KEYS: bucket, claims, places, seq, the owner's turn lock (the bucket again without a turn).
# ARGV: token, now ms, expires ms, limit (-1: none), place JSON (its ``turn``: the lock token it
# is held under, "" for none), claims...
# Returns {'ok', used with this one} | {'full', used} | {'claimed', used, claim, number}.
# A live pending place of the same owner, holder and track, held in another turn whose lock no
# longer holds its token (that turn ended without committing or releasing: its worker died), is
# dropped rather than refusing or counting, whether or not it holds a claim.
_RESERVE_LUA = (
    _DROP_FN
    + """
local now = tonumber(ARGV[2])
local doc = cjson.decode(ARGV[5])
for _, t in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
    local p = redis.call('HGET', KEYS[3], t)
    if p then drop(KEYS[1], KEYS[2], KEYS[3], t, cjson.decode(p)) else redis.call('ZREM', KEYS[1], t) end
end
local function dead(d)
    return d.state == 'pending' and doc.turn ~= '' and type(d.turn) == 'string' and d.turn ~= ''
        and d.turn ~= doc.turn and d.owner_channel == doc.owner_channel and d.owner_user == doc.owner_user
        and d.holder == doc.holder and d.track == doc.track and redis.call('GET', KEYS[5]) ~= d.turn
end
-- Dead places of this owner in the bucket, claims or none (the live pending ones: committed
-- places score inf), so that one holding no claim does not count beside this one either.
if doc.turn ~= '' then
    for _, t in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '(+inf')) do
        local p = redis.call('HGET', KEYS[3], t)
        if p then
            local d = cjson.decode(p)
            if dead(d) then drop(KEYS[1], KEYS[2], KEYS[3], t, d) end
        end
    end
end
for i = 6, #ARGV do
    local t = redis.call('HGET', KEYS[2], ARGV[i])
    if t then
        local p = redis.call('HGET', KEYS[3], t)
        if p then
            local d = cjson.decode(p)
            if d.state == 'committed' or (d.state == 'pending' and tonumber(d.expires_ms) > now) then
                if dead(d) then
                    drop(KEYS[1], KEYS[2], KEYS[3], t, d)
                else
                    return {'claimed', redis.call('ZCARD', KEYS[1]), ARGV[i], d.number or ''}
                end
            end
        end
        -- else: the claim of an expired reservation of another holder, taken over below
    end
end
local used = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[4])
if limit >= 0 and used >= limit then return {'full', used} end
doc.seq = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(doc))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
for i = 6, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], ARGV[1]) end
return {'ok', used + 1}
"""
)

# KEYS: bucket, claims, places, numbers.  ARGV: token, number.  Returns 1 or 0.
_COMMIT_LUA = (
    _DROP_FN
    + """
local p = redis.call('HGET', KEYS[3], ARGV[1])
if not p then return 0 end
local d = cjson.decode(p)
if d.state == 'committed' then
    if d.number == ARGV[2] then return 1 end
    return 0
end
if d.state ~= 'pending' then return 0 end
local ok = redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= false
for _, c in ipairs(d.claims) do
    if redis.call('HGET', KEYS[2], c) ~= ARGV[1] then ok = false end
end
if not ok then
    drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1], d)
    return 0
end
d.state = 'committed'
d.number = ARGV[2]
d.expires_at = ''
d.expires_ms = ''
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(d))
redis.call('ZADD', KEYS[1], 'inf', ARGV[1])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
return 1
"""
)

# KEYS: bucket, claims, places.  ARGV: token.  Returns 1 if a pending place was released.
_RELEASE_LUA = (
    _DROP_FN
    + """
local p = redis.call('HGET', KEYS[3], ARGV[1])
if not p then return 0 end
local d = cjson.decode(p)
if d.state ~= 'pending' then return 0 end
drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1], d)
return 1
"""
)

# KEYS: bucket, claims, places.  ARGV: token, number.  Returns the updated place JSON or false.
_WITHDRAW_LUA = """
local p = redis.call('HGET', KEYS[3], ARGV[1])
if not p then return false end
local d = cjson.decode(p)
if d.state ~= 'committed' or d.number ~= ARGV[2] then return false end
for _, c in ipairs(d.claims) do
    if redis.call('HGET', KEYS[2], c) == ARGV[1] then redis.call('HDEL', KEYS[2], c) end
end
redis.call('ZREM', KEYS[1], ARGV[1])
d.state = 'withdrawn'
local out = cjson.encode(d)
redis.call('HSET', KEYS[3], ARGV[1], out)
return out
"""


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _place(doc: dict[str, Any]) -> Place:
    claims = doc.get("claims") or []
    # cjson writes an empty Lua table as {}; an empty claim list comes back as an empty object.
    claims = claims if isinstance(claims, list) else []
    return Place(
        token=doc["token"],
        contest_id=doc["contest_id"],
        holder=doc["holder"],
        track=cast(Track, doc["track"]),
        state=PlaceState(doc["state"]),
        number=doc.get("number") or None,
        claims=tuple(claims),
        owner=UserKey(doc["owner_channel"], doc["owner_user"]),
        created_at=parse_utc(doc["created_at"]),
        expires_at=parse_utc(doc["expires_at"]) if doc.get("expires_at") else None,
    )


def _membership(doc: dict[str, Any]) -> Membership:
    return Membership(
        UserKey(doc["channel"], doc["user_id"]),
        doc["contest_id"],
        Role(doc["role"]),
        doc.get("unit_key") or None,
        parse_utc(doc["bound_at"]),
    )


class RedisOrgStore:
    """:class:`~bot.storage.org.OrgStore` in Redis.  Owns ``redis``: :meth:`close` closes it."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = prefix
        self._put_units = redis.register_script(_PUT_UNITS_LUA)
        self._add_invite = redis.register_script(_ADD_INVITE_LUA)
        self._redeem = redis.register_script(_REDEEM_LUA)
        self._reserve = redis.register_script(_RESERVE_LUA)
        self._commit = redis.register_script(_COMMIT_LUA)
        self._release = redis.register_script(_RELEASE_LUA)
        self._withdraw = redis.register_script(_WITHDRAW_LUA)
        self._count_attempt = redis.register_script(_COUNT_ATTEMPT_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisOrgStore:
        """A store on a new client for ``url``; connects lazily."""
        return cls(connect(url), prefix)

    async def ping(self) -> None:
        await self._redis.ping()

    # -- keys -----------------------------------------------------------------------------

    def _k(self, *parts: str) -> str:
        return ":".join([self.prefix, "org", parts[0], *(part(p) for p in parts[1:])])

    def _bucket(self, contest_id: str, holder: str, track: str) -> str:
        return self._k("bucket", contest_id, holder, track)

    @staticmethod
    def _member_field(contest_id: str, user: UserKey) -> str:
        return f"{part(contest_id)}:{part(user.channel)}:{part(user.user_id)}"

    # -- units ----------------------------------------------------------------------------

    async def put_units(self, contest_id: str, units: list[Unit]) -> None:
        args: list[str] = []
        for unit in units:
            args += [unit.key, dump_json({"name": unit.name, "kind": unit.kind, "province": unit.province})]
        if args:
            await self._put_units(
                keys=[self._k("units", contest_id), self._k("unit_order", contest_id)], args=args
            )

    async def list_units(self, contest_id: str) -> list[Unit]:
        keys = [as_text(k) for k in await self._redis.zrange(self._k("unit_order", contest_id), 0, -1)]
        if not keys:
            return []
        docs = await self._redis.hmget(self._k("units", contest_id), keys)
        return [
            Unit(contest_id, d["name"], d["kind"], d["province"])
            for d in (json.loads(raw) for raw in docs if raw is not None)
        ]

    async def get_unit(self, contest_id: str, name: str) -> Unit | None:
        raw = await self._redis.hget(self._k("units", contest_id), normalise_name(name))
        if raw is None:
            return None
        doc = json.loads(raw)
        return Unit(contest_id, doc["name"], doc["kind"], doc["province"])

    # -- roles ----------------------------------------------------------------------------

    async def add_invite(self, invite: Invite) -> None:
        key = self._k("invite", invite.code_hash)
        fields = {
            "contest_id": invite.contest_id,
            "member_prefix": part(invite.contest_id),
            "role": invite.role.value,
            "unit_key": invite.unit_key or "",
            "created_at": utc_iso(invite.created_at),
            "expires_at": utc_iso(invite.expires_at),
            "used_at": "",
        }
        args: list[str] = []
        for name, value in fields.items():
            args += [name, value]
        if not int(await self._add_invite(keys=[key], args=args)):
            raise ValueError("an invite with this code exists already")

    async def redeem_invite(self, code_hash: str, user: UserKey, now: dt.datetime) -> RedeemResult:
        key = self._k("invite", code_hash)
        reply = await self._redeem(
            keys=[key, self._k("members")],
            args=[utc_iso(now), user.channel, user.user_id, f"{part(user.channel)}:{part(user.user_id)}"],
        )
        status = RedeemStatus(as_text(reply[0]))
        if status is RedeemStatus.UNKNOWN:
            return RedeemResult(status)
        raw = {as_text(k): as_text(v) for k, v in (await self._redis.hgetall(key)).items()}
        invite = Invite(
            code_hash=code_hash,
            contest_id=raw["contest_id"],
            role=Role(raw["role"]),
            unit_key=raw.get("unit_key") or None,
            created_at=parse_utc(raw["created_at"]),
            expires_at=parse_utc(raw["expires_at"]),
            used_at=parse_utc(raw["used_at"]) if raw.get("used_at") else None,
            used_by=UserKey(raw["used_channel"], raw["used_user"]) if raw.get("used_channel") else None,
        )
        if status is not RedeemStatus.OK:
            return RedeemResult(status, invite)
        membership = Membership(user, invite.contest_id, invite.role, invite.unit_key, invite.used_at or now)
        return RedeemResult(status, invite, membership)

    async def get_membership(self, user: UserKey, contest_id: str) -> Membership | None:
        raw = await self._redis.hget(self._k("members"), self._member_field(contest_id, user))
        return None if raw is None else _membership(json.loads(raw))

    async def count_attempt(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> dt.datetime | None:
        if not limits:
            return None
        keys: list[str] = []
        args: list[int] = []
        for limit in limits:
            keys.append(self._k("attempts", limit.key, str(limit.window_start(now))))
            # Relative to the caller's clock, as every other time this store keeps.
            args += [limit.limit, max(1, _ms(limit.window_end(now)) - _ms(now))]
        reached = await self._count_attempt(keys=keys, args=args)
        if not reached:
            return None
        return max(limits[int(i) - 1].window_end(now) for i in reached)

    async def list_memberships(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Membership]:
        found = [
            _membership(json.loads(raw)) for raw in (await self._redis.hgetall(self._k("members"))).values()
        ]
        if contest_id is not None:
            found = [m for m in found if m.contest_id == contest_id]
        if user is not None:
            found = [m for m in found if m.user == user]
        return sorted(found, key=lambda m: m.bound_at)

    # -- places ---------------------------------------------------------------------------

    async def reserve(
        self,
        *,
        contest_id: str,
        holder: str,
        track: Track,
        limit: int | None,
        claims: tuple[str, ...],
        owner: UserKey,
        now: dt.datetime,
        ttl: dt.timedelta = DEFAULT_HOLD_TTL,
        turn: Turn | None = None,
    ) -> Reservation | QuotaRefusal:
        token = uuid.uuid4().hex
        expires = parse_utc(utc_iso(now + ttl))
        handle = turn.handle if turn is not None and isinstance(turn.handle, TurnHandle) else None
        bucket = self._bucket(contest_id, holder, track)
        doc = {
            "token": token,
            "contest_id": contest_id,
            "holder": holder,
            "track": track,
            "state": PlaceState.PENDING.value,
            "number": "",
            "claims": list(claims),
            "owner_channel": owner.channel,
            "owner_user": owner.user_id,
            "created_at": utc_iso(now),
            "expires_at": utc_iso(expires),
            "expires_ms": str(_ms(expires)),
            "turn": "" if handle is None else handle.token,
        }
        reply = await self._reserve(
            keys=[
                bucket,
                self._k("claims", contest_id),
                self._k("places", contest_id),
                self._k("seq", contest_id),
                bucket if handle is None else handle.lock_name,
            ],
            args=[token, _ms(now), _ms(expires), -1 if limit is None else limit, dump_json(doc), *claims],
        )
        outcome, used = as_text(reply[0]), int(reply[1])
        if outcome == "ok":
            return Reservation(token, contest_id, holder, track, claims, expires, used)
        if outcome == "full":
            return QuotaRefusal("full", contest_id, holder, track, used, limit)
        return QuotaRefusal(
            "claimed",
            contest_id,
            holder,
            track,
            used,
            limit,
            claim=as_text(reply[2]),
            claim_number=as_text(reply[3]) or None,
        )

    async def commit(self, reservation: Reservation, number: str, now: dt.datetime) -> bool:
        c = reservation.contest_id
        done = await self._commit(
            keys=[
                self._bucket(c, reservation.holder, reservation.track),
                self._k("claims", c),
                self._k("places", c),
                self._k("numbers", c),
            ],
            args=[reservation.token, number],
        )
        return int(done) == 1

    async def release(self, reservation: Reservation) -> bool:
        c = reservation.contest_id
        done = await self._release(
            keys=[
                self._bucket(c, reservation.holder, reservation.track),
                self._k("claims", c),
                self._k("places", c),
            ],
            args=[reservation.token],
        )
        return int(done) == 1

    async def withdraw(self, contest_id: str, number: str, now: dt.datetime) -> Place | None:
        place = await self.place_of(contest_id, number)
        if place is None or place.state is not PlaceState.COMMITTED:
            return None
        # The holder of a token never changes, so the bucket read here is the one the script needs;
        # the script re-checks the state.
        out = await self._withdraw(
            keys=[
                self._bucket(contest_id, place.holder, place.track),
                self._k("claims", contest_id),
                self._k("places", contest_id),
            ],
            args=[place.token, number],
        )
        return None if not out else _place(json.loads(out))

    async def place_of(self, contest_id: str, number: str) -> Place | None:
        token = await self._redis.hget(self._k("numbers", contest_id), number)
        if token is None:
            return None
        raw = await self._redis.hget(self._k("places", contest_id), as_text(token))
        return None if raw is None else _place(json.loads(raw))

    async def list_places(self, contest_id: str, *, holder: str | None = None) -> list[Place]:
        docs = [
            json.loads(raw) for raw in (await self._redis.hgetall(self._k("places", contest_id))).values()
        ]
        docs.sort(key=lambda d: (d["created_at"], int(d.get("seq") or 0)))
        places = [_place(d) for d in docs]
        return [p for p in places if holder is None or p.holder == holder]

    async def close(self) -> None:
        await self._redis.aclose()
