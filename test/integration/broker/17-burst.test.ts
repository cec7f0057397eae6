// Queues protect against slow consumers, not fast ones: with default settings, a burst of 5,000
// 64-byte QoS 1 messages to a subscriber that acknowledges at full speed is delivered whole, in
// order, to a clean and to a persistent session (whose backlog lives in the store queue), and
// nothing is counted as dropped.
//
// What makes it fail: a default --max-queued below the burst (it was 1000: 1,040 of 5,000
// delivered), or a store-queue path that loses or reorders messages (Session.spill/take).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker(); // default limits
});
afterAll(async () => {
  await broker.close();
});

const BURST = 5000;

describe('a burst to a healthy subscriber, default settings', () => {
  for (const clean of [true, false]) {
    it(`${clean ? 'clean' : 'persistent'} session: all ${BURST} QoS 1 messages of a burst delivered, in order, none dropped`, async () => {
      const topic = `burst/${clean ? 'clean' : 'persistent'}`;
      const dropsBefore = (await broker.stats()).messagesDropped;
      const { client: sub, inbox } = await connectWithInbox(broker.url, { clientId: `burst-sub-${clean}`, clean });
      await sub.subscribeAsync(topic, { qos: 1 });
      const pub = await connectClient(broker.url, { clientId: `burst-pub-${clean}` });
      const acks: Array<Promise<unknown>> = [];
      // 64 bytes each: the sequence number, then padding.
      for (let i = 0; i < BURST; i++) acks.push(pub.publishAsync(topic, String(i).padStart(8, '0').padEnd(64, '.'), { qos: 1 }));
      await Promise.all(acks); // every one acknowledged: each is a promise to deliver
      const got = await inbox.waitCount(BURST, 30_000);
      const order = got.map((m) => Number(m.payload.slice(0, 8)));
      expect(new Set(order).size).toBe(BURST);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect((await broker.stats()).messagesDropped - dropsBefore).toBe(0);
      await pub.endAsync();
      await sub.endAsync();
    }, 90_000);
  }
});
