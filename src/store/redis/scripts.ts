// The Lua scripts of the Redis store: each one is a multi-key change that must be atomic.
// Registered with defineCommand, so ioredis sends EVALSHA (EVAL after a NOSCRIPT) and the calls
// go out on the connection in issue order, like any other command.
//
// Every key a script touches is passed in KEYS and all of them share one hash tag (keys.ts), so
// the scripts run unchanged on one Redis and on a Redis Cluster.
import type { RedisConn } from './connection.js';
import { defineScript } from './script-preload.js';

// KEYS: session hash, then the session's other keys. ARGV: expiry, savedAt. Writes the metadata
// (the client is back: no offlineAt) and removes any TTL a release left (the session is in use again).
const SAVE_SESSION = `
redis.call('HSET', KEYS[1], 'expiry', ARGV[1], 'savedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'offlineAt')
for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end
return 1`;

// KEYS: queue, session hash (field qbytes: the queue's bytes), inflight hash (fields "~holder\0sender":
// highest sequence taken, see ReplayOrigin in store/types.ts).
// ARGV: cap (messages), cap (bytes, 0 = none), encoded message, its size[, taken field, sequence,
// record]. With a taken field: a sequence at or below the one recorded is skipped (2: taken
// already), unless record = 2 or 3 (an unheard frame, or a retried write: never taken, see
// Origin.unheard); with record = 1 or 2 (the holder's own node queues it) the sequence is
// recorded, growing only. A replay for a dead holder only checks: its record is final, and
// replayed frames from several senders' limbo pushes need not come in order. RPUSH only within both caps; 1 when kept,
// 0 when dropped.
const ENQUEUE_CAPPED = `
local taken = nil
if ARGV[5] then
  taken = tonumber(redis.call('HGET', KEYS[3], ARGV[5]))
  if taken and taken >= tonumber(ARGV[6]) and ARGV[7] ~= '2' and ARGV[7] ~= '3' then return 2 end
end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local cap = tonumber(ARGV[2])
if cap > 0 and (tonumber(redis.call('HGET', KEYS[2], 'qbytes')) or 0) + tonumber(ARGV[4]) > cap then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], 'qbytes', ARGV[4])
if (ARGV[7] == '1' or ARGV[7] == '2') and (not taken or taken < tonumber(ARGV[6])) then redis.call('HSET', KEYS[3], ARGV[5], ARGV[6]) end
return 1`;

// KEYS: queue, session hash. Every message, oldest first, and the queue emptied.
const DRAIN_QUEUE = `
local all = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], 'qbytes')
return all`;

// KEYS: session hash. ARGV: ms. Marks when the client went offline, if the session exists.
const PARKED = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'offlineAt', ARGV[1]) end
return 1`;

// KEYS: queue, session hash, inflight hash, order zset, owner hash. ARGV: the taker's epoch, then
// packet ids. Moves the oldest queued messages (one per id) into in-flight records under those ids,
// in order, and returns the records; nothing when a newer claim holds the client id (fenced).
const TAKE_QUEUED = `
if redis.call('HGET', KEYS[5], 'epoch') ~= ARGV[1] then return {} end
local messages = redis.call('LRANGE', KEYS[1], 0, #ARGV - 2)
if #messages == 0 then return messages end
redis.call('LTRIM', KEYS[1], #messages, -1)
local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
local score = 1
if last[2] then score = tonumber(last[2]) + 1 end
local records, bytes = {}, 0
for i = 1, #messages do
  local id = ARGV[i + 1]
  local record = struct.pack('>BH', 0, tonumber(id)) .. messages[i]
  redis.call('HSET', KEYS[3], id, record)
  redis.call('ZADD', KEYS[4], score, id)
  score = score + 1
  bytes = bytes + #messages[i]
  records[i] = record
end
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('HDEL', KEYS[2], 'qbytes')
else redis.call('HINCRBY', KEYS[2], 'qbytes', -bytes) end
return records`;

// KEYS: inflight hash, order zset. ARGV: messageId, record[, taken field, sequence]. A first put
// gets the next order score; a re-put keeps its place. The taken field (a message from the bus)
// only grows (a node's own limbo can hand it an older message after newer ones).
const PUT_INFLIGHT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] then
  local taken = tonumber(redis.call('HGET', KEYS[1], ARGV[3]))
  if not taken or taken < tonumber(ARGV[4]) then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  local score = 1
  if last[2] then score = tonumber(last[2]) + 1 end
  redis.call('ZADD', KEYS[2], score, ARGV[1])
end
return 1`;

// KEYS: inflight hash, order zset. ARGV: messageId. One command for both.
const DELETE_INFLIGHT = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])`;

// KEYS: inflight hash, order zset. The records in first-put order.
const LOAD_INFLIGHT = `
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local out = {}
for i = 1, #ids do
  local record = redis.call('HGET', KEYS[1], ids[i])
  if record then out[#out + 1] = record end
end
return out`;

// The next fencing epoch of a client id: Redis' clock in microseconds, or one more than the
// epoch the id holds now if that is not below it. So a client's epochs strictly grow while its
// owner record exists, and a claim after a release (record deleted) still gets a later one than
// any before it unless the clock went back; no counter shared by all ids (one slot per client).
const NEXT_EPOCH = `
local function nextEpoch(current)
  local t = redis.call('TIME')
  local epoch = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if current and tonumber(current) >= epoch then epoch = tonumber(current) + 1 end
  return string.format('%.0f', epoch)
end`;

// KEYS: owner hash. ARGV: node, conn. Takes the id with a new fencing epoch; returns {epoch,
// prevNode, prevConn, prevEpoch} ('' when nobody held it). The per-node client sets are the
// caller's (ownership.ts): they live in the control slot.
const OWNER_CLAIM = NEXT_EPOCH + `
local prev = redis.call('HMGET', KEYS[1], 'node', 'conn', 'epoch')
local epoch = nextEpoch(prev[3])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'conn', ARGV[2], 'epoch', epoch)
return { epoch, prev[1] or '', prev[2] or '', prev[3] or '' }`;

// KEYS: owner hash. ARGV: dead node, our node, connection id. Moves the id to us with a new
// epoch only if the dead node still holds it; nil otherwise.
const OWNER_ADOPT = NEXT_EPOCH + `
local prev = redis.call('HMGET', KEYS[1], 'node', 'epoch')
if prev[1] ~= ARGV[1] then return nil end
local epoch = nextEpoch(prev[2])
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'conn', ARGV[3], 'epoch', epoch)
return epoch`;

// KEYS: owner hash, then the session's keys to expire. ARGV: epoch. Frees the id only if the
// holder's epoch is still ours (a newer claim is never undone by a stale release): 1, else 0. Then, as a safety net should the core never get to delete it (its node
// died), the session's keys expire after its expiry interval (not 0: the core deletes those at
// once; not 0xFFFFFFFF: never expires).
const OWNER_RELEASE = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local expiry = tonumber(redis.call('HGET', KEYS[2], 'expiry'))
if expiry and expiry > 0 and expiry < 4294967295 then
  for i = 2, #KEYS do redis.call('EXPIRE', KEYS[i], expiry) end
end
return 1`;

type Arg = string | Buffer | number;

/** keys.sessionKeys(): the session hash, subs, queue, inflight, order, qos2, will. */
const SESSION_KEYS = 7;
/** The owner record and the six keys that expire with a released session (all but the will). */
const OWNER_RELEASE_KEYS = 7;

function fixed(keys: readonly string[], count: number): readonly string[] {
  if (keys.length !== count) throw new Error(`expected ${count} keys, got ${keys.length}`);
  return keys;
}

/** Typed calls of the scripts on one connection. */
export interface StoreScripts {
  /** sessionKeys: the session hash first. */
  saveSession(sessionKeys: readonly string[], expiryInterval: number, savedAt: number): Promise<number>;
  /** record: 0 check only, 1 check and record, 2 record only (unheard), 3 neither (unheard, another holder). */
  enqueueCapped(queue: string, session: string, inflight: string, cap: number, capBytes: number, message: Buffer, size: number, taken?: string, seq?: number, record?: 0 | 1 | 2 | 3): Promise<number>;
  drainQueue(queue: string, session: string): Promise<Buffer[]>;
  parked(session: string, at: number): Promise<number>;
  takeQueued(queue: string, session: string, inflight: string, order: string, owner: string, epoch: number, ids: readonly number[]): Promise<Buffer[]>;
  putInflight(inflight: string, order: string, messageId: number, record: Buffer, taken?: string, seq?: number): Promise<number>;
  deleteInflight(inflight: string, order: string, messageId: number): Promise<number>;
  loadInflight(inflight: string, order: string): Promise<Buffer[]>;
  ownerClaim(owner: string, node: string, conn: string): Promise<string[]>;
  /** The new epoch (as text), or null when deadNode no longer holds the id. */
  ownerAdopt(owner: string, deadNode: string, node: string, conn: string): Promise<string | null>;
  /** sessionKeys: the session hash first (it holds the expiry), then the keys that expire with it. */
  ownerRelease(owner: string, sessionKeys: readonly string[], epoch: number): Promise<number>;
}

const definitions = {
  stEnqueueCapped: [3, ENQUEUE_CAPPED],
  stDrainQueue: [2, DRAIN_QUEUE],
  stParked: [1, PARKED],
  stTakeQueued: [5, TAKE_QUEUED],
  stPutInflight: [2, PUT_INFLIGHT],
  stDeleteInflight: [2, DELETE_INFLIGHT],
  stLoadInflight: [2, LOAD_INFLIGHT],
  stOwnerClaim: [1, OWNER_CLAIM],
  stOwnerAdopt: [1, OWNER_ADOPT],
} as const;

const registered = new WeakMap<RedisConn, StoreScripts>();

/** The scripts on this connection (registered once per connection). */
export function storeScripts(redis: RedisConn): StoreScripts {
  const known = registered.get(redis);
  if (known !== undefined) return known;
  for (const [name, [numberOfKeys, lua]] of Object.entries(definitions)) defineScript(redis, name, { numberOfKeys, lua });
  // Fixed key counts (a session's keys, the owner record and the six that expire with it): a
  // count given per call would be the first argument, which ioredis' cluster auto-pipelining
  // takes for the key that picks the shard.
  defineScript(redis, 'stOwnerRelease', { numberOfKeys: OWNER_RELEASE_KEYS, lua: OWNER_RELEASE });
  defineScript(redis, 'stSaveSession', { numberOfKeys: SESSION_KEYS, lua: SAVE_SESSION });
  const call = redis as unknown as Record<string, (...args: Arg[]) => Promise<unknown>>;
  const scripts: StoreScripts = {
    saveSession: (sessionKeys, expiry, savedAt) => call.stSaveSession!(...fixed(sessionKeys, SESSION_KEYS), expiry, savedAt) as Promise<number>,
    enqueueCapped: (queue, session, inflight, cap, capBytes, message, size, taken, seq, record) =>
      (taken === undefined
        ? call.stEnqueueCapped!(queue, session, inflight, cap, capBytes, message, size)
        : call.stEnqueueCapped!(queue, session, inflight, cap, capBytes, message, size, taken, seq!, record ?? 0)) as Promise<number>,
    drainQueue: (queue, session) => call.stDrainQueueBuffer!(queue, session) as Promise<Buffer[]>,
    parked: (session, at) => call.stParked!(session, at) as Promise<number>,
    takeQueued: (queue, session, inflight, order, owner, epoch, ids) => call.stTakeQueuedBuffer!(queue, session, inflight, order, owner, epoch, ...ids) as Promise<Buffer[]>,
    putInflight: (inflight, order, messageId, record, taken, seq) =>
      (taken === undefined ? call.stPutInflight!(inflight, order, messageId, record) : call.stPutInflight!(inflight, order, messageId, record, taken, seq!)) as Promise<number>,
    deleteInflight: (inflight, order, messageId) => call.stDeleteInflight!(inflight, order, messageId) as Promise<number>,
    loadInflight: (inflight, order) => call.stLoadInflightBuffer!(inflight, order) as Promise<Buffer[]>,
    ownerClaim: (owner, node, conn) => call.stOwnerClaim!(owner, node, conn) as Promise<string[]>,
    ownerAdopt: (owner, deadNode, node, conn) => call.stOwnerAdopt!(owner, deadNode, node, conn) as Promise<string | null>,
    ownerRelease: (owner, sessionKeys, epoch) => call.stOwnerRelease!(owner, ...fixed(sessionKeys, OWNER_RELEASE_KEYS - 1), epoch) as Promise<number>,
  };
  registered.set(redis, scripts);
  return scripts;
}
