// Statements of both specs that no feature test named: the basic exchanges, checked on raw
// sockets at protocol level 4 (3.1.1) and 5, byte for byte where the statement is about bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, Packet, PublishPacket, SubackPacket, UnsubackPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.close();
});

const VERSIONS = [4, 5] as const;
type Version = (typeof VERSIONS)[number];

function connectPacket(clientId: string, version: Version, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

async function subscriber(clientId: string, version: Version, topic: string, qos: 0 | 1 | 2): Promise<RawClient> {
  const raw = await RawClient.connected(broker.port, clientId, version);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  await raw.next('suback');
  return raw;
}

/** No packet arrives within ms (the socket stays open). */
async function quiet(raw: RawClient, ms = 300): Promise<void> {
  const before = raw.packets.length;
  await new Promise((r) => setTimeout(r, ms));
  expect(raw.packets.slice(before)).toEqual([]);
}

describe('CONNECT and CONNACK', () => {
  it('an accepted clean CONNECT gets CONNACK first: return/reason code 0, Session Present 0, flag bits 7-1 zero [v3:MQTT-3.1.4-4] [MQTT-3.2.0-1] [v3:MQTT-3.2.2-1] [v5:MQTT-3.1.4-5] [v5:MQTT-3.2.2-1] [v5:MQTT-3.2.2-2]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawClient.open(broker.port, version);
      const bytes: Buffer[] = [];
      raw.socket.on('data', (chunk: Buffer) => bytes.push(chunk));
      raw.send(connectPacket(`acc-${version}`, version));
      raw.send({ cmd: 'pingreq' });
      await raw.next('connack');
      await raw.next('pingresp');
      const all = Buffer.concat(bytes);
      expect(all[0]).toBe(0x20); // the first packet is CONNACK
      expect(all[2]).toBe(0x00); // acknowledge flags: Session Present 0, bits 7-1 zero
      expect(all[3]).toBe(0x00); // accepted
      raw.destroy();
    }
  });

  it('PINGREQ is answered with PINGRESP [MQTT-3.12.4-1]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawClient.connected(broker.port, `ping-${version}`, version);
      raw.send({ cmd: 'pingreq' });
      expect((await raw.next()).cmd).toBe('pingresp');
      raw.destroy();
    }
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  it('several filters in one SUBSCRIBE: one SUBACK with its packet id and a granted QoS per filter, in order [MQTT-3.8.4-1] [MQTT-3.8.4-2] [v3:MQTT-3.8.4-4] [v3:MQTT-3.8.4-5] [v3:MQTT-2.3.1-7] [v5:MQTT-3.8.4-5] [v5:MQTT-3.8.4-6] [v5:MQTT-3.8.4-7] [MQTT-2.2.1-6] [MQTT-3.9.3-2]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawClient.connected(broker.port, `multi-sub-${version}`, version);
      raw.send({ cmd: 'subscribe', messageId: 4242, subscriptions: [{ topic: 'ms/2', qos: 2 }, { topic: 'ms/0', qos: 0 }, { topic: 'ms/+', qos: 1 }] });
      const suback = (await raw.next('suback')) as SubackPacket;
      expect(suback.messageId).toBe(4242);
      expect(suback.granted).toEqual([2, 0, 1]);
      await quiet(raw, 100); // one SUBACK only
      raw.destroy();
    }
  });

  it('several filters in one UNSUBSCRIBE: one UNSUBACK with its packet id; only exactly equal filters are removed and no new message follows them [MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-6] [MQTT-2.2.1-6] [v3:MQTT-2.3.1-7] [MQTT-3.11.3-2]', async () => {
    for (const version of VERSIONS) {
      const raw = await RawClient.connected(broker.port, `multi-unsub-${version}`, version);
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `mu${version}/a`, qos: 0 }, { topic: `mu${version}/b`, qos: 0 }, { topic: `mu${version}/c`, qos: 0 }] });
      await raw.next('suback');
      raw.send({ cmd: 'unsubscribe', messageId: 777, unsubscriptions: [`mu${version}/a`, `mu${version}/+`, `mu${version}/b`] });
      const unsuback = (await raw.next('unsuback')) as UnsubackPacket;
      expect(unsuback.messageId).toBe(777);
      if (version === 5) expect(unsuback.reasonCodes).toEqual([0x00, 0x11, 0x00]); // '+' matched no subscription: it is not a pattern here
      const pub = await connectClient(broker.url, { clientId: `mu-pub-${version}` });
      for (const t of ['a', 'b', 'c']) await pub.publishAsync(`mu${version}/${t}`, t, { qos: 1 });
      const got = (await raw.next('publish')) as PublishPacket;
      expect(got.topic).toBe(`mu${version}/c`);
      await quiet(raw);
      await pub.endAsync(true);
      raw.destroy();
    }
  });
});

describe('QoS flows, the broker receiving', () => {
  it('QoS 1: PUBACK carries the PUBLISH id; the same id again, DUP 0, is a new message [MQTT-3.3.4-1] [v3:MQTT-4.3.2-2] [v3:MQTT-2.3.1-6] [v5:MQTT-4.3.2-4] [v5:MQTT-4.3.2-5] [MQTT-2.2.1-5]', async () => {
    for (const version of VERSIONS) {
      const sub = await subscriber(`in1-sub-${version}`, version, `in1/${version}`, 0);
      const raw = await RawClient.connected(broker.port, `in1-pub-${version}`, version);
      for (const payload of ['one', 'two']) {
        raw.send({ cmd: 'publish', topic: `in1/${version}`, payload: Buffer.from(payload), qos: 1, messageId: 31, retain: false, dup: false });
        const ack = await raw.next('puback');
        expect(ack).toMatchObject({ cmd: 'puback', messageId: 31 });
        expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe(payload);
      }
      sub.destroy();
      raw.destroy();
    }
  });

  it('QoS 2: PUBREC and PUBCOMP carry the ids; after PUBCOMP the same id is a new message [MQTT-3.3.4-1] [v3:MQTT-4.3.3-2] [v5:MQTT-4.3.3-8] [MQTT-4.3.3-11] [v5:MQTT-4.3.3-12] [MQTT-2.2.1-5]', async () => {
    for (const version of VERSIONS) {
      const sub = await subscriber(`in2-sub-${version}`, version, `in2/${version}`, 0);
      const raw = await RawClient.connected(broker.port, `in2-pub-${version}`, version);
      for (const payload of ['one', 'two']) {
        raw.send({ cmd: 'publish', topic: `in2/${version}`, payload: Buffer.from(payload), qos: 2, messageId: 32, retain: false, dup: false });
        expect(await raw.next('pubrec')).toMatchObject({ cmd: 'pubrec', messageId: 32 });
        raw.send({ cmd: 'pubrel', messageId: 32 });
        expect(await raw.next('pubcomp')).toMatchObject({ cmd: 'pubcomp', messageId: 32 });
        expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe(payload);
      }
      sub.destroy();
      raw.destroy();
    }
  });
});

describe('QoS flows, the broker sending', () => {
  it('QoS 0 goes out with QoS 0, DUP 0 and no packet id; QoS 1 with QoS 1, DUP 0 and a fresh non-zero id each; the topic is the one published, matching the filter [MQTT-4.3.1-1] [v3:MQTT-4.3.2-1] [v5:MQTT-4.3.2-1] [v5:MQTT-4.3.2-2] [v3:MQTT-2.3.1-4] [v3:MQTT-2.3.1-5] [MQTT-2.2.1-2] [MQTT-2.2.1-4] [MQTT-3.3.2-3]', async () => {
    for (const version of VERSIONS) {
      const sub = await subscriber(`out-sub-${version}`, version, `out${version}/+`, 1);
      const bytes: Buffer[] = [];
      sub.socket.on('data', (chunk: Buffer) => bytes.push(chunk));
      const pub = await connectClient(broker.url, { clientId: `out-pub-${version}` });
      await pub.publishAsync(`out${version}/zero`, 'z', { qos: 0 });
      const zero = (await sub.next('publish')) as PublishPacket;
      expect(zero).toMatchObject({ topic: `out${version}/zero`, qos: 0, dup: false });
      // Fixed header 0x30: QoS 0, DUP 0; topic then payload with no packet id between them.
      const first = Buffer.concat(bytes);
      expect(first[0]).toBe(0x30);
      expect(first.subarray(first.length - 1).toString()).toBe('z');
      expect(first.length).toBe(2 + 2 + `out${version}/zero`.length + (version === 5 ? 1 : 0) + 1);
      const ids: number[] = [];
      for (const n of [1, 2]) {
        await pub.publishAsync(`out${version}/one`, `m${n}`, { qos: 1 });
        const p = (await sub.next('publish')) as PublishPacket;
        expect(p).toMatchObject({ topic: `out${version}/one`, qos: 1, dup: false });
        expect(p.messageId).toBeGreaterThan(0);
        ids.push(p.messageId!); // left unacknowledged, so the next one needs another id
      }
      expect(ids[0]).not.toBe(ids[1]);
      for (const id of ids) sub.send({ cmd: 'puback', messageId: id });
      await pub.endAsync(true);
      sub.destroy();
    }
  });
});

describe('DISCONNECT', () => {
  it('a DISCONNECT with reserved flag bits set closes the connection, and the will is published as for any abnormal close [MQTT-3.14.1-1]', async () => {
    for (const version of VERSIONS) {
      const watcher = await connectClient(broker.url, { clientId: `dr-watch-${version}` });
      const inbox = new Inbox(watcher);
      await watcher.subscribeAsync(`dr/${version}`, { qos: 0 });
      const raw = await RawClient.open(broker.port, version);
      raw.send(connectPacket(`dr-${version}`, version, { will: { topic: `dr/${version}`, payload: Buffer.from('gone'), qos: 0, retain: false } }));
      expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
      raw.sendBytes(version === 5 ? [0xe1, 0x01, 0x00] : [0xe1, 0x00]);
      await raw.waitClosed();
      expect((await inbox.next()).payload).toBe('gone');
      await watcher.endAsync(true);
    }
  });
});

describe('retained messages', () => {
  it('RETAIN 0 neither stores nor clears; a QoS 0 retained message replaces the retained one [v3:MQTT-3.3.1-12] [v5:MQTT-3.3.1-8] [v3:MQTT-3.3.1-7]', async () => {
    for (const version of VERSIONS) {
      const pub = await connectClient(broker.url, { clientId: `rt-pub-${version}`, protocolVersion: version });
      const topic = `rt/${version}`;
      await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
      await pub.publishAsync(topic, 'live', { qos: 1, retain: false });
      let sub = await subscriber(`rt-sub-a-${version}`, version, topic, 1);
      expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('kept');
      sub.destroy();
      await pub.publishAsync(topic, 'zero', { qos: 0, retain: true });
      await new Promise((r) => setTimeout(r, 100));
      sub = await subscriber(`rt-sub-b-${version}`, version, topic, 1);
      expect(((await sub.next('publish')) as PublishPacket).payload.toString()).toBe('zero');
      await quiet(sub, 200);
      sub.destroy();
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      await pub.endAsync(true);
    }
  });
});
