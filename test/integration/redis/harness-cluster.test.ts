// The Redis Cluster and Sentinel test harnesses (helpers/redis-cluster.ts, helpers/redis-sentinel.ts)
// against ioredis: what they start really is a working cluster / sentinel set, and their failover,
// reshard and topology helpers tell the truth.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infoField, redisCommand } from '../../helpers/redis-command.js';
import { startRedisCluster, type RedisClusterHandle } from '../../helpers/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelHandle } from '../../helpers/redis-sentinel.js';
import { createRedisClient, waitReady } from '../../../src/store/redis/connection.js';
import { onceWithin, waitFor } from '../../helpers/wait.js';

const SLOTS = 16384;
const slotCount = (slots: Array<[number, number]>) => slots.reduce((sum, [a, b]) => sum + b - a + 1, 0);

/** One key per master of the cluster, found by asking the harness where keys live. */
async function keyPerMaster(cluster: RedisClusterHandle, prefix: string): Promise<Map<number, string>> {
  const masters = (await cluster.masters()).map((m) => m.port);
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < masters.length; i++) {
    if (i > 200) throw new Error(`no key found for some of the masters ${masters.join(', ')}`);
    const key = `${prefix}:${i}`;
    const port = await cluster.masterOfKey(key);
    if (!keys.has(port)) keys.set(port, key);
  }
  return keys;
}

function clusterClient(cluster: RedisClusterHandle, options: ConstructorParameters<typeof Cluster>[1] = {}): Cluster {
  const client = new Cluster(cluster.seeds, options);
  // Killed nodes make connection errors; the commands' own results are what the tests check.
  client.on('error', () => {});
  return client;
}

describe('a 3-master, 3-replica Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  const clients: Cluster[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 });
    client = clusterClient(cluster);
    clients.push(client);
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.stop();
  });

  it('has 3 masters sharing all slots and 3 replicas in sync; the spec and seeds name every node', async () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.seeds).toEqual(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    expect(cluster.spec).toBe(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(','));
    for (const n of cluster.nodes) expect(() => process.kill(n.pid, 0)).not.toThrow();

    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    expect(masters.reduce((sum, m) => sum + slotCount(m.slots), 0)).toBe(SLOTS);
    const masterPorts = masters.map((m) => m.port);
    for (const n of cluster.nodes.filter((node) => !masterPorts.includes(node.port))) {
      const info = await redisCommand(n.port, 'INFO', 'replication');
      expect(infoField(info, 'role')).toBe('slave');
      expect(infoField(info, 'master_link_status')).toBe('up');
    }
  });

  it('serves keys on every master through an ioredis Cluster, each on the master masterOfKey names', async () => {
    const keys = await keyPerMaster(cluster, 'harness:kv');
    expect(keys.size).toBe(3);
    for (const [port, key] of keys) {
      expect(await client.set(key, `on ${port}`)).toBe('OK');
      expect(await client.get(key)).toBe(`on ${port}`);
      // Straight to that node: it answers the value, not MOVED.
      expect(await redisCommand(port, 'GET', key)).toBe(`on ${port}`);
    }
  });

  it('delivers an SPUBLISH to an SSUBSCRIBE through ioredis shardedSubscribers', async () => {
    const subscriber = clusterClient(cluster, { shardedSubscribers: true });
    clients.push(subscriber);
    const channel = 'harness:{shard}:news';
    await subscriber.ssubscribe(channel);
    const message = onceWithin<[string, string]>(subscriber, 'smessage', 5000).then(([ch, text]) => [ch, text]);
    // The count is of subscribers on the channel's shard: ours.
    expect(await client.spublish(channel, 'hello shard')).toBe(1);
    expect(await message).toEqual([channel, 'hello shard']);
  });

  it('reshard moves slots from one master to another', async () => {
    const [from, to, other] = await cluster.masters();
    await cluster.reshard(from!.port, to!.port, 100);
    const after = new Map((await cluster.masters()).map((m) => [m.port, m.slots]));
    expect(slotCount(after.get(from!.port)!)).toBe(slotCount(from!.slots) - 100);
    expect(slotCount(after.get(to!.port)!)).toBe(slotCount(to!.slots) + 100);
    expect(after.get(other!.port)).toEqual(other!.slots);
    // A slot that was the source's is the target's now.
    const moved = [...Array(SLOTS).keys()].find((s) => from!.slots.some(([a, b]) => a <= s && s <= b) && !after.get(from!.port)!.some(([a, b]) => a <= s && s <= b));
    expect(moved).toBeDefined();
    expect(await cluster.masterOfSlot(moved!)).toBe(to!.port);
  });

  it("promotes a killed master's replica; writes to the dead master's keys work again", async () => {
    // Replicas were attached round-robin: the replica of nodes[i] is nodes[3 + i].
    const deadIndex = 2;
    const dead = cluster.nodes[deadIndex]!.port;
    const replica = cluster.nodes[3 + deadIndex]!.port;
    const key = (await keyPerMaster(cluster, 'harness:failover')).get(dead)!;
    expect(key).toBeDefined();

    const killedAt = Date.now();
    cluster.killNode(dead);
    const { newMasterPort, promotedAt } = await cluster.waitForPromotion(dead, 15_000);
    expect(newMasterPort).toBe(replica);
    expect(promotedAt).toBeGreaterThan(killedAt);
    expect((await cluster.masters()).map((m) => m.port)).not.toContain(dead);
    expect(await cluster.masterOfKey(key)).toBe(replica);

    expect(await client.set(key, 'after failover')).toBe('OK');
    expect(await client.get(key)).toBe('after failover');
    expect(await redisCommand(replica, 'GET', key)).toBe('after failover');
  });
});

describe.each([1, 2])('a %i-master Redis Cluster without replicas', (masters) => {
  let cluster: RedisClusterHandle;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters, replicasPerMaster: 0, nodeTimeoutMs: 1000 });
    client = clusterClient(cluster);
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('splits all slots evenly over its masters and serves keys of every master', async () => {
    expect(cluster.nodes).toHaveLength(masters);
    const ranges = (await cluster.masters()).map((m) => m.slots).sort((a, b) => a[0]![0] - b[0]![0]);
    expect(ranges).toEqual(masters === 1 ? [[[0, 16383]]] : [[[0, 8191]], [[8192, 16383]]]);
    for (const n of cluster.nodes) expect(infoField(await redisCommand(n.port, 'CLUSTER', 'INFO'), 'cluster_slots_ok')).toBe(String(SLOTS));

    const keys = Array.from({ length: 300 }, (_, i) => `harness:small:${i}`);
    await Promise.all(keys.map((k) => client.set(k, k)));
    expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys);
    for (const [port, key] of await keyPerMaster(cluster, 'harness:small')) expect(await redisCommand(port, 'GET', key)).toBe(key);
  });
});

describe('a Sentinel-managed master with one replica and 3 sentinels', () => {
  let sentinel: RedisSentinelHandle;
  let client: Redis;
  let killedMaster: number | undefined;

  beforeAll(async () => {
    sentinel = await startRedisSentinel({ masterName: 'harness', sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 3000 });
    // The broker's own client (failover detector; connected again if ioredis ends it in a failover race).
    client = createRedisClient({ kind: 'sentinel', sentinels: sentinel.sentinels, masterName: sentinel.masterName }, 'harness-test') as Redis;
    await waitReady(client, 10_000);
  });

  afterAll(async () => {
    client?.disconnect();
    await sentinel?.stop();
  });

  it('fails over when the master is killed; the same ioredis client reads back a key replicated before', async () => {
    expect(sentinel.sentinels).toHaveLength(3);
    expect(sentinel.spec).toBe(sentinel.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','));
    const first = await sentinel.master();

    expect(await client.set('harness:sentinel', 'kept')).toBe('OK');
    expect(await client.call('WAIT', 1, 1000)).toBe(1);

    const killedAt = Date.now();
    const old = await sentinel.killMaster();
    killedMaster = old;
    expect(old).toBe(first.port);
    const { newMasterPort, promotedAt } = await sentinel.waitForFailover(old, 30_000);
    expect(newMasterPort).not.toBe(old);
    expect(promotedAt).toBeGreaterThan(killedAt);
    expect(await sentinel.master()).toEqual({ host: '127.0.0.1', port: newMasterPort });

    // Commands fail at once while the client is away (no offline queue): wait until it followed.
    await waitFor(async () => (await client.get('harness:sentinel').catch(() => null)) === 'kept', 'the client to read from the new master', 15_000);
    expect(await client.set('harness:sentinel:after', 'written')).toBe('OK');
    expect(await redisCommand(newMasterPort, 'GET', 'harness:sentinel:after')).toBe('written');
  });

  it('restartOld brings the killed master back as a replica of the new one', async () => {
    expect(killedMaster).toBeDefined();
    const current = await sentinel.master();
    // Sentinel waits ~8 s before it converts a returning old master.
    await sentinel.restartOld(killedMaster!, 30_000);
    expect(await sentinel.master()).toEqual(current);
    const role = (await redisCommand(killedMaster!, 'ROLE')) as [string, string, number];
    expect(role.slice(0, 3)).toEqual(['slave', '127.0.0.1', current.port]);

    await waitFor(() => client.status === 'ready', 'the client connected', 10_000);
    expect(await client.set('harness:sentinel:replicated', 'to the old master')).toBe('OK');
    expect(await client.call('WAIT', 1, 1000)).toBe(1);
    expect(await redisCommand(killedMaster!, 'GET', 'harness:sentinel:replicated')).toBe('to the old master');
  }, 40_000);
});
