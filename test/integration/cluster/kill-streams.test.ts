// kill -9 of the subscriber's worker, then of the publisher's worker, during QoS 1 and QoS 2
// streams at 2,000 msg/s to a persistent subscriber that acks at full speed (default settings).
// Counted, not sampled: every message the publisher had acknowledged is delivered; QoS 2 never
// twice; QoS 1 repeats stay within 1 % of the stream (what was in flight when a node died).
//
// What makes it fail: a replay of the dead node's frames that ignores what its sessions took
// (store ReplayOrigin / the inflight hash's taken fields): repeats as new messages, 8-26 % before;
// a replay or recovery that drops frames: missing messages.
import type { MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced, nodeOfClient } from '../../helpers/cluster-clients.js';
import { killNode, replaced } from '../../helpers/faults.js';
import { ReceiptCounter, startRateStream } from '../../helpers/rate-stream.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await cluster?.close();
  cluster = undefined;
});

const RATE = 2000;

async function killBothDuringStream(qos: 1 | 2): Promise<{ sent: number; acked: Set<number>; counter: ReceiptCounter }> {
  // The queue cap is a policy of its own (drops counted, 08/17 test it): on a loaded machine the
  // subscriber can be away longer than 10,000 messages at 2,000/s, so give it room here.
  const c = (cluster = await startTestCluster({ workers: 2, config: { maxQueued: 200_000 } }));
  const [first] = [...c.workers.values()] as [string, string];
  const prefix = `ks${qos}`;
  // The subscriber on one worker, the publisher on the other; both persistent, both reconnect by themselves.
  const reconnecting = { clean: false, reconnectPeriod: 50, connectTimeout: 2000 };
  const sub = await connectPlaced(c, (n) => n === first, { clientId: `sub-${qos}`, ...reconnecting });
  clients.push(sub.client);
  const counter = new ReceiptCounter(sub.client, prefix);
  await sub.client.subscribeAsync(`${prefix}/#`, { qos });
  const pub = await connectPlaced(c, (n) => n !== first, { clientId: `pub-${qos}`, ...reconnecting });
  clients.push(pub.client);

  const stream = startRateStream(pub.client, prefix, qos, RATE);
  await waitFor(() => counter.counts.size >= 1000, 'the stream under way at the subscriber', 10_000);
  const marks: Record<string, number> = {};
  marks.kill1 = stream.sent;
  await killNode(c, first); // the subscriber's worker
  await replaced(c, first);
  await waitFor(() => sub.client.connected && counter.counts.size >= stream.sent * 0.5, 'the subscriber back and receiving', 15_000);
  const pubNode = await nodeOfClient(c, `pub-${qos}`);
  marks.kill2 = stream.sent;
  await killNode(c, pubNode); // the publisher's worker
  await replaced(c, pubNode);
  const after = stream.sent;
  await waitFor(() => pub.client.connected && stream.sent > after + 1000, 'the publisher back and sending', 15_000);
  await stream.stop();
  await waitFor(() => counter.missing(stream.acked).length === 0, 'every acknowledged message at the subscriber', 20_000).catch(async () => {
    const missing = counter.missing(stream.acked);
    const queued = await c.redis().llen(`${c.prefix}{s:sub-${qos}}:queue`);
    const story = c.logs.filter((l) => /recover|died|queue|drop/.test(String(l.msg))).map((l) => JSON.stringify(l));
    throw new Error(`${missing.length} of ${stream.acked.size} acknowledged messages never delivered: ${ranges(missing)}; sent at the kills ${JSON.stringify(marks)}; still queued ${queued}\n${story.join('\n')}`);
  });
  // Diagnostics for a repeat (the QoS 2 test fails on any): where the kills fell and what recovery did.
  if (counter.repeated().length > 0) {
    const story = c.logs.filter((l) => /recover|died|queue|drop|took over|taken over/.test(String(l.msg))).map((l) => JSON.stringify(l));
    console.log(`repeated ${ranges(counter.repeated())}; sent at the kills ${JSON.stringify(marks)}\n${story.join('\n')}`);
  }
  return { sent: stream.sent, acked: stream.acked, counter };
}

it('QoS 1 at 2,000 msg/s through kill -9 of the subscriber\'s and then the publisher\'s worker: 0 acknowledged lost, repeats <= 1 %', async () => {
  const { sent, acked, counter } = await killBothDuringStream(1);
  expect(acked.size).toBeGreaterThan(sent * 0.9);
  expect(counter.missing(acked)).toEqual([]);
  const repeats = counter.total - counter.counts.size;
  console.log(`kill-streams QoS 1: sent ${sent}, acknowledged ${acked.size}, delivered ${counter.counts.size} distinct, repeats ${repeats}`);
  expect(repeats, `${repeats} repeats in a stream of ${sent}`).toBeLessThanOrEqual(sent * 0.01);
}, 90_000);

it('QoS 2 at 2,000 msg/s through kill -9 of the subscriber\'s and then the publisher\'s worker: 0 acknowledged lost, none delivered twice', async () => {
  const { sent, acked, counter } = await killBothDuringStream(2);
  expect(acked.size).toBeGreaterThan(sent * 0.9);
  expect(counter.missing(acked)).toEqual([]);
  console.log(`kill-streams QoS 2: sent ${sent}, acknowledged ${acked.size}, delivered ${counter.counts.size} distinct, delivered twice ${counter.repeated().length}`);
  expect(counter.repeated(), 'sequence numbers delivered twice').toEqual([]);
}, 90_000);


function ranges(seqs: number[]): string {
  const out: string[] = [];
  const sorted = [...seqs].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.slice(0, 30).join(',');
}
