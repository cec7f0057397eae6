// MQTT 5 conformance checks beyond the feature tests of 12-mqtt5: enhanced authentication (which
// we do not offer), wills with expiry, and the limits and error paths a conformance suite probes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { ConnackPacket, DisconnectPacket, Packet } from '../../../src/protocol/index.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

function connect5(clientId: string, extra: Record<string, unknown> = {}): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, ...extra } as Packet;
}

async function watch(clientId: string, filter: string) {
  const r = await connectWithInbox(broker.url, { protocolVersion: 5, clientId });
  clients.push(r.client);
  await r.client.subscribeAsync(filter, { qos: 1 });
  return r.inbox;
}

describe('enhanced authentication (none supported)', () => {
  it('a CONNECT with an Authentication Method gets CONNACK 0x8C and the connection is closed [MQTT-4.12.0-1]', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send(connect5('auth-m', { properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('client-first') } }));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0x8c);
    await raw.waitClosed();
  });

  it('an AUTH packet from a client that did not start enhanced authentication gets DISCONNECT 0x82 [MQTT-4.12.0-6]', async () => {
    const raw = await RawClient.connected(broker.port, 'auth-p', 5);
    raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });
});

describe('wills', () => {
  it('the will Message Expiry Interval counts from its publication, after the Will Delay Interval (5.0 §3.1.3.2.4)', async () => {
    const inbox = await watch('wx-watch', 'wx/#');
    const raw = await RawClient.open(broker.port, 5);
    // Delay 1 s and expiry 1 s: an expiry counted from CONNECT would be over when the will goes out.
    const will = { topic: 'wx/delayed', payload: Buffer.from('bye'), qos: 1, retain: false, properties: { willDelayInterval: 1, messageExpiryInterval: 1, contentType: 'text/plain' } };
    raw.send(connect5('wx', { clean: false, properties: { sessionExpiryInterval: 30 }, will }));
    await raw.next('connack');
    raw.destroy();
    const m = await inbox.next(4000);
    expect([m.topic, m.payload]).toEqual(['wx/delayed', 'bye']);
    expect(m.properties?.contentType).toBe('text/plain');
    expect(m.properties?.messageExpiryInterval).toBeLessThanOrEqual(1); // the remaining lifetime is forwarded [MQTT-3.3.2-6]
    expect(m.properties?.willDelayInterval).toBeUndefined();
  });
});
