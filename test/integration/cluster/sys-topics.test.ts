// $SYS in a cluster: figures summed over every worker, published by one worker only.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ workers: 2, config: { sysInterval: 1 } });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

it('$SYS/broker/clients/connected counts the clients of both workers, once per interval', async () => {
  const [nodeA, nodeB] = [...cluster.workers.values()] as [string, string];
  const a = await connectPlaced(cluster, (n) => n === nodeA, {});
  const b = await connectPlaced(cluster, (n) => n === nodeB, {});
  clients.push(a.client, b.client);
  const updates: Array<{ at: number; value: string }> = [];
  a.client.on('message', (topic, payload) => {
    if (topic === '$SYS/broker/clients/connected') updates.push({ at: Date.now(), value: payload.toString() });
  });
  await a.client.subscribeAsync('$SYS/broker/clients/connected', { qos: 0 });
  // Two clients, one per worker: only a cluster-wide sum says 2.
  await waitFor(() => updates.some((u) => u.value === '2'), 'a $SYS update saying 2 clients', 10_000);
  const seen = updates.length;
  await waitFor(() => updates.length >= seen + 2, 'two more updates', 10_000);
  // One publisher: consecutive live updates are an interval apart, not two at once.
  const live = updates.slice(1);
  for (let i = 1; i < live.length; i++) expect(live[i]!.at - live[i - 1]!.at).toBeGreaterThan(500);
}, 30_000);
