// Flow control across the bus, end to end: a worker that stops processing (SIGSTOP) makes the
// worker holding the publisher stop reading that publisher once a window of messages is
// unprocessed, instead of handing Redis everything; clients whose messages stay local are served
// meanwhile; after SIGCONT everything is acknowledged and delivered.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';

/** The smallest window (bus-flow.ts MIN_WINDOW_BYTES), so a test needs few messages. */
const WINDOW = 256 * 1024;
const PAYLOAD = Buffer.alloc(1024, 'x');
// Within what the subscriber may hold (in-flight window 20 + queue 1000), so none is dropped there.
const COUNT = 1000;

let cluster: TestCluster;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // A stall time far beyond the test: the publisher must wait for the stopped worker, not time out.
  cluster = await startTestCluster({ workers: 2, env: { STARLING_BUS_WINDOW: String(WINDOW), STARLING_BUS_STALL: '120' } });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
});

it('a worker that stops processing holds back the publishers sending to it (a window, not everything), and no one else', async () => {
  const [slow, busy] = [...cluster.workers.entries()] as [[number, string], [number, string]];
  const sub = await connectPlaced(cluster, (n) => n === slow[1], {});
  clients.push(sub.client);
  await sub.client.subscribeAsync('flow/#', { qos: 1 });
  const pub = await connectPlaced(cluster, (n) => n === busy[1], {});
  const localSub = await connectPlaced(cluster, (n) => n === busy[1], {});
  const localPub = await connectPlaced(cluster, (n) => n === busy[1], {});
  clients.push(pub.client, localSub.client, localPub.client);
  await localSub.client.subscribeAsync('local/probe', { qos: 1 });

  process.kill(slow[0], 'SIGSTOP');
  let acked = 0;
  try {
    for (let i = 0; i < COUNT; i++) pub.client.publish(`flow/${i % 10}`, PAYLOAD, { qos: 1 }, (err) => err || acked++);
    await waitFor(() => acked >= 100, 'the first acknowledgements');
    // Local traffic on the publisher's worker goes on: 30 round trips, each a full loop of that worker.
    for (let round = 0; round < 30; round++) {
      await localPub.client.publishAsync('local/probe', String(round), { qos: 1 });
      await waitFor(() => localSub.messages.length > round, `local probe ${round}`);
    }
    // About a window's worth (256 messages of 1 KiB, plus the rest of the chunk being read) was
    // handed to Redis and acknowledged; without flow control all 1,000 would have been by now.
    expect(acked).toBeLessThan(600);
  } finally {
    process.kill(slow[0], 'SIGCONT');
  }
  await waitFor(() => acked === COUNT, 'every PUBLISH acknowledged after SIGCONT', 20_000);
  await waitFor(() => sub.messages.length === COUNT, 'every message delivered', 20_000);
  expect(sub.client.connected).toBe(true);
}, 60_000);
