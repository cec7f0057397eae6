// A whole host vanishes (its primary and worker SIGKILLed: no primary left to report it, and its
// heartbeat stays valid for seconds). A persistent subscriber that was on it reconnects to the other
// host at once, well within the heartbeat TTL: every QoS 1 message acknowledged to the publisher
// meanwhile must reach it (at least once).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectCollecting, startQos1Stream } from '../../helpers/cluster-clients.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

let redis: RedisServerHandle;
let hostA: TestCluster;
let hostB: TestCluster;
const clients: MqttClient[] = [];
const prefix = `vanish${process.pid}:`;

beforeAll(async () => {
  redis = await startRedisServer();
  const options = { workers: 1, redisUrl: redis.url, prefix, config: { maxQueued: 100_000 } };
  [hostA, hostB] = await Promise.all([startTestCluster(options), startTestCluster(options)]);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all([hostA?.close(), hostB?.close()]);
  await redis?.stop();
});

it('a host vanishes; its persistent subscriber reconnects to the other host within the heartbeat TTL and misses nothing', async () => {
  const clientId = 'vanish-roamer';
  const seen = new Set<string>();
  const first = await connectCollecting(hostA.url, { clientId, clean: false });
  clients.push(first.client);
  first.client.on('message', (_t, payload) => seen.add(payload.toString()));
  await first.client.subscribeAsync('vanish/#', { qos: 1 });
  const publisher = await connectCollecting(hostB.url, {});
  clients.push(publisher.client);

  const { acked, stop } = startQos1Stream(publisher.client, 'vanish');
  await waitFor(() => acked.length >= 50 && seen.size >= 20, '50 acknowledged messages, some delivered, before the host dies');

  const deadNode = [...hostA.workers.values()][0]!;
  process.kill(hostA.primaryPid, 'SIGKILL');
  for (const pid of hostA.pids()) process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const back = await connectCollecting(hostB.url, { clientId, clean: false });
  const connectedAt = Date.now();
  clients.push(back.client);
  for (const m of back.messages) seen.add(m.payload);
  back.client.on('message', (_t, payload) => seen.add(payload.toString()));
  // Well within the heartbeat TTL (5 s): heartbeat expiry did not trigger anything yet.
  expect(connectedAt - killedAt).toBeLessThan(3000);

  const ackedAtReconnect = acked.length;
  await waitFor(() => acked.length >= ackedAtReconnect + 200, '200 more acknowledged messages', 20_000);
  await stop();
  const recovered = await hostB.waitForLog((l) => l.msg === 'recovery: recovered a dead node' && l.deadNode === deadNode, 'recovery by host B', 20_000);
  const waited = hostB.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('recovery: a resumed session') && l.deadNode === deadNode);
  console.info(`vanished host: CONNACK ${connectedAt - killedAt} ms after the kill; recovery took ${String(recovered.ms)} ms, logged ${Number(recovered.time) - killedAt} ms after the kill; the session waited ${String(waited?.waitedMs)} ms for it`);

  await waitFor(() => acked.every((id) => seen.has(id)), 'every acknowledged message', 10_000).catch(() => {
    throw new Error(`missed ${acked.filter((id) => !seen.has(id)).length} of ${acked.length}: ${acked.filter((id) => !seen.has(id)).slice(0, 40).join(',')}`);
  });
  await waitFor(async () => (await hostB.redis().llen(`${prefix}{s:${clientId}}:queue`)) === 0, 'an empty queue');
}, 60_000);
