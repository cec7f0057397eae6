// --http on a 2-worker cluster: the primary's /metrics sums both workers' counters, and /readyz
// follows Redis (503 while it is stopped, 200 once it is back).
// Fails if: the primary stops serving --http (no "http:" log line / no answer); ClusterManagement
// stops asking every listening worker or summing their series (counters = one worker's share);
// a worker stops answering probes (starling_workers_scraped < 2, /readyz 503 "did not answer");
// RedisBus.connected stops following the connections (/readyz stays 200 with Redis stopped, or
// never comes back); the retained gauge's read failing during the outage fails the whole scrape.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectCollecting } from '../../helpers/cluster-clients.js';
import { httpGet, sample } from '../../helpers/prometheus.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

const SUBSCRIBERS = 4;
const PUBLISHERS = 6;
const QOS0_EACH = 30;
const QOS1_EACH = 20;

let redis: RedisServerHandle;
let cluster: TestCluster;
let httpPort: number;
const clients: MqttClient[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startTestCluster({ workers: 2, redisUrl: redis.url, config: { http: '127.0.0.1:0', sysInterval: 0 } });
  const line = await cluster.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('http: '), 'the primary serving --http');
  httpPort = Number(line.port);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
  await redis?.stop();
});

it('/metrics sums the counters of both workers: messages by QoS equal what the load sent and delivered', async () => {
  expect(await httpGet(httpPort, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
  expect(await httpGet(httpPort, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
  const subs: Array<Awaited<ReturnType<typeof connectCollecting>>> = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const s = await connectCollecting(cluster.url, { clientId: `m-sub-${i}` });
    await s.client.subscribeAsync('load/#', { qos: 1 });
    clients.push(s.client);
    subs.push(s);
  }
  const pubs: MqttClient[] = [];
  for (let i = 0; i < PUBLISHERS; i++) {
    const p = await connectCollecting(cluster.url, { clientId: `m-pub-${i}` });
    clients.push(p.client);
    pubs.push(p.client);
  }
  // Round robin spreads the connections: both workers hold some of them.
  const nodes = new Set(await Promise.all(clients.map(async (_c, i) => cluster.nodeOf(i < SUBSCRIBERS ? `m-sub-${i}` : `m-pub-${i - SUBSCRIBERS}`))));
  expect(nodes.size).toBe(2);

  const load = pubs.map(async (p, i) => {
    for (let n = 0; n < QOS0_EACH; n++) p.publish(`load/${i}/0`, String(n), { qos: 0 });
    for (let n = 0; n < QOS1_EACH; n++) await p.publishAsync(`load/${i}/1`, String(n), { qos: 1 });
  });
  // A scrape in the middle of the load answers too (its figures are whatever was counted by then).
  const during = await httpGet(httpPort, '/metrics');
  expect(during.status).toBe(200);
  await Promise.all(load);
  const each = PUBLISHERS * (QOS0_EACH + QOS1_EACH);
  await waitFor(() => subs.every((s) => s.messages.length === each), `${each} messages at every subscriber`, 15_000);

  const { status, body } = await httpGet(httpPort, '/metrics');
  expect(status).toBe(200);
  expect(sample(body, 'starling_workers')).toBe(2);
  expect(sample(body, 'starling_workers_scraped')).toBe(2);
  expect(sample(body, 'starling_messages_received_total', { qos: '0' })).toBe(PUBLISHERS * QOS0_EACH);
  expect(sample(body, 'starling_messages_received_total', { qos: '1' })).toBe(PUBLISHERS * QOS1_EACH);
  expect(sample(body, 'starling_messages_sent_total', { qos: '0' })).toBe(SUBSCRIBERS * PUBLISHERS * QOS0_EACH);
  expect(sample(body, 'starling_messages_sent_total', { qos: '1' })).toBe(SUBSCRIBERS * PUBLISHERS * QOS1_EACH);
  expect(sample(body, 'starling_connections')).toBe(SUBSCRIBERS + PUBLISHERS);
  expect(sample(body, 'starling_connects_total')).toBe(SUBSCRIBERS + PUBLISHERS);
  expect(sample(body, 'starling_subscriptions')).toBe(SUBSCRIBERS);
  expect(sample(body, 'starling_redis_up')).toBe(1);
  // Messages crossed between the workers over the bus.
  expect(sample(body, 'starling_bus_messages_received_total')).toBeGreaterThan(0);
  expect(sample(body, 'starling_messages_received_total', { qos: '0' })).toBeGreaterThanOrEqual(sample(during.body, 'starling_messages_received_total', { qos: '0' }) ?? 0);
});

it('/readyz: 503 while Redis is stopped, 200 again once it is back; /healthz and /metrics answer throughout', async () => {
  await redis.stop();
  let unready = { status: 0, body: '' };
  await waitFor(async () => (unready = await httpGet(httpPort, '/readyz')).status === 503, '/readyz 503 with Redis stopped', 10_000, 100);
  expect(unready.body).toMatch(/^not ready: Redis unreachable from [12] of 2 workers\n$/);
  expect((await httpGet(httpPort, '/healthz')).status).toBe(200);
  const scrape = await httpGet(httpPort, '/metrics');
  expect(scrape.status).toBe(200);
  expect(sample(scrape.body, 'starling_workers_scraped')).toBe(2);
  await redis.restart();
  await waitFor(async () => (await httpGet(httpPort, '/readyz')).status === 200, '/readyz 200 with Redis back', 20_000, 100);
  expect(sample((await httpGet(httpPort, '/metrics')).body, 'starling_redis_up')).toBe(1);
});
