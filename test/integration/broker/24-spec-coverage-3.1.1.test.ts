// Statements of MQTT 3.1.1 that no feature test named (issue #11), each checked at protocol level 4
// and, where MQTT 5.0 states the same rule, at level 5 too (the title then names both ids).
// Absence is shown by order, never by waiting: a marker sent after the thing that must not
// happen has to be the next packet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, connectWithInbox, startTestBroker, type Inbox, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { encode, type ConnackPacket, type DisconnectPacket, type Packet, type PublishPacket, type SubackPacket } from '../../../src/protocol/index.js';

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

const VERSIONS = [4, 5] as const;
type Version = (typeof VERSIONS)[number];

function connectPacket(clientId: string, version: Version, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

/** CONNECT fields of a session that outlives its connection: CleanSession 0 (3.1.1), Clean Start 0 and an expiry (5.0). */
function persistent(version: Version): Record<string, unknown> {
  return version === 5 ? { clean: false, properties: { sessionExpiryInterval: 300 } } : { clean: false };
}

async function open(clientId: string, version: Version, extra: Record<string, unknown> = {}): Promise<{ raw: RawClient; connack: ConnackPacket }> {
  const raw = await RawClient.open(broker.port, version);
  raws.push(raw);
  raw.send(connectPacket(clientId, version, extra));
  const connack = (await raw.next('connack')) as ConnackPacket;
  return { raw, connack };
}

async function subscribe(raw: RawClient, filters: Array<[string, 0 | 1 | 2]>, messageId = 1): Promise<number[]> {
  raw.send({ cmd: 'subscribe', messageId, subscriptions: filters.map(([topic, qos]) => ({ topic, qos })) });
  const suback = (await raw.next('suback')) as SubackPacket;
  expect(suback.messageId).toBe(messageId);
  return suback.granted;
}

async function rawSubscriber(clientId: string, version: Version, filters: Array<[string, 0 | 1 | 2]>, extra: Record<string, unknown> = {}): Promise<RawClient> {
  const { raw, connack } = await open(clientId, version, extra);
  expect(connack.reasonCode).toBe(0);
  await subscribe(raw, filters);
  return raw;
}

async function publisher(clientId: string, version: Version = 4): Promise<MqttClient> {
  const client = await connectClient(broker.url, { clientId, protocolVersion: version });
  clients.push(client);
  return client;
}

async function watcher(clientId: string, filter: string, version: Version = 4): Promise<Inbox> {
  const { client, inbox } = await connectWithInbox(broker.url, { clientId, protocolVersion: version });
  clients.push(client);
  await client.subscribeAsync(filter, { qos: 1 });
  return inbox;
}

/** The next PUBLISH, acknowledged if it is QoS 1. */
async function nextPublish(raw: RawClient): Promise<PublishPacket> {
  const p = (await raw.next('publish')) as PublishPacket;
  if (p.qos === 1) raw.send({ cmd: 'puback', messageId: p.messageId! });
  return p;
}

async function closeCleanly(raw: RawClient): Promise<void> {
  raw.send({ cmd: 'disconnect' });
  await raw.waitClosed();
}

describe('strings, topic names and matching', () => {
  it('EF BB BF stays U+FEFF, and matching compares topic and filter exactly: no normalisation, no case folding, no dropped levels [v3:MQTT-1.5.3-3] [v5:MQTT-1.5.4-3] [v3:MQTT-4.7.3-4] [v5:MQTT-4.7.3-4]', async () => {
    for (const version of VERSIONS) {
      const p = `norm${version}`;
      const filters = [`${p}/\u{feff}a`, `${p}/caf\u00e9`, `${p}/x/y`];
      const sub = await rawSubscriber(`norm-sub-${version}`, version, filters.map((f) => [f, 1]));
      const pub = await publisher(`norm-pub-${version}`, version);
      // None of these is equal to a filter, only alike after some normalisation.
      for (const topic of [`${p}/a`, `${p}/\u{feff}\u{feff}a`, `${p}/cafe\u0301`, `${p}/x//y`, `${p}/x/y/`, `${p}/X/y`, `${p.toUpperCase()}/x/y`, `/${p}/x/y`]) {
        await pub.publishAsync(topic, 'no', { qos: 1 });
      }
      for (const topic of filters) await pub.publishAsync(topic, 'yes', { qos: 1 });
      const got: PublishPacket[] = [];
      for (let i = 0; i < 3; i++) got.push(await nextPublish(sub));
      expect(got.map((m) => [m.topic, m.payload.toString()])).toEqual(filters.map((f) => [f, 'yes']));
      // The topic goes out with the BOM's three bytes in place.
      expect(Buffer.from(got[0].topic, 'utf8').subarray(p.length + 1, p.length + 4)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
      sub.destroy();
    }
  });

  it('the Topic Name is the first field of the PUBLISH variable header: a two-byte length, then the UTF-8 bytes [MQTT-3.3.2-1]', async () => {
    for (const version of VERSIONS) {
      const topic = `tn${version}/\u00e9t\u00e9/\u{1f600}`;
      const sub = await rawSubscriber(`tn-sub-${version}`, version, [[topic, 0]]);
      const bytes: Buffer[] = [];
      sub.socket.on('data', (chunk: Buffer) => bytes.push(chunk));
      const pub = await publisher(`tn-pub-${version}`, version);
      await pub.publishAsync(topic, 'p', { qos: 0 });
      await sub.next('publish');
      const frame = Buffer.concat(bytes);
      const encoded = Buffer.from(topic, 'utf8');
      expect(frame[0]).toBe(0x30);
      expect(frame.readUInt16BE(2)).toBe(encoded.length); // remaining length < 128: one byte
      expect(frame.subarray(4, 4 + encoded.length)).toEqual(encoded);
      sub.destroy();
    }
  });

  it('wildcards are accepted in a topic filter, and a PUBLISH whose topic name has one closes the connection and is not delivered [v3:MQTT-4.7.1-1] [v5:MQTT-4.7.0-1]', async () => {
    for (const version of VERSIONS) {
      const sub = await RawClient.connected(broker.port, `wc-sub-${version}`, version);
      raws.push(sub);
      expect(await subscribe(sub, [[`wc${version}/+/#`, 0], [`wc${version}/#`, 0]])).toEqual([0, 0]);
      for (const topic of [`wc${version}/+`, `wc${version}/a/#`]) {
        const raw = await RawClient.connected(broker.port, `wc-pub-${version}`, version);
        // PUBLISH QoS 0: topic length, topic, [property length 0,] payload "bad"
        const body = [0x00, topic.length, ...Buffer.from(topic), ...(version === 5 ? [0x00] : []), ...Buffer.from('bad')];
        raw.sendBytes([0x30, body.length, ...body]);
        await raw.waitClosed();
        if (version === 5) expect(raw.packets.map((p) => [p.cmd, (p as DisconnectPacket).reasonCode! >= 0x80])).toEqual([['disconnect', true]]);
        else expect(raw.packets).toEqual([]);
      }
      const pub = await publisher(`wc-marker-${version}`, version);
      await pub.publishAsync(`wc${version}/ok`, 'marker', { qos: 0 });
      expect((await nextPublish(sub)).payload.toString()).toBe('marker'); // the first message there: nothing with a wildcard got through
      sub.destroy();
    }
  });
});

describe('sessions', () => {
  it('CleanSession 0 / Clean Start 0: a new session is created, kept after the connection, and resumed by the same client id (Session Present 1), its subscriptions and stored QoS 1 and 2 messages with it [v3:MQTT-3.1.2-4] [v3:MQTT-3.1.2-5] [v3:MQTT-3.1.4-3] [v3:MQTT-4.1.0-1] [v3:MQTT-3.1.3-2] [v5:MQTT-3.1.3-2] [v5:MQTT-3.1.2-5] [v5:MQTT-3.1.2-6] [v5:MQTT-3.1.4-4] [v5:MQTT-3.2.2-3] [v5:MQTT-4.1.0-1]', async () => {
    for (const version of VERSIONS) {
      const topic = `cs0/${version}`;
      const first = await open(`cs0-${version}`, version, persistent(version));
      expect([first.connack.reasonCode, first.connack.sessionPresent]).toEqual([0, false]); // none existed: created
      await subscribe(first.raw, [[topic, 2]]);
      await closeCleanly(first.raw);
      const pub = await publisher(`cs0-pub-${version}`, version);
      await pub.publishAsync(topic, 'away-1', { qos: 1 });
      await pub.publishAsync(topic, 'away-2', { qos: 2 });
      // Another client id names other state: no session there.
      const other = await open(`cs0-${version}-other`, version, persistent(version));
      expect(other.connack.sessionPresent).toBe(false);
      await closeCleanly(other.raw);
      const again = await open(`cs0-${version}`, version, persistent(version));
      expect([again.connack.reasonCode, again.connack.sessionPresent]).toEqual([0, true]);
      // Stored while away, sent without a new SUBSCRIBE.
      const one = await nextPublish(again.raw);
      expect([one.payload.toString(), one.qos]).toEqual(['away-1', 1]);
      const two = (await again.raw.next('publish')) as PublishPacket;
      expect([two.payload.toString(), two.qos]).toEqual(['away-2', 2]);
      again.raw.send({ cmd: 'pubrec', messageId: two.messageId! });
      expect(await again.raw.next('pubrel')).toMatchObject({ messageId: two.messageId });
      again.raw.send({ cmd: 'pubcomp', messageId: two.messageId! });
      // The subscription is still in force for new messages.
      await pub.publishAsync(topic, 'live', { qos: 1 });
      expect((await nextPublish(again.raw)).payload.toString()).toBe('live');
      again.raw.destroy();
    }
  });

  it('CleanSession 1 / Clean Start 1 discards the stored session; a clean session lasts as long as its connection and no longer [v3:MQTT-3.1.2-6] [v3:MQTT-4.1.0-2] [v5:MQTT-3.1.2-4]', async () => {
    for (const version of VERSIONS) {
      const topic = `cs1/${version}`;
      const first = await open(`cs1-${version}`, version, persistent(version));
      await subscribe(first.raw, [[`${topic}/old`, 1]]);
      await closeCleanly(first.raw);
      const clean = await open(`cs1-${version}`, version, version === 5 ? { clean: true, properties: { sessionExpiryInterval: 300 } } : { clean: true });
      expect([clean.connack.reasonCode, clean.connack.sessionPresent]).toEqual([0, false]);
      await subscribe(clean.raw, [[`${topic}/new`, 1]]);
      const pub = await publisher(`cs1-pub-${version}`, version);
      await pub.publishAsync(`${topic}/old`, 'old', { qos: 1 }); // the discarded subscription
      await pub.publishAsync(`${topic}/new`, 'new', { qos: 1 });
      expect((await nextPublish(clean.raw)).payload.toString()).toBe('new');
      if (version === 4) {
        // The clean session's subscription is gone with its connection.
        await closeCleanly(clean.raw);
        const later = await open(`cs1-${version}`, version, { clean: true });
        expect(later.connack.sessionPresent).toBe(false);
        await subscribe(later.raw, [[`${topic}/marker`, 1]]);
        await pub.publishAsync(`${topic}/new`, 'new again', { qos: 1 });
        await pub.publishAsync(`${topic}/marker`, 'marker', { qos: 1 });
        expect((await nextPublish(later.raw)).payload.toString()).toBe('marker');
        later.raw.destroy();
      } else {
        clean.raw.destroy();
      }
    }
  });

  it('a Clean Start that takes over a connected session discards it too: its subscriptions deliver nothing more [v3:MQTT-3.1.2-6] [v5:MQTT-3.1.2-4]', async () => {
    for (const version of VERSIONS) {
      const topic = `cs1c/${version}`;
      const first = await open(`cs1c-${version}`, version, persistent(version));
      await subscribe(first.raw, [[`${topic}/old`, 1]]);
      // Still connected: the clean CONNECT takes the session over (on another worker, in a cluster, half the time).
      const clean = await open(`cs1c-${version}`, version, version === 5 ? { clean: true, properties: { sessionExpiryInterval: 300 } } : { clean: true });
      expect([clean.connack.reasonCode, clean.connack.sessionPresent]).toEqual([0, false]);
      await first.raw.waitClosed();
      await subscribe(clean.raw, [[`${topic}/new`, 1]]);
      const pub = await publisher(`cs1c-pub-${version}`, version);
      await pub.publishAsync(`${topic}/old`, 'old', { qos: 1 }); // the discarded subscription
      await pub.publishAsync(`${topic}/new`, 'new', { qos: 1 });
      expect((await nextPublish(clean.raw)).payload.toString()).toBe('new');
      clean.raw.destroy();
    }
  });

  it('retained messages are not session state: they outlive the session of the client that published them [v3:MQTT-3.1.2-7]', async () => {
    for (const version of VERSIONS) {
      const topic = `rs/${version}`;
      const owner = await open(`rs-owner-${version}`, version, persistent(version));
      owner.raw.send({ cmd: 'publish', topic, payload: Buffer.from('kept'), qos: 1, messageId: 1, retain: true, dup: false });
      await owner.raw.next('puback');
      await closeCleanly(owner.raw);
      // Clean session / Clean Start with expiry 0: the stored session ends.
      const ender = await open(`rs-owner-${version}`, version, { clean: true });
      expect(ender.connack.sessionPresent).toBe(false);
      await closeCleanly(ender.raw);
      const sub = await rawSubscriber(`rs-sub-${version}`, version, [[topic, 1]]);
      const got = await nextPublish(sub);
      expect([got.payload.toString(), got.retain]).toEqual(['kept', true]);
      sub.destroy();
    }
  });
});

describe('wills', () => {
  it('Will Flag 0: a client the server closes for a protocol error leaves no message behind [v3:MQTT-3.1.2-12]', async () => {
    for (const version of VERSIONS) {
      const inbox = await watcher(`nw-watch-${version}`, '#');
      const raw = await RawClient.connected(broker.port, `nw-${version}`, version);
      raw.sendBytes(version === 5 ? [0x36, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x00] : [0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]); // PUBLISH QoS 3
      await raw.waitClosed();
      const marker = await publisher(`nw-marker-${version}`);
      await marker.publishAsync(`nw/${version}/marker`, 'marker', { qos: 1 });
      let first = await inbox.next();
      while (first.retain) first = await inbox.next(); // what earlier tests retained, sent on subscribing
      expect(first.topic).toBe(`nw/${version}/marker`);
    }
  });

  it('Will Retain 0: the will is published and not retained; Will Retain 1: published and retained [v3:MQTT-3.1.2-16] [v3:MQTT-3.1.2-17] [v5:MQTT-3.1.2-14] [v5:MQTT-3.1.2-15] [v5:MQTT-3.1.2-7]', async () => {
    for (const version of VERSIONS) {
      const inbox = await watcher(`wr-watch-${version}`, `wr${version}/#`);
      const pub = await publisher(`wr-pub-${version}`, version);
      await pub.publishAsync(`wr${version}/0`, 'older', { qos: 1, retain: true });
      for (const retain of [false, true]) {
        const topic = `wr${version}/${retain ? 1 : 0}`;
        const raw = await RawClient.open(broker.port, version);
        raw.send(connectPacket(`wr-${version}-${retain}`, version, { will: { topic, payload: Buffer.from(`will ${retain}`), qos: 1, retain } }));
        expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
        raw.destroy();
        let live = await inbox.next();
        if (live.payload === 'older') live = await inbox.next(); // the retained one sent on subscribing
        expect([live.topic, live.payload]).toEqual([topic, `will ${retain}`]);
        // What a new subscriber finds retained: the will only if it was to be retained.
        const late = await rawSubscriber(`wr-late-${version}-${retain}`, version, [[topic, 1]]);
        const kept = await nextPublish(late);
        expect([kept.payload.toString(), kept.retain]).toEqual([retain ? 'will true' : 'older', true]);
        late.destroy();
      }
    }
  });
});

describe('CONNECT accepted and refused', () => {
  it('client ids of 1 to 23 bytes of 0-9a-zA-Z are accepted, at levels 3, 4 and 5 [v3:MQTT-3.1.3-5] [v5:MQTT-3.1.3-5]', async () => {
    const longest = '0123456789abcdefghijXYZ';
    expect(longest).toHaveLength(23);
    for (const version of [3, 4, 5] as const) {
      for (const clientId of ['a', 'Z', '7', longest]) {
        const raw = await RawClient.open(broker.port, version);
        raw.send({ cmd: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId });
        expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
        raw.send({ cmd: 'pingreq' });
        await raw.next('pingresp');
        raw.destroy();
      }
    }
  });

  it('a CONNECT breaking section 3.1 (Will QoS 1 with Will Flag 0) is closed: no CONNACK at level 4, at most a CONNACK of 0x80 or above at level 5 [v3:MQTT-3.1.4-1] [v5:MQTT-3.1.4-1] [v5:MQTT-4.13.2-1] [v5:MQTT-3.14.0-1]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawClient.open(broker.port, version);
      // CONNECT "MQTT" level, flags 0x0a (clean session, Will QoS 1, Will Flag 0), keep-alive 0, [property length 0,] client id "x"
      const body = [0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, version, 0x0a, 0x00, 0x00, ...(version === 5 ? [0x00] : []), 0x00, 0x01, 0x78];
      raw.sendBytes([0x10, body.length, ...body]);
      raw.send({ cmd: 'pingreq' });
      await raw.waitClosed();
      if (version === 4) {
        expect(raw.packets).toEqual([]);
      } else {
        expect(raw.packets.map((p) => p.cmd)).toEqual(['connack']);
        const connack = raw.packets[0] as ConnackPacket;
        expect(connack.sessionPresent).toBe(false);
        expect(connack.reasonCode).toBeGreaterThanOrEqual(0x80);
      }
    }
  });

  it('after refusing a CONNECT the server processes nothing sent behind it: no SUBACK, no PINGRESP, no message routed, no will [v3:MQTT-3.1.4-5] [v5:MQTT-3.1.4-6] [v3:MQTT-3.2.2-5] [v5:MQTT-3.14.0-1] [v5:MQTT-4.13.2-1]', async () => {
    for (const version of VERSIONS) {
      const topic = `rf/${version}`;
      const inbox = await watcher(`rf-watch-${version}`, `${topic}/#`);
      // 3.1.1: an empty client id with CleanSession 0 (0x02); 5.0: an authentication method we do not offer (0x8C).
      const refused = version === 5
        ? connectPacket(`rf-${version}`, 5, { properties: { authenticationMethod: 'none-here' }, will: { topic: `${topic}/will`, payload: Buffer.from('will'), qos: 0, retain: false } })
        : connectPacket('', 4, { clean: false, will: { topic: `${topic}/will`, payload: Buffer.from('will'), qos: 0, retain: false } });
      const raw = await RawClient.open(broker.port, version);
      raw.sendBytes(Buffer.concat([
        encode(refused, version),
        encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${topic}/#`, qos: 0 }] }, version),
        encode({ cmd: 'publish', topic: `${topic}/piped`, payload: Buffer.from('piped'), qos: 1, messageId: 2, retain: false, dup: false }, version),
        encode({ cmd: 'pingreq' }, version),
      ]));
      await raw.waitClosed();
      expect(raw.packets).toEqual([expect.objectContaining({ cmd: 'connack', sessionPresent: false, reasonCode: version === 5 ? 0x8c : 0x02 })]);
      const marker = await publisher(`rf-marker-${version}`);
      await marker.publishAsync(`${topic}/marker`, 'marker', { qos: 1 });
      expect((await inbox.next()).topic).toBe(`${topic}/marker`);
    }
  });
});

describe('CONNECT refused with a stored session', () => {
  let secured: TestBroker;
  beforeAll(async () => {
    secured = await startTestBroker({ username: 'u', password: 'p' });
  });
  afterAll(async () => {
    await secured.close();
  });

  it('a refused CONNECT gets Session Present 0 although a session is stored, then the close, and the session stays [v3:MQTT-3.2.2-4] [v5:MQTT-3.2.2-6] [v3:MQTT-3.2.2-5] [v5:MQTT-4.13.2-1] [v5:MQTT-3.14.0-1]', async () => {
    for (const version of VERSIONS) {
      const attempt = async (password: string): Promise<{ raw: RawClient; connack: ConnackPacket }> => {
        const raw = await RawClient.open(secured.port, version);
        raw.send(connectPacket(`sp-${version}`, version, { ...persistent(version), username: 'u', password: Buffer.from(password) }));
        return { raw, connack: (await raw.next('connack')) as ConnackPacket };
      };
      const first = await attempt('p');
      expect([first.connack.reasonCode, first.connack.sessionPresent]).toEqual([0, false]);
      await closeCleanly(first.raw);
      const refused = await attempt('wrong');
      expect([refused.connack.reasonCode, refused.connack.sessionPresent]).toEqual([version === 5 ? 0x86 : 0x04, false]);
      await refused.raw.waitClosed();
      expect(refused.raw.packets).toEqual([]); // nothing after the CONNACK, no DISCONNECT
      const again = await attempt('p');
      expect([again.connack.reasonCode, again.connack.sessionPresent]).toEqual([0, true]);
      await closeCleanly(again.raw);
    }
  });
});

describe('PUBLISH flags and flows', () => {
  it('a PUBLISH received with DUP 1 is forwarded with DUP 0: DUP says only whether that send is a retransmission [MQTT-3.3.1-3]', async () => {
    for (const version of VERSIONS) {
      const topic = `dup/${version}`;
      const sub = await rawSubscriber(`dupf-sub-${version}`, version, [[topic, 2]]);
      const raw = await RawClient.connected(broker.port, `dupf-pub-${version}`, version);
      raws.push(raw);
      raw.send({ cmd: 'publish', topic, payload: Buffer.from('q1'), qos: 1, messageId: 5, retain: false, dup: true });
      await raw.next('puback');
      raw.send({ cmd: 'publish', topic, payload: Buffer.from('q2'), qos: 2, messageId: 6, retain: false, dup: true });
      await raw.next('pubrec');
      raw.send({ cmd: 'pubrel', messageId: 6 });
      await raw.next('pubcomp');
      const one = await nextPublish(sub);
      const two = (await sub.next('publish')) as PublishPacket;
      expect([one.payload.toString(), one.dup, two.payload.toString(), two.dup]).toEqual(['q1', false, 'q2', false]);
      sub.destroy();
      raw.destroy();
    }
  });

  it('UNSUBSCRIBE: QoS 1 and 2 deliveries already started for the filter are completed: PUBREL follows PUBREC, and an unacknowledged one is sent again on resume [MQTT-3.10.4-3]', async () => {
    for (const version of VERSIONS) {
      const topic = `unsub/${version}`;
      const first = await open(`unsub-${version}`, version, persistent(version));
      await subscribe(first.raw, [[topic, 2]]);
      const pub = await publisher(`unsub-pub-${version}`, version);
      await pub.publishAsync(topic, 'q1', { qos: 1 });
      await pub.publishAsync(topic, 'q2', { qos: 2 });
      const q1 = (await first.raw.next('publish')) as PublishPacket;
      const q2 = (await first.raw.next('publish')) as PublishPacket;
      expect([q1.qos, q2.qos]).toEqual([1, 2]);
      first.raw.send({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: [topic] });
      await first.raw.next('unsuback');
      first.raw.send({ cmd: 'pubrec', messageId: q2.messageId! });
      expect(await first.raw.next('pubrel')).toMatchObject({ cmd: 'pubrel', messageId: q2.messageId });
      first.raw.destroy(); // neither the PUBACK of q1 nor the PUBCOMP of q2
      await new Promise((r) => first.raw.socket.once('close', r));
      const again = await open(`unsub-${version}`, version, persistent(version));
      expect(again.connack.sessionPresent).toBe(true);
      const resent = [await again.raw.next(), await again.raw.next()];
      expect(resent).toEqual(expect.arrayContaining([
        expect.objectContaining({ cmd: 'publish', messageId: q1.messageId, dup: true, qos: 1 }),
        expect.objectContaining({ cmd: 'pubrel', messageId: q2.messageId }),
      ]));
      again.raw.send({ cmd: 'puback', messageId: q1.messageId! });
      again.raw.send({ cmd: 'pubcomp', messageId: q2.messageId! });
      // The filter is gone: a new message is not sent (the marker is the next packet).
      await subscribe(again.raw, [[`${topic}/marker`, 0]], 2);
      await pub.publishAsync(topic, 'after', { qos: 1 });
      await pub.publishAsync(`${topic}/marker`, 'marker', { qos: 1 });
      expect(((await again.raw.next('publish')) as PublishPacket).payload.toString()).toBe('marker');
      again.raw.destroy();
    }
  });

  it('a message is added to the session of every matching subscriber: exact and wildcard, online and offline [MQTT-4.5.0-1]', async () => {
    for (const version of VERSIONS) {
      const topic = `fan/${version}/a`;
      const exact = await rawSubscriber(`fan-exact-${version}`, version, [[topic, 1]]);
      const wild = await rawSubscriber(`fan-wild-${version}`, version, [[`fan/${version}/+`, 1]]);
      const away = await open(`fan-away-${version}`, version, persistent(version));
      await subscribe(away.raw, [[`fan/${version}/#`, 1]]);
      await closeCleanly(away.raw);
      const pub = await publisher(`fan-pub-${version}`, version);
      await pub.publishAsync(topic, 'all', { qos: 1 });
      expect((await nextPublish(exact)).payload.toString()).toBe('all');
      expect((await nextPublish(wild)).payload.toString()).toBe('all');
      const back = await open(`fan-away-${version}`, version, persistent(version));
      expect((await nextPublish(back.raw)).payload.toString()).toBe('all');
      for (const raw of [exact, wild, back.raw]) raw.destroy();
    }
  });

  it('every topic is ordered: QoS 0, 1 and 2 messages from one client reach a subscriber in the order sent, per topic and QoS [v3:MQTT-4.6.0-5] [v5:MQTT-4.6.0-5] [v5:MQTT-4.6.0-6]', async () => {
    for (const version of VERSIONS) {
      const sub = await rawSubscriber(`ord-sub-${version}`, version, [[`ord/${version}/#`, 2]]);
      const raw = await RawClient.connected(broker.port, `ord-pub-${version}`, version);
      raws.push(raw);
      const sent: Array<[string, number, string]> = [];
      for (let i = 0; i < 30; i++) {
        const qos = (i % 3) as 0 | 1 | 2;
        const topic = `ord/${version}/${i % 2}`;
        sent.push([topic, qos, String(i)]);
        // Pipelined: no wait for acknowledgements between them.
        raw.send({ cmd: 'publish', topic, payload: Buffer.from(String(i)), qos, messageId: qos === 0 ? undefined : i + 1, retain: false, dup: false });
      }
      const got: Array<[string, number, string]> = [];
      while (got.length < sent.length) {
        const packet = await sub.next();
        if (packet.cmd === 'pubrel') sub.send({ cmd: 'pubcomp', messageId: packet.messageId });
        if (packet.cmd !== 'publish') continue;
        if (packet.qos === 1) sub.send({ cmd: 'puback', messageId: packet.messageId! });
        if (packet.qos === 2) sub.send({ cmd: 'pubrec', messageId: packet.messageId! });
        got.push([packet.topic, packet.qos, packet.payload.toString()]);
      }
      for (const topic of [`ord/${version}/0`, `ord/${version}/1`]) {
        for (const qos of [0, 1, 2]) {
          const pick = (list: Array<[string, number, string]>) => list.filter(([t, q]) => t === topic && q === qos).map(([, , p]) => p);
          expect(pick(got)).toEqual(pick(sent));
        }
      }
      sub.destroy();
      raw.destroy();
    }
  });
});

describe('transport', () => {
  it('over TCP, an ordered lossless byte stream: packets written one byte at a time are all understood and answered [v3:MQTT-7.1.1-1] [v5:MQTT-7.1.1-1] [v5:MQTT-4.2.0-1]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawClient.open(broker.port, version);
      raws.push(raw);
      raw.socket.setNoDelay(true);
      const bytes = Buffer.concat([
        encode(connectPacket(`bytes-${version}`, version), version),
        encode({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `bytes/${version}`, qos: 0 }] }, version),
        encode({ cmd: 'pingreq' }, version),
      ]);
      for (const byte of bytes) {
        raw.socket.write(Buffer.of(byte));
        await new Promise((r) => setImmediate(r));
      }
      expect((await raw.next('connack')) as ConnackPacket).toMatchObject({ reasonCode: 0 });
      // SUBACK and PINGRESP may come in either order (the subscription may take a store round trip).
      const answers = [await raw.next(), await raw.next()].sort((a, b) => a.cmd.localeCompare(b.cmd));
      expect(answers).toMatchObject([{ cmd: 'pingresp' }, { cmd: 'suback', messageId: 3, granted: [0] }]);
      raw.destroy();
    }
  });
});
