// The one answer path (broker/answers.ts) and the capabilities a CONNACK announces, each enforced
// when turned off: what a v5 client is told (CONNACK properties, reason codes) and what a v3.1.1
// client gets instead (a return code it has, or a plain close with nothing before it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, type ConnackPacket, type DisconnectPacket, type Packet, type SubackPacket } from '../../../src/protocol/index.js';
import { connectClient, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

function connectPacket(version: 4 | 5, clientId: string, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

/** Opens a raw connection, sends CONNECT and returns the client with the first packet it got. */
async function attempt(port: number, version: 4 | 5, clientId: string, extra: Record<string, unknown> = {}): Promise<{ raw: RawClient; first: Packet }> {
  const raw = await RawClient.open(port, version);
  raw.send(connectPacket(version, clientId, extra));
  return { raw, first: await raw.next() };
}

/** The server closed the connection and sent nothing at all before (v3.1.1 refusals without a return code). */
async function closedSilently(raw: RawClient): Promise<void> {
  await raw.waitClosed();
  expect(raw.packets).toEqual([]);
}

async function disconnectCode(raw: RawClient): Promise<number | undefined> {
  const packet = (await raw.next('disconnect')) as DisconnectPacket;
  await raw.waitClosed();
  return packet.reasonCode;
}

describe('answers on the default broker', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ maxTopicLength: 16 });
  });
  afterAll(() => broker.close());

  it('a v5 CONNECT whose will topic breaks a limit gets CONNACK 0x90, not a bare close [v5:MQTT-3.2.2-7]', async () => {
    const { raw, first } = await attempt(broker.port, 5, 'ans-will5', { will: { topic: 'will/topic/over/the/limit', payload: Buffer.from('x'), qos: 0, retain: false } });
    expect(first.cmd).toBe('connack');
    expect((first as ConnackPacket).reasonCode).toBe(0x90);
    expect((first as ConnackPacket).properties?.reasonString).toMatch(/max-topic-length/);
    await raw.waitClosed();
  });

  it('the same CONNECT in v3.1.1 is closed with no CONNACK (3.1.1 has no return code for it) [v3:MQTT-3.2.2-6]', async () => {
    const raw = await RawClient.open(broker.port, 4);
    raw.send(connectPacket(4, 'ans-will4', { will: { topic: 'will/topic/over/the/limit', payload: Buffer.from('x'), qos: 0, retain: false } }));
    await closedSilently(raw);
  });

  it('a v5 CONNECT that cannot be decoded (a property CONNECT may not carry) gets CONNACK 0x82 in v5 form', async () => {
    const raw = await RawClient.open(broker.port, 5);
    // CONNECT v5, properties: Topic Alias (0x23) = 1, which a CONNECT may not carry.
    const body = [0, 4, ...Buffer.from('MQTT'), 5, 0x02, 0, 0, 3, 0x23, 0, 1, 0, 1, 0x61];
    raw.sendBytes([0x10, body.length, ...body]);
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.reasonCode).toBeGreaterThanOrEqual(0x81);
    expect([0x81, 0x82]).toContain(connack.reasonCode);
    await raw.waitClosed();
  });

  it('a v5 PUBLISH to $share/… gets DISCONNECT 0x90: it is a filter prefix, not a topic', async () => {
    const raw = await RawClient.connected(broker.port, 'ans-share5', 5);
    raw.send({ cmd: 'publish', topic: '$share/g/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    expect(await disconnectCode(raw)).toBe(0x90);
  });

  it('a v3.1.1 PUBLISH to $share/… is closed without any packet', async () => {
    const raw = await RawClient.connected(broker.port, 'ans-share4', 4);
    raw.send({ cmd: 'publish', topic: '$share/g/t', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    await closedSilently(raw);
  });

  it('the CONNACK leaves out what does not fit the client Maximum Packet Size, 20 bytes or less [v5:MQTT-3.1.2-24] [MQTT-3.2.2-19]', async () => {
    for (const limit of [8, 12, 20, 30]) {
      const { raw, first } = await attempt(broker.port, 5, '', { properties: { maximumPacketSize: limit } });
      const connack = first as ConnackPacket;
      expect(connack.reasonCode).toBe(0);
      expect(encode(connack, 5).length).toBeLessThanOrEqual(limit);
      raw.destroy();
    }
    // With room, everything is there, the assigned client id included.
    const { raw, first } = await attempt(broker.port, 5, '', { properties: { maximumPacketSize: 200 } });
    const full = first as ConnackPacket;
    expect(full.properties?.assignedClientIdentifier).toMatch(/^starling-/);
    expect(full.properties?.maximumPacketSize).toBeGreaterThan(0);
    expect(encode(full, 5).length).toBeGreaterThan(30);
    raw.destroy();
  });

  it('a refused filter gets a reason string in SUBACK, unless the client asked for no problem information [MQTT-3.1.2-29]', async () => {
    const subscribe = { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b/c/d/e/f/g/h/i/j/k', qos: 0 }, { topic: 'ok', qos: 1 }] } as Packet;
    const chatty = await RawClient.connected(broker.port, 'ans-problem1', 5);
    chatty.send(subscribe);
    const told = (await chatty.next('suback')) as SubackPacket;
    expect(told.granted).toEqual([0x8f, 1]);
    expect(told.properties?.reasonString).toMatch(/max-topic-length/);
    const quiet = await RawClient.connected(broker.port, 'ans-problem0', 5, { properties: { requestProblemInformation: 0 } } as Partial<Packet>);
    quiet.send(subscribe);
    const untold = (await quiet.next('suback')) as SubackPacket;
    expect(untold.granted).toEqual([0x8f, 1]);
    expect(untold.properties?.reasonString).toBeUndefined();
    // DISCONNECT may still carry one (it is not an acknowledgement).
    quiet.send({ cmd: 'publish', topic: 'this/topic/is/too/long', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    const d = (await quiet.next('disconnect')) as DisconnectPacket;
    expect(d.reasonCode).toBe(0x90);
    chatty.destroy();
  });

  it('no Response Information unless configured, even when requested; none when not requested [MQTT-3.1.2-28]', async () => {
    const { raw, first } = await attempt(broker.port, 5, 'ans-resp-none', { properties: { requestResponseInformation: 1 } });
    expect((first as ConnackPacket).properties?.responseInformation).toBeUndefined();
    raw.destroy();
  });
});

describe('capabilities turned off', () => {
  let broker: TestBroker;
  /** v3.1.1 clients must ask for a keep-alive within --max-keepalive 60 here. */
  const within60 = { keepalive: 30 } as Partial<Packet>;
  beforeAll(async () => {
    broker = await startTestBroker({
      maxQos: 1,
      retainAvailable: false,
      wildcardSubscriptions: false,
      sharedSubscriptions: false,
      subscriptionIdentifiers: false,
      receiveMaximum: 2,
      maxKeepalive: 60,
      maxSessionExpiry: 30,
      responseInformation: 'reply/%c/',
    });
  });
  afterAll(() => broker.close());

  it('CONNACK announces them, with the server keep-alive, the lowered session expiry and Response Information when requested [MQTT-3.2.2-21] [MQTT-3.2.2-9]', async () => {
    const { raw, first } = await attempt(broker.port, 5, 'cap-connack', { keepalive: 0, properties: { sessionExpiryInterval: 3600, requestResponseInformation: 1 } });
    const props = (first as ConnackPacket).properties ?? {};
    expect(props).toMatchObject({
      maximumQoS: 1,
      retainAvailable: 0,
      wildcardSubscriptionAvailable: 0,
      sharedSubscriptionAvailable: 0,
      subscriptionIdentifiersAvailable: 0,
      receiveMaximum: 2,
      serverKeepAlive: 60,
      sessionExpiryInterval: 30,
      responseInformation: 'reply/cap-connack/',
    });
    raw.destroy();
    // What the client asked for within the limits is not restated.
    const within = await attempt(broker.port, 5, 'cap-within', { keepalive: 30, properties: { sessionExpiryInterval: 10 } });
    expect((within.first as ConnackPacket).properties?.serverKeepAlive).toBeUndefined();
    expect((within.first as ConnackPacket).properties?.sessionExpiryInterval).toBeUndefined();
    expect((within.first as ConnackPacket).properties?.responseInformation).toBeUndefined();
    within.raw.destroy();
  });

  it('v3.1.1: a keep-alive over --max-keepalive (or 0) is refused with 0x02, as Mosquitto does; within it is accepted', async () => {
    for (const keepalive of [61, 0]) {
      const { raw, first } = await attempt(broker.port, 4, `cap-ka4-${keepalive}`, { keepalive });
      expect(first.cmd).toBe('connack');
      expect((first as ConnackPacket).reasonCode).toBe(0x02);
      await raw.waitClosed();
    }
    const ok = await RawClient.connected(broker.port, 'cap-ka4-ok', 4, { keepalive: 60 } as Partial<Packet>);
    ok.destroy();
  });

  it('PUBLISH above Maximum QoS: v5 DISCONNECT 0x9B, v3.1.1 close', async () => {
    const v5 = await RawClient.connected(broker.port, 'cap-qos5', 5);
    v5.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    expect(await disconnectCode(v5)).toBe(0x9b);
    const v4 = await RawClient.connected(broker.port, 'cap-qos4', 4, within60);
    v4.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 1, retain: false, dup: false });
    await closedSilently(v4);
  });

  it('a SUBSCRIBE asking QoS 2 is granted the maximum QoS [v5:MQTT-3.2.2-10]', async () => {
    for (const version of [4, 5] as const) {
      const raw = await RawClient.connected(broker.port, `cap-grant${version}`, version, within60);
      raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'g', qos: 2 }] });
      expect(((await raw.next('suback')) as SubackPacket).granted).toEqual([1]);
      raw.destroy();
    }
  });

  it('a will above Maximum QoS or retained: v5 CONNACK 0x9B / 0x9A [v5:MQTT-3.2.2-12] [v5:MQTT-3.2.2-13]; v3.1.1 closed without CONNACK', async () => {
    const qos2 = { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false };
    const retained = { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true };
    expect(((await attempt(broker.port, 5, 'cap-will-q', { will: qos2 })).first as ConnackPacket).reasonCode).toBe(0x9b);
    expect(((await attempt(broker.port, 5, 'cap-will-r', { will: retained })).first as ConnackPacket).reasonCode).toBe(0x9a);
    const raw = await RawClient.open(broker.port, 4);
    raw.send(connectPacket(4, 'cap-will4', { will: retained }));
    await closedSilently(raw);
  });

  it('a retained PUBLISH: v5 DISCONNECT 0x9A', async () => {
    const raw = await RawClient.connected(broker.port, 'cap-retain5', 5);
    raw.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: true, dup: false });
    expect(await disconnectCode(raw)).toBe(0x9a);
  });

  it('wildcard, shared and identified subscriptions: v5 DISCONNECT 0xA2 / 0x9E / 0xA1; v3.1.1 SUBACK 0x80 for that filter only [v3:MQTT-3.8.3-2]', async () => {
    const cases: Array<[Packet, number]> = [
      [{ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 0 }] } as Packet, 0xa2],
      [{ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 0 }] } as Packet, 0xa2],
      [{ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/a', qos: 0 }] } as Packet, 0x9e],
      [{ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }], properties: { subscriptionIdentifiers: [7] } } as Packet, 0xa1],
    ];
    for (const [i, [subscribe, code]] of cases.entries()) {
      const raw = await RawClient.connected(broker.port, `cap-sub5-${i}`, 5);
      raw.send(subscribe);
      expect(await disconnectCode(raw)).toBe(code);
    }
    const v4 = await RawClient.connected(broker.port, 'cap-sub4', 4, within60);
    v4.send({ cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: 'a/+', qos: 0 }, { topic: 'plain', qos: 1 }, { topic: '$share/g/a', qos: 1 }] });
    expect(((await v4.next('suback')) as SubackPacket).granted).toEqual([0x80, 1, 0x80]);
    v4.destroy();
  });

  it('more unacknowledged QoS 2 PUBLISHes than Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-7]; up to it is fine', async () => {
    const raw = await RawClient.connected(broker.port, 'cap-rm', 5, { properties: {} } as Partial<Packet>);
    // QoS 2 is above --max-qos here: use QoS 1 PUBLISHes in one write, all parsed before any PUBACK.
    const frames = [1, 2, 3].map((messageId) => encode({ cmd: 'publish', topic: 'rm', payload: Buffer.from('x'), qos: 1, messageId, retain: false, dup: false }, 5));
    raw.sendBytes(Buffer.concat(frames.slice(0, 2)));
    expect((await raw.next('puback')).cmd).toBe('puback');
    expect((await raw.next('puback')).cmd).toBe('puback');
    raw.sendBytes(Buffer.concat(frames));
    expect(await disconnectCode(raw)).toBe(0x93);
  });
});

describe('Receive Maximum with QoS 2, and a real client', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ receiveMaximum: 2 });
  });
  afterAll(() => broker.close());

  it('QoS 2 ids count until PUBREL: a third unreleased one gets DISCONNECT 0x93; released ones free the quota', async () => {
    const raw = await RawClient.connected(broker.port, 'rm2', 5);
    const publish = (messageId: number): void => raw.send({ cmd: 'publish', topic: 'rm2', payload: Buffer.from('x'), qos: 2, messageId, retain: false, dup: false });
    publish(1);
    publish(2);
    expect((await raw.next('pubrec')).cmd).toBe('pubrec');
    expect((await raw.next('pubrec')).cmd).toBe('pubrec');
    raw.send({ cmd: 'pubrel', messageId: 1 });
    expect((await raw.next('pubcomp')).cmd).toBe('pubcomp');
    publish(3); // two unreleased again (2, 3): within the quota
    expect((await raw.next('pubrec')).cmd).toBe('pubrec');
    publish(4);
    expect(await disconnectCode(raw)).toBe(0x93);
  });

  it('mqtt.js (which does not limit itself by the server Receive Maximum) is disconnected with 0x93 when it exceeds it', async () => {
    const client = await connectClient(broker.url, { protocolVersion: 5, clientId: 'rm-js' });
    let code: number | undefined;
    client.on('disconnect', (packet) => {
      code = packet.reasonCode;
    });
    // The subscriber-less QoS 2 flow completes fast, so hold PUBREL back: a client that sends 3 at once
    // before reading anything still has them all unreleased when the third arrives.
    client.stream.cork();
    for (let i = 0; i < 3; i++) client.publish('rm-js', 'x', { qos: 2 });
    client.stream.uncork();
    await waitFor(() => code !== undefined, 'DISCONNECT from the broker');
    expect(code).toBe(0x93);
    client.end(true);
  });
});

describe('keep-alive cap enforced', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ maxKeepalive: 1 });
  });
  afterAll(() => broker.close());

  it('a v5 client asking keep-alive 0 is told 1 s and held to it: silent, it gets DISCONNECT 0x8D [MQTT-3.2.2-21] [v5:MQTT-3.1.2-22]', async () => {
    const { raw, first } = await attempt(broker.port, 5, 'ka-held', { keepalive: 0 });
    expect((first as ConnackPacket).properties?.serverKeepAlive).toBe(1);
    expect(((await raw.next('disconnect', 5000)) as DisconnectPacket).reasonCode).toBe(0x8d);
  });

  it('a v5 client asking a keep-alive within the cap is not told one and is held to its own [MQTT-3.2.2-22]', async () => {
    const { raw, first } = await attempt(broker.port, 5, 'ka-own', { keepalive: 1 });
    expect((first as ConnackPacket).properties?.serverKeepAlive).toBeUndefined();
    expect(((await raw.next('disconnect', 5000)) as DisconnectPacket).reasonCode).toBe(0x8d);
  });
});

describe('session expiry cap', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ maxSessionExpiry: 1 });
  });
  afterAll(() => broker.close());

  it('a v3.1.1 persistent session (which never expires) ends after --max-session-expiry', async () => {
    const first = await RawClient.open(broker.port, 4);
    first.send({ ...connectPacket(4, 'exp-v4'), clean: false } as Packet);
    expect(((await first.next('connack')) as ConnackPacket).sessionPresent).toBe(false);
    first.send({ cmd: 'disconnect' });
    await first.waitClosed();
    // Offline persistent sessions count in clients/total: without the cap this one would stay.
    await waitFor(async () => (await broker.stats()).clientsTotal === 0, 'the offline session to expire', 8000, 50);
    const again = await RawClient.open(broker.port, 4);
    again.send({ ...connectPacket(4, 'exp-v4'), clean: false } as Packet);
    expect(((await again.next('connack')) as ConnackPacket).sessionPresent).toBe(false);
    again.destroy();
  });
});
