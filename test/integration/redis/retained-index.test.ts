// The retained index in Redis (one string per topic, a trie of hashes holding counts): matches
// agree with a brute-force matcher, clears prune the trie down to nothing, racing writers
// (including a clear whose decrements land before the matching set's increments) leave the
// index exactly what a rebuild from the surviving topics would be, flush() waits for the index,
// and a narrow wildcard over 100,000 retained topics touches only a handful of keys
// ("A wildcard subscribe over 100,000 retained topics answers without scanning them all").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicMatchesFilter } from '../../../src/broker/topic-match.js';
import type { RedisBackend } from '../../../src/store/redis/index.js';
import { retainedScripts } from '../../../src/store/redis/retained-scripts.js';
import type { Message } from '../../../src/store/types.js';
import { RedisFixture } from './fixture.js';

const fx = new RedisFixture();

beforeAll(() => fx.start());
afterAll(() => fx.stop());

/**
 * A backend on its own key prefix (no prefix is another's prefix, so a SCAN of one sees only its
 * keys); backends made with the same name share it (two nodes of one cluster). No heartbeat: its
 * script would land in the command counts, which must see only the retained store's commands.
 */
function backendOn(name: string): Promise<RedisBackend> {
  return fx.backend({ prefix: `${fx.prefix}${name}:`, heartbeatMs: 3_600_000, nodeTtlMs: 7_200_000 });
}

const msg = (topic: string): Message => ({ topic, payload: Buffer.from(topic), qos: 0, retain: true });

/** Redis-side count of calls per command (INFO commandstats), so the test does not trust the store's own counter. */
async function commandCalls(backend: RedisBackend): Promise<Map<string, number>> {
  const info = await backend.redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Every key whose name starts with pattern's prefix (SCAN MATCH pattern). */
async function scanKeys(backend: RedisBackend, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await backend.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

const allKeys = (backend: RedisBackend): Promise<string[]> => scanKeys(backend, `${backend.keys.prefix}*`);

type Index = { trie: Record<string, Record<string, string>>; count: string | null };

/** The index as Redis holds it: every trie node (by path) with its fields, and the count. */
async function readIndex(backend: RedisBackend): Promise<Index> {
  const trieKey = backend.keys.retainedTrie('');
  const trie: Index['trie'] = {};
  for (const key of await scanKeys(backend, `${trieKey}*`)) trie[key.slice(trieKey.length)] = { ...(await backend.redis.hgetall(key)) };
  return { trie, count: await backend.redis.get(backend.keys.retainedCount) };
}

/** The index a fresh rebuild from these topics would give. */
function rebuild(topics: Iterable<string>): Index {
  const counts = new Map<string, Map<string, number>>();
  const add = (path: string, field: string): void => {
    const node = counts.get(path) ?? new Map<string, number>();
    counts.set(path, node.set(field, (node.get(field) ?? 0) + 1));
  };
  let n = 0;
  for (const topic of topics) {
    n++;
    let path = '';
    for (const level of topic.split('/')) {
      add(path, level);
      path = `${path}/${level}`;
    }
    add(path, '\0');
  }
  const trie: Index['trie'] = {};
  for (const [path, node] of counts) trie[path] = Object.fromEntries([...node].map(([field, count]) => [field, String(count)]));
  return { trie, count: n === 0 ? null : String(n) };
}

/** Topics whose retained message is in Redis (read from the message keys, not the index). */
async function storedTopics(backend: RedisBackend): Promise<string[]> {
  const messageKey = backend.keys.retainedMessage('');
  return (await scanKeys(backend, `${messageKey}*`)).map((key) => key.slice(messageKey.length));
}

describe('RedisRetainedStore index', () => {
  it('agrees with a brute-force matcher over random topics, $ topics and empty levels included [MQTT-4.7.2-1]', async () => {
    const backend = await backendOn('brute');
    const untouched = await allKeys(backend);
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
    expect(await readIndex(backend)).toEqual(rebuild(topics));
    expect(await store.count()).toBe(topics.size);
    const filters = ['#', '+', '+/+', '+/#', 'x1/#', 'x1/+', 'x1/+/+', 'x0//#', 'x2/a/+', '+/a/#', '$x1/#', '$x1/+/b', '+/+/+/+', 'x1/a/b/c', 'x0/$sys/#', 'x2//'];
    for (const filter of filters) {
      const expected = [...topics].filter((t) => topicMatchesFilter(t, filter)).sort();
      const got = (await store.match(filter)).map((m) => m.topic).sort();
      expect(got, filter).toEqual(expected);
    }
    // Clearing everything leaves no message, trie node or count behind: the prefix holds what it held before.
    for (const topic of topics) store.set(topic, null);
    await store.flush();
    expect(await allKeys(backend)).toEqual(untouched);
    expect(await store.count()).toBe(0);
  });

  it('clearing one topic takes its counts off its own branch only, and prunes what it leaves empty', async () => {
    const backend = await backendOn('prune');
    const untouched = await allKeys(backend);
    const store = backend.retained;
    store.set('p/a/b', msg('p/a/b'));
    store.set('p/a', msg('p/a'));
    store.set('p/c/d', msg('p/c/d'));
    store.set('p/c/d', null);
    await store.flush();
    expect((await store.match('p/#')).map((m) => m.topic).sort()).toEqual(['p/a', 'p/a/b']);
    expect(await readIndex(backend)).toEqual({ trie: { '': { p: '2' }, '/p': { a: '2' }, '/p/a': { b: '1', '\0': '1' }, '/p/a/b': { '\0': '1' } }, count: '2' });
    // A second set of a topic is no new topic: the counts stay.
    store.set('p/a', msg('p/a'));
    await store.flush();
    expect(await readIndex(backend)).toEqual(rebuild(['p/a', 'p/a/b']));
    store.set('p/a', null);
    store.set('p/a', null);
    store.set('p/a/b', null);
    await store.flush();
    expect(await allKeys(backend)).toEqual(untouched);
  });

  it("a clear's decrements landing before the matching set's increments leave the index exact; counts below 1 are not present meanwhile", async () => {
    const backend = await backendOn('order');
    const store = backend.retained;
    const { keys } = backend;
    store.set('q/a', msg('q/a'));
    await store.flush();
    // set('q/b') and then clear('q/b') both decided on the message key (SET found nothing, DEL removed
    // it), but the clear's level updates reach Redis first.
    const scripts = retainedScripts(backend.redis);
    const levels = (delta: number) => Promise.all([scripts.level(keys.retainedTrie(''), 'q', delta), scripts.level(keys.retainedTrie('/q'), 'b', delta), scripts.level(keys.retainedTrie('/q/b'), '\0', delta), scripts.count(keys.retainedCount, delta)]);
    expect(await levels(-1)).toEqual([0, -1, -1, 0]);
    // Meanwhile: 'b' at -1 under /q is not a child, so q/# reads /q and /q/a and gets q/a, nothing more.
    const before = store.matchCommands;
    expect((await store.match('q/#')).map((m) => m.topic)).toEqual(['q/a']);
    expect(store.matchCommands - before).toBe(3);
    expect((await store.match('q/+')).map((m) => m.topic)).toEqual(['q/a']);
    expect(await levels(1)).toEqual([1, 0, 0, 1]);
    expect(await readIndex(backend)).toEqual(rebuild(['q/a']));
    store.set('q/a', null);
    await store.flush();
    expect(await readIndex(backend)).toEqual(rebuild([]));
  });

  it('two nodes setting one new topic at once count it once; two clearing it at once uncount it once', async () => {
    const [a, b] = [await backendOn('twins'), await backendOn('twins')];
    const topics = Array.from({ length: 50 }, (_, i) => `t/${i % 5}/${i}`);
    // Each topic set by both nodes in the same turn: both SETs are on the wire before either answers.
    for (const topic of topics) {
      a.retained.set(topic, msg(topic));
      b.retained.set(topic, msg(topic));
    }
    await Promise.all([a.retained.flush(), b.retained.flush()]);
    expect(await a.retained.count()).toBe(50);
    expect(await readIndex(a)).toEqual(rebuild(topics));
    for (const topic of topics) {
      a.retained.set(topic, null);
      b.retained.set(topic, null);
    }
    await Promise.all([a.retained.flush(), b.retained.flush()]);
    expect(await b.retained.count()).toBe(0);
    expect(await readIndex(a)).toEqual(rebuild([]));
  });

  it('sets and clears of sibling topics racing on two nodes leave the index a rebuild of the surviving topics would give', async () => {
    const [a, b] = [await backendOn('race'), await backendOn('race')];
    const untouched = await allKeys(a);
    let seed = 11;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const topics = Array.from({ length: 12 }, (_, i) => `s/${i % 3}/${i % 2 === 0 ? '' : 'x'}/${i}`).concat(['s', 's/0', 's/1/x']);
    for (let round = 0; round < 5; round++) {
      // 200 operations issued in one turn over both connections, then both flushed together.
      for (let i = 0; i < 200; i++) {
        const node = random(2) === 0 ? a : b;
        const topic = topics[random(topics.length)]!;
        node.retained.set(topic, random(3) === 0 ? null : msg(topic));
      }
      await Promise.all([a.retained.flush(), b.retained.flush()]);
      const surviving = await storedTopics(a);
      expect(await readIndex(b), `round ${round}`).toEqual(rebuild(surviving));
      expect(await a.retained.count()).toBe(surviving.length);
      expect((await b.retained.match('s/#')).map((m) => m.topic).sort()).toEqual(surviving);
    }
    for (const topic of topics) a.retained.set(topic, null);
    await a.retained.flush();
    expect(await allKeys(a)).toEqual(untouched);
  });

  it("flush() waits for a set's index updates, and rejects when one failed", async () => {
    const backend = await backendOn('flush');
    const store = backend.retained;
    // Stand in for the level script on this backend's connection: held until the gate opens.
    const conn = backend.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>;
    const real = conn.stRetainedLevel!;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let reached!: () => void;
    const held = new Promise<void>((resolve) => (reached = resolve));
    conn.stRetainedLevel = (...args) => {
      reached();
      return gate.then(() => real.apply(backend.redis, args));
    };
    store.set('g/t', msg('g/t'));
    let flushed = false;
    const flushing = store.flush().then(() => (flushed = true));
    await held;
    // The SET has answered (its index updates are being issued); one more round trip on the
    // connection, and a flush that waited only for the SET would have resolved.
    await backend.redis.ping();
    expect(flushed).toBe(false);
    open();
    await flushing;
    expect((await store.match('g/+')).map((m) => m.topic)).toEqual(['g/t']);

    conn.stRetainedLevel = () => Promise.reject(new Error('index update lost'));
    store.set('g/u', msg('g/u'));
    await expect(store.flush()).rejects.toThrow('index update lost');
    conn.stRetainedLevel = real;
    store.set('g/t', null);
    await store.flush();
  });

  it('a narrow wildcard over 100,000 retained topics reads a handful of keys, not every topic', async () => {
    const backend = await backendOn('big');
    const store = backend.retained;
    // r/{0..99}/{0..9}/{0..99}: 100,000 topics, set through the store, 10,000 per flush.
    for (let a = 0; a < 100; a++) {
      for (let b = 0; b < 10; b++) {
        for (let c = 0; c < 100; c++) {
          const topic = `r/${a}/${b}/${c}`;
          store.set(topic, msg(topic));
        }
      }
      if (a % 50 === 49) await store.flush();
    }
    expect(await store.count()).toBe(100_000);

    const cases: Array<[filter: string, expected: string[], maxNodes: number]> = [
      // [filter, topics, most trie nodes read]: commands sent = nodes read + one GET per topic that may match
      ['r/42/+/7', Array.from({ length: 10 }, (_, b) => `r/42/${b}/7`), 1],
      ['r/+/3/5', Array.from({ length: 100 }, (_, a) => `r/${a}/3/5`), 1],
      ['r/42/3/+', Array.from({ length: 100 }, (_, c) => `r/42/3/${c}`), 1],
      ['r/42/3/#', Array.from({ length: 100 }, (_, c) => `r/42/3/${c}`), 101],
    ];
    for (const [filter, expected, maxNodes] of cases) {
      const before = await commandCalls(backend);
      const beforeOwn = store.matchCommands;
      const found = (await store.match(filter)).map((m) => m.topic).sort();
      const after = await commandCalls(backend);
      expect(found, filter).toEqual(expected.sort());
      const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      // Redis saw exactly what the store counted: trie nodes on the filter's way and the topics found, not 100,000.
      expect(delta('hgetall') + delta('get'), filter).toBe(store.matchCommands - beforeOwn);
      expect(delta('hgetall'), filter).toBeLessThanOrEqual(maxNodes);
      expect(delta('get'), filter).toBe(expected.length);
      expect(delta('hkeys') + delta('hscan') + delta('scan') + delta('keys') + delta('mget') + delta('smembers'), filter).toBe(0);
    }
  }, 120_000);
});
