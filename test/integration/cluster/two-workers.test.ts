// A real 2-worker cluster (primary + node:cluster workers on one port) on a real redis-server,
// driven by mqtt.js clients placed on chosen workers.
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../helpers/broker-harness.js';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced, type PlacedClient } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster;
let nodeA: string;
let nodeB: string;
const clients: MqttClient[] = [];

async function placed(node: () => string, options: IClientOptions): Promise<PlacedClient> {
  const p = await connectPlaced(cluster, (n) => n === node(), options);
  clients.push(p.client);
  return p;
}
const onA = async (options: IClientOptions = {}) => (await placed(() => nodeA, options)).client;
const onB = async (options: IClientOptions = {}) => (await placed(() => nodeB, options)).client;

function collect(client: MqttClient): Array<{ topic: string; payload: string }> {
  const got: Array<{ topic: string; payload: string }> = [];
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  return got;
}

beforeAll(async () => {
  cluster = await startTestCluster({ workers: 2 });
  [nodeA, nodeB] = [...cluster.workers.values()] as [string, string];
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

describe('2-worker cluster', () => {
  it('starts two workers on one port and logs the real port', () => {
    expect(cluster.port).toBeGreaterThan(0);
    expect(cluster.pids()).toHaveLength(2);
    expect(nodeA).not.toBe(nodeB);
  });

  it('routes by interest, local first: a publish with only local subscribers sends nothing over Redis', async () => {
    const sub = await onA();
    const got = collect(sub);
    await sub.subscribeAsync('interest/+', { qos: 1 });
    const pubA = await onA();
    const pubB = await onB();
    // Let both nodes write their counters once, then take them as the baseline.
    const before = { a: await cluster.nodeStats(nodeA), b: await cluster.nodeStats(nodeB) };
    for (let i = 0; i < 10; i++) await pubA.publishAsync('interest/local', `l${i}`, { qos: 1 });
    for (let i = 0; i < 10; i++) await pubB.publishAsync('interest/remote', `r${i}`, { qos: 1 });
    await waitFor(() => got.length === 20, '20 messages at the subscriber', 15_000);
    expect(got.filter((m) => m.topic === 'interest/local').map((m) => m.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `l${i}`));
    expect(got.filter((m) => m.topic === 'interest/remote').map((m) => m.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    // A received exactly the 10 remote messages over the bus; B, with no subscriber, received none.
    await waitFor(async () => (await cluster.nodeStats(nodeA)).busReceived === (before.a.busReceived ?? 0) + 10, 'A counted 10 bus messages', 15_000);
    const afterB = await cluster.nodeStats(nodeB);
    expect(afterB.busReceived ?? 0).toBe(before.b.busReceived ?? 0);
  });

  it('a SUBACK means the route is cluster-wide: 1,000 rounds of subscribe, SUBACK, publish from the other worker, zero misses', async () => {
    const sub = await onA();
    const pub = await onB();
    let received = 0;
    sub.on('message', () => received++);
    for (let round = 0; round < 1000; round++) {
      await sub.subscribeAsync(`suback/${round}`, { qos: 1 });
      await pub.publishAsync(`suback/${round}`, 'x', { qos: 1 });
    }
    await waitFor(() => received === 1000, '1,000 messages', 10_000);
    expect(received).toBe(1000);
  }, 60_000);

  it('takeover across workers: the same client id on B closes its connection on A; its will is published exactly once', async () => {
    const watcher = await onB();
    const wills = collect(watcher);
    await watcher.subscribeAsync('takeover/#', { qos: 1 });
    const will = { topic: 'takeover/will', payload: Buffer.from('gone'), qos: 1 as const, retain: false };
    const first = await onA({ clientId: 'takeover-client', will, clean: true });
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    await onB({ clientId: 'takeover-client', clean: true });
    await closed;
    await waitFor(() => wills.length >= 1, 'the will', 15_000);
    // A marker from A, sent after the takeover: a second will from A would have come before it.
    const marker = await onA();
    await marker.publishAsync('takeover/marker', 'm', { qos: 1 });
    await waitFor(() => wills.some((m) => m.topic === 'takeover/marker'), 'the marker', 15_000);
    expect(wills.filter((m) => m.topic === 'takeover/will')).toEqual([{ topic: 'takeover/will', payload: 'gone' }]);
  });

  it('retained messages and persistent sessions are shared: set on A, read on B; a session made on A resumes on B', async () => {
    const setter = await onA();
    await setter.publishAsync('shared/retained', 'kept', { qos: 1, retain: true });
    const reader = await onB();
    const got = collect(reader);
    await reader.subscribeAsync('shared/#', { qos: 1 });
    await waitFor(() => got.length === 1, 'the retained message', 15_000);
    expect(got[0]).toEqual({ topic: 'shared/retained', payload: 'kept' });

    const session = await onA({ clientId: 'roaming', clean: false });
    await session.subscribeAsync('roam/+', { qos: 1 });
    await session.endAsync();
    const pub = await onA();
    await pub.publishAsync('roam/1', 'while away', { qos: 1 });
    const { messages: queued } = await placed(() => nodeB, { clientId: 'roaming', clean: false });
    await waitFor(() => queued.length === 1, 'the queued message', 15_000);
    expect(queued[0]).toEqual({ topic: 'roam/1', payload: 'while away' });
  });

  it('SIGTERM: clients are closed, the primary exits 0 within 5 s', async () => {
    const client = await connectClient(cluster.url);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const started = Date.now();
    const code = await cluster.close();
    await closed;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(cluster.logs.some((l) => l.msg === 'primary: stopped')).toBe(true);
  });
});
