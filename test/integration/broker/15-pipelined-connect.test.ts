// Packets sent right behind CONNECT, without waiting for CONNACK (what the Mosquitto PHP extension
// does for connect(); publish(); disconnect();), are handled in order once the session is open,
// even when the socket has closed or half-closed meanwhile (a client need not wait for CONNACK,
// MQTT 3.1.4). A close without DISCONNECT publishes the will after them [MQTT-3.1.2-8]; a
// DISCONNECT among them discards it [MQTT-3.1.2-10].
//
// Each client writes CONNECT + 20 PUBLISH (+ DISCONNECT) in ONE write and never reads before it
// ends or closes its socket. On a 2-worker cluster the session opens in Redis, so those packets
// wait in the connection's backlog while the socket goes away.
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectWithInbox, startTestBroker, type Inbox, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { encode, PacketParser, type Packet, type ProtocolVersion, type QoS } from '../../../src/protocol/index.js';

const COUNT = 20;

let broker: TestBroker;
let watcher: MqttClient;
let inbox: Inbox;
beforeAll(async () => {
  broker = await startTestBroker();
  ({ client: watcher, inbox } = await connectWithInbox(broker.url, { clientId: 'pipe-watcher' }));
  await watcher.subscribeAsync('pipe/#', { qos: 2 });
});
afterAll(async () => {
  await watcher.endAsync(true);
  await broker.close();
});

interface Pipelined {
  clientId: string;
  topic: string;
  qos: QoS;
  version?: ProtocolVersion;
  clean?: boolean;
  will?: boolean;
  disconnect: boolean;
  firstId?: number;
}

function packetsOf(p: Pipelined): Packet[] {
  const version = p.version ?? 4;
  const packets: Packet[] = [
    {
      cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: p.clean ?? true, keepalive: 0, clientId: p.clientId,
      ...(p.will === true ? { will: { topic: `${p.topic}/will`, payload: Buffer.from('gone'), qos: 1, retain: false } } : {}),
    } as Packet,
  ];
  for (let i = 0; i < COUNT; i++) {
    packets.push({ cmd: 'publish', topic: p.topic, payload: Buffer.from(String(i)), qos: p.qos, retain: false, dup: false, ...(p.qos > 0 ? { messageId: (p.firstId ?? 1) + i } : {}) } as Packet);
  }
  if (p.disconnect) packets.push({ cmd: 'disconnect' } as Packet);
  return packets;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1' }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
    socket.on('error', () => undefined); // the broker's answers may meet a closed socket (RST)
  });
}

/** Writes every packet in one write, then half-closes (end) or closes (destroy once written); reads nothing before. */
async function sendPipelined(p: Pipelined, finish: 'end' | 'destroy'): Promise<Socket> {
  const socket = await open(broker.port);
  const bytes = Buffer.concat(packetsOf(p).map((packet) => encode(packet, p.version ?? 4)));
  if (finish === 'end') socket.end(bytes);
  else socket.write(bytes, () => socket.destroy());
  return socket;
}

/** The watcher's messages from index `start` on: COUNT in order, then the will if willLast. */
async function expectInOrder(start: number, topic: string, willLast: boolean): Promise<void> {
  const got = await inbox.waitCount(start + COUNT + (willLast ? 1 : 0), 10_000);
  const mine = got.slice(start);
  expect(mine.slice(0, COUNT).map((m) => `${m.topic} ${m.payload}`)).toEqual(Array.from({ length: COUNT }, (_, i) => `${topic} ${i}`));
  if (willLast) expect(mine[COUNT]).toMatchObject({ topic: `${topic}/will`, payload: 'gone' });
}

/** Proves nothing else (a will) arrived: the next message after a marker published now is that marker. */
async function expectNothingMoreThan(marker: string): Promise<void> {
  const start = inbox.messages.length;
  await watcher.publishAsync(marker, 'marker', { qos: 1 });
  const [next] = (await inbox.waitCount(start + 1)).slice(start);
  expect(next).toMatchObject({ topic: marker, payload: 'marker' });
}

describe('packets pipelined behind CONNECT', () => {
  for (const qos of [0, 1, 2] as const) {
    it(`QoS ${qos}: CONNECT + ${COUNT} PUBLISH + DISCONNECT in one write, then end: all delivered in order, no will [MQTT-3.1.2-10]`, async () => {
      const topic = `pipe/q${qos}`;
      const start = inbox.messages.length;
    await sendPipelined({ clientId: `pipe-q${qos}`, topic, qos, will: true, disconnect: true }, 'end');
      await expectInOrder(start, topic, false);
      await expectNothingMoreThan(`pipe/q${qos}/marker`);
    });
  }

  it('v5: CONNECT + 20 QoS 1 PUBLISH + DISCONNECT, then end: all delivered in order', async () => {
    const topic = 'pipe/v5';
    const start = inbox.messages.length;
    await sendPipelined({ clientId: 'pipe-v5', topic, qos: 1, version: 5, disconnect: true }, 'end');
    await expectInOrder(start, topic, false);
  });

  for (const qos of [0, 1, 2] as const) {
    it(`QoS ${qos}: CONNECT (with will) + ${COUNT} PUBLISH, then the socket closes without DISCONNECT: all delivered in order, then the will [MQTT-3.1.2-8]`, async () => {
      const topic = `pipe/close${qos}`;
      const start = inbox.messages.length;
    await sendPipelined({ clientId: `pipe-close${qos}`, topic, qos, will: true, disconnect: false }, 'destroy');
      await expectInOrder(start, topic, true);
    });
  }

  // Its PUBACKs are written only if the hand-off to the other nodes completes before the broker
  // closes its side (right after the backlog); the messages are delivered either way.
  it('a half-closed client still gets its CONNACK, then the broker closes; its messages are delivered in order', async () => {
    const start = inbox.messages.length;
    const socket = await sendPipelined({ clientId: 'pipe-half', topic: 'pipe/half', qos: 1, disconnect: false }, 'end');
    const received: Packet[] = [];
    const parser = new PacketParser({ protocolVersion: 4 });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk, (packet) => received.push(packet)));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received[0]).toMatchObject({ cmd: 'connack', reasonCode: 0 });
    expect(received.slice(1).every((packet) => packet.cmd === 'puback')).toBe(true);
    await expectInOrder(start, 'pipe/half', false);
  });

  it('QoS 2 from a closed socket: routed once, and the persistent session keeps the id, so a resend is not routed again [v3:MQTT-4.3.3-2]', async () => {
    const topic = 'pipe/q2persist';
    const start = inbox.messages.length;
    await sendPipelined({ clientId: 'pipe-q2p', topic, qos: 2, clean: false, disconnect: false, firstId: 100 }, 'destroy');
    await expectInOrder(start, topic, false);
    // The client never saw PUBREC: it resends (DUP) on reconnect; the broker answers PUBREC and routes nothing.
    const raw = await RawClient.connected(broker.port, 'pipe-q2p', 4, { clean: false } as Partial<Packet>);
    raw.send({ cmd: 'publish', topic, payload: Buffer.from('0'), qos: 2, retain: false, dup: true, messageId: 100 } as Packet);
    expect(await raw.next('pubrec')).toMatchObject({ messageId: 100 });
    raw.send({ cmd: 'pubrel', messageId: 100 } as Packet);
    expect(await raw.next('pubcomp')).toMatchObject({ messageId: 100 });
    raw.send({ cmd: 'disconnect' } as Packet);
    await raw.waitClosed();
    await expectNothingMoreThan('pipe/q2persist/marker');
  });
});
