// A worker whose event loop stalls past its heartbeat (SIGSTOP) is not taken for dead while its
// Redis connection is open: nobody recovers it (no will, no adoption), and it serves on after.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ workers: 2, env: { STARLING_NODE_TTL_MS: '2000' } });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

it('a stalled worker (SIGSTOP past its heartbeat) is not recovered, and serves again after SIGCONT', async () => {
  const [stalled, other] = [...cluster.workers.entries()] as [[number, string], [number, string]];
  const sub = await connectPlaced(cluster, (n) => n === stalled[1], { clientId: 'stall-sub', will: { topic: 'stall/will', payload: Buffer.from('x'), qos: 1, retain: false } });
  clients.push(sub.client);
  await sub.client.subscribeAsync('stall/+', { qos: 1 });
  const watcher = await connectPlaced(cluster, (n) => n === other[1], {});
  clients.push(watcher.client);
  await watcher.client.subscribeAsync('stall/will', { qos: 1 });

  process.kill(stalled[0], 'SIGSTOP');
  try {
    // Wait until the other node has seen the expired heartbeat (it is no longer among live nodes).
    await waitFor(async () => !(await cluster.liveNodes()).includes(stalled[1]), 'the heartbeat to expire', 10_000, 100);
    // Let the other node's heartbeat run twice more: each run sees the expired node and could act.
    const beats = async () => Number(await cluster.redis().zscore(`${cluster.prefix}{c}:nodes`, other[1]));
    const first = await beats();
    let changes = 0;
    let last = first;
    await waitFor(async () => {
      const now = await beats();
      if (now !== last) {
        changes++;
        last = now;
      }
      return changes >= 2;
    }, 'two heartbeats of the other node', 10_000, 50);
  } finally {
    process.kill(stalled[0], 'SIGCONT');
  }
  const pub = await connectPlaced(cluster, (n) => n === other[1], {});
  clients.push(pub.client);
  await pub.client.publishAsync('stall/after', 'alive', { qos: 1 });
  await waitFor(() => sub.messages.some((m) => m.topic === 'stall/after'), 'delivery to the client of the stalled worker', 10_000);
  expect(cluster.logs.filter((l) => l.msg === 'recovery: recovered a dead node')).toHaveLength(0);
  expect(watcher.messages.filter((m) => m.topic === 'stall/will')).toHaveLength(0);
  expect(sub.client.connected).toBe(true);
}, 40_000);
