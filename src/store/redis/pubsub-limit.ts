// What Redis' pub/sub output limit must allow, checked once at start.
//
// Redis disconnects a subscriber whose unread output passes `client-output-buffer-limit pubsub
// <hard> <soft> <seconds>` (default 32mb, or 8mb for 60 s), and the frames in that buffer are gone
// although their PUBLISH counted it as a receiver: messages acknowledged to their publishers are
// lost. What the bus may have unread for one node at once:
// - steadily: each sending node up to its flow-control window (--bus-window) -> the soft limit;
// - in a burst, after Redis stalled: each sender also its whole backlog of writes Redis had not
//   answered (--redis-pending-bytes), which Redis turns into output at once -> the hard limit.
// With `senders` = nodes - 1 (the nodes this host runs; more hosts on one Redis need more), one
// line at start says whether the limit fits, and the value to set when it does not. With
// --redis-set-pubsub-limit it is set (CONFIG SET, raised only). CONFIG may be refused (a
// restricted user, a renamed command, managed Redis): then one info line says it was not checked.
import type { RedisConn } from './connection.js';
import type { RedisLogger } from './connection.js';

export interface PubsubLimit {
  hard: number;
  soft: number;
  seconds: number;
}

export interface PubsubNeeds {
  /** Nodes assumed in the cluster (this one included). */
  nodes: number;
  /** --bus-window (Infinity: flow control off). */
  windowBytes: number;
  /** --redis-pending-bytes. */
  pendingBytes: number;
}

const MB = 1024 * 1024;

/** Parses the pubsub class out of CONFIG GET client-output-buffer-limit's value; null if absent. */
export function parsePubsubLimit(value: string): PubsubLimit | null {
  const m = /(?:^|\s)pubsub (\d+) (\d+) (\d+)/.exec(value);
  return m === null ? null : { hard: Number(m[1]), soft: Number(m[2]), seconds: Number(m[3]) };
}

/** The limit the bus needs, or null when no finite limit is enough (flow control off). */
export function neededPubsubLimit(current: PubsubLimit, needs: PubsubNeeds): PubsubLimit | null {
  if (!Number.isFinite(needs.windowBytes)) return null;
  const senders = Math.max(1, needs.nodes - 1);
  // Rounded up to whole MiB, as one would write it in redis.conf.
  const hard = Math.ceil((senders * (needs.pendingBytes + needs.windowBytes)) / MB) * MB;
  const soft = Math.ceil((senders * needs.windowBytes) / MB) * MB;
  return {
    hard: current.hard === 0 ? 0 : Math.max(current.hard, hard),
    soft: current.soft === 0 ? 0 : Math.max(current.soft, soft),
    seconds: current.seconds,
  };
}

export function formatPubsubLimit(l: PubsubLimit): string {
  const size = (n: number): string => (n > 0 && n % MB === 0 ? `${n / MB}mb` : String(n));
  return `pubsub ${size(l.hard)} ${size(l.soft)} ${l.seconds}`;
}

/** Reads the pubsub limit and logs one line about it; raises it when `set` (CONFIG SET). */
export async function checkPubsubLimit(redis: RedisConn, log: RedisLogger, needs: PubsubNeeds, set: boolean): Promise<void> {
  const assumed = `assuming ${needs.nodes} nodes (--workers; more hosts on this Redis need more), --bus-window ${needs.windowBytes}, --redis-pending-bytes ${needs.pendingBytes}`;
  let current: PubsubLimit | null;
  try {
    const reply = (await redis.config('GET', 'client-output-buffer-limit')) as string[];
    current = parsePubsubLimit(reply[1] ?? '');
  } catch (err) {
    log.info({ err: (err as Error).message }, `redis: could not check client-output-buffer-limit pubsub (CONFIG refused): make sure Redis does not cut off a node with less unread than the bus may send it (${assumed}), or acknowledged messages can be lost`);
    return;
  }
  if (current === null) {
    log.info({}, `redis: could not check client-output-buffer-limit pubsub (no pubsub class in CONFIG GET's reply) (${assumed})`);
    return;
  }
  const now = formatPubsubLimit(current);
  const needed = neededPubsubLimit(current, needs);
  if (needed === null) {
    log.warn({ pubsubLimit: now }, 'redis: flow control is off (--bus-window 0), so no pub/sub output limit bounds what a flooded node may have unread; Redis cuts it off past the limit, losing acknowledged messages (`client-output-buffer-limit pubsub 0 0 0` avoids that, at the price of Redis memory)');
    return;
  }
  if (needed.hard === current.hard && needed.soft === current.soft) {
    log.info({ pubsubLimit: now }, `redis: client-output-buffer-limit ${now} holds what the bus may send one node (${assumed})`);
    return;
  }
  const want = formatPubsubLimit(needed);
  if (!set) {
    log.warn({ pubsubLimit: now, needed: want }, `redis: client-output-buffer-limit ${now} is below what the bus may send one node (${assumed}): Redis would cut that node off and lose acknowledged messages; set \`CONFIG SET client-output-buffer-limit "${want}"\` (or start with --redis-set-pubsub-limit)`);
    return;
  }
  try {
    await redis.config('SET', 'client-output-buffer-limit', want);
    log.info({ pubsubLimit: want, was: now }, `redis: raised client-output-buffer-limit to ${want} (was ${now}; --redis-set-pubsub-limit, ${assumed})`);
  } catch (err) {
    log.warn({ err: (err as Error).message, pubsubLimit: now, needed: want }, `redis: could not raise client-output-buffer-limit to ${want} (CONFIG SET refused); Redis may cut off a node and lose acknowledged messages (${assumed})`);
  }
}
