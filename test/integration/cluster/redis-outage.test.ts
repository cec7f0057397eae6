// Redis stops and comes back (same port, empty) under a running 2-worker cluster: the workers
// stay up, never acknowledge a QoS 1 PUBLISH they could not hand to other workers, log the
// outage once, rebuild routes by themselves, and clients that stayed connected receive again.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced } from '../../helpers/cluster-clients.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

let redis: RedisServerHandle;
let cluster: TestCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startTestCluster({ workers: 2, redisUrl: redis.url });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
  await redis?.stop();
});

it('Redis restart: no PUBACK while it is away, one outage line per connection, routes rebuilt, delivery resumes', async () => {
  const [nodeA, nodeB] = [...cluster.workers.values()] as [string, string];
  const sub = await connectPlaced(cluster, (n) => n === nodeA, { clientId: 'outage-sub' });
  const pub = await connectPlaced(cluster, (n) => n === nodeB, { clientId: 'outage-pub' });
  clients.push(sub.client, pub.client);
  await sub.client.subscribeAsync('outage/+', { qos: 1 });
  await pub.client.publishAsync('outage/before', '1', { qos: 1 });
  await waitFor(() => sub.messages.length === 1, 'the first message');
  const pids = cluster.pids();

  await redis.stop();
  await cluster.waitForLog((l) => l.msg === 'bus: Redis connection lost; publishes are refused until it is back' && l.nodeId === nodeB, 'the outage log');
  // While Redis is away a QoS 1 PUBLISH that must cross workers is not acknowledged.
  let acked = false;
  pub.client.publish('outage/during', '2', { qos: 1 }, (err) => {
    if (err === undefined || err === null) acked = true;
  });
  // Some traffic during the outage, to show the log line is not per message.
  for (let i = 0; i < 20; i++) pub.client.publish('outage/during', 'x', { qos: 0 });

  await redis.restart();
  await cluster.waitForLog((l) => l.msg === 'bus: Redis is back; node re-registered and routes rebuilt' && l.nodeId === nodeB, 'B back', 20_000);
  await cluster.waitForLog((l) => l.msg === 'bus: Redis is back; node re-registered and routes rebuilt' && l.nodeId === nodeA, 'A back', 20_000);
  expect(acked).toBe(false);

  // The unacknowledged PUBLISH failed the publisher's connection (it retries on reconnect);
  // the subscriber stayed connected and receives again from a new publisher on B.
  // Like any MQTT client, it retries until a PUBACK (the first attempts may meet connections still settling).
  await waitFor(async () => {
    try {
      const pub2 = await connectPlaced(cluster, (n) => n === nodeB, { clientId: 'outage-pub-2' });
      clients.push(pub2.client);
      await pub2.client.publishAsync('outage/after', '3', { qos: 1 });
      return true;
    } catch {
      return false;
    }
  }, 'an acknowledged publish after the restart', 15_000, 100);
  await waitFor(() => sub.messages.some((m) => m.topic === 'outage/after'), 'delivery after the restart');
  expect(sub.client.connected).toBe(true);
  expect(cluster.pids()).toEqual(pids);
  expect(cluster.logs.filter((l) => l.msg === 'bus: Redis connection lost; publishes are refused until it is back' && l.nodeId === nodeB)).toHaveLength(1);
  expect(cluster.logs.filter((l) => l.msg === 'primary: worker died; forking a replacement')).toHaveLength(0);
}, 60_000);
