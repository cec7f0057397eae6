// MQTT 5 intervals longer than one Node timer can hold (2^31-1 ms, ~24.8 days): a Session Expiry
// Interval of 30 days keeps the session (and its queue) for 30 days, not ~1 ms (a plain setTimeout
// overflows and fires at once); a Will Delay of 30 days waits, not fires at once. The intervals go
// up to 2^32-1 s (long-timer.ts; test/unit/broker/long-timer.test.ts checks the timing itself).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectWithInbox, startTestBroker, type Inbox, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';
import type { ConnackPacket, Packet, PublishPacket } from '../../../src/protocol/index.js';

/** 30 days in seconds: above 2,147,484 s, the most a 32-bit millisecond timer holds. */
const THIRTY_DAYS = 2_592_000;

let broker: TestBroker;
let watcher: MqttClient;
let inbox: Inbox;
beforeAll(async () => {
  broker = await startTestBroker();
  ({ client: watcher, inbox } = await connectWithInbox(broker.url, { clientId: 'long-watcher', protocolVersion: 5 }));
  await watcher.subscribeAsync('long/will/#', { qos: 1 });
});
afterAll(async () => {
  await watcher.endAsync(true);
  await broker.close();
});

/** Waits until the broker counts `n` connected clients (the watcher is one): proves a connect or disconnect was processed. */
function connectedClients(n: number): Promise<void> {
  return waitFor(async () => (await broker.stats()).clientsConnected === n, `${n} connected clients`);
}

function connect(clientId: string, clean: boolean, extra: Partial<Packet> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean, keepalive: 0, clientId, properties: { sessionExpiryInterval: THIRTY_DAYS }, ...extra } as Packet;
}

describe('intervals above 2^31-1 ms', () => {
  it('a session with a 30-day expiry outlives its disconnect: present on reconnect, with the message queued meanwhile', async () => {
    const first = await RawClient.open(broker.port, 5);
    first.send(connect('long-expiry', true));
    expect(((await first.next('connack')) as ConnackPacket).sessionPresent).toBe(false);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'long/q', qos: 1 }] } as Packet);
    await first.next('suback');
    await connectedClients(2);
    first.send({ cmd: 'disconnect', reasonCode: 0 } as Packet);
    await first.waitClosed();
    await connectedClients(1); // the session is parked now (before the fix it was deleted ~1 ms later)
    await watcher.publishAsync('long/q', 'kept', { qos: 1 }); // a full round trip later: queued for the offline session

    const again = await RawClient.open(broker.port, 5);
    again.send(connect('long-expiry', false));
    expect(((await again.next('connack')) as ConnackPacket).sessionPresent).toBe(true);
    const message = (await again.next('publish')) as PublishPacket;
    expect({ topic: message.topic, payload: message.payload.toString(), qos: message.qos }).toEqual({ topic: 'long/q', payload: 'kept', qos: 1 });
    again.send({ cmd: 'puback', messageId: message.messageId } as Packet);
    // End the session: DISCONNECT with expiry 0.
    again.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } } as Packet);
    await again.waitClosed();
  });

  it('a will with a 30-day delay (and a 30-day session) is not published when the client goes away [v5:MQTT-3.1.3-9]', async () => {
    const start = inbox.messages.length;
    const raw = await RawClient.open(broker.port, 5);
    const will = { topic: 'long/will/gone', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: THIRTY_DAYS } };
    raw.send(connect('long-will', true, { will } as Partial<Packet>));
    await raw.next('connack');
    await connectedClients(2);
    raw.destroy(); // no DISCONNECT: the will is due, after its delay
    await connectedClients(1);
    // Before the fix the will went out ~1 ms after the close, so before this marker.
    await watcher.publishAsync('long/will/marker', 'marker', { qos: 1 });
    await inbox.waitCount(start + 1);
    expect(inbox.messages.slice(start).map((m) => m.topic)).toEqual(['long/will/marker']);
    // A reconnect within the delay cancels the will; then the session ends (expiry 0).
    const back = await RawClient.open(broker.port, 5);
    back.send(connect('long-will', true, { properties: { sessionExpiryInterval: 0 } } as Partial<Packet>));
    await back.next('connack');
    back.send({ cmd: 'disconnect', reasonCode: 0 } as Packet);
    await back.waitClosed();
  });
});
