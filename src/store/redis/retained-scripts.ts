// The two Lua scripts of the retained index (retained-store.ts). Each touches ONE key, so they run
// on any shard of a Redis Cluster; a retained write is several of them, each atomic on its own.
import type { RedisConn } from './connection.js';
import { defineScript } from './script-preload.js';

// KEYS: a trie node (hash). ARGV: field (a child level name, or "\0"), delta. A count back at 0 is
// removed, so a transient -1 (a clear's decrement arriving before the matching set's increment)
// ends as no field at all, and a node whose fields are all gone is gone (Redis drops empty hashes).
const RETAINED_LEVEL = `
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if v == 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v`;

// KEYS: the retained count (string). ARGV: delta. Removed at 0, like a trie count.
const RETAINED_COUNT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == 0 then redis.call('DEL', KEYS[1]) end
return v`;

export interface RetainedScripts {
  /** Adds delta to field of the trie node at key; returns the new count (0: the field is gone). */
  level(key: string, field: string, delta: number): Promise<number>;
  /** Adds delta to the retained count at key; returns the new count. */
  count(key: string, delta: number): Promise<number>;
}

type Call = (...args: Array<string | number>) => Promise<number>;

/** The scripts on this connection (defined on it at the first call for it). */
export function retainedScripts(redis: RedisConn): RetainedScripts {
  const commands = redis as unknown as Record<string, Call | undefined>;
  if (commands.stRetainedLevel === undefined) defineScript(redis, 'stRetainedLevel', { numberOfKeys: 1, lua: RETAINED_LEVEL });
  if (commands.stRetainedCount === undefined) defineScript(redis, 'stRetainedCount', { numberOfKeys: 1, lua: RETAINED_COUNT });
  // Looked up per call (not bound once): a test may stand in for a command on its connection.
  return {
    level: (key, field, delta) => commands.stRetainedLevel!(key, field, delta),
    count: (key, delta) => commands.stRetainedCount!(key, delta),
  };
}
