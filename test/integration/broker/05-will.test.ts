// Wills: published on every close not preceded by DISCONNECT [MQTT-3.1.2-8], never after one [MQTT-3.1.2-10].
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectClient, Inbox, startTestBroker, testDefaults, type TestBroker } from '../../helpers/broker-harness.js';
import { startBroker } from '../../../src/index.js';
import { silentLogger } from '../../../src/log.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { Packet } from '../../../src/protocol/index.js';

let broker: TestBroker;
let watcher: MqttClient;
let inbox: Inbox;
beforeAll(async () => {
  broker = await startTestBroker();
  watcher = await connectClient(broker.url, { clientId: 'will-watcher' });
  inbox = new Inbox(watcher);
  await watcher.subscribeAsync('will/#', { qos: 2 });
});
afterAll(async () => {
  await watcher.endAsync(true);
  await broker.close();
});

function connectWithWill(clientId: string, topic: string, extra: Record<string, unknown> = {}): Packet {
  return {
    cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId,
    will: { topic, payload: Buffer.from(`${clientId} died`), qos: 1, retain: false },
    ...extra,
  } as Packet;
}

async function nextWill(topic: string): Promise<{ payload: string; qos: number }> {
  const m = await inbox.next();
  expect(m.topic).toBe(topic);
  return m;
}

describe('wills', () => {
  it('is published when the socket closes without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connectWithWill('w1', 'will/abrupt'));
    await raw.next('connack');
    raw.destroy();
    expect(await nextWill('will/abrupt')).toMatchObject({ payload: 'w1 died', qos: 1 });
  });

  it('is not published after DISCONNECT [MQTT-3.1.2-10] [MQTT-3.14.4-3]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connectWithWill('w2', 'will/clean'));
    await raw.next('connack');
    raw.send({ cmd: 'disconnect' });
    await raw.waitClosed();
    // The next will that arrives is a later one: proves none came for w2.
    const other = await RawClient.open(broker.port);
    other.send(connectWithWill('w2b', 'will/marker'));
    await other.next('connack');
    other.destroy();
    expect((await inbox.next()).topic).toBe('will/marker');
  });

  it('is published on keep-alive expiry [v3:MQTT-3.1.2-24] [MQTT-3.1.2-8]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connectWithWill('w3', 'will/keepalive', { keepalive: 1 }));
    await raw.next('connack');
    expect((await inbox.next(4000)).topic).toBe('will/keepalive');
    raw.destroy();
  });

  it('is published on a protocol error [MQTT-3.1.2-8]', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connectWithWill('w4', 'will/protocol-error'));
    await raw.next('connack');
    raw.sendBytes([0x30, 0x03, 0x00, 0x01, 0x23]); // PUBLISH to topic "#": wildcards are not allowed [MQTT-3.3.2-2]
    expect(await raw.packetsBeforeClose()).toEqual([]); // 3.1.1: the close, no DISCONNECT
    expect((await inbox.next()).topic).toBe('will/protocol-error');
  });

  it('is published retained when will retain is set', async () => {
    const raw = await RawClient.open(broker.port);
    raw.send(connectWithWill('w5', 'will/retained', { will: { topic: 'will/retained', payload: Buffer.from('r'), qos: 0, retain: true } }));
    await raw.next('connack');
    raw.destroy();
    await nextWill('will/retained');
    const late = await connectClient(broker.url, { clientId: 'will-late' });
    const lateInbox = new Inbox(late);
    await late.subscribeAsync('will/retained');
    expect(await lateInbox.next()).toMatchObject({ payload: 'r', retain: true });
    await late.endAsync();
  });

  it('is published when the server shuts down [MQTT-3.1.2-8]', async () => {
    // One broker process shutting down (in-process on purpose: when a whole cluster stops,
    // the watcher's own worker may close before the will reaches it).
    const running = await startBroker({ ...testDefaults }, undefined, { logger: silentLogger() });
    const own = { url: `mqtt://127.0.0.1:${running.port}`, port: running.port, close: () => running.close() };
    const w = await connectClient(own.url, { clientId: 'sd-watch' });
    const wInbox = new Inbox(w);
    await w.subscribeAsync('will/shutdown');
    const raw = await RawClient.open(own.port);
    raw.send(connectWithWill('w6', 'will/shutdown'));
    await raw.next('connack');
    const closing = own.close();
    expect((await wInbox.next()).topic).toBe('will/shutdown');
    await closing;
    expect(await raw.packetsBeforeClose()).toEqual([]); // 3.1.1: the close, no DISCONNECT
    w.end(true);
  });
});
