// CONNECT rules, over raw sockets where mqtt.js would not misbehave.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, Packet } from '../../../src/protocol/index.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker.close();
});

function connect(clientId: string, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

describe('CONNECT', () => {
  it('answers an unsupported protocol level with CONNACK 0x01 and closes [MQTT-3.1.2-2] [v3:MQTT-3.2.2-5]', async () => {
    const raw = await RawClient.open(broker.port);
    // CONNECT, protocol name MQTT, level 6, clean session, keepalive 0, client id "x"
    raw.sendBytes([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x01, 0x78]);
    // The v3.1.1 form (a client at an unknown level can read it), then the close, nothing else.
    expect(await raw.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x01 }]);
  });

  it('assigns an id to an empty client id with clean session [MQTT-3.1.3-6]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connect(''));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
    raw.destroy();
  });

  it('rejects an empty client id without clean session with CONNACK 0x02, then closes [v3:MQTT-3.1.3-8] [v3:MQTT-3.1.3-9] [v3:MQTT-3.2.2-5]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connect('', { clean: false }));
    expect(await raw.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x02 }]);
  });

  it('rejects a v3.1 client id longer than 23 characters with CONNACK 0x02', async () => {
    const raw = await RawClient.open(broker.port, 3);
    raw.send(connect('a'.repeat(24), { protocolName: 'MQIsdp', protocolVersion: 3 }));
    expect(await raw.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x02 }]);
  });

  it('closes a connection whose first packet is not CONNECT [MQTT-3.1.0-1]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send({ cmd: 'pingreq' });
    // No CONNACK (there was no CONNECT) and no PINGRESP: the close is all it gets.
    expect(await raw.packetsBeforeClose()).toEqual([]);
  });

  it('closes a v3.1.1 connection that sends a second CONNECT, with no packet before the close [MQTT-3.1.0-2] [v3:MQTT-4.8.0-1]', async () => {
    const raw = await RawClient.connected(broker.port, 'twice');
    raw.send(connect('twice'));
    // Servers send no DISCONNECT in 3.1.1, and the second CONNECT gets no CONNACK.
    expect(await raw.packetsBeforeClose()).toEqual([]);
  });

  it('v5: a second CONNECT is a Protocol Error: DISCONNECT 0x82, then the close [MQTT-3.1.0-2]', async () => {
    const raw = await RawClient.connected(broker.port, 'twice5', 5);
    raw.send(connect('twice5', { protocolVersion: 5 }));
    expect(await raw.packetsBeforeClose()).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x82 }]);
  });

  it('closes a socket that never sends CONNECT after the connect timeout', async () => {
    const raw = await RawClient.open(broker.port);
    const started = Date.now();
    expect(await raw.packetsBeforeClose(3000)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('closes a client silent for 1.5 times its keep-alive [v3:MQTT-3.1.2-24]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connect('sleepy', { keepalive: 1 }));
    await raw.next('connack');
    const started = Date.now();
    // Closed as if the network had failed: no packet first (3.1.1 servers send no DISCONNECT).
    expect(await raw.packetsBeforeClose(4000)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('keeps a client that pings within its keep-alive [v3:MQTT-3.1.2-24]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connect('pinger', { keepalive: 1 }));
    await raw.next('connack');
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500)); // the client's own ping schedule
      raw.send({ cmd: 'pingreq' });
      await raw.next('pingresp');
    }
    expect(raw.closed).toBe(false);
    raw.destroy();
  });

  it('a second connection with the same client id closes the first and publishes its will [v3:MQTT-3.1.4-2]', async () => {
    const watcher = await connectClient(broker.url, { clientId: 'takeover-watcher' });
    const inbox = new Inbox(watcher);
    await watcher.subscribeAsync('takeover/will');
    const first = await RawClient.open(broker.port);
    first.send(connect('dup-id', { will: { topic: 'takeover/will', payload: Buffer.from('gone'), qos: 0, retain: false } }));
    await first.next('connack');
    const second = await RawClient.connected(broker.port, 'dup-id');
    expect(await first.packetsBeforeClose()).toEqual([]); // 3.1.1: no DISCONNECT, just the close
    expect((await inbox.next()).payload).toBe('gone');
    second.send({ cmd: 'pingreq' });
    await second.next('pingresp');
    second.destroy();
    await watcher.endAsync();
  });

  it('refuses bad credentials with CONNACK 0x04 and anonymous clients with 0x05 when a user is configured', async () => {
    const secured = await startTestBroker({ username: 'alice', password: 'secret' });
    try {
      const bad = await RawClient.open(secured.port);
      bad.send(connect('u1', { username: 'alice', password: Buffer.from('wrong') }));
      expect(await bad.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x04 }]);
      const anon = await RawClient.open(secured.port);
      anon.send(connect('u2'));
      expect(await anon.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x05 }]);
      const good = await RawClient.connected(secured.port, 'u3', 4, { username: 'alice', password: Buffer.from('secret') } as Partial<Packet>);
      good.destroy();
    } finally {
      await secured.close();
    }
  });

  it('v5: refuses bad credentials with CONNACK 0x86 and anonymous clients with 0x87, then closes', async () => {
    const secured = await startTestBroker({ username: 'alice', password: 'secret' });
    try {
      const bad = await RawClient.open(secured.port, 5);
      bad.send(connect('u5-1', { protocolVersion: 5, username: 'alice', password: Buffer.from('wrong') }));
      expect(await bad.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x86 }]);
      const anon = await RawClient.open(secured.port, 5);
      anon.send(connect('u5-2', { protocolVersion: 5 }));
      expect(await anon.packetsBeforeClose()).toEqual([{ cmd: 'connack', sessionPresent: false, reasonCode: 0x87 }]);
    } finally {
      await secured.close();
    }
  });
});
