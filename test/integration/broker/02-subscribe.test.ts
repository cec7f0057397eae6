import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function client(version: 3 | 4 | 5, id?: string): Promise<MqttClient> {
  const c = await connectClient(broker.url, { protocolVersion: version, clientId: id ?? `c${clients.length}-${version}` });
  clients.push(c);
  return c;
}

describe.each([3, 4, 5] as const)('SUBSCRIBE at protocol version %i', (version) => {
  it('delivers a QoS 0 message to an exact-topic subscriber', async () => {
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`exact/${version}`, { qos: 0 });
    const pub = await client(version);
    await pub.publishAsync(`exact/${version}`, 'hello', { qos: 0 });
    const m = await inbox.next();
    expect(m).toMatchObject({ topic: `exact/${version}`, payload: 'hello', qos: 0, retain: false });
  });

  it("'+' matches one level and '#' any number of levels [v3:MQTT-4.7.1-2] [v3:MQTT-4.7.1-3]", async () => {
    const sub = await client(version);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync([`w${version}/+/x`, `h${version}/#`]);
    const pub = await client(version);
    await pub.publishAsync(`w${version}/a/x`, '1');
    await pub.publishAsync(`w${version}/a/b/x`, 'no');
    await pub.publishAsync(`h${version}`, '2');
    await pub.publishAsync(`h${version}/a/b`, '3');
    const got = await inbox.waitCount(3);
    await pub.publishAsync(`h${version}/end`, '4');
    await inbox.waitCount(4);
    expect(got.map((m) => m.payload)).toEqual(['1', '2', '3', '4']);
  });
});

describe.each([3, 4] as const)('UNSUBSCRIBE at protocol version %i', (version) => {
  it('stops delivery and is always answered with UNSUBACK, even for an unknown filter [MQTT-3.10.4-4] [MQTT-3.10.4-5]', async () => {
    const raw = await RawClient.connected(broker.port, `unsub-${version}`, version);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `un/${version}`, qos: 0 }, { topic: `un/${version}/marker`, qos: 0 }] });
    await raw.next('suback');
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`un/${version}`, 'never/subscribed'] });
    expect((await raw.next('unsuback')) as unknown).toMatchObject({ messageId: 2 });
    const pub = await client(version);
    await pub.publishAsync(`un/${version}`, 'gone');
    await pub.publishAsync(`un/${version}/marker`, 'marker');
    const p = await raw.next('publish');
    expect((p as { topic: string }).topic).toBe(`un/${version}/marker`);
    raw.destroy();
  });
});
