// The retained index in Redis: matches agree with a brute-force matcher, clears prune the
// trie, and a narrow wildcard over 100,000 retained topics touches only a handful of keys
// ("A wildcard subscribe over 100,000 retained topics answers without scanning them all").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicMatchesFilter } from '../../../src/broker/topic-match.js';
import { encodeMessage } from '../../../src/store/redis/codec.js';
import type { RedisBackend } from '../../../src/store/redis/index.js';
import type { Message } from '../../../src/store/types.js';
import { RedisFixture } from './fixture.js';

const fx = new RedisFixture();
let backend: RedisBackend;

beforeAll(async () => {
  await fx.start();
  // No heartbeat during the test: its script (EVALSHA every second) would land in the command
  // counts below, which must see only the retained store's own commands.
  backend = await fx.backend({ heartbeatMs: 3_600_000, nodeTtlMs: 7_200_000 });
});
afterAll(() => fx.stop());

const msg = (topic: string): Message => ({ topic, payload: Buffer.from(topic), qos: 0, retain: true });

/** Redis-side count of calls per command (INFO commandstats), so the test does not trust the store's own counter. */
async function commandCalls(): Promise<Map<string, number>> {
  const info = await backend.redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

async function trieKeys(): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await backend.redis.scan(cursor, 'MATCH', `${fx.prefix}rtree:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

describe('RedisRetainedStore index', () => {
  it('agrees with a brute-force matcher over random topics, $ topics and empty levels included [MQTT-4.7.2-1]', async () => {
    const words = ['a', 'b', '', '$sys', 'c'];
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const topics = new Set<string>();
    while (topics.size < 400) {
      const depth = 1 + random(4);
      topics.add(Array.from({ length: depth }, (_, i) => (i === 0 ? `x${random(3)}` : words[random(words.length)])).join('/'));
      if (random(5) === 0) topics.add(`$${[...topics].pop()}`);
    }
    const store = backend.retained;
    for (const topic of topics) store.set(topic, msg(topic));
    await store.flush();
    const filters = ['#', '+', '+/+', '+/#', 'x1/#', 'x1/+', 'x1/+/+', 'x0//#', 'x2/a/+', '+/a/#', '$x1/#', '$x1/+/b', '+/+/+/+', 'x1/a/b/c', 'x0/$sys/#', 'x2//'];
    for (const filter of filters) {
      const expected = [...topics].filter((t) => topicMatchesFilter(t, filter)).sort();
      const got = (await store.match(filter)).map((m) => m.topic).sort();
      expect(got, filter).toEqual(expected);
    }
    // Clearing everything leaves no trie node behind.
    for (const topic of topics) store.set(topic, null);
    await store.flush();
    expect(await trieKeys()).toEqual([]);
    expect(await store.count()).toBe(0);
  });

  it('clearing one topic prunes only its own branch', async () => {
    const store = backend.retained;
    store.set('p/a/b', msg('p/a/b'));
    store.set('p/a', msg('p/a'));
    store.set('p/c/d', msg('p/c/d'));
    store.set('p/c/d', null);
    await store.flush();
    expect((await store.match('p/#')).map((m) => m.topic).sort()).toEqual(['p/a', 'p/a/b']);
    expect((await trieKeys()).map((k) => k.slice(fx.prefix.length)).sort()).toEqual(['rtree:', 'rtree:/p', 'rtree:/p/a', 'rtree:/p/a/b'].sort());
    store.set('p/a', null);
    store.set('p/a/b', null);
    await store.flush();
    expect(await trieKeys()).toEqual([]);
  });

  it('a narrow wildcard over 100,000 retained topics reads a handful of keys, not every topic', async () => {
    const store = backend.retained;
    // r/{0..99}/{0..9}/{0..99}: 100,000 topics, loaded through the store's own script in big pipelines.
    const { redis, keys } = backend;
    for (let a = 0; a < 100; a++) {
      const pipeline = redis.pipeline();
      for (let b = 0; b < 10; b++) {
        for (let c = 0; c < 100; c++) {
          const topic = `r/${a}/${b}/${c}`;
          (pipeline as unknown as Record<string, (...args: unknown[]) => void>).stRetainSet!(keys.retained, keys.retainedTrie(''), topic, encodeMessage(msg(topic)));
        }
      }
      await pipeline.exec();
    }
    expect(await store.count()).toBe(100_000);

    const cases: Array<[filter: string, expected: string[], maxCommands: number, maxNodes: number]> = [
      // [filter, topics, most commands sent, most trie nodes read]
      ['r/42/+/7', Array.from({ length: 10 }, (_, b) => `r/42/${b}/7`), 2, 1],
      ['r/+/3/5', Array.from({ length: 100 }, (_, a) => `r/${a}/3/5`), 2, 1],
      ['r/42/3/+', Array.from({ length: 100 }, (_, c) => `r/42/3/${c}`), 2, 1],
      ['r/42/3/#', Array.from({ length: 100 }, (_, c) => `r/42/3/${c}`), 3, 101],
    ];
    for (const [filter, expected, maxCommands, maxNodes] of cases) {
      const before = await commandCalls();
      const beforeOwn = store.matchCommands;
      const found = (await store.match(filter)).map((m) => m.topic).sort();
      const after = await commandCalls();
      expect(found, filter).toEqual(expected.sort());
      const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      const issued = delta('evalsha') + delta('eval') + delta('hmget');
      // Redis saw exactly what the store counted, and that is a handful, not 100,000.
      expect(issued, filter).toBe(store.matchCommands - beforeOwn);
      expect(issued, filter).toBeLessThanOrEqual(maxCommands);
      // Keys read: trie nodes on the filter's way (SMEMBERS, run inside the script) and HMGET's fields.
      expect(delta('smembers'), filter).toBeLessThanOrEqual(maxNodes);
      expect(delta('hgetall') + delta('hkeys') + delta('hscan') + delta('scan') + delta('keys'), filter).toBe(0);
    }
  }, 120_000);
});
