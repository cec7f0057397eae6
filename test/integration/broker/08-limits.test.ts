// Limits: max connections, max packet size, topic length/levels. Over a limit the connection
// is refused or closed as the spec says, and the broker keeps serving others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, Packet, SubackPacket } from '../../../src/protocol/index.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ maxPacketSize: 1024, maxTopicLength: 50, maxTopicLevels: 4 });
});
afterAll(async () => {
  await broker.close();
});

describe('limits', () => {
  it('closes a v3.1.1 client that sends a packet over the max packet size', async () => {
    const raw = await RawClient.connected(broker.port, 'big4');
    raw.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(2000), qos: 0, retain: false, dup: false });
    expect(await raw.packetsBeforeClose()).toEqual([]); // 3.1.1: no DISCONNECT from a server
  });

  it('sends DISCONNECT 0x95 to a v5 client over the max packet size', async () => {
    const raw = await RawClient.connected(broker.port, 'big5', 5);
    raw.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(2000), qos: 0, retain: false, dup: false });
    expect(await raw.packetsBeforeClose()).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x95 }]);
  });

  it('announces the max packet size in the v5 CONNACK', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'mps' });
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.properties?.maximumPacketSize).toBe(1024);
    raw.destroy();
  });

  it('refuses a subscription over the topic length or level limits with 0x80, others granted', async () => {
    const raw = await RawClient.connected(broker.port, 'toolong');
    raw.send({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'x'.repeat(51), qos: 1 }, { topic: 'a/b/c/d/e', qos: 1 }, { topic: 'ok/+', qos: 1 }] });
    const suback = (await raw.next('suback')) as SubackPacket;
    expect(suback.granted).toEqual([0x80, 0x80, 1]);
    raw.destroy();
  });

  const OVER: Array<[limit: string, topic: string]> = [
    ['levels', 'a/b/c/d/e'],
    ['length', 'x'.repeat(51)],
  ];

  it.each(OVER)('closes a v3.1.1 client publishing to a topic over the %s limit, with no packet before the close', async (limit, topic) => {
    const raw = await RawClient.connected(broker.port, `deep4-${limit}`);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    expect(await raw.packetsBeforeClose()).toEqual([]);
  });

  it.each(OVER)('sends DISCONNECT 0x90 (Topic Name invalid) to a v5 client publishing to a topic over the %s limit', async (limit, topic) => {
    const raw = await RawClient.connected(broker.port, `deep5-${limit}`, 5);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    expect(await raw.packetsBeforeClose()).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x90 }]);
  });

  it('refuses a v3.1.1 CONNECT whose will topic is over the limits: no CONNACK (3.1.1 has no return code for it), the close', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'will4', will: { topic: 'a/b/c/d/e', payload: Buffer.from('x'), qos: 0, retain: false } });
    expect(await raw.packetsBeforeClose()).toEqual([]);
  });

  it('refuses a v5 CONNECT whose will topic is over the limits with CONNACK 0x90, then closes', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'will5', will: { topic: 'a/b/c/d/e', payload: Buffer.from('x'), qos: 0, retain: false } });
    // (A Reason String may come with it: properties are not part of the assertion.)
    expect(await raw.packetsBeforeClose()).toEqual([expect.objectContaining({ cmd: 'connack', sessionPresent: false, reasonCode: 0x90 })]);
  });

  it('closes connections beyond --max-connections at once (a CONNECT gets no CONNACK) and keeps serving the others', async () => {
    const limit = 2;
    const small = await startTestBroker({ maxConnections: limit });
    const accepted: RawClient[] = [];
    try {
      const a = await connectClient(small.url, { clientId: 'mc-a' });
      const inbox = new Inbox(a);
      await a.subscribeAsync('mc');
      // Each new socket sends CONNECT at once: accepted, it gets CONNACK; over the limit, only the
      // close (before the connect timeout could close it). The limit holds per process, so a
      // cluster takes more before the first refusal: open sockets until one is refused.
      let refused: Packet[] | undefined;
      for (let i = 0; refused === undefined && i < 10; i++) {
        const c = await RawClient.open(small.port);
        c.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: `mc-${i}` });
        const connacked = await c.next('connack').then(() => true, () => false);
        if (connacked) accepted.push(c);
        else refused = await c.packetsBeforeClose();
      }
      expect(refused).toEqual([]);
      expect(accepted.length + 1).toBeGreaterThanOrEqual(limit);
      accepted[0]!.send({ cmd: 'publish', topic: 'mc', payload: Buffer.from('still here'), qos: 0, retain: false, dup: false });
      expect((await inbox.next()).payload).toBe('still here');
      await a.endAsync();
    } finally {
      for (const c of accepted) c.destroy();
      await small.close();
    }
  });
});
