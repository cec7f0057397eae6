// QoS 0/1/2 in both directions, delivered QoS, ordering, in-flight window, exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { AckPacket, PublishPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker({ maxInflight: 3 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function client(version: 3 | 4 | 5, id: string): Promise<MqttClient> {
  const c = await connectClient(broker.url, { protocolVersion: version, clientId: id });
  clients.push(c);
  return c;
}

describe.each([3, 4, 5] as const)('QoS flows at protocol version %i', (version) => {
  it.each([0, 1, 2] as const)('publish at QoS %i to a QoS 2 subscriber is delivered at that QoS [v3:MQTT-3.8.4-6]', async (qos) => {
    const sub = await client(version, `q-sub-${version}-${qos}`);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`q/${version}/${qos}`, { qos: 2 });
    const pub = await client(version, `q-pub-${version}-${qos}`);
    await pub.publishAsync(`q/${version}/${qos}`, `m${qos}`, { qos });
    const m = await inbox.next();
    expect(m).toMatchObject({ payload: `m${qos}`, qos });
  });

  it('delivered QoS is the minimum of published and granted QoS [v3:MQTT-3.8.4-6]', async () => {
    const sub = await client(version, `min-sub-${version}`);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`min/${version}`, { qos: 1 });
    const pub = await client(version, `min-pub-${version}`);
    await pub.publishAsync(`min/${version}`, 'x', { qos: 2 });
    expect((await inbox.next()).qos).toBe(1);
  });

  it('overlapping subscriptions deliver once at the highest QoS [MQTT-3.3.5-1]', async () => {
    const sub = await client(version, `ov-sub-${version}`);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync({ [`ov/${version}/#`]: { qos: 0 }, [`ov/${version}/+`]: { qos: 2 } });
    const pub = await client(version, `ov-pub-${version}`);
    await pub.publishAsync(`ov/${version}/a`, 'once', { qos: 2 });
    await pub.publishAsync(`ov/${version}/marker/end`, 'end', { qos: 1 });
    await inbox.waitCount(2);
    // mqtt.js emits a QoS 2 message only after PUBREL, so compare without order.
    expect(inbox.messages.map((m) => [m.payload, m.qos]).sort()).toEqual([['end', 0], ['once', 2]]);
  });

  it('keeps per-topic order for 200 QoS 1 messages through a window of 3 [v3:MQTT-4.6.0-6]', async () => {
    const sub = await client(version, `ord-sub-${version}`);
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(`ord/${version}`, { qos: 1 });
    const pub = await client(version, `ord-pub-${version}`);
    await Promise.all(Array.from({ length: 200 }, (_, i) => pub.publishAsync(`ord/${version}`, String(i), { qos: 1 })));
    const got = await inbox.waitCount(200);
    expect(got.map((m) => Number(m.payload))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});

describe('QoS window and exactly once (raw)', () => {
  it('holds QoS 1 messages beyond the in-flight window until PUBACKs free slots', async () => {
    const sub = await RawClient.connected(broker.port, 'window-sub');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'win', qos: 1 }] });
    await sub.next('suback');
    const pub = await client(4, 'window-pub');
    for (let i = 0; i < 5; i++) await pub.publishAsync('win', String(i), { qos: 1 });
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await sub.next('publish')) as PublishPacket);
    expect(first.map((p) => p.payload.toString())).toEqual(['0', '1', '2']);
    // A 4th message arrives only after an acknowledgement.
    await expect(sub.next('publish', 300)).rejects.toThrow(/timed out/);
    sub.send({ cmd: 'puback', messageId: first[0].messageId as number });
    expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('3');
    const ids = new Set(first.map((p) => p.messageId));
    expect(ids.size).toBe(3);
    sub.destroy();
  });

  it('a QoS 2 PUBLISH resent before PUBREL is not delivered twice [v3:MQTT-4.3.3-2]', async () => {
    const sub = await client(4, 'eo-sub');
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('eo', { qos: 2 });
    const pub = await RawClient.connected(broker.port, 'eo-pub');
    const publish = { cmd: 'publish', topic: 'eo', payload: Buffer.from('once'), qos: 2, retain: false, dup: false, messageId: 7 } as const;
    pub.send(publish);
    expect(((await pub.next('pubrec')) as AckPacket).messageId).toBe(7);
    pub.send({ ...publish, dup: true });
    expect(((await pub.next('pubrec')) as AckPacket).messageId).toBe(7);
    pub.send({ cmd: 'pubrel', messageId: 7 });
    expect(((await pub.next('pubcomp')) as AckPacket).messageId).toBe(7);
    pub.send({ ...publish, payload: Buffer.from('next') }); // id 7 is free again: a new message
    await pub.next('pubrec');
    await inbox.waitCount(2);
    expect(inbox.messages.map((m) => m.payload)).toEqual(['once', 'next']);
    pub.destroy();
  });

  it('completes an outgoing QoS 2 flow: PUBLISH, PUBREC → PUBREL, PUBCOMP [v3:MQTT-4.3.3-1]', async () => {
    const sub = await RawClient.connected(broker.port, 'q2-raw-sub');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q2raw', qos: 2 }] });
    await sub.next('suback');
    const pub = await client(4, 'q2-raw-pub');
    await pub.publishAsync('q2raw', 'x', { qos: 2 });
    const p = (await sub.next('publish')) as PublishPacket;
    expect(p.qos).toBe(2);
    sub.send({ cmd: 'pubrec', messageId: p.messageId as number });
    expect(((await sub.next('pubrel')) as AckPacket).messageId).toBe(p.messageId);
    sub.send({ cmd: 'pubcomp', messageId: p.messageId as number });
    sub.send({ cmd: 'pingreq' });
    await sub.next('pingresp');
    sub.destroy();
  });
});
