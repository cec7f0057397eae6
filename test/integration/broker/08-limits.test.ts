// Limits: max connections, max packet size, topic length/levels. Over a limit the connection
// is refused or closed as the spec says, and the broker keeps serving others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, DisconnectPacket, SubackPacket } from '../../../src/protocol/index.js';

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
    await raw.waitClosed();
    expect(raw.packets).toEqual([]);
  });

  it('sends DISCONNECT 0x95 to a v5 client over the max packet size', async () => {
    const raw = await RawClient.connected(broker.port, 'big5', 5);
    raw.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(2000), qos: 0, retain: false, dup: false });
    const d = (await raw.next('disconnect')) as DisconnectPacket;
    expect(d.reasonCode).toBe(0x95);
    await raw.waitClosed();
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

  it('closes a client publishing to a topic over the limits', async () => {
    const raw = await RawClient.connected(broker.port, 'deep');
    raw.send({ cmd: 'publish', topic: 'a/b/c/d/e', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    await raw.waitClosed();
  });

  it('closes connections beyond --max-connections at once and keeps serving the others', async () => {
    const small = await startTestBroker({ maxConnections: 2 });
    try {
      const a = await connectClient(small.url, { clientId: 'mc-a' });
      const inbox = new Inbox(a);
      await a.subscribeAsync('mc');
      const b = await RawClient.connected(small.port, 'mc-b');
      const c = await RawClient.open(small.port);
      await c.waitClosed();
      b.send({ cmd: 'publish', topic: 'mc', payload: Buffer.from('still here'), qos: 0, retain: false, dup: false });
      expect((await inbox.next()).payload).toBe('still here');
      b.destroy();
      await a.endAsync();
    } finally {
      await small.close();
    }
  });
});
