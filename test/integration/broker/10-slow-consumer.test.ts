// A subscriber that stops reading cannot grow broker memory without bound: QoS 0 to it is
// dropped past the write high-water mark, QoS 1/2 wait in its window and queue up to the cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithInbox, connectClient, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

let broker: TestBroker;
beforeAll(async () => {
  // The fast subscriber's queue (1000) holds the whole flood; the slow QoS 1 test checks 5 + 10.
  broker = await startTestBroker({ maxWriteBuffer: 256 * 1024, maxInflight: 5, maxQueued: 1000 });
});
afterAll(async () => {
  await broker.close();
});

async function stalledSubscriber(clientId: string, topic: string, qos: 0 | 1, port = broker.port): Promise<RawClient> {
  const raw = await RawClient.connected(port, clientId);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  await raw.next('suback');
  raw.socket.pause(); // stop reading: the kernel buffers fill, then the broker's socket buffer
  return raw;
}

describe('slow consumers', () => {
  it('drops QoS 0 to a subscriber that stopped reading, while another subscriber gets everything', async () => {
    const before = (await broker.stats()).messagesDropped;
    const slow = await stalledSubscriber('slow-q0', 'flood', 0);
    const { client: fast, inbox } = await connectWithInbox(broker.url, { clientId: 'fast' });
    await fast.subscribeAsync('flood', { qos: 1 });
    const pub = await connectClient(broker.url, { clientId: 'flooder' });
    const payload = Buffer.alloc(64 * 1024, 0x61);
    const total = 320; // 20 MiB
    for (let i = 0; i < total; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => pub.publishAsync('flood', payload, { qos: 1 })));
    }
    await inbox.waitCount(total, 20_000);
    expect(inbox.messages).toHaveLength(total);
    await waitFor(async () => (await broker.stats()).messagesDropped - before > 0, 'QoS 0 drops counted');
    expect((await broker.stats()).messagesDropped - before).toBeGreaterThan(0);
    slow.destroy();
    await Promise.all([fast.endAsync(), pub.endAsync()]);
  });

  it('QoS 1 to a subscriber that never acknowledges stops at the window plus the queue cap', async () => {
    const small = await startTestBroker({ maxInflight: 5, maxQueued: 10 });
    try {
      const slow = await stalledSubscriber('slow-q1', 'pile', 1, small.port);
      const pub = await connectClient(small.url, { clientId: 'piler' });
      for (let i = 0; i < 100; i++) await pub.publishAsync('pile', String(i), { qos: 1 });
      // 5 in flight + 10 queued are kept; the other 85 are dropped and counted.
      // Cluster-wide figures are summed from per-node counters written periodically: let them settle.
      await waitFor(async () => (await small.stats()).messagesDropped >= 85, '85 dropped messages counted');
      expect((await small.stats()).messagesDropped).toBe(85);
      slow.destroy();
      await pub.endAsync();
    } finally {
      await small.close();
    }
  });
});
