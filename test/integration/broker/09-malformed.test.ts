// Bad input closes only the offending connection (v5: DISCONNECT with the codec's reason code
// first); the broker stays up and another client keeps receiving throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, Inbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { fuzzCorpus } from '../../helpers/fuzz-corpus.js';

let broker: TestBroker;
let pub: MqttClient;
let sub: MqttClient;
let inbox: Inbox;
let sent = 0;

async function stillServing(): Promise<void> {
  const payload = `alive-${++sent}`;
  await pub.publishAsync('alive', payload, { qos: 1 });
  await inbox.waitCount(sent);
  expect(inbox.messages[sent - 1].payload).toBe(payload);
}

beforeAll(async () => {
  broker = await startTestBroker();
  sub = await connectClient(broker.url, { clientId: 'mal-sub' });
  inbox = new Inbox(sub);
  await sub.subscribeAsync('alive', { qos: 1 });
  pub = await connectClient(broker.url, { clientId: 'mal-pub' });
});
afterAll(async () => {
  await Promise.all([pub.endAsync(true), sub.endAsync(true)]);
  await broker.close();
});

const HAND_MADE: Array<[name: string, bytes: number[]]> = [
  ['reserved packet type 0 [MQTT-2.2.1]', [0x00, 0x00]],
  ['Remaining Length of 5 bytes [MQTT-1.5.5]', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ['PUBLISH QoS 3 [MQTT-3.3.1-4]', [0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]],
  ['SUBSCRIBE with wrong fixed-header flags [MQTT-3.8.1-1]', [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x74, 0x00]],
  ['topic with a wildcard [MQTT-3.3.2-2]', [0x30, 0x04, 0x00, 0x02, 0x61, 0x2b]],
  ['topic of invalid UTF-8 [MQTT-1.5.3-1]', [0x30, 0x04, 0x00, 0x02, 0xc3, 0x28]],
  ['SUBSCRIBE with no topic filter [v3:MQTT-3.8.3-3]', [0x82, 0x02, 0x00, 0x01]],
  // v3.1.1 has no per-filter reason code for these: the connection is closed (as Mosquitto does).
  ["SUBSCRIBE with an invalid filter 'a/#/b' [v3:MQTT-4.7.1-2]", [0x82, 0x0a, 0x00, 0x01, 0x00, 0x05, 0x61, 0x2f, 0x23, 0x2f, 0x62, 0x00]],
  ['SUBSCRIBE with an empty filter [MQTT-4.7.3-1]', [0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00]],
  ["UNSUBSCRIBE with an invalid filter 'a+' [MQTT-4.7.1-3]", [0xa2, 0x06, 0x00, 0x01, 0x00, 0x02, 0x61, 0x2b]],
];

// The same faults in v5 framing (a property length where v5 has one), and the reason code the
// DISCONNECT before the close must carry: 0x81 Malformed Packet, 0x82 Protocol Error, 0x90 Topic Name invalid.
const HAND_MADE_V5: Array<[name: string, bytes: number[], reasonCode: number]> = [
  ['reserved packet type 0 [MQTT-2.2.1]', [0x00, 0x00], 0x81],
  ['Remaining Length of 5 bytes [MQTT-1.5.5]', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 0x81],
  ['PUBLISH QoS 3 [MQTT-3.3.1-4]', [0x36, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x00], 0x81],
  ['SUBSCRIBE with wrong fixed-header flags [MQTT-3.8.1-1]', [0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x74, 0x00], 0x81],
  ['topic of invalid UTF-8 [MQTT-1.5.4-1]', [0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x00], 0x81],
  ['PUBLISH with an unknown property [MQTT-2.2.2.2]', [0x30, 0x06, 0x00, 0x01, 0x74, 0x01, 0x7f, 0x00], 0x81],
  ['SUBSCRIBE with reserved subscription option bits [MQTT-3.8.3-5]', [0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x74, 0xc0], 0x81],
  ['PINGREQ with a Remaining Length of 1 [MQTT-2.2.3]', [0xc0, 0x01, 0x00], 0x81],
  ['SUBSCRIBE with no topic filter [v5:MQTT-3.8.3-2]', [0x82, 0x03, 0x00, 0x01, 0x00], 0x82],
  ['topic with a wildcard [MQTT-3.3.2-2]', [0x30, 0x05, 0x00, 0x02, 0x61, 0x2b, 0x00], 0x90],
];

describe('malformed packets after CONNECT', () => {
  it.each(HAND_MADE)('%s closes only that connection, with no packet before the close (v3.1.1) [v3:MQTT-4.8.0-1]', async (_name, bytes) => {
    const raw = await RawClient.connected(broker.port, `mal-${sent}`);
    raw.sendBytes(bytes);
    // Servers never send DISCONNECT in 3.1.1: the close is all the client gets.
    expect(await raw.packetsBeforeClose()).toEqual([]);
    await stillServing();
  });

  it.each(HAND_MADE_V5)('v5: %s gets DISCONNECT with its reason code, then the close [v5:MQTT-4.13.1-1] [v5:MQTT-4.13.2-1] [v5:MQTT-3.14.4-2]', async (name, bytes, reasonCode) => {
    const raw = await RawClient.connected(broker.port, `mal5-${HAND_MADE_V5.findIndex(([n]) => n === name)}`, 5);
    raw.sendBytes(bytes);
    expect(await raw.packetsBeforeClose()).toMatchObject([{ cmd: 'disconnect', reasonCode }]);
    await stillServing();
  });

  it('garbage instead of CONNECT closes the socket, with no CONNACK [MQTT-3.1.0-1]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.sendBytes(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await raw.packetsBeforeClose()).toEqual([]);
    await stillServing();
  });
});

describe('fuzz corpus sample', () => {
  it('200 corpus inputs, each on its own connection after CONNECT: the broker survives and serves', async () => {
    let i = 0;
    for (const input of fuzzCorpus(20261125, 200)) {
      const raw = await RawClient.connected(broker.port, `fz-${i++}`, input.version);
      raw.sendBytes(input.bytes);
      // Valid inputs keep the connection; either way we end it ourselves.
      raw.destroy();
      if (i % 50 === 0) await stillServing();
    }
    await stillServing();
  });
});
