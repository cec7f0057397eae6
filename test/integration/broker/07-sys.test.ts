// $SYS topics with Mosquitto's names, retained, at the configured interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { waitFor } from '../../helpers/wait.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ sysInterval: 1 });
});
afterAll(async () => {
  await broker.close();
});

const TOPICS = [
  '$SYS/broker/version',
  '$SYS/broker/uptime',
  '$SYS/broker/clients/connected',
  '$SYS/broker/clients/total',
  '$SYS/broker/messages/received',
  '$SYS/broker/messages/sent',
  '$SYS/broker/publish/messages/dropped',
  '$SYS/broker/subscriptions/count',
  '$SYS/broker/retained messages/count',
  '$SYS/broker/bytes/received',
  '$SYS/broker/bytes/sent',
];
/** The topic an update publishes last (sysMessages' order). */
const LAST = TOPICS[TOPICS.length - 1];

describe('$SYS', () => {
  it('publishes every topic retained, so a new subscriber gets them at once', async () => {
    // Once an update has gone out, every topic has a retained copy for newcomers.
    const first = await connectWithInbox(broker.url, { clientId: 'sys-0' });
    await first.client.subscribeAsync('$SYS/broker/uptime');
    await first.inbox.next(5000);
    await first.client.endAsync();
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'sys-1' });
    await client.subscribeAsync('$SYS/#');
    // Retained copies of every topic (live updates may interleave when several nodes publish).
    await waitFor(() => TOPICS.every((t) => inbox.messages.some((m) => m.topic === t && m.retain)), 'a retained message on every $SYS topic');
    expect([...new Set(inbox.messages.map((m) => m.topic))].sort()).toEqual([...TOPICS].sort());
    expect(inbox.messages.find((m) => m.topic === '$SYS/broker/uptime')?.payload).toMatch(/^\d+ seconds$/);
    await client.endAsync();
  });

  it('updates the numbers at the interval: clients/connected follows connections', async () => {
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'sys-2' });
    await client.subscribeAsync('$SYS/broker/clients/connected');
    const extra = await connectClient(broker.url, { clientId: 'sys-3' });
    const live = (): number[] => inbox.messages.filter((m) => !m.retain).map((m) => Number(m.payload));
    await waitFor(() => live().some((n) => n >= 2), 'clients/connected >= 2', 4000);
    const peak = Math.max(...live());
    const seen = live().length;
    await extra.endAsync();
    await waitFor(() => live().slice(seen).some((n) => n === peak - 1), `clients/connected back to ${peak - 1}`, 6000);
    await client.endAsync();
  });

  it('is not matched by a leading wildcard [MQTT-4.7.2-1]', async () => {
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'sys-4' });
    // '#' and, by name, the topic each $SYS update publishes last: a live (not retained) copy of
    // it proves an update went out while '#' was in place, and the topics published before it in
    // that update (on the same path to this client) would have arrived first had '#' matched them.
    await client.subscribeAsync(['#', LAST]);
    await client.publishAsync('plain', 'marker');
    await waitFor(() => inbox.messages.some((m) => m.topic === 'plain'), 'the marker through #');
    await waitFor(() => inbox.messages.some((m) => m.topic === LAST && !m.retain), `a live ${LAST} (an update after the subscription)`, 4000);
    expect(inbox.messages.filter((m) => m.topic.startsWith('$SYS') && m.topic !== LAST)).toEqual([]);
    await client.endAsync();
  });
});
