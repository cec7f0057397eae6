// A persistent subscriber whose worker is killed reconnects at once — before (or while) the dead
// node is recovered — and lands on another worker. Messages published meanwhile were routed to the
// dead node (its limbo, or other nodes' replay buffers) or to no one; every one that was
// acknowledged to its publisher must still reach the subscriber (at least once).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectCollecting, connectPlaced, nodeOfClient, startQos1Stream } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // The queue cap is far above what the stream can pile up while the subscriber is away. The
  // primary asks for recovery 1.5 s after a death (instead of at once), so the subscriber surely
  // comes back first, as it does when a whole host vanishes (heartbeat expiry takes seconds).
  cluster = await startTestCluster({ workers: 2, config: { maxQueued: 100_000 }, env: { STARLING_RECOVER_DELAY_MS: '1500' } });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

/** Connects again and again until a CONNACK (the first tries may reach the dying worker). */
async function reconnect(url: string, clientId: string, seen: Set<string>): Promise<{ client: MqttClient; connectedAt: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      // Short: a connection handed to the dying worker just before its death gets no CONNACK.
      const back = await connectCollecting(url, { clientId, clean: false, connectTimeout: 1000 });
      clients.push(back.client);
      for (const m of back.messages) seen.add(m.payload);
      back.client.on('message', (_t, payload) => seen.add(payload.toString()));
      return { client: back.client, connectedAt: Date.now() };
    } catch (err) {
      if (attempt >= 20) throw err;
    }
  }
}

it('kill -9 of the subscriber\'s worker, immediate reconnect elsewhere: every acknowledged QoS 1 message arrives', async () => {
  const [doomed, survivor] = [...cluster.workers.values()] as [string, string];
  const clientId = 'early-back';
  const seen = new Set<string>();
  const first = await connectPlaced(cluster, (n) => n === doomed, { clientId, clean: false });
  clients.push(first.client);
  first.client.on('message', (_t, payload) => seen.add(payload.toString()));
  await first.client.subscribeAsync('early/#', { qos: 1 });
  const publisher = await connectPlaced(cluster, (n) => n === survivor, {});
  clients.push(publisher.client);

  // A QoS 1 stream (a few hundred a second) that goes on through the kill and the reconnect.
  const { acked, stop } = startQos1Stream(publisher.client, 'early');
  await waitFor(() => acked.length >= 50, '50 acknowledged messages before the kill');

  const doomedPid = [...cluster.workers].find(([, n]) => n === doomed)![0];
  cluster.killWorker(cluster.pids().indexOf(doomedPid));
  const killedAt = Date.now();
  // Once the primary knows, new connections go to live workers only (earlier ones may be lost).
  await cluster.waitForLog((l) => l.msg === 'primary: worker died; forking a replacement' && l.nodeId === doomed, 'the death log');
  const back = await reconnect(cluster.url, clientId, seen);
  const landedOn = await nodeOfClient(cluster, clientId);
  expect(landedOn).not.toBe(doomed);

  const ackedAtReconnect = acked.length;
  await waitFor(() => acked.length >= ackedAtReconnect + 200, '200 more acknowledged messages', 20_000);
  await stop();
  const recovered = await cluster.waitForLog((l) => l.msg === 'recovery: recovered a dead node' && l.deadNode === doomed, 'recovery');
  const waited = cluster.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('recovery: a resumed session') && l.deadNode === doomed);
  console.info(
    `early reconnect: CONNACK ${back.connectedAt - killedAt} ms after the kill; recovery took ${String(recovered.ms)} ms, logged ${Number(recovered.time) - killedAt} ms after the kill; the session waited ${String(waited?.waitedMs)} ms for it`,
  );
  // The path under test: the session moved before recovery, so recovery did not adopt it.
  expect(recovered.adopted).toBe(0);

  await waitFor(() => acked.every((id) => seen.has(id)), 'every acknowledged message', 10_000).catch(() => {
    throw new Error(`missed ${acked.filter((id) => !seen.has(id)).length} of ${acked.length}: ${acked.filter((id) => !seen.has(id)).slice(0, 40).join(',')}`);
  });
  // Nothing is left behind in the session's queue once it is online.
  await waitFor(async () => (await cluster.redis().llen(`${cluster.prefix}{s:${clientId}}:queue`)) === 0, 'an empty queue');
}, 60_000);
