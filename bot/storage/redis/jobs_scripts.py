"""The Lua scripts of the Redis job store (:mod:`bot.storage.redis.jobs`): every transition.

A job is created, confirmed, cancelled and started; its deliveries are claimed, released,
begun and finished; a worker's lease is renewed, and a worker given up has its deliveries
recovered; a daily quota is taken.  Each transition is one script over the keys passed in
``KEYS`` (the key layout is in :mod:`bot.storage.redis.jobs`'s docstring), checking (state,
owner, attempt) before it writes, hence atomic whatever the number of workers.
"""

# Counting a delivery off its job when it becomes final (shared by several scripts).
# Expects: KEYS job hash, stats hash, running zset in variables job, stats, running;
# ARGV job id and now (ISO) in jid, now_iso; the stat field in ``field``.
_COUNT_OFF = """
local function count_off(job, stats, running, jid, now_iso, field)
    redis.call('HINCRBY', stats, field, 1)
    local left = redis.call('HINCRBY', job, 'remaining', -1)
    if left <= 0 then
        redis.call('ZREM', running, jid)
        redis.call('HSET', job, 'finished_at', now_iso)
        if redis.call('HGET', job, 'state') == 'running' then redis.call('HSET', job, 'state', 'done') end
    end
end
local function stat_field(d)
    if d.state == 'sent' then return 'sent:' .. d.via end
    return d.state .. ':' .. d.reason
end
"""

# KEYS: job hash, index zset, scheduled zset.  ARGV: job id, created ms, at ms, scheduled (1/0),
# field/value pairs.
CREATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) end
return 1
"""

# KEYS: job hash, scheduled zset.  ARGV: job id, at ms.
CONFIRM_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'held' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'scheduled')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: job, scheduled, running, dlv, due, stats.  ARGV: job id, now iso.
CANCEL_LUA = (
    _COUNT_OFF
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'held' and state ~= 'scheduled' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'cancelled')
redis.call('ZREM', KEYS[2], ARGV[1])
if state ~= 'running' then
    redis.call('HSET', KEYS[1], 'finished_at', ARGV[2])
    return 1
end
for _, seq in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local d = cjson.decode(redis.call('HGET', KEYS[4], seq))
    d.state = 'skipped'; d.reason = 'cancelled'; d.updated_at = ARGV[2]
    redis.call('HSET', KEYS[4], seq, cjson.encode(d))
    count_off(KEYS[1], KEYS[6], KEYS[3], ARGV[1], ARGV[2], 'skipped:cancelled')
end
redis.call('DEL', KEYS[5])
return 1
"""
)

# KEYS: job, scheduled, running, dlv, due, stage.  ARGV: job id, now ms, now iso.
START_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'scheduled' then
    redis.call('DEL', KEYS[6])
    return -1
end
local items = redis.call('LRANGE', KEYS[6], 0, -1)
for i, raw in ipairs(items) do
    local seq = string.format('%07d', i - 1)
    redis.call('HSET', KEYS[4], seq, raw)
    redis.call('ZADD', KEYS[5], ARGV[2], seq)
end
redis.call('DEL', KEYS[6])
redis.call('ZREM', KEYS[2], ARGV[1])
local n = #items
redis.call('HSET', KEYS[1], 'total', n, 'remaining', n, 'started_at', ARGV[3])
if n == 0 then
    redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[3])
else
    redis.call('HSET', KEYS[1], 'state', 'running')
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return n
"""

# KEYS: job, due, dlv, owned.  ARGV: job id, worker, now ms, now iso, limit.
# Returns seq, json, seq, json...
CLAIM_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {} end
local seqs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[5]))
local out = {}
for _, seq in ipairs(seqs) do
    redis.call('ZREM', KEYS[2], seq)
    local d = cjson.decode(redis.call('HGET', KEYS[3], seq))
    d.state = 'claimed'; d.owner = ARGV[2]; d.updated_at = ARGV[4]
    local raw = cjson.encode(d)
    redis.call('HSET', KEYS[3], seq, raw)
    redis.call('SADD', KEYS[4], ARGV[1] .. '|' .. seq)
    out[#out + 1] = seq
    out[#out + 1] = raw
end
return out
"""

# KEYS: dlv, due, owned.  ARGV: job id, worker, not_before ms, now iso, seq...
RELEASE_LUA = """
local moved = 0
for i = 5, #ARGV do
    local raw = redis.call('HGET', KEYS[1], ARGV[i])
    if raw then
        local d = cjson.decode(raw)
        if d.state == 'claimed' and d.owner == ARGV[2] then
            d.state = 'pending'; d.owner = ''; d.updated_at = ARGV[4]
            redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(d))
            redis.call('ZADD', KEYS[2], ARGV[3], ARGV[i])
            redis.call('SREM', KEYS[3], ARGV[1] .. '|' .. ARGV[i])
            moved = moved + 1
        end
    end
end
return moved
"""

# KEYS: dlv, job.  ARGV: seq, worker, now iso.  Returns the attempt, -1 lost, -2 cancelled.
BEGIN_LUA = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local d = cjson.decode(raw)
if d.state ~= 'claimed' or d.owner ~= ARGV[2] then return -1 end
if redis.call('HGET', KEYS[2], 'state') == 'cancelled' then return -2 end
d.state = 'sending'; d.attempt = d.attempt + 1; d.updated_at = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
return d.attempt
"""

# KEYS: dlv, due, owned, job, stats, running.
# ARGV: seq, worker, attempt, state, reason, detail, via, now iso, not_before ms, job id.
FINISH_LUA = (
    _COUNT_OFF
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local d = cjson.decode(raw)
if d.owner ~= ARGV[2] then return 0 end
local attempt = tonumber(ARGV[3])
local was_uncertain = d.state == 'failed' and d.reason == 'uncertain'
if attempt == 0 then
    if d.state ~= 'claimed' then return 0 end
elseif d.attempt ~= attempt or not (d.state == 'sending' or was_uncertain) then
    return 0
end
local member = ARGV[10] .. '|' .. ARGV[1]
d.state = ARGV[4]; d.reason = ARGV[5]; d.detail = ARGV[6]; d.updated_at = ARGV[8]
redis.call('SREM', KEYS[3], member)
if d.state == 'pending' then
    d.owner = ''
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
    redis.call('ZADD', KEYS[2], ARGV[9], ARGV[1])
    return 1
end
d.via = ARGV[7]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
if was_uncertain then
    -- Already counted off as failed:uncertain by a recovery: move the count only.
    redis.call('HINCRBY', KEYS[5], 'failed:uncertain', -1)
    redis.call('HINCRBY', KEYS[5], stat_field(d), 1)
else
    count_off(KEYS[4], KEYS[5], KEYS[6], ARGV[10], ARGV[8], stat_field(d))
end
return 1
"""
)

# KEYS: workers.  ARGV: worker, expiry ms, register (1/0).
HEARTBEAT_LUA = """
if ARGV[3] ~= '1' and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

# KEYS: workers.  ARGV: worker, now ms, force (1/0).  1 when the worker is (now) given up.
BURY_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and ARGV[3] ~= '1' and tonumber(score) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""

# A given-up worker's deliveries of one job.
# KEYS: dlv, due, owned, job, stats, running.  ARGV: job id, worker, resend (1/0), now ms, now iso,
# detail, seq...
RECOVER_LUA = (
    _COUNT_OFF
    + """
local moved = 0
for i = 7, #ARGV do
    local seq = ARGV[i]
    redis.call('SREM', KEYS[3], ARGV[1] .. '|' .. seq)
    local raw = redis.call('HGET', KEYS[1], seq)
    if raw then
        local d = cjson.decode(raw)
        if d.owner == ARGV[2] and (d.state == 'claimed' or d.state == 'sending') then
            if d.state == 'claimed' or ARGV[3] == '1' then
                d.state = 'pending'; d.owner = ''; d.updated_at = ARGV[5]
                redis.call('HSET', KEYS[1], seq, cjson.encode(d))
                redis.call('ZADD', KEYS[2], ARGV[4], seq)
            else
                -- Owner and attempt stay: a stalled worker that did send may still record it.
                d.state = 'failed'; d.reason = 'uncertain'; d.detail = ARGV[6]; d.updated_at = ARGV[5]
                redis.call('HSET', KEYS[1], seq, cjson.encode(d))
                count_off(KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[5], 'failed:uncertain')
            end
            moved = moved + 1
        end
    end
end
return moved
"""
)

# KEYS: counter.  ARGV: cap, ttl ms.
QUOTA_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
