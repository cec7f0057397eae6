// Fenced ownership across two nodes on one redis-server: takeover reaches the old node's
// handler, a stale release never frees a newer claim, node client sets follow the holder, and
// a release leaves the session to expire in Redis after its expiry interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, waitReady } from '../../../src/store/redis/connection.js';
import { redisKeys, RedisOwnership, type RedisBackend } from '../../../src/store/redis/index.js';
import { eventually, RedisFixture } from './fixture.js';

const fx = new RedisFixture();
let a: RedisBackend;
let b: RedisBackend;
const takeoversA: Array<[string, string, number]> = [];
const takeoversB: Array<[string, string, number]> = [];
let waiters: Array<() => void> = [];

beforeAll(async () => {
  await fx.start();
  a = await fx.backend();
  b = await fx.backend();
  a.ownership.onTakeover((c, conn, e) => (takeoversA.push([c, conn, e]), waiters.forEach((w) => w())));
  b.ownership.onTakeover((c, conn, e) => (takeoversB.push([c, conn, e]), waiters.forEach((w) => w())));
});
afterAll(() => fx.stop());

function takeoverOn(log: Array<[string, string, number]>, clientId: string, timeoutMs = 5000): Promise<[string, string, number]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const event = log.find((e) => e[0] === clientId);
      if (event === undefined) return;
      clearTimeout(timer);
      waiters = waiters.filter((w) => w !== check);
      resolve(event);
    };
    const timer = setTimeout(() => reject(new Error(`no takeover of ${clientId}`)), timeoutMs);
    waiters.push(check);
    check();
  });
}

describe('RedisOwnership across nodes', () => {
  it('claim on A then on B: A hears of it with its old connection and epoch; B hears nothing', async () => {
    const epochA = await a.ownership.claim('own-1', 'conn-a');
    const epochB = await b.ownership.claim('own-1', 'conn-b');
    expect(epochB).toBeGreaterThan(epochA);
    expect(await takeoverOn(takeoversA, 'own-1')).toEqual(['own-1', 'conn-a', epochA]);
    expect(takeoversB.filter((e) => e[0] === 'own-1')).toEqual([]);
    expect(await a.ownership.ownerOf('own-1')).toEqual({ nodeId: b.bus.nodeId, connectionId: 'conn-b', epoch: epochB });
  });

  it("A's stale release does not free B's claim; B's own release does", async () => {
    const epochA = await a.ownership.claim('own-2', 'conn-a');
    const epochB = await b.ownership.claim('own-2', 'conn-b');
    a.ownership.release('own-2', epochA);
    await a.ownership.flush();
    expect((await a.ownership.ownerOf('own-2'))?.epoch).toBe(epochB);
    expect(await b.ownership.clientsOf(b.bus.nodeId)).toContain('own-2');
    expect(await a.ownership.clientsOf(a.bus.nodeId)).not.toContain('own-2');
    b.ownership.release('own-2', epochB);
    await b.ownership.flush();
    expect(await a.ownership.ownerOf('own-2')).toBeNull();
    expect(await b.ownership.clientsOf(b.bus.nodeId)).not.toContain('own-2');
  });

  it('epochs strictly increase over many claims of one id from both nodes', async () => {
    const epochs: number[] = [];
    for (let i = 0; i < 20; i++) epochs.push(await (i % 2 === 0 ? a : b).ownership.claim('own-3', `c${i}`));
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThan(epochs[i - 1]!);
  });

  it('a takeover on the same node calls the local handler before claim resolves', async () => {
    const first = await a.ownership.claim('own-4', 'conn-1');
    await a.ownership.claim('own-4', 'conn-2');
    expect(takeoversA.filter((e) => e[0] === 'own-4')).toEqual([['own-4', 'conn-1', first]]);
  });

  it('release leaves the session to expire after its interval; save() on resume removes the TTL', async () => {
    const { sessions, ownership, redis, keys } = a;
    sessions.save('own-5', 300);
    sessions.addSubscriptions('own-5', [['e/#', { qos: 1 }]]);
    sessions.setWill('own-5', { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: false }, 5);
    const epoch = await ownership.claim('own-5', 'conn');
    ownership.release('own-5', epoch);
    await ownership.flush();
    const ttl = await redis.ttl(keys.subs('own-5'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    expect(await redis.ttl(keys.session('own-5'))).toBeGreaterThan(0);
    // The will is left for recovery: no TTL on it.
    expect(await redis.ttl(keys.will('own-5'))).toBe(-1);
    expect((await sessions.loadWill('own-5'))?.nodeId).toBe(a.bus.nodeId);
    sessions.save('own-5', 300);
    await sessions.flush();
    expect(await redis.ttl(keys.subs('own-5'))).toBe(-1);
    expect(await redis.ttl(keys.session('own-5'))).toBe(-1);
  });

  it('a session with the never-expires interval gets no TTL on release', async () => {
    const { sessions, ownership, redis, keys } = a;
    sessions.save('own-6', 0xffffffff);
    const epoch = await ownership.claim('own-6', 'conn');
    ownership.release('own-6', epoch);
    await ownership.flush();
    expect(await redis.ttl(keys.session('own-6'))).toBe(-1);
  });

  it('a takeover notice lost while the holder was cut off is caught up when its connection comes back', async () => {
    // A node with no subscriber: every TAKEOVER frame to it is lost, as during an outage.
    const redis = createRedisClient(fx.server.url, 'lonely');
    await waitReady(redis);
    const lonely = new RedisOwnership(redis, redisKeys(fx.prefix), 'lonely-node');
    const seen: Array<[string, string, number]> = [];
    lonely.onTakeover((c, conn, e) => seen.push([c, conn, e]));
    try {
      const mine = await lonely.claim('lost-1', 'conn-l');
      const kept = await lonely.claim('lost-2', 'conn-k');
      await b.ownership.claim('lost-1', 'conn-b');
      expect(seen).toEqual([]);
      // Its connection drops and comes back: the owner records are re-read, the lost notice replayed.
      const id = String(await a.redis.client('LIST')).split('\n').find((line: string) => line.includes('name=starling:lonely '))?.match(/id=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await a.redis.client('KILL', 'ID', id!);
      await eventually(() => seen.length > 0, 'the takeover to be replayed after the reconnect');
      expect(seen).toEqual([['lost-1', 'conn-l', mine]]);
      // Ids still held (lost-2) and ids already reported are not reported (again).
      expect(await lonely.recheck()).toBe(0);
      expect((await lonely.ownerOf('lost-2'))?.epoch).toBe(kept);
    } finally {
      redis.disconnect();
    }
  });
});
