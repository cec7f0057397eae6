// --redis-wait-replicas: a flush (what a PUBACK/PUBREC waits for) resolves only once the writes
// before it are on the replicas, one WAIT per master per turn; a replica that does not confirm
// makes the flush reject (the acknowledgement is refused). On a Redis Cluster only the masters
// written to are asked, so a shard without its replica refuses only writes that went there.
// Fails if flush() skips the WAIT (the stopped replica would not make it reject), if WAIT is sent
// per flush instead of per turn, or if every master is asked on a cluster.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/store/redis/keys.js';
import { ReplicaWait, ReplicaWaitError } from '../../../src/store/redis/replica-wait.js';
import { RedisSessionStore } from '../../../src/store/redis/session-store.js';
import { startRedisCluster, type RedisClusterHandle } from '../../helpers/redis-cluster.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { eventually } from './fixture.js';

const keys = redisKeys(`rw${process.pid}:`);

describe('one master and its replica', () => {
  let master: RedisServerHandle;
  let replica: RedisServerHandle;
  let redis: Redis;

  beforeAll(async () => {
    master = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    redis = new Redis(master.url);
    await eventually(async () => (await redis.info('replication')).includes('state=online'), 'the replica in sync');
  });
  afterAll(async () => {
    redis?.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  it('flushes of one turn share one WAIT, and the writes are on the replica when it resolves', async () => {
    const wait = new ReplicaWait(redis, 1, 2000);
    const store = new RedisSessionStore(redis, keys, 'n1', wait);
    for (let i = 0; i < 50; i++) store.save(`rw-a-${i}`, 60);
    await Promise.all(Array.from({ length: 20 }, () => store.flush()));
    expect(wait.waits).toBe(1);
    const onReplica = new Redis(replica.url);
    try {
      expect(await onReplica.exists(keys.session('rw-a-49'))).toBe(1);
    } finally {
      onReplica.disconnect();
    }
  });

  it('a replica that does not confirm in time makes the flush reject with ReplicaWaitError; nothing written since: no WAIT', async () => {
    const wait = new ReplicaWait(redis, 1, 300);
    const store = new RedisSessionStore(redis, keys, 'n1', wait);
    replica.signal('SIGSTOP');
    try {
      store.save('rw-stalled', 60);
      await expect(store.flush()).rejects.toBeInstanceOf(ReplicaWaitError);
    } finally {
      replica.signal('SIGCONT');
    }
    const before = wait.waits;
    await store.flush();
    expect(wait.waits).toBe(before);
  });

  it('a durable enqueue (no flush covers it: queue-writer.ts) settles only once on the replica, and rejects when it is not', async () => {
    const wait = new ReplicaWait(redis, 1, 300);
    const store = new RedisSessionStore(redis, keys, 'n1', wait);
    const message = { topic: 'rw/q', payload: Buffer.from('q'), qos: 1 as const, retain: false };
    const limits = { messages: 10, bytes: 0 };
    expect(await store.enqueue('rw-q', message, limits, undefined, true)).toBe(true);
    const onReplica = new Redis(replica.url);
    try {
      expect(await onReplica.llen(keys.queue('rw-q'))).toBe(1);
    } finally {
      onReplica.disconnect();
    }
    replica.signal('SIGSTOP');
    try {
      // Not durable: the write alone (a flush would wait for the replica).
      expect(await store.enqueue('rw-q', message, limits)).toBe(true);
      const failedBefore = wait.failed;
      await expect(store.enqueue('rw-q', message, limits, undefined, true)).rejects.toBeInstanceOf(ReplicaWaitError);
      // Whoever asks after that WAIT failed, for writes made before it, is refused too (a flush
      // whose writes it covered); a WAIT that failed before is not theirs (nor does it fail them forever).
      await expect(wait.sync(failedBefore)).rejects.toBeInstanceOf(ReplicaWaitError);
      await expect(wait.sync(wait.failed)).resolves.toBeUndefined();
    } finally {
      replica.signal('SIGCONT');
    }
  });
});

describe('a Redis Cluster whose first master lost its replica', () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    redis = new Cluster(cluster.seeds);
    await redis.ping();
  });
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it('refuses only the writes that went to that shard, and asks only the masters written to', async () => {
    const [first] = await cluster.masters();
    // The replica of nodes[i] is nodes[masters + i] (round robin).
    const index = cluster.nodes.findIndex((n) => n.port === first!.port);
    cluster.killNode(cluster.nodes[3 + index]!.port);
    let onFirst = '';
    let elsewhere = '';
    for (let i = 0; onFirst === '' || elsewhere === ''; i++) {
      const port = await cluster.masterOfKey(keys.session(`rw-c-${i}`));
      if (port === first!.port) onFirst ||= `rw-c-${i}`;
      else elsewhere ||= `rw-c-${i}`;
    }
    const wait = new ReplicaWait(redis, 1, 300);
    const store = new RedisSessionStore(redis, keys, 'n1', wait);
    store.save(elsewhere, 60);
    await store.flush();
    expect(wait.waits).toBe(1);
    store.save(onFirst, 60);
    await expect(store.flush()).rejects.toBeInstanceOf(ReplicaWaitError);
    store.save(elsewhere, 60);
    await store.flush();
  });
});
