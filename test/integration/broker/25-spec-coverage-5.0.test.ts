// Statements of MQTT 5.0 that no feature test named (issue #11), checked at protocol level 5 on
// raw sockets: properties forwarded as sent, the reason codes each packet may carry and what is
// left out for a small Maximum Packet Size, the QoS 1/2 flows on resume, flow control.
// Absence is shown by order, never by waiting: a marker sent after the thing that must not
// happen has to be the next packet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';
import type { AckPacket, ConnackPacket, DisconnectPacket, Packet, Properties, PublishPacket, SubackPacket, UnsubackPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
const raws: RawClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  for (const raw of raws) raw.destroy();
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

// The reason codes each packet may carry (5.0 §2.4, table 2-6).
const CONNACK_CODES = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f];
const PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]; // PUBREC: the same
const PUBREL_CODES = [0x00, 0x92]; // PUBCOMP: the same
const DISCONNECT_CODES = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2];

function connect5(clientId: string, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

const PERSISTENT = { clean: false, properties: { sessionExpiryInterval: 300 } };

async function open(clientId: string, extra: Record<string, unknown> = {}): Promise<{ raw: RawClient; connack: ConnackPacket }> {
  const raw = await RawClient.open(broker.port, 5);
  raws.push(raw);
  raw.send(connect5(clientId, extra));
  return { raw, connack: (await raw.next('connack')) as ConnackPacket };
}

async function connected(clientId: string, extra: Record<string, unknown> = {}): Promise<RawClient> {
  const { raw, connack } = await open(clientId, extra);
  expect(connack.reasonCode).toBe(0);
  return raw;
}

async function subscribe(raw: RawClient, subscriptions: Array<{ topic: string; qos: 0 | 1 | 2; rh?: 0 | 1 | 2; rap?: boolean }>, messageId = 1, properties?: Properties): Promise<SubackPacket> {
  raw.send({ cmd: 'subscribe', messageId, subscriptions, properties });
  const suback = (await raw.next('suback')) as SubackPacket;
  expect(suback.messageId).toBe(messageId);
  return suback;
}

async function publisher(clientId: string): Promise<MqttClient> {
  const client = await connectClient(broker.url, { clientId, protocolVersion: 5 });
  clients.push(client);
  return client;
}

/** The next PUBLISH, acknowledged if it is QoS 1. */
async function nextPublish(raw: RawClient): Promise<PublishPacket> {
  const p = (await raw.next('publish')) as PublishPacket;
  if (p.qos === 1) raw.send({ cmd: 'puback', messageId: p.messageId! });
  return p;
}

/** A PUBLISH, QoS 0, topic "t5", with these property bytes (id, value...) and payload "x". */
function publishWithProperties(props: number[]): number[] {
  const body = [0x00, 0x02, 0x74, 0x35, props.length, ...props, 0x78];
  return [0x30, body.length, ...body];
}

const ILL_FORMED = [0x00, 0x02, 0xc3, 0x28]; // a two-byte string that is not UTF-8
const WELL_FORMED = [0x00, 0x01, 0x61];

describe('PUBLISH properties', () => {
  it('Response Topic, Correlation Data, Content Type and User Properties (repeated names, in order) reach subscribers unaltered, live and retained [v5:MQTT-3.3.2-15] [v5:MQTT-3.3.2-16] [v5:MQTT-3.3.2-18] [v5:MQTT-3.3.2-20]', async () => {
    const properties: Properties = {
      payloadFormatIndicator: 1,
      responseTopic: 'props5/reply/\u00e9',
      correlationData: Buffer.from([0x00, 0xff, 0x10, 0x00]),
      contentType: 'application/x.starling; charset=utf-8',
      userProperties: [['z', '1'], ['a', '2'], ['z', '0'], ['', ''], ['k\u00e9', 'v\u{1f600}']],
    };
    const live = await connected('props5-live');
    await subscribe(live, [{ topic: 'props5/t', qos: 1 }]);
    const pub = await connected('props5-pub');
    pub.send({ cmd: 'publish', topic: 'props5/t', payload: Buffer.from('m'), qos: 1, messageId: 1, retain: true, dup: false, properties });
    await pub.next('puback');
    const got = await nextPublish(live);
    expect(got.properties).toEqual(properties);
    const late = await connected('props5-late');
    await subscribe(late, [{ topic: 'props5/t', qos: 1 }]);
    const retained = await nextPublish(late);
    expect([retained.retain, retained.properties]).toEqual([true, properties]);
    pub.send({ cmd: 'publish', topic: 'props5/t', payload: Buffer.alloc(0), qos: 1, messageId: 2, retain: true, dup: false });
    await pub.next('puback');
  });

  it('a Response Topic, Content Type or User Property name or value that is not UTF-8 is a Malformed Packet: DISCONNECT 0x81, the close, and the message is not delivered [v5:MQTT-3.3.2-13] [v5:MQTT-3.3.2-19] [v5:MQTT-1.5.7-1] [v5:MQTT-4.13.1-1]', async () => {
    const sub = await connected('utf5-sub');
    await subscribe(sub, [{ topic: 't5', qos: 0 }]);
    const cases: Array<[string, number[]]> = [
      ['Response Topic', [0x08, ...ILL_FORMED]],
      ['Content Type', [0x03, ...ILL_FORMED]],
      ['User Property name', [0x26, ...ILL_FORMED, ...WELL_FORMED]],
      ['User Property value', [0x26, ...WELL_FORMED, ...ILL_FORMED]],
    ];
    for (const [, props] of cases) {
      const raw = await connected('utf5-pub');
      raw.sendBytes(publishWithProperties(props));
      expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x81);
      await raw.waitClosed();
    }
    const ok = await connected('utf5-ok');
    ok.sendBytes(publishWithProperties([0x26, ...WELL_FORMED, ...WELL_FORMED])); // the same, well-formed: delivered
    const first = (await sub.next('publish')) as PublishPacket;
    expect(first.properties?.userProperties).toEqual([['a', 'a']]);
  });

  it('a single copy carries the Subscription Identifiers of every matching subscription [v5:MQTT-3.3.4-4]', async () => {
    const sub = await connected('sid5');
    await subscribe(sub, [{ topic: 'sid5/+', qos: 1 }], 1, { subscriptionIdentifiers: [7] });
    await subscribe(sub, [{ topic: 'sid5/#', qos: 0 }], 2, { subscriptionIdentifiers: [9] });
    await subscribe(sub, [{ topic: 'sid5-marker', qos: 0 }], 3);
    const pub = await publisher('sid5-pub');
    await pub.publishAsync('sid5/a', 'one', { qos: 1 });
    await pub.publishAsync('sid5-marker', 'marker', { qos: 1 });
    const copy = await nextPublish(sub);
    expect([copy.payload.toString(), [...copy.properties!.subscriptionIdentifiers!].sort()]).toEqual(['one', [7, 9]]);
    expect((await nextPublish(sub)).payload.toString()).toBe('marker'); // no second copy
  });
});

describe('wills and CONNECT', () => {
  it('a will keeps the order of its User Properties when published [v5:MQTT-3.1.3-10]', async () => {
    const watch = await connected('willprops-watch');
    await subscribe(watch, [{ topic: 'willprops5', qos: 1 }]);
    const userProperties: Array<[string, string]> = [['z', '1'], ['a', '2'], ['z', '0'], ['m', '']];
    const raw = await connected('willprops', { will: { topic: 'willprops5', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { userProperties, contentType: 'text/plain' } } });
    raw.destroy();
    const will = await nextPublish(watch);
    expect([will.payload.toString(), will.properties?.userProperties, will.properties?.contentType]).toEqual(['gone', userProperties, 'text/plain']);
  });

  it('an empty client id is assigned one, returned as Assigned Client Identifier, and the session is that id: a CONNECT naming it takes the session over [v5:MQTT-3.1.3-7]', async () => {
    const first = await open('', PERSISTENT);
    expect(first.connack.reasonCode).toBe(0);
    const assigned = first.connack.properties?.assignedClientIdentifier;
    expect(assigned).toMatch(/.+/);
    await subscribe(first.raw, [{ topic: 'assigned5', qos: 1 }]);
    const second = await open(assigned!, PERSISTENT);
    expect([second.connack.reasonCode, second.connack.sessionPresent]).toEqual([0, true]);
    expect(((await first.raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x8e);
    await first.raw.waitClosed();
    const pub = await publisher('assigned5-pub');
    await pub.publishAsync('assigned5', 'kept', { qos: 1 });
    expect((await nextPublish(second.raw)).payload.toString()).toBe('kept');
  });

  it('refused CONNECTs get only Connect Reason Codes, 0x80 or above, then the close, and no DISCONNECT [v5:MQTT-3.2.2-8] [v5:MQTT-3.14.0-1] [v5:MQTT-4.13.2-1]', async () => {
    const refusals: Array<[string, Buffer | Packet]> = [
      ['authentication method', connect5('ref-auth', { properties: { authenticationMethod: 'none-here' } })],
      // Receive Maximum 0 (a Protocol Error): property length 3, id 0x21, value 0
      ['Receive Maximum 0', Buffer.from([0x10, 0x11, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00, 0x00, 0x01, 0x78])],
      // a property CONNECT may not carry (Topic Alias, 0x23)
      ['Topic Alias in CONNECT', Buffer.from([0x10, 0x11, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 0x00, 0x01, 0x78])],
    ];
    const codes: number[] = [];
    for (const [what, request] of refusals) {
      const raw = await RawClient.open(broker.port, 5);
      raws.push(raw);
      if (Buffer.isBuffer(request)) raw.sendBytes(request);
      else raw.send(request);
      await raw.waitClosed();
      expect(raw.packets.map((p) => p.cmd), what).toEqual(['connack']);
      const connack = raw.packets[0] as ConnackPacket;
      expect(connack.sessionPresent, what).toBe(false);
      codes.push(connack.reasonCode);
    }
    for (const code of codes) {
      expect(CONNACK_CODES).toContain(code);
      expect(code).toBeGreaterThanOrEqual(0x80);
    }
    expect(codes[0]).toBe(0x8c);
  });

  it('at most one CONNACK: a second CONNECT gets DISCONNECT 0x82, the last packet before the close [v5:MQTT-3.2.0-2] [v5:MQTT-3.14.4-1] [v5:MQTT-3.14.4-2]', async () => {
    const raw = await connected('twice5');
    raw.send(connect5('twice5'));
    raw.send({ cmd: 'pingreq' });
    await raw.waitClosed();
    expect(raw.packets.map((p) => [p.cmd, (p as DisconnectPacket).reasonCode])).toEqual([['disconnect', 0x82]]);
  });
});

describe('DISCONNECT from the server', () => {
  it('carries only DISCONNECT Reason Codes, never a Session Expiry Interval or User Property; the Reason String only if it fits the client Maximum Packet Size; then nothing more, and the close [v5:MQTT-3.14.2-1] [v5:MQTT-3.14.2-2] [v5:MQTT-3.14.2-3] [v5:MQTT-3.14.2-4] [v5:MQTT-3.14.4-1] [v5:MQTT-3.14.4-2]', async () => {
    // A PUBLISH with a Subscription Identifier: a Protocol Error, answered with a reason string.
    const offending = publishWithProperties([0x0b, 0x01]);
    const seen: DisconnectPacket[] = [];
    for (const maximumPacketSize of [undefined, 8]) {
      const raw = await connected(`disc5-${maximumPacketSize ?? 'any'}`, maximumPacketSize === undefined ? {} : { properties: { maximumPacketSize } });
      raw.sendBytes(offending);
      raw.send({ cmd: 'pingreq' });
      await raw.waitClosed();
      expect(raw.packets.map((p) => p.cmd)).toEqual(['disconnect']);
      const d = raw.packets[0] as DisconnectPacket;
      expect(d.reasonCode).toBe(0x82);
      if (maximumPacketSize === undefined) expect(d.properties?.reasonString).toMatch(/subscription identifier/i);
      else expect(d.properties?.reasonString).toBeUndefined();
      seen.push(d);
    }
    // Takeover, malformed, topic alias 0.
    const old = await connected('disc5-takeover');
    await connected('disc5-takeover');
    await old.waitClosed();
    seen.push(...(old.packets as DisconnectPacket[]));
    for (const bytes of [[0x36, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x00], publishWithProperties([0x23, 0x00, 0x00])]) {
      const raw = await connected('disc5-bad');
      raw.sendBytes(bytes);
      await raw.waitClosed();
      expect(raw.packets.map((p) => p.cmd)).toEqual(['disconnect']);
      seen.push(raw.packets[0] as DisconnectPacket);
    }
    expect(seen.map((d) => d.reasonCode)).toEqual([0x82, 0x82, 0x8e, 0x81, 0x94]);
    for (const d of seen) {
      expect(DISCONNECT_CODES).toContain(d.reasonCode ?? 0);
      expect(d.properties?.sessionExpiryInterval).toBeUndefined();
      expect(d.properties?.userProperties).toBeUndefined();
    }
  });
});

describe('acknowledgements', () => {
  it('PUBACK, PUBREC, PUBREL and PUBCOMP carry only their own reason codes; with a small Maximum Packet Size none carries a Reason String or User Property [v5:MQTT-3.4.2-1] [v5:MQTT-3.5.2-1] [v5:MQTT-3.6.2-1] [v5:MQTT-3.7.2-1] [v5:MQTT-3.4.2-2] [v5:MQTT-3.4.2-3] [v5:MQTT-3.5.2-2] [v5:MQTT-3.5.2-3] [v5:MQTT-3.6.2-2] [v5:MQTT-3.6.2-3] [v5:MQTT-3.7.2-2] [v5:MQTT-3.7.2-3]', async () => {
    for (const maximumPacketSize of [undefined, 20]) {
      const props = maximumPacketSize === undefined ? {} : { properties: { maximumPacketSize } };
      const raw = await connected(`acks5-${maximumPacketSize ?? 'any'}`, props);
      await subscribe(raw, [{ topic: `a5/${maximumPacketSize ?? 'x'}`, qos: 2 }]);
      const acks: AckPacket[] = [];
      // As receiver: PUBACK, PUBREC, PUBCOMP; and PUBCOMP 0x92 for a PUBREL of an unknown id.
      raw.send({ cmd: 'publish', topic: 'acks5/none', payload: Buffer.from('1'), qos: 1, messageId: 1, retain: false, dup: false });
      acks.push((await raw.next('puback')) as AckPacket);
      raw.send({ cmd: 'publish', topic: 'acks5/none', payload: Buffer.from('2'), qos: 2, messageId: 2, retain: false, dup: false });
      acks.push((await raw.next('pubrec')) as AckPacket);
      raw.send({ cmd: 'pubrel', messageId: 2 });
      acks.push((await raw.next('pubcomp')) as AckPacket);
      raw.send({ cmd: 'pubrel', messageId: 999 });
      const unknown = (await raw.next('pubcomp')) as AckPacket;
      expect(unknown.reasonCode).toBe(0x92);
      acks.push(unknown);
      // As sender: PUBREL after our PUBREC; PUBREL 0x92 for a PUBREC of an id not in flight.
      const pub = await publisher(`acks5-pub-${maximumPacketSize ?? 'any'}`);
      await pub.publishAsync(`a5/${maximumPacketSize ?? 'x'}`, 'q2', { qos: 2 });
      const out = (await raw.next('publish')) as PublishPacket;
      raw.send({ cmd: 'pubrec', messageId: out.messageId! });
      acks.push((await raw.next('pubrel')) as AckPacket);
      raw.send({ cmd: 'pubcomp', messageId: out.messageId! });
      raw.send({ cmd: 'pubrec', messageId: (out.messageId! % 65_535) + 1 });
      const stray = (await raw.next('pubrel')) as AckPacket;
      expect(stray.reasonCode).toBe(0x92);
      acks.push(stray);
      for (const ack of acks) {
        const allowed = ack.cmd === 'puback' || ack.cmd === 'pubrec' ? PUBACK_CODES : PUBREL_CODES;
        expect(allowed, ack.cmd).toContain(ack.reasonCode ?? 0);
        expect(ack.reasonCode ?? 0, ack.cmd).toBeLessThan(ack.cmd === 'pubcomp' || ack.cmd === 'pubrel' ? 0x93 : 0x80);
        if (maximumPacketSize !== undefined) expect(ack.properties, ack.cmd).toBeUndefined();
      }
      raw.destroy();
    }
  });

  it('SUBACK and UNSUBACK leave out the Reason String and User Properties when they would not fit the client Maximum Packet Size [v5:MQTT-3.9.2-1] [v5:MQTT-3.9.2-2] [v5:MQTT-3.11.2-1] [v5:MQTT-3.11.2-2]', async () => {
    for (const maximumPacketSize of [undefined, 12]) {
      const raw = await connected(`suback5-${maximumPacketSize ?? 'any'}`, maximumPacketSize === undefined ? {} : { properties: { maximumPacketSize } });
      const suback = await subscribe(raw, [{ topic: 'a/#/b', qos: 1 }, { topic: 'ok5', qos: 1 }]);
      expect(suback.granted).toEqual([0x8f, 1]);
      if (maximumPacketSize === undefined) expect(suback.properties?.reasonString).toMatch(/a\/#\/b/);
      else expect(suback.properties).toBeUndefined();
      raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/#/b', 'ok5', 'never5'] });
      const unsuback = (await raw.next('unsuback')) as UnsubackPacket;
      expect(unsuback.reasonCodes).toEqual([0x8f, 0x00, 0x11]);
      if (maximumPacketSize !== undefined) expect(unsuback.properties).toBeUndefined();
      raw.destroy();
    }
  });
});

describe('retained messages', () => {
  it('Retain As Published 0 forwards with RETAIN 0; Retain Handling 0 sends the retained message on every SUBSCRIBE, a replaced one too; an empty retained message is delivered and removes the retained one, and is not stored [v5:MQTT-3.3.1-12] [v5:MQTT-3.3.1-9] [v5:MQTT-3.8.4-4] [v5:MQTT-3.3.1-6] [v5:MQTT-3.3.1-7]', async () => {
    const topic = 'ret5/t';
    const live = await connected('ret5-live');
    await subscribe(live, [{ topic, qos: 1, rap: false, rh: 0 }]);
    const pub = await publisher('ret5-pub');
    await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
    const forwarded = await nextPublish(live);
    expect([forwarded.payload.toString(), forwarded.retain]).toEqual(['kept', false]);
    const late = await connected('ret5-late');
    for (const messageId of [1, 2]) {
      // The second SUBSCRIBE replaces the first: the retained message is sent again.
      await subscribe(late, [{ topic, qos: 1, rh: 0 }], messageId);
      const got = await nextPublish(late);
      expect([got.payload.toString(), got.retain]).toEqual(['kept', true]);
    }
    await pub.publishAsync(topic, 'live', { qos: 1 });
    for (const raw of [live, late]) expect((await nextPublish(raw)).payload.toString()).toBe('live'); // none lost by the replacement
    // Empty and retained: delivered like any message, and the retained one is gone.
    await pub.publishAsync(topic, '', { qos: 1, retain: true });
    for (const raw of [live, late]) {
      const empty = await nextPublish(raw);
      expect([empty.payload.length, empty.retain]).toEqual([0, false]);
    }
    // Also on a topic that had none: nothing is stored.
    await pub.publishAsync('ret5/never', '', { qos: 1, retain: true });
    await pub.publishAsync('ret5/marker', 'marker', { qos: 1, retain: true });
    const fresh = await connected('ret5-fresh');
    await subscribe(fresh, [{ topic: 'ret5/#', qos: 1 }]);
    // The retained messages of one SUBSCRIBE go out together: once the marker is in, a PINGRESP
    // asked for now comes after all of them.
    const got: PublishPacket[] = [await nextPublish(fresh)];
    fresh.send({ cmd: 'pingreq' });
    for (let p = await fresh.next(); p.cmd !== 'pingresp'; p = await fresh.next()) got.push(p as PublishPacket);
    expect(got.map((p) => [p.topic, p.payload.toString(), p.retain])).toEqual([['ret5/marker', 'marker', true]]);
    await pub.publishAsync('ret5/marker', '', { qos: 1, retain: true });
  });
});

describe('QoS 1 and 2 flows', () => {
  it('sender: new ids not in use, QoS 2 with DUP 0; unacknowledged PUBLISHes are sent again with DUP 1 on resume, a PUBREC is answered with PUBREL of its id, kept until PUBCOMP, and the PUBLISH is not sent again after it [MQTT-3.3.1-1] [v5:MQTT-4.3.2-3] [v5:MQTT-4.3.3-1] [v5:MQTT-4.3.3-2] [v5:MQTT-4.3.3-3] [v5:MQTT-4.3.3-4] [v5:MQTT-4.3.3-5] [v5:MQTT-4.3.3-6]', async () => {
    const first = await open('flow5', PERSISTENT);
    await subscribe(first.raw, [{ topic: 'flow5/#', qos: 2 }]);
    const pub = await publisher('flow5-pub');
    await pub.publishAsync('flow5/a', 'q1', { qos: 1 });
    await pub.publishAsync('flow5/a', 'q2-released', { qos: 2 });
    await pub.publishAsync('flow5/a', 'q2-unanswered', { qos: 2 });
    const sent = [0, 1, 2].map(() => first.raw.next('publish') as Promise<PublishPacket>);
    const [q1, rel, open2] = [await sent[0], await sent[1], await sent[2]];
    expect([q1, rel, open2].map((p) => [p.payload.toString(), p.qos, p.dup])).toEqual([['q1', 1, false], ['q2-released', 2, false], ['q2-unanswered', 2, false]]);
    const ids = [q1, rel, open2].map((p) => p.messageId!);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toBeGreaterThan(0);
    first.raw.send({ cmd: 'pubrec', messageId: rel.messageId! });
    expect(await first.raw.next('pubrel')).toMatchObject({ cmd: 'pubrel', messageId: rel.messageId });
    first.raw.destroy(); // no PUBACK, no PUBCOMP, no PUBREC for the last
    await new Promise((r) => first.raw.socket.once('close', r));
    const again = await open('flow5', PERSISTENT);
    expect(again.connack.sessionPresent).toBe(true);
    const resent = [await again.raw.next(), await again.raw.next(), await again.raw.next()];
    expect(resent).toEqual(expect.arrayContaining([
      expect.objectContaining({ cmd: 'publish', messageId: q1.messageId, dup: true, qos: 1 }),
      expect.objectContaining({ cmd: 'pubrel', messageId: rel.messageId }),
      expect.objectContaining({ cmd: 'publish', messageId: open2.messageId, dup: true, qos: 2 }),
    ]));
    again.raw.send({ cmd: 'puback', messageId: q1.messageId! });
    again.raw.send({ cmd: 'pubcomp', messageId: rel.messageId! });
    again.raw.send({ cmd: 'pubrec', messageId: open2.messageId! });
    expect(await again.raw.next('pubrel')).toMatchObject({ messageId: open2.messageId });
    again.raw.send({ cmd: 'pubcomp', messageId: open2.messageId! });
    await pub.publishAsync('flow5/marker', 'marker', { qos: 0 });
    expect(((await again.raw.next('publish')) as PublishPacket).payload.toString()).toBe('marker'); // nothing else was owed
  });

  it('a PUBACK or PUBREC of 0x80 or above ends the delivery: no PUBREL, and nothing is sent again on resume [v5:MQTT-4.4.0-2]', async () => {
    const first = await open('fail5', PERSISTENT);
    await subscribe(first.raw, [{ topic: 'fail5/#', qos: 2 }]);
    const pub = await publisher('fail5-pub');
    await pub.publishAsync('fail5/a', 'q1', { qos: 1 });
    await pub.publishAsync('fail5/a', 'q2', { qos: 2 });
    const q1 = (await first.raw.next('publish')) as PublishPacket;
    const q2 = (await first.raw.next('publish')) as PublishPacket;
    first.raw.send({ cmd: 'puback', messageId: q1.messageId!, reasonCode: 0x80 });
    first.raw.send({ cmd: 'pubrec', messageId: q2.messageId!, reasonCode: 0x80 });
    await pub.publishAsync('fail5/marker', 'marker', { qos: 0 });
    expect(((await first.raw.next()) as PublishPacket).payload.toString()).toBe('marker'); // no PUBREL came first
    first.raw.destroy();
    await new Promise((r) => first.raw.socket.once('close', r));
    const again = await open('fail5', PERSISTENT);
    expect(again.connack.sessionPresent).toBe(true);
    await pub.publishAsync('fail5/marker', 'marker 2', { qos: 0 });
    expect(((await again.raw.next()) as PublishPacket).payload.toString()).toBe('marker 2');
  });

  it('receiver: a QoS 2 PUBLISH with an id awaiting PUBREL is answered with PUBREC and not delivered again [v5:MQTT-4.3.3-10]', async () => {
    const sub = await connected('dupin5-sub');
    await subscribe(sub, [{ topic: 'dupin5', qos: 0 }]);
    const raw = await connected('dupin5-pub');
    for (const dup of [false, true, true]) {
      raw.send({ cmd: 'publish', topic: 'dupin5', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup });
      expect(await raw.next('pubrec')).toMatchObject({ messageId: 7 });
    }
    raw.send({ cmd: 'pubrel', messageId: 7 });
    expect(await raw.next('pubcomp')).toMatchObject({ messageId: 7 });
    raw.send({ cmd: 'publish', topic: 'dupin5', payload: Buffer.from('marker'), qos: 0, retain: false, dup: false });
    expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('once');
    expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('marker');
  });

  it('message expiry ends neither flow once started: a sent QoS 2 PUBLISH is sent again after its expiry, and an expired incoming one is still released with PUBCOMP 0x00 [v5:MQTT-4.3.3-7] [v5:MQTT-4.3.3-13]', async () => {
    const first = await open('exp5', PERSISTENT);
    await subscribe(first.raw, [{ topic: 'exp5', qos: 2 }]);
    const raw = await connected('exp5-pub');
    raw.send({ cmd: 'publish', topic: 'exp5', payload: Buffer.from('short'), qos: 2, messageId: 3, retain: false, dup: false, properties: { messageExpiryInterval: 1 } });
    await raw.next('pubrec');
    const out = (await first.raw.next('publish')) as PublishPacket;
    first.raw.destroy(); // no PUBREC
    await new Promise((r) => first.raw.socket.once('close', r));
    const expired = Date.now() + 1100;
    await waitFor(() => Date.now() >= expired, 'the one-second expiry to pass', 3000); // the time is what is under test
    raw.send({ cmd: 'pubrel', messageId: 3 });
    const comp = (await raw.next('pubcomp')) as AckPacket;
    expect(comp.reasonCode ?? 0).toBe(0);
    const again = await open('exp5', PERSISTENT);
    const resent = (await again.raw.next('publish')) as PublishPacket;
    expect([resent.messageId, resent.dup, resent.payload.toString()]).toEqual([out.messageId, true, 'short']);
  }, 5000);
});

describe('flow control', () => {
  it("the send quota starts at the client's Receive Maximum and stops QoS 1/2 PUBLISHes at 0, while QoS 0, PINGRESP and SUBACK still go out [v5:MQTT-4.9.0-1] [v5:MQTT-4.9.0-2] [v5:MQTT-4.9.0-3] [v5:MQTT-3.3.4-10]", async () => {
    const sub = await connected('quota5', { properties: { receiveMaximum: 2 } });
    await subscribe(sub, [{ topic: 'quota5/#', qos: 1 }]);
    const pub = await publisher('quota5-pub');
    for (let i = 1; i <= 4; i++) await pub.publishAsync('quota5/q1', `m${i}`, { qos: 1 });
    await pub.publishAsync('quota5/q0', 'zero', { qos: 0 });
    const first = [(await sub.next('publish')) as PublishPacket, (await sub.next('publish')) as PublishPacket];
    expect(first.map((p) => [p.payload.toString(), p.qos])).toEqual([['m1', 1], ['m2', 1]]);
    // Quota 0: the QoS 0 message passes the two held ones; answers still come.
    expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('zero');
    sub.send({ cmd: 'pingreq' });
    await sub.next('pingresp');
    await subscribe(sub, [{ topic: 'quota5-other', qos: 0 }], 2);
    sub.send({ cmd: 'puback', messageId: first[0].messageId! });
    expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('m3');
    sub.send({ cmd: 'puback', messageId: first[1].messageId! });
    expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('m4');
  });
});

describe('packets without properties', () => {
  it('SUBACK, UNSUBACK and a forwarded PUBLISH without properties carry a Property Length of 0 [v5:MQTT-2.2.2-1]', async () => {
    const raw = await connected('noprops5');
    const bytes: Buffer[] = [];
    raw.socket.on('data', (chunk: Buffer) => bytes.push(chunk));
    await subscribe(raw, [{ topic: 'np5', qos: 0 }], 0x0102);
    raw.send({ cmd: 'unsubscribe', messageId: 0x0304, unsubscriptions: ['np5-none'] });
    await raw.next('unsuback');
    const pub = await publisher('noprops5-pub');
    await pub.publishAsync('np5', 'p', { qos: 0 });
    await raw.next('publish');
    expect(Buffer.concat(bytes)).toEqual(Buffer.from([
      0x90, 0x04, 0x01, 0x02, 0x00, 0x00, // SUBACK: id, property length 0, granted QoS 0
      0xb0, 0x04, 0x03, 0x04, 0x00, 0x11, // UNSUBACK: id, property length 0, no subscription existed
      0x30, 0x07, 0x00, 0x03, 0x6e, 0x70, 0x35, 0x00, 0x70, // PUBLISH: topic "np5", property length 0, payload "p"
    ]));
  });
});

describe('shared subscriptions: the chosen member', () => {
  /** Two members of $share/{group}/{filter}; returns them once both SUBACKs are in. */
  async function members(group: string, filter: string, qos: 1 | 2, extra: Record<string, unknown>): Promise<RawClient[]> {
    const out: RawClient[] = [];
    for (const name of ['a', 'b']) {
      const raw = await connected(`${group}-${name}`, extra);
      await subscribe(raw, [{ topic: `$share/${group}/${filter}`, qos }]);
      out.push(raw);
    }
    return out;
  }

  /** The member the message went to, and the message. */
  async function chosenOf(group: RawClient[]): Promise<[RawClient, RawClient, PublishPacket]> {
    await waitFor(() => group.some((r) => r.packets.length > 0), 'a member to get the message');
    const chosen = group.find((r) => r.packets.length > 0)!;
    return [chosen, group.find((r) => r !== chosen)!, (await chosen.next('publish')) as PublishPacket];
  }

  /** Publishes QoS 0 markers until `other` gets a message; returns that message's payload. */
  async function firstAt(other: RawClient, pub: MqttClient, topic: string): Promise<string> {
    for (let i = 0; i < 20 && other.packets.length === 0; i++) {
      await pub.publishAsync(topic, `marker ${i}`, { qos: 0 });
      await waitFor(() => other.packets.length > 0, 'a marker at the other member', 100).catch(() => undefined);
    }
    return ((await other.next('publish')) as PublishPacket).payload.toString();
  }

  it('a PUBACK of 0x80 or above from the chosen member ends the message: it is not sent to another member [v5:MQTT-4.8.2-6]', async () => {
    const group = await members('sh6', 'sh6/t', 1, {});
    const pub = await publisher('sh6-pub');
    await pub.publishAsync('sh6/t', 'refused', { qos: 1 });
    const [chosen, other, message] = await chosenOf(group);
    expect(message.payload.toString()).toBe('refused');
    chosen.send({ cmd: 'puback', messageId: message.messageId!, reasonCode: 0x80 });
    expect(await firstAt(other, pub, 'sh6/t')).toMatch(/^marker/);
  });

  it('a QoS 2 delivery cut by the chosen member\'s disconnect is completed when it comes back, and not sent to another member [v5:MQTT-4.8.2-4]', async () => {
    const group = await members('sh4', 'sh4/t', 2, PERSISTENT);
    const pub = await publisher('sh4-pub');
    await pub.publishAsync('sh4/t', 'cut', { qos: 2 });
    const [chosen, other, message] = await chosenOf(group);
    const chosenId = chosen === group[0] ? 'sh4-a' : 'sh4-b';
    chosen.destroy(); // no PUBREC
    await new Promise((r) => chosen.socket.once('close', r));
    expect(await firstAt(other, pub, 'sh4/t')).toMatch(/^marker/);
    const back = await open(chosenId, PERSISTENT);
    expect(back.connack.sessionPresent).toBe(true);
    const again = (await back.raw.next('publish')) as PublishPacket;
    expect([again.payload.toString(), again.messageId, again.qos, again.dup]).toEqual(['cut', message.messageId, 2, true]);
    back.raw.send({ cmd: 'pubrec', messageId: again.messageId! });
    expect(await back.raw.next('pubrel')).toMatchObject({ messageId: again.messageId });
    back.raw.send({ cmd: 'pubcomp', messageId: again.messageId! });
  });

  it('if the chosen member\'s session ends before it acknowledged, the message is not sent to another member [v5:MQTT-4.8.2-5]', async () => {
    const group = await members('sh5', 'sh5/t', 1, {}); // Session Expiry 0: the session ends with the connection
    const pub = await publisher('sh5-pub');
    await pub.publishAsync('sh5/t', 'orphan', { qos: 1 });
    const [chosen, other] = await chosenOf(group);
    chosen.destroy(); // no PUBACK
    await new Promise((r) => chosen.socket.once('close', r));
    expect(await firstAt(other, pub, 'sh5/t')).toMatch(/^marker/);
  });
});
