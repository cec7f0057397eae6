// MQTT 5 conformance checks beyond the feature tests of 12-mqtt5: enhanced authentication where no
// method is offered (22-enhanced-auth has SCRAM-SHA-256), wills with expiry, and the limits and error paths a conformance suite probes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { AckPacket, ConnackPacket, DisconnectPacket, Packet, PublishPacket, SubackPacket, UnsubackPacket } from '../../../src/protocol/index.js';
import { waitFor } from '../../helpers/wait.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

function connect5(clientId: string, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

async function publisher(clientId: string): Promise<MqttClient> {
  const client = await connectClient(broker.url, { protocolVersion: 5, clientId });
  clients.push(client);
  return client;
}

async function rawSubscriber(clientId: string, subscriptions: Array<{ topic: string; qos: 0 | 1 | 2 }>, properties: Record<string, unknown> = {}): Promise<RawClient> {
  const raw = await RawClient.connected(broker.port, clientId, 5, { properties } as Partial<Packet>);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions });
  await raw.next('suback');
  return raw;
}

async function watch(clientId: string, filter: string) {
  const r = await connectWithInbox(broker.url, { protocolVersion: 5, clientId });
  clients.push(r.client);
  await r.client.subscribeAsync(filter, { qos: 1 });
  return r.inbox;
}

describe('enhanced authentication (no method offered: this broker has no credentials)', () => {
  it('a CONNECT with an Authentication Method gets CONNACK 0x8C and the connection is closed [MQTT-4.12.0-1]', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send(connect5('auth-m', { properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('client-first') } }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x8c);
    await raw.waitClosed();
    expect(raw.packets).toEqual([]); // no AUTH: the exchange never started
  });

  it('SCRAM-SHA-256 too, without credentials to check it against: CONNACK 0x8C and close [MQTT-4.12.0-1]', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send(connect5('auth-s', { properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from('n,,n=user,r=abcdef') } }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x8c);
    await raw.waitClosed();
    expect(raw.packets).toEqual([]);
  });

  it('an AUTH packet from a client that did not start enhanced authentication gets DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
    const raw = await RawClient.connected(broker.port, 'auth-p', 5);
    raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });
});

describe('wills', () => {
  it('the will Message Expiry Interval counts from its publication, after the Will Delay Interval (5.0 §3.1.3.2.4)', async () => {
    const inbox = await watch('wx-watch', 'wx/#');
    const raw = await RawClient.open(broker.port, 5);
    // Delay 1 s and expiry 1 s: an expiry counted from CONNECT would be over when the will goes out.
    const will = { topic: 'wx/delayed', payload: Buffer.from('bye'), qos: 1, retain: false, properties: { willDelayInterval: 1, messageExpiryInterval: 1, contentType: 'text/plain' } };
    raw.send(connect5('wx', { clean: false, properties: { sessionExpiryInterval: 30 }, will }));
    await raw.next('connack');
    raw.destroy();
    const m = await inbox.next(4000);
    expect([m.topic, m.payload]).toEqual(['wx/delayed', 'bye']);
    expect(m.properties?.contentType).toBe('text/plain');
    expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(1); // the remaining lifetime is forwarded [MQTT-3.3.2-6]
    expect(m.properties?.willDelayInterval).toBeUndefined();
  });
});

describe('CONNACK', () => {
  it('states no Server Keep Alive (we do not cap keep-alive), no Receive Maximum (65535: the packet id space), and assigns an id only to an empty one [MQTT-3.2.2-16]', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send(connect5('ck-named', { keepalive: 65_535 }));
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.serverKeepAlive).toBeUndefined();
    expect(connack.properties?.receiveMaximum).toBeUndefined();
    expect(connack.properties?.assignedClientIdentifier).toBeUndefined();
    raw.destroy();
  });
});

describe('limits the client states in CONNECT', () => {
  it("a message larger than the client's Maximum Packet Size is not sent to it, and counted as dropped [v5:MQTT-3.1.2-24] [MQTT-3.1.2-25]", async () => {
    const sub = await rawSubscriber('mps-sub', [{ topic: 'mps/#', qos: 1 }], { maximumPacketSize: 128 });
    const pub = await publisher('mps-pub');
    const before = (await broker.stats()).messagesDropped;
    const big = Buffer.alloc(200, 0x61);
    await pub.publishAsync('mps/qos1', big, { qos: 1 });
    await pub.publishAsync('mps/qos0', big, { qos: 0 });
    // Small payload, but user properties push the PUBLISH over the limit: the whole message is dropped.
    await pub.publishAsync('mps/props', 'x', { qos: 1, properties: { userProperties: { note: 'n'.repeat(150) } } });
    await pub.publishAsync('mps/small', 'fits', { qos: 1 });
    const m = (await sub.next('publish')) as PublishPacket;
    expect([m.topic, m.payload.toString()]).toEqual(['mps/small', 'fits']);
    await waitFor(async () => (await broker.stats()).messagesDropped - before >= 3, '3 dropped messages counted');
    expect((await broker.stats()).messagesDropped - before).toBe(3);
    sub.destroy();
  });

  it("the client's Receive Maximum bounds our unacknowledged QoS 1/2 sends; QoS 0 passes [MQTT-3.3.4-9]", async () => {
    const sub = await rawSubscriber('rm-sub', [{ topic: 'rm/q', qos: 1 }, { topic: 'rm/marker', qos: 0 }], { receiveMaximum: 2 });
    const pub = await publisher('rm-pub');
    for (let i = 1; i <= 5; i++) await pub.publishAsync('rm/q', `m${i}`, { qos: 1 });
    await pub.publishAsync('rm/marker', 'after all five', { qos: 0 });
    const seen = async (): Promise<string> => ((await sub.next('publish')) as PublishPacket).payload.toString();
    const ids: number[] = [];
    const qos1 = async (): Promise<string> => {
      const p = (await sub.next('publish')) as PublishPacket;
      ids.push(p.messageId as number);
      return p.payload.toString();
    };
    expect([await qos1(), await qos1()]).toEqual(['m1', 'm2']);
    expect(await seen()).toBe('after all five'); // m3 is held: two are unacknowledged
    sub.send({ cmd: 'puback', messageId: ids[0] });
    expect(await qos1()).toBe('m3');
    sub.send({ cmd: 'puback', messageId: ids[1] });
    sub.send({ cmd: 'puback', messageId: ids[2] });
    expect([await qos1(), await qos1()]).toEqual(['m4', 'm5']);
    sub.destroy();
  });

  it('Request Problem Information 0: no Reason String or User Properties on SUBACK, UNSUBACK, PUBREL [MQTT-3.1.2-29]', async () => {
    const raw = await RawClient.connected(broker.port, 'rpi0', 5, { properties: { requestProblemInformation: 0 } } as Partial<Packet>);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#/b', qos: 0 }, { topic: 'rpi/ok', qos: 1 }] });
    const suback = (await raw.next('suback')) as SubackPacket;
    expect(suback).toMatchObject({ granted: [0x8f, 1] });
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['never'] });
    const unsuback = (await raw.next('unsuback')) as UnsubackPacket;
    raw.send({ cmd: 'pubrec', messageId: 9 }); // an id we never used
    const pubrel = (await raw.next('pubrel')) as AckPacket;
    expect(pubrel.reasonCode).toBe(0x92);
    for (const packet of [suback, unsuback, pubrel]) {
      expect(packet.properties?.reasonString).toBeUndefined();
      expect(packet.properties?.userProperties).toBeUndefined();
    }
    raw.destroy();
  });
});

describe('PUBLISH from a client', () => {
  it('Payload Format Indicator 1 with a payload that is not UTF-8 is forwarded unaltered (we do not check it) [MQTT-3.3.2-4]', async () => {
    const sub = await rawSubscriber('pfi-sub', [{ topic: 'pfi/t', qos: 1 }]);
    const raw = await RawClient.connected(broker.port, 'pfi-pub', 5);
    const payload = Buffer.from([0xff, 0xfe, 0x00, 0xc3]);
    raw.send({ cmd: 'publish', topic: 'pfi/t', payload, qos: 1, messageId: 1, retain: false, dup: false, properties: { payloadFormatIndicator: 1 } });
    expect(((await raw.next('puback')) as AckPacket).reasonCode ?? 0).toBe(0);
    const m = (await sub.next('publish')) as PublishPacket;
    expect(Buffer.compare(m.payload, payload)).toBe(0);
    expect(m.properties?.payloadFormatIndicator).toBe(1);
    raw.destroy();
    sub.destroy();
  });

  it.each([
    ['QoS 0 with DUP 1 is malformed: DISCONNECT 0x81 [MQTT-3.3.1-2]', [0x38, 0x04, 0x00, 0x01, 0x61, 0x00], 0x81],
    ["a topic name with a wildcard: DISCONNECT 0x90 [MQTT-3.3.2-2]", [0x30, 0x05, 0x00, 0x02, 0x61, 0x23, 0x00], 0x90],
    ['a Subscription Identifier in a PUBLISH from a client: DISCONNECT 0x82 [MQTT-3.3.4-6]', [0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x0b, 0x01], 0x82],
    ['a Response Topic with a wildcard: DISCONNECT 0x82 [MQTT-3.3.2-14]', [0x30, 0x08, 0x00, 0x01, 0x61, 0x04, 0x08, 0x00, 0x01, 0x23], 0x82],
    ['Subscription Identifier 0 in SUBSCRIBE: DISCONNECT 0x82 (5.0 §3.8.2.1.2)', [0x82, 0x09, 0x00, 0x01, 0x02, 0x0b, 0x00, 0x00, 0x01, 0x61, 0x01], 0x82],
  ])('%s', async (_name, bytes, reasonCode) => {
    const raw = await RawClient.connected(broker.port, `bad-${reasonCode}-${bytes[0]}-${bytes.length}`, 5);
    raw.sendBytes(bytes);
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(reasonCode);
    await raw.waitClosed();
  });
});

describe('topic aliases from the broker to a client', () => {
  it('a client allowing aliases gets the topic once with an alias, then the alias with an empty topic; never an alias above its maximum (1) [MQTT-3.3.2-11] [v5:MQTT-3.1.2-26]', async () => {
    const raw = await rawSubscriber('alias-out', [{ topic: 'alias/out/+', qos: 2 }], { topicAliasMaximum: 1 });
    const pub = await publisher('alias-out-pub');
    for (const qos of [0, 1, 2] as const) await pub.publishAsync('alias/out/a', `m${qos}`, { qos });
    const got: PublishPacket[] = [];
    while (got.length < 3) {
      const p = (await raw.next('publish')) as PublishPacket;
      got.push(p);
      if (p.qos === 1) raw.send({ cmd: 'puback', messageId: p.messageId! });
      if (p.qos === 2) raw.send({ cmd: 'pubrec', messageId: p.messageId! });
    }
    expect(got.map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2']);
    // m2's flow ends before the next messages are published: its PUBREL comes first, always.
    raw.send({ cmd: 'pubcomp', messageId: ((await raw.next('pubrel')) as AckPacket).messageId });
    expect(got[0]!.topic).toBe('alias/out/a');
    expect(got[0]!.properties?.topicAlias).toBe(1);
    for (const p of got.slice(1)) {
      expect(p.topic).toBe('');
      expect(p.properties?.topicAlias).toBe(1);
    }
    // A second topic remaps the only alias: full topic again, then the first topic remaps it back.
    await pub.publishAsync('alias/out/b', 'b', { qos: 0 });
    await pub.publishAsync('alias/out/a', 'a', { qos: 0 });
    const b = (await raw.next('publish')) as PublishPacket;
    const a = (await raw.next('publish')) as PublishPacket;
    expect([b.topic, b.properties?.topicAlias, a.topic, a.properties?.topicAlias]).toEqual(['alias/out/b', 1, 'alias/out/a', 1]);
    raw.destroy();
  });

  it('no alias for a client that allows none (no Topic Alias Maximum, or 0) [MQTT-3.3.2-11] [v5:MQTT-3.1.2-27]', async () => {
    for (const [id, props] of [['alias-none', {}], ['alias-zero', { topicAliasMaximum: 0 }]] as const) {
      const raw = await rawSubscriber(id, [{ topic: `alias/none/${id}`, qos: 0 }], props);
      const pub = await publisher(`${id}-pub`);
      await pub.publishAsync(`alias/none/${id}`, '1');
      await pub.publishAsync(`alias/none/${id}`, '2');
      for (let i = 0; i < 2; i++) {
        const p = (await raw.next('publish')) as PublishPacket;
        expect(p.topic).toBe(`alias/none/${id}`);
        expect(p.properties?.topicAlias).toBeUndefined();
      }
      raw.destroy();
    }
  });

  it('mqtt.js with topicAliasMaximum resolves the aliases back to topics', async () => {
    const r = await connectWithInbox(broker.url, { protocolVersion: 5, clientId: 'alias-mqttjs', properties: { topicAliasMaximum: 2 } });
    clients.push(r.client);
    await r.client.subscribeAsync('alias/js/#', { qos: 1 });
    const pub = await publisher('alias-js-pub');
    for (const t of ['alias/js/1', 'alias/js/2', 'alias/js/3', 'alias/js/1', 'alias/js/3']) await pub.publishAsync(t, t, { qos: 1 });
    await waitFor(() => r.inbox.messages.length >= 5, 'five aliased messages');
    expect(r.inbox.messages.map((m) => [m.topic, m.payload])).toEqual(['alias/js/1', 'alias/js/2', 'alias/js/3', 'alias/js/1', 'alias/js/3'].map((t) => [t, t]));
  });
});
