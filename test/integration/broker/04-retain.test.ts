// Retained messages: stored, replaced, cleared, sent on subscribe with RETAIN set, wildcards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

let n = 0;
async function client(version: 3 | 4 | 5 = 4): Promise<MqttClient> {
  const c = await connectClient(broker.url, { protocolVersion: version, clientId: `ret-${++n}` });
  clients.push(c);
  return c;
}

describe.each([3, 4, 5] as const)('retained messages at protocol version %i', (version) => {
  it('a new subscriber gets the retained message with RETAIN set [v3:MQTT-3.3.1-6] [v3:MQTT-3.3.1-8]', async () => {
    const pub = await client(version);
    await pub.publishAsync(`r${version}/a`, 'kept', { qos: 1, retain: true });
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`r${version}/a`, { qos: 1 });
    expect(await inbox.next()).toMatchObject({ topic: `r${version}/a`, payload: 'kept', retain: true, qos: 1 });
  });

  it('a newer retained message replaces the old one [MQTT-3.3.1-5]', async () => {
    const pub = await client(version);
    await pub.publishAsync(`r${version}/b`, 'old', { qos: 1, retain: true });
    await pub.publishAsync(`r${version}/b`, 'new', { qos: 1, retain: true });
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`r${version}/b`);
    expect((await inbox.next()).payload).toBe('new');
    await pub.publishAsync(`r${version}/b/after`, 'x');
    await sub.subscribeAsync(`r${version}/b/after`);
    await pub.publishAsync(`r${version}/b/after`, 'marker');
    expect((await inbox.next()).payload).toBe('marker'); // nothing else retained arrived
  });

  it('an empty retained payload clears the retained message [v3:MQTT-3.3.1-10] [v3:MQTT-3.3.1-11]', async () => {
    const pub = await client(version);
    await pub.publishAsync(`r${version}/c`, 'soon gone', { qos: 1, retain: true });
    await pub.publishAsync(`r${version}/c`, '', { qos: 1, retain: true });
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync([`r${version}/c`, `r${version}/c-marker`]);
    await pub.publishAsync(`r${version}/c-marker`, 'marker');
    expect((await inbox.next()).payload).toBe('marker');
  });

  it('forwards to existing subscribers with RETAIN cleared [v3:MQTT-3.3.1-9]', async () => {
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`r${version}/live`);
    const pub = await client(version);
    await pub.publishAsync(`r${version}/live`, 'now', { qos: 1, retain: true });
    expect(await inbox.next()).toMatchObject({ payload: 'now', retain: false });
  });

  it('matches retained messages against wildcard filters', async () => {
    const pub = await client(version);
    await pub.publishAsync(`rw${version}/x/1`, 'one', { qos: 1, retain: true });
    await pub.publishAsync(`rw${version}/y/2`, 'two', { qos: 1, retain: true });
    await pub.publishAsync(`rw${version}/x/3/deep`, 'three', { qos: 1, retain: true });
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`rw${version}/+/1`);
    expect((await inbox.next()).payload).toBe('one');
    await sub.subscribeAsync(`rw${version}/#`);
    const all = await inbox.waitCount(4);
    expect(all.slice(1).map((m) => m.payload).sort()).toEqual(['one', 'three', 'two']);
  });

  it('a repeated subscription replaces the old one and sends the retained messages again [MQTT-3.8.4-3]', async () => {
    const pub = await client(version);
    await pub.publishAsync(`r${version}/again`, 'r', { qos: 1, retain: true });
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`r${version}/again`, { qos: 0 });
    await sub.subscribeAsync(`r${version}/again`, { qos: 1 });
    const two = await inbox.waitCount(2);
    expect(two.map((m) => [m.payload, m.retain, m.qos])).toEqual([['r', true, 0], ['r', true, 1]]);
    await pub.publishAsync(`r${version}/again`, 'live', { qos: 1 });
    await inbox.waitCount(3);
    expect(inbox.messages.slice(2).map((m) => [m.payload, m.qos])).toEqual([['live', 1]]);
  });
});

describe('$ topics', () => {
  it("filters starting with a wildcard do not match '$' topics [MQTT-4.7.2-1]", async () => {
    const own = await startTestBroker();
    try {
      const pub = await connectClient(own.url, { clientId: 'dollar-pub' });
      await pub.publishAsync('$internal/x', 'retained', { qos: 1, retain: true });
      const sub = await connectClient(own.url, { clientId: 'dollar-sub' });
      const inbox = new Inbox(sub);
      await sub.subscribeAsync(['#', '+/x']);
      await pub.publishAsync('$internal/x', 'live', { qos: 1 });
      await sub.subscribeAsync('$internal/#');
      const m = await inbox.next();
      expect([m.topic, m.payload, m.retain]).toEqual(['$internal/x', 'retained', true]);
      expect(inbox.messages).toHaveLength(1);
      await Promise.all([pub.endAsync(), sub.endAsync()]);
    } finally {
      await own.close();
    }
  });
});
