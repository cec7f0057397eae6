// Two independent primaries ("hosts": different ports, one store, one prefix) behave as one
// broker: cross-host delivery, retained messages, takeover with the will, persistent sessions,
// and a whole host dying is recovered by the other through heartbeat expiry. Run on one
// redis-server (two-hosts.test.ts) and on a Redis Cluster (two-hosts-redis-cluster.test.ts).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type ClusterOptions, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectCollecting, type PlacedClient } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';

export interface SharedStore {
  /** Options that put a host on the store (redisUrl, or redisCluster). */
  hostOptions: Pick<ClusterOptions, 'redisUrl' | 'redisCluster'>;
  stop(): Promise<void>;
}

/** The two-host tests on one store: each file gives how to start it (a redis-server, a Redis Cluster). */
export function twoHostsSuite(startStore: () => Promise<SharedStore>): void {
let store: SharedStore | undefined;
let hostA: TestCluster;
let hostB: TestCluster;
const clients: MqttClient[] = [];
const prefix = `hosts${process.pid}:`;

async function on(host: TestCluster, options: Parameters<typeof connectCollecting>[1] = {}): Promise<Omit<PlacedClient, 'nodeId'>> {
  const c = await connectCollecting(host.url, options);
  clients.push(c.client);
  return c;
}

beforeAll(async () => {
  store = await startStore();
  const where = store.hostOptions;
  [hostA, hostB] = await Promise.all([startTestCluster({ workers: 1, ...where, prefix }), startTestCluster({ workers: 1, ...where, prefix })]);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all([hostA?.close(), hostB?.close()]);
  await store?.stop();
});

it('delivers across hosts, in both directions, and shares retained messages', async () => {
  expect(hostA.port).not.toBe(hostB.port);
  const subA = await on(hostA);
  const subB = await on(hostB);
  await subA.client.subscribeAsync('hosts/+', { qos: 1 });
  await subB.client.subscribeAsync('hosts/+', { qos: 1 });
  await subA.client.publishAsync('hosts/from-a', 'a', { qos: 1, retain: true });
  await subB.client.publishAsync('hosts/from-b', 'b', { qos: 1 });
  await waitFor(() => subA.messages.length === 2 && subB.messages.length === 2, 'both messages on both hosts', 15_000);
  const late = await on(hostB);
  await late.client.subscribeAsync('hosts/#', { qos: 1 });
  await waitFor(() => late.messages.length === 1, 'the retained message from host A, read on host B', 15_000);
  expect(late.messages[0]).toEqual({ topic: 'hosts/from-a', payload: 'a' });
});

it('takes over a client id across hosts (one will) and resumes its persistent session there', async () => {
  const watcher = await on(hostB);
  await watcher.client.subscribeAsync('hostwill/#', { qos: 1 });
  const first = await on(hostA, { clientId: 'host-roamer', clean: false, will: { topic: 'hostwill/roamer', payload: Buffer.from('bye'), qos: 1, retain: false } });
  await first.client.subscribeAsync('roamer/inbox', { qos: 1 });
  const closed = new Promise<void>((resolve) => first.client.once('close', () => resolve()));
  const second = await on(hostB, { clientId: 'host-roamer', clean: false });
  await closed;
  await waitFor(() => watcher.messages.some((m) => m.topic === 'hostwill/roamer'), 'the will', 15_000);
  // The session (its subscription) moved with the client: a message to it arrives on host B.
  const pub = await on(hostA);
  await pub.client.publishAsync('roamer/inbox', 'hello', { qos: 1 });
  await waitFor(() => second.messages.some((m) => m.topic === 'roamer/inbox'), 'the message on the resumed session', 15_000);
  await pub.client.publishAsync('hostwill/marker', 'm', { qos: 1 });
  await waitFor(() => watcher.messages.some((m) => m.topic === 'hostwill/marker'), 'the marker', 15_000);
  expect(watcher.messages.filter((m) => m.topic === 'hostwill/roamer')).toHaveLength(1);
});

it('a whole host dying (primary and worker killed) is recovered by the other host through heartbeat expiry', async () => {
  const watcher = await on(hostB);
  await watcher.client.subscribeAsync('hostdeath/#', { qos: 1 });
  await on(hostA, { clientId: 'on-doomed-host', will: { topic: 'hostdeath/will', payload: Buffer.from('host gone'), qos: 1, retain: false } });
  const deadNode = [...hostA.workers.values()][0]!;
  // No primary left to notice: only the heartbeat in Redis tells.
  process.kill(hostA.primaryPid, 'SIGKILL');
  for (const pid of hostA.pids()) process.kill(pid, 'SIGKILL');
  const recovered = await hostB.waitForLog((l) => l.msg === 'recovery: recovered a dead node' && l.deadNode === deadNode, 'recovery by host B', 20_000);
  expect(recovered.wills).toBe(1);
  await waitFor(() => watcher.messages.some((m) => m.topic === 'hostdeath/will'), 'the will of the dead host\'s client');
}, 30_000);
}
