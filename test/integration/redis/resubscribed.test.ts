// onResubscribed (pubsub.ts) on a real Redis Cluster: the bus, the ownership recheck and the auth
// source rebuild what they may have missed when their sharded subscriptions were made again. It
// fires when a subscribed channel's slot moves to another master, and not for the
// 'subscribersReady' ioredis emits after every slot-map read that differs only in how a server
// lists the replicas (after a failover that was a full resync on every node every second).
// Fails if onResubscribed passes every 'subscribersReady' through (the first test would count
// one), or if it ignores a channel's move to another master (the second would time out).
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisClient } from '../../../src/store/redis/connection.js';
import { onResubscribed, subscribe } from '../../../src/store/redis/pubsub.js';
import { redisCommand } from '../../helpers/redis-command.js';
import { startRedisCluster, type RedisClusterHandle } from '../../helpers/redis-cluster.js';
import { waitFor } from '../../helpers/wait.js';

const CHANNEL = 'resub-test';
let redis: RedisClusterHandle;
let subscriber: Cluster;
let calls = 0;

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 2, replicasPerMaster: 1 });
  subscriber = createRedisClient({ kind: 'cluster', nodes: redis.seeds }, 'test-subscriber', { subscriber: true }) as Cluster;
  await subscribe(subscriber, CHANNEL);
  onResubscribed(subscriber, () => calls++);
});
afterAll(async () => {
  subscriber?.disconnect();
  await redis?.stop();
});

it('a slot map that changed only in its replica lists: the handler is not called', () => {
  // What ioredis does after each slot-map read that is not byte-equal to the last one.
  subscriber.emit('subscribersReady');
  subscriber.emit('subscribersReady');
  expect(calls).toBe(0);
});

it("the subscribed channel's slot assigned to the other master: the handler is called", async () => {
  const slot = calculateSlot(CHANNEL);
  const from = await redis.masterOfSlot(slot);
  const to = (await redis.masters()).find((m) => m.port !== from)!.port;
  const toId = String(await redisCommand(to, 'CLUSTER', 'MYID'));
  // A channel is not a key: the slot is empty and moves with SETSLOT alone (target first, as redis-cli does).
  // Masters only; the replicas learn it by gossip.
  for (const port of [to, from]) await redisCommand(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
  await waitFor(() => calls > 0, 'the handler after the move', 15_000);
  expect(calls).toBeGreaterThan(0);
});
