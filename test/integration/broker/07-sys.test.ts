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

describe('$SYS', () => {
  it('publishes every topic retained, so a new subscriber gets them at once', async () => {
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'sys-1' });
    await client.subscribeAsync('$SYS/#');
    await inbox.waitCount(TOPICS.length);
    const first = inbox.messages.slice(0, TOPICS.length);
    expect(first.map((m) => m.topic).sort()).toEqual([...TOPICS].sort());
    expect(first.every((m) => m.retain)).toBe(true);
    expect(first.find((m) => m.topic === '$SYS/broker/uptime')?.payload).toMatch(/^\d+ seconds$/);
    await client.endAsync();
  });

  it('updates the numbers at the interval: clients/connected follows connections', async () => {
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'sys-2' });
    await client.subscribeAsync('$SYS/broker/clients/connected');
    const extra = await connectClient(broker.url, { clientId: 'sys-3' });
    await waitFor(() => inbox.messages.some((m) => m.payload === '2' && !m.retain), 'clients/connected = 2', 4000);
    await extra.endAsync();
    await waitFor(() => inbox.messages.some((m) => m.payload === '1' && !m.retain), 'clients/connected = 1', 4000);
    await client.endAsync();
  });

  it('is not matched by a leading wildcard [MQTT-4.7.2-1]', async () => {
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: 'sys-4' });
    await client.subscribeAsync('#');
    await client.publishAsync('plain', 'marker');
    expect((await inbox.next()).topic).toBe('plain');
    await waitFor(async () => (await broker.stats()).messagesSent > 0, 'some traffic');
    expect(inbox.messages.filter((m) => m.topic.startsWith('$SYS'))).toEqual([]);
    await client.endAsync();
  });
});
