// What a node replays after another node's death goes only to sessions that matched the message
// when it was published: a persistent session that subscribed after a message was published never
// receives it, even when that message's frame was replayed into the sessions of a killed worker.
//
// What makes it fail: a replay that matches the dead node's frames against the sessions'
// subscriptions without their start time (recovery.ts subscribedAt, SubscriptionOptions.since).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectCollecting, connectPlaced } from '../../helpers/cluster-clients.js';
import { killNode } from '../../helpers/faults.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({ workers: 2 });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

it('a session that subscribed after a message was published never gets it from the replay of its killed worker; older subscribers do', async () => {
  const [doomed] = [...cluster.workers.values()] as [string, string];
  const onDoomed = (n: string) => n === doomed;
  // An older subscriber on the worker that will die: its route brings 'before' there.
  const older = await connectPlaced(cluster, onDoomed, { clientId: 'scope-older', clean: false });
  clients.push(older.client);
  await older.client.subscribeAsync('scope/#', { qos: 1 });
  const pub = await connectPlaced(cluster, (n) => n !== doomed, { clientId: 'scope-pub' });
  clients.push(pub.client);
  await pub.client.publishAsync('scope/a', 'before', { qos: 1 });
  await waitFor(() => older.messages.some((m) => m.payload === 'before'), "'before' at the older subscriber");

  // A new persistent session on the same worker subscribes after 'before' was published and acknowledged.
  const late = await connectPlaced(cluster, onDoomed, { clientId: 'scope-late', clean: false });
  clients.push(late.client);
  await late.client.subscribeAsync('scope/#', { qos: 1 });

  // The frame of 'before' is within the publisher's node's replay of what it sent the worker (2 s):
  // kill it now, before the late session took anything (so nothing it took rules 'before' out).
  older.client.end(true);
  late.client.end(true);
  await killNode(cluster, doomed);
  const recovered = await cluster.waitForLog((l) => l.msg === 'recovery: recovered a dead node' && l.deadNode === doomed, 'recovery');
  expect(recovered.adopted).toBe(2);
  expect(Number(recovered.drained)).toBeGreaterThanOrEqual(1); // the replay held 'before'

  // Queued behind the replay: once the marker arrives, the replay has been handed over too.
  await pub.client.publishAsync('scope/a', 'after', { qos: 1 });
  await pub.client.publishAsync('scope/a', 'marker', { qos: 1 });
  const lateBack = await connectCollecting(cluster.url, { clientId: 'scope-late', clean: false });
  clients.push(lateBack.client);
  const olderBack = await connectCollecting(cluster.url, { clientId: 'scope-older', clean: false });
  clients.push(olderBack.client);
  await waitFor(() => lateBack.messages.some((m) => m.payload === 'marker'), "the marker at the late subscriber");
  await waitFor(() => olderBack.messages.some((m) => m.payload === 'marker'), "the marker at the older subscriber");
  expect(lateBack.messages.map((m) => m.payload)).toEqual(['after', 'marker']);
  expect(late.messages.map((m) => m.payload)).toEqual([]);
  // The older subscriber gets 'before' again only as a resend of what was in flight (at least once), then the rest.
  expect(olderBack.messages.map((m) => m.payload).filter((p) => p !== 'before')).toEqual(['after', 'marker']);
}, 60_000);
