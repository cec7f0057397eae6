// MQTT 5 features that are cheap to support: CONNACK properties, reason codes, session expiry,
// message expiry, No Local, Retain As Published, Retain Handling, subscription identifiers,
// forwarded properties, server DISCONNECT reason codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, DisconnectPacket, Packet, PublishPacket, SubackPacket, UnsubackPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function v5(clientId: string, extra: Record<string, unknown> = {}) {
  const r = await connectWithInbox(broker.url, { protocolVersion: 5, clientId, ...extra });
  clients.push(r.client);
  return r;
}

function connect5(clientId: string, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

describe('MQTT 5', () => {
  it('CONNACK states what the server supports', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send(connect5(''));
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties).toMatchObject({
      retainAvailable: 1, wildcardSubscriptionAvailable: 1, subscriptionIdentifiersAvailable: 1, sharedSubscriptionAvailable: 1,
    });
    expect(connack.properties?.topicAliasMaximum).toBe(10); // --max-topic-alias default [MQTT-3.2.2-17]
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^starling-/); // [MQTT-3.2.2-16]
    raw.destroy();
  });

  it('SUBACK and UNSUBACK carry reason codes; UNSUBACK 0x11 for no subscription [MQTT-3.10.4-5]', async () => {
    const raw = await RawClient.connected(broker.port, 'rc5', 5);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }, { topic: '$share/g/a', qos: 0 }] });
    expect(((await raw.next('suback')) as SubackPacket).granted).toEqual([1, 0]);
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a', 'never'] });
    expect(((await raw.next('unsuback')) as UnsubackPacket).reasonCodes).toEqual([0x00, 0x11]);
    raw.destroy();
  });

  it('an invalid topic filter gets SUBACK 0x8F for that filter only; the others are granted and the connection stays [MQTT-3.9.3-1]', async () => {
    const raw = await RawClient.connected(broker.port, 'inv-sub5', 5);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'inv/ok', qos: 1 }, { topic: 'a/#/b', qos: 0 }, { topic: 'a+', qos: 1 }, { topic: '', qos: 0 }, { topic: 'inv/#', qos: 0 }] });
    expect(((await raw.next('suback')) as SubackPacket).granted).toEqual([1, 0x8f, 0x8f, 0x8f, 0]);
    raw.send({ cmd: 'publish', topic: 'inv/ok', payload: Buffer.from('still here'), qos: 0, retain: false, dup: false });
    const m = (await raw.next('publish')) as PublishPacket;
    expect([m.topic, m.payload.toString()]).toEqual(['inv/ok', 'still here']);
    // UNSUBACK: 0x8F for the invalid filter, the valid ones unsubscribed or 0x11 [MQTT-3.11.3-1]
    raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['inv/ok', 'a+', 'never', 'x/#/y'] });
    expect(((await raw.next('unsuback')) as UnsubackPacket).reasonCodes).toEqual([0x00, 0x8f, 0x11, 0x8f]);
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
    raw.destroy();
  });

  it('No Local: a client does not receive its own messages [v5:MQTT-3.8.3-3]', async () => {
    const { client, inbox } = await v5('nl');
    await client.subscribeAsync('nl/t', { qos: 1, nl: true });
    await client.subscribeAsync('nl/other', { qos: 1 });
    await client.publishAsync('nl/t', 'mine', { qos: 1 });
    await client.publishAsync('nl/other', 'marker', { qos: 1 });
    expect((await inbox.next()).payload).toBe('marker');
  });

  it('Retain As Published keeps the RETAIN flag on forwarded messages [v5:MQTT-3.3.1-13]', async () => {
    const { client, inbox } = await v5('rap');
    await client.subscribeAsync('rap/t', { qos: 1, rap: true });
    const pub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'rap-pub' });
    clients.push(pub);
    await pub.publishAsync('rap/t', 'r', { qos: 1, retain: true });
    expect(await inbox.next()).toMatchObject({ payload: 'r', retain: true });
  });

  it('Retain Handling 1 sends retained only for a new subscription, 2 never [v5:MQTT-3.3.1-10] [v5:MQTT-3.3.1-11]', async () => {
    const pub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'rh-pub' });
    clients.push(pub);
    await pub.publishAsync('rh/t', 'kept', { qos: 1, retain: true });
    const { client, inbox } = await v5('rh');
    await client.subscribeAsync('rh/t', { qos: 1, rh: 1 });
    expect((await inbox.next()).payload).toBe('kept');
    await client.subscribeAsync('rh/t', { qos: 1, rh: 1 }); // existing: nothing
    await client.subscribeAsync('rh/never', { qos: 1, rh: 2 });
    await pub.publishAsync('rh/never', 'x', { qos: 1, retain: true });
    await client.unsubscribeAsync('rh/never');
    await client.subscribeAsync('rh/never', { qos: 1, rh: 2 });
    await pub.publishAsync('rh/t', 'live', { qos: 1 });
    const m = await inbox.next();
    expect(m.payload).toBe('x'); // the live forward of 'x' while subscribed (RETAIN cleared)
    expect(m.retain).toBe(false);
    expect((await inbox.next()).payload).toBe('live');
    expect(inbox.messages).toHaveLength(3);
  });

  it('subscription identifiers are sent with matching messages, all of them for overlaps [MQTT-3.3.4-3]', async () => {
    const { client, inbox } = await v5('subid');
    await client.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await client.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    const pub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'subid-pub' });
    clients.push(pub);
    await pub.publishAsync('sid/a', 'x', { qos: 1 });
    const m = await inbox.next();
    const ids = m.properties?.subscriptionIdentifier;
    expect((Array.isArray(ids) ? ids : [ids]).sort()).toEqual([7, 9]);
  });

  it('forwards user properties, content type, response topic and correlation data [MQTT-3.3.2-17]', async () => {
    const { client, inbox } = await v5('props');
    await client.subscribeAsync('props/t', { qos: 1 });
    const pub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'props-pub' });
    clients.push(pub);
    await pub.publishAsync('props/t', 'req', {
      qos: 1,
      properties: { userProperties: { a: '1' }, contentType: 'text/plain', responseTopic: 'props/reply', correlationData: Buffer.from('c1') },
    });
    const m = await inbox.next();
    expect(m.properties).toMatchObject({ userProperties: { a: '1' }, contentType: 'text/plain', responseTopic: 'props/reply' });
    expect(Buffer.from(m.properties?.correlationData as Buffer).toString()).toBe('c1');
  });

  it('a message past its expiry interval is not delivered from the offline queue [MQTT-3.3.2-5]', async () => {
    const first = await v5('exp-sub', { clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('exp/t', { qos: 1 });
    await first.client.endAsync();
    const pub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'exp-pub' });
    clients.push(pub);
    await pub.publishAsync('exp/t', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('exp/t', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
    await new Promise((r) => setTimeout(r, 1100)); // let the first message's one-second lifetime run out
    const again = await v5('exp-sub', { clean: false, properties: { sessionExpiryInterval: 60 } });
    const m = await again.inbox.next();
    expect(m.payload).toBe('long');
    expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(100); // remaining lifetime [MQTT-3.3.2-6]
  });

  it('session expiry 0 ends the session at disconnect; a positive one keeps it [v5:MQTT-3.1.2-23]', async () => {
    const a = await RawClient.open(broker.port, 5);
    a.send(connect5('sx0', { clean: false }));
    await a.next('connack');
    a.send({ cmd: 'disconnect' });
    await a.waitClosed();
    const b = await RawClient.open(broker.port, 5);
    b.send(connect5('sx0', { clean: false, properties: { sessionExpiryInterval: 30 } }));
    expect(((await b.next('connack')) as ConnackPacket).sessionPresent).toBe(false);
    b.send({ cmd: 'disconnect' });
    await b.waitClosed();
    const c = await RawClient.open(broker.port, 5);
    c.send(connect5('sx0', { clean: false, properties: { sessionExpiryInterval: 30 } }));
    expect(((await c.next('connack')) as ConnackPacket).sessionPresent).toBe(true);
    c.destroy();
  });

  it('an offline session ends when its expiry interval has passed [v5:MQTT-3.1.2-23] [v5:MQTT-4.1.0-2]', async () => {
    const a = await RawClient.open(broker.port, 5);
    a.send(connect5('sx1', { clean: false, properties: { sessionExpiryInterval: 1 } }));
    await a.next('connack');
    a.send({ cmd: 'disconnect' });
    await a.waitClosed();
    await new Promise((r) => setTimeout(r, 1200)); // the one-second expiry is what is under test
    const b = await RawClient.open(broker.port, 5);
    b.send(connect5('sx1', { clean: false, properties: { sessionExpiryInterval: 1 } }));
    expect(((await b.next('connack')) as ConnackPacket).sessionPresent).toBe(false);
    b.destroy();
  });

  it('takeover: the old v5 connection gets DISCONNECT 0x8E, then the close [v5:MQTT-3.1.4-3]', async () => {
    const old = await RawClient.connected(broker.port, 'to5', 5);
    const fresh = await RawClient.connected(broker.port, 'to5', 5);
    expect(((await old.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x8e);
    await old.waitClosed();
    fresh.destroy();
  });

  it('bad credentials: CONNACK 0x86, then the close [v5:MQTT-3.1.4-2]', async () => {
    const secured = await startTestBroker({ username: 'u', password: 'p' });
    try {
      const raw = await RawClient.open(secured.port, 5);
      raw.send(connect5('cred', { username: 'u', password: Buffer.from('nope') }));
      expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x86);
      await raw.waitClosed();
    } finally {
      await secured.close();
    }
  });

  it('server shutdown: DISCONNECT 0x8B', async () => {
    const own = await startTestBroker();
    const raw = await RawClient.connected(own.port, 'sd5', 5);
    const closing = own.close();
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x8b);
    await closing;
  });

  it('DISCONNECT with reason 0x04 publishes the will', async () => {
    const { client, inbox } = await v5('will5-watch');
    await client.subscribeAsync('will5');
    const raw = await RawClient.open(broker.port, 5);
    raw.send(connect5('will5', { will: { topic: 'will5', payload: Buffer.from('w'), qos: 0, retain: false } }));
    await raw.next('connack');
    raw.send({ cmd: 'disconnect', reasonCode: 0x04 });
    expect((await inbox.next()).payload).toBe('w');
  });

  it('Will Delay Interval: a reconnect within the delay cancels the will; otherwise it is published after it [v5:MQTT-3.1.3-9]', async () => {
    const { client, inbox } = await v5('wd-watch');
    await client.subscribeAsync('wd/#');
    const will = (topic: string) => ({ topic, payload: Buffer.from(topic), qos: 0, retain: false, properties: { willDelayInterval: 1 } });
    const session = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const cancelled = await RawClient.open(broker.port, 5);
    cancelled.send(connect5('wd-1', { ...session, will: will('wd/cancelled') }));
    await cancelled.next('connack');
    cancelled.destroy();
    const back = await RawClient.connected(broker.port, 'wd-1', 5, { ...session } as Partial<Packet>);
    const delayed = await RawClient.open(broker.port, 5);
    delayed.send(connect5('wd-2', { ...session, will: will('wd/delayed') }));
    await delayed.next('connack');
    const lost = Date.now();
    delayed.destroy();
    const m = await inbox.next(4000);
    expect(m.topic).toBe('wd/delayed');
    expect(Date.now() - lost).toBeGreaterThanOrEqual(900);
    expect(inbox.messages).toHaveLength(1);
    back.destroy();
  });

  it('--max-topic-alias 0: no Topic Alias Maximum in CONNACK, and a PUBLISH with a topic alias gets DISCONNECT 0x94 [MQTT-3.3.2-9]', async () => {
    const own = await startTestBroker({ maxTopicAlias: 0 });
    try {
      const raw = await RawClient.open(own.port, 5);
      raw.send(connect5('alias0'));
      expect(((await raw.next('connack')) as ConnackPacket).properties?.topicAliasMaximum).toBeUndefined();
      raw.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('a'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } } as PublishPacket);
      expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x94);
      await raw.waitClosed();
    } finally {
      await own.close();
    }
  });
});

describe('MQTT 5 topic aliases, client to server (Topic Alias Maximum 10)', () => {
  const publish = (topic: string, payload: string, topicAlias: number, qos: 0 | 1 = 0, messageId?: number): PublishPacket =>
    ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, messageId, properties: { topicAlias } });

  it('mqtt.js: a topic alias set with the topic and then used with an empty topic reaches subscribers as the full topic, without the alias', async () => {
    const { client: sub, inbox } = await v5('ta-sub');
    await sub.subscribeAsync('ta/#', { qos: 1 });
    const pub = await connectClient(broker.url, { protocolVersion: 5, clientId: 'ta-pub' });
    clients.push(pub);
    await pub.publishAsync('ta/one', 'set', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('', 'used', { qos: 1, properties: { topicAlias: 1 } });
    await pub.publishAsync('ta/two', 'rebound', { qos: 0, properties: { topicAlias: 1 } });
    await pub.publishAsync('', 'used again', { qos: 1, properties: { topicAlias: 1 } });
    const got = await inbox.waitCount(4);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([['ta/one', 'set'], ['ta/one', 'used'], ['ta/two', 'rebound'], ['ta/two', 'used again']]);
    for (const m of got) expect(m.properties?.topicAlias).toBeUndefined(); // the alias is per hop: not forwarded
  });

  it('raw: aliases 1..10 are accepted [MQTT-3.3.2-12]; QoS 1 through an alias is acknowledged; the subscriber gets no alias', async () => {
    const sub = await RawClient.connected(broker.port, 'ta-raw-sub', 5);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'tr/#', qos: 1 }] });
    await sub.next('suback');
    const raw = await RawClient.connected(broker.port, 'ta-raw', 5);
    raw.send(publish('tr/ten', 'a', 10));
    raw.send(publish('', 'b', 10, 1, 7));
    expect(await raw.next('puback')).toMatchObject({ messageId: 7 });
    for (const payload of ['a', 'b']) {
      const m = (await sub.next('publish')) as PublishPacket;
      expect([m.topic, m.payload.toString(), m.properties?.topicAlias]).toEqual(['tr/ten', payload, undefined]);
    }
    raw.destroy();
    sub.destroy();
  });

  it('a retained message published through an alias is stored under the full topic, without the alias', async () => {
    const raw = await RawClient.connected(broker.port, 'ta-retain', 5);
    raw.send(publish('tr/kept', 'x', 4, 1, 1));
    await raw.next('puback');
    raw.send({ ...publish('', 'retained via alias', 4, 1, 2), retain: true });
    await raw.next('puback');
    const later = await RawClient.connected(broker.port, 'ta-retain-sub', 5);
    later.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'tr/kept', qos: 1 }] });
    await later.next('suback');
    const m = (await later.next('publish')) as PublishPacket;
    expect([m.topic, m.payload.toString(), m.retain, m.properties?.topicAlias]).toEqual(['tr/kept', 'retained via alias', true, undefined]);
    raw.destroy();
    later.destroy();
  });

  it('an alias above the Topic Alias Maximum gets DISCONNECT 0x94 [MQTT-3.3.2-9]', async () => {
    const raw = await RawClient.connected(broker.port, 'ta-over', 5);
    raw.send(publish('x', 'a', 11));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x94);
    await raw.waitClosed();
  });

  it('alias 0 gets DISCONNECT 0x94 [MQTT-3.3.2-8]', async () => {
    const raw = await RawClient.connected(broker.port, 'ta-zero', 5);
    raw.sendBytes([0x30, 0x07, 0x00, 0x01, 0x78, 0x03, 0x23, 0x00, 0x00]); // topic 'x', Topic Alias 0
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x94);
    await raw.waitClosed();
  });

  it('an empty topic with an alias that was never set gets DISCONNECT 0x82 (5.0 §3.3.2.3.4)', async () => {
    const raw = await RawClient.connected(broker.port, 'ta-unknown', 5);
    raw.send(publish('ta/set', 'a', 1));
    raw.send(publish('', 'b', 2));
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it('aliases do not carry over to a new connection of the same client [MQTT-3.3.2-7]', async () => {
    const session = { clean: false, properties: { sessionExpiryInterval: 30 } } as Partial<Packet>;
    const first = await RawClient.connected(broker.port, 'ta-again', 5, session);
    first.send(publish('ta/again', 'a', 3, 1, 1));
    await first.next('puback');
    first.send({ cmd: 'disconnect' });
    await first.waitClosed();
    const second = await RawClient.connected(broker.port, 'ta-again', 5, session);
    second.send(publish('', 'b', 3));
    expect(((await second.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await second.waitClosed();
  });
});
