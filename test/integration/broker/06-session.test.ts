// Persistent sessions (clean session 0): subscriptions kept, offline queue, session present,
// in-flight resent with DUP on resume; clean session 1 discards the old session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { waitFor } from '../../helpers/wait.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, Packet, PublishPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ maxQueued: 5 });
});
afterAll(async () => {
  await broker.close();
});

function connect(clientId: string, clean: boolean): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean, keepalive: 0, clientId } as Packet;
}

async function rawSession(clientId: string, clean: boolean): Promise<{ raw: RawClient; sessionPresent: boolean }> {
  const raw = await RawClient.open(broker.port);
  raw.send(connect(clientId, clean));
  const connack = (await raw.next('connack')) as ConnackPacket;
  expect(connack.reasonCode).toBe(0);
  return { raw, sessionPresent: connack.sessionPresent };
}

describe('persistent sessions', () => {
  it('session present is 0 for a new session and 1 for a resumed one [v3:MQTT-3.2.2-2] [v3:MQTT-3.2.2-3]', async () => {
    const a = await rawSession('sp', false);
    expect(a.sessionPresent).toBe(false);
    a.raw.send({ cmd: 'disconnect' });
    await a.raw.waitClosed();
    const b = await rawSession('sp', false);
    expect(b.sessionPresent).toBe(true);
    b.raw.destroy();
  });

  it('clean session 1 discards the previous session [v3:MQTT-3.1.2-6]', async () => {
    const a = await rawSession('discard', false);
    a.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'discard/t', qos: 1 }] });
    await a.raw.next('suback');
    a.raw.send({ cmd: 'disconnect' });
    await a.raw.waitClosed();
    const b = await rawSession('discard', true);
    expect(b.sessionPresent).toBe(false);
    b.raw.send({ cmd: 'disconnect' });
    await b.raw.waitClosed();
    const c = await rawSession('discard', false);
    expect(c.sessionPresent).toBe(false);
    c.raw.destroy();
  });

  it('keeps subscriptions and queues QoS 1/2 messages while offline, delivered in order on reconnect', async () => {
    const sub = await connectClient(broker.url, { clientId: 'offline-sub', clean: false });
    await sub.subscribeAsync('off/#', { qos: 2 });
    await sub.endAsync();
    const pub = await connectClient(broker.url, { clientId: 'offline-pub' });
    for (let i = 0; i < 4; i++) await pub.publishAsync(`off/${i % 2}`, String(i), { qos: (1 + (i % 2)) as 1 | 2 });
    await pub.publishAsync('off/q0', 'not queued', { qos: 0 });
    const { client: back, inbox } = await connectWithInbox(broker.url, { clientId: 'offline-sub', clean: false });
    const got = await inbox.waitCount(4);
    // Order per topic [v3:MQTT-4.6.0-6] (mqtt.js emits QoS 2 messages only after PUBREL, so not across topics).
    expect(got.filter((m) => m.topic === 'off/0').map((m) => m.payload)).toEqual(['0', '2']);
    expect(got.filter((m) => m.topic === 'off/1').map((m) => m.payload)).toEqual(['1', '3']);
    await pub.publishAsync('off/live', 'live', { qos: 1 });
    expect((await inbox.waitCount(5))[4].payload).toBe('live');
    await Promise.all([back.endAsync(), pub.endAsync()]);
  });

  it('drops messages beyond the offline queue cap and counts them', async () => {
    const before = (await broker.stats()).messagesDropped;
    const a = await rawSession('capped', false);
    a.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cap/t', qos: 1 }] });
    await a.raw.next('suback');
    a.raw.send({ cmd: 'disconnect' });
    await a.raw.waitClosed();
    const pub = await connectClient(broker.url, { clientId: 'cap-pub' });
    for (let i = 0; i < 8; i++) await pub.publishAsync('cap/t', String(i), { qos: 1 });
    const b = await rawSession('capped', false);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = (await b.raw.next('publish')) as PublishPacket;
      got.push(p.payload.toString());
      b.raw.send({ cmd: 'puback', messageId: p.messageId as number });
    }
    expect(got).toEqual(['0', '1', '2', '3', '4']);
    await waitFor(async () => (await broker.stats()).messagesDropped - before >= 3, '3 dropped messages counted');
    expect((await broker.stats()).messagesDropped - before).toBe(3);
    b.raw.destroy();
    await pub.endAsync();
  });

  it('resends unacknowledged messages with DUP set on resume [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const a = await rawSession('dup', false);
    a.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/t', qos: 2 }] });
    await a.raw.next('suback');
    const pub = await connectClient(broker.url, { clientId: 'dup-pub' });
    await pub.publishAsync('dup/t', 'q1', { qos: 1 });
    await pub.publishAsync('dup/t', 'q2', { qos: 2 });
    const first = (await a.raw.next('publish')) as PublishPacket;
    const second = (await a.raw.next('publish')) as PublishPacket;
    expect([first.dup, second.dup]).toEqual([false, false]);
    a.raw.send({ cmd: 'pubrec', messageId: second.messageId as number });
    await a.raw.next('pubrel');
    a.raw.destroy(); // neither PUBACK for q1 nor PUBCOMP for q2
    await new Promise((r) => a.raw.socket.once('close', r));
    const b = await rawSession('dup', false);
    expect(b.sessionPresent).toBe(true);
    const again = (await b.raw.next('publish')) as PublishPacket;
    expect([again.payload.toString(), again.dup, again.messageId]).toEqual(['q1', true, first.messageId]);
    const rel = await b.raw.next('pubrel');
    expect((rel as { messageId: number }).messageId).toBe(second.messageId);
    b.raw.destroy();
    await pub.endAsync();
  });
});

describe('MQTT 3.1 sessions', () => {
  it('never sets the session present byte, which is reserved in 3.1', async () => {
    const open = async (): Promise<ConnackPacket> => {
      const raw = await RawClient.open(broker.port, 3);
      raw.send({ cmd: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: false, keepalive: 0, clientId: 'v31-persist' });
      const connack = (await raw.next('connack')) as ConnackPacket;
      raw.send({ cmd: 'disconnect' });
      await raw.waitClosed();
      return connack;
    };
    await open();
    const again = await open();
    expect([again.reasonCode, again.sessionPresent]).toEqual([0, false]);
  });
});
