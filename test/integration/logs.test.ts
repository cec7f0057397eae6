// The lines an operator reads (issue #12), from a broker started with a logger writing JSON here.
// What would make each test fail:
// - 'info: connect, refusals, disconnects': removing logConnected from Broker.openSession, logRefused
//   from answers.ts (or logging failed logins there too), or logClosed from Broker.detached; a
//   password or a debug line in the output.
// - 'debug: ...': removing the debug lines of handlers/subscribe.ts, handlers/unsubscribe.ts,
//   wills.ts or Broker.onTakeover.
// - 'trace: ...': removing tracePacketIn / traceFrameOut from connection.ts.
// - 'a field repeating a child binding ...': removing the logMethod hook of log.ts (pino then
//   prints such a key twice); every test also checks its own lines' keys in the raw JSON text.
import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { BrokerConfig, LogLevel } from '../../src/config.js';
import { testDefaults } from '../helpers/broker-harness.js';
import { duplicatedKeys, LogCapture } from '../helpers/log-capture.js';

let running: RunningBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await running?.close();
  running = undefined;
});

async function start(level: LogLevel, overrides: Partial<BrokerConfig> = {}): Promise<LogCapture> {
  const capture = new LogCapture(level);
  running = await startBroker({ ...testDefaults, logLevel: level, ...overrides }, undefined, { logger: capture.logger });
  return capture;
}

/** Connects; resolves on CONNACK (accepted) or with the error of a refusal. */
function connect(options: IClientOptions): Promise<{ client: MqttClient; error?: Error }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${running!.port}`, { reconnectPeriod: 0, protocolVersion: 5, ...options });
  clients.push(client);
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ client }));
    client.once('error', (error) => resolve({ client, error }));
  });
}

function expectUniqueKeys(capture: LogCapture): void {
  for (const line of capture.raw) expect(duplicatedKeys(line), line).toEqual([]);
}

describe('logs', () => {
  it('info: one line per connect, per refused connect and per disconnect; failed logins said once, by their own line', async () => {
    const log = await start('info', { username: 'operator', password: 'secret-pw' });
    const good = await connect({ clientId: 'good', username: 'operator', password: 'secret-pw', keepalive: 30 });
    expect(good.error).toBeUndefined();
    const connected = await log.next('client connected', 'good');
    expect(connected).toMatchObject({ level: 30, clientId: 'good', address: '127.0.0.1', listener: 'mqtt', protocolVersion: 5, keepalive: 30, cleanStart: true, sessionPresent: false, username: 'operator' });

    const bad = await connect({ clientId: 'guesser', username: 'operator', password: 'wrong-pw' });
    expect(bad.error).toBeDefined();
    expect(await log.next('failed login')).toMatchObject({ level: 40, clientId: 'guesser', username: 'operator' });

    const anonymous = await connect({ clientId: 'anon', protocolVersion: 4 });
    expect(anonymous.error).toBeDefined();
    expect(await log.next('connect refused', 'anon')).toMatchObject({ level: 30, address: '127.0.0.1', listener: 'mqtt', reasonCode: 0x87, reason: 'anonymous clients are not allowed' });

    await good.client.endAsync();
    const left = await log.next('client disconnected', 'good');
    expect(left).toMatchObject({ level: 30, address: '127.0.0.1', listener: 'mqtt', reason: 'client disconnected' });
    expect(left.durationMs).toBeGreaterThanOrEqual(0);

    const dropped = await connect({ clientId: 'dropped', username: 'operator', password: 'secret-pw' });
    await log.next('client connected', 'dropped');
    dropped.client.stream.destroy();
    expect((await log.next('client disconnected', 'dropped')).reason).toMatch(/^socket (ended|closed|error)$/);

    // Exactly these lines, in this order: nothing below info, the failed login not said twice.
    expect(log.lines.map((l) => [l.msg, l.clientId])).toEqual([
      ['client connected', 'good'],
      ['failed login', 'guesser'],
      ['connect refused', 'anon'],
      ['client disconnected', 'good'],
      ['client connected', 'dropped'],
      ['client disconnected', 'dropped'],
    ]);
    expect(log.raw.join('')).not.toContain('secret-pw');
    expect(log.raw.join('')).not.toContain('wrong-pw');
    expectUniqueKeys(log);
  });

  it('debug: subscriptions with their granted codes, unsubscriptions, will decisions and takeovers', async () => {
    const log = await start('debug', { maxQos: 1 });
    const { client } = await connect({ clientId: 'sub' });
    await client.subscribeAsync({ 'a/#': { qos: 1 }, b: { qos: 2 } });
    expect((await log.next('subscribed', 'sub')).subscriptions).toEqual([
      { filter: 'a/#', granted: 1 },
      { filter: 'b', granted: 1 }, // --max-qos 1
    ]);
    await client.unsubscribeAsync(['a/#', 'never']);
    expect((await log.next('unsubscribed', 'sub')).unsubscriptions).toEqual([
      { filter: 'a/#', existed: true },
      { filter: 'never', existed: false },
    ]);

    const will = { topic: 'wills/x', payload: Buffer.from('gone'), qos: 0 as const, retain: false };
    const dies = await connect({ clientId: 'dies', will });
    dies.client.stream.destroy();
    expect(await log.next('will published', 'dies')).toMatchObject({ level: 20, topic: 'wills/x' });

    const polite = await connect({ clientId: 'polite', will });
    await polite.client.endAsync();
    await log.next('will discarded', 'polite');

    // A persistent v5 session with a Will Delay: the will waits, and the client's return cancels it.
    const delayed = { ...will, properties: { willDelayInterval: 60 } };
    const session = { clean: false, properties: { sessionExpiryInterval: 120 } };
    const first = await connect({ clientId: 'delayed', will: delayed, ...session });
    first.client.stream.destroy();
    expect((await log.next('will delayed', 'delayed')).delaySeconds).toBe(60);
    await connect({ clientId: 'delayed', ...session });
    await log.next('delayed will cancelled: the client is back', 'delayed');

    // The same client id again: the older connection is taken over.
    await connect({ clientId: 'twice' });
    await connect({ clientId: 'twice' });
    expect(await log.next('takeover: a newer connection took the session; closing this one', 'twice')).toMatchObject({ level: 20, otherNode: false });
    expect((await log.next('client disconnected', 'twice')).reason).toBe('session taken over');

    expect(log.lines.filter((l) => l.level < 20)).toEqual([]);
    expectUniqueKeys(log);
  });

  it('trace: one line per packet in and out, a summary without payload', async () => {
    const log = await start('trace');
    const { client } = await connect({ clientId: 'tracer', protocolVersion: 4 });
    await client.subscribeAsync('t/#', { qos: 1 });
    await client.publishAsync('t/1', 'payload-text', { qos: 1 });
    await log.next('packet', 'tracer', 8);
    const packets = log.find('packet', 'tracer').map(({ dir, cmd, topic, qos, packetId, payloadBytes }) => ({ dir, cmd, topic, qos, packetId, payloadBytes }));
    expect(packets[0]).toMatchObject({ dir: 'in', cmd: 'connect' });
    expect(packets[1]).toMatchObject({ dir: 'out', cmd: 'connack' });
    expect(packets).toContainEqual(expect.objectContaining({ dir: 'in', cmd: 'subscribe' }));
    expect(packets).toContainEqual(expect.objectContaining({ dir: 'out', cmd: 'suback' }));
    expect(packets).toContainEqual(expect.objectContaining({ dir: 'in', cmd: 'publish', topic: 't/1', qos: 1, payloadBytes: 12 }));
    expect(packets).toContainEqual(expect.objectContaining({ dir: 'out', cmd: 'publish', topic: 't/1', qos: 1, packetId: expect.any(Number) }));
    expect(packets).toContainEqual(expect.objectContaining({ dir: 'out', cmd: 'puback' }));
    expect(packets).toContainEqual(expect.objectContaining({ dir: 'in', cmd: 'puback' }));
    for (const line of log.find('packet')) expect(line.level).toBe(10);
    expect(log.raw.join('')).not.toContain('payload-text');
    expectUniqueKeys(log);
  });

  it('a field repeating a child binding, or a msg field beside the message, is not printed twice', () => {
    const log = new LogCapture('info');
    const child = log.logger.child({ nodeId: 'n1' });
    child.info({ nodeId: 'n1', routes: 3 }, 'same value');
    child.info({ nodeId: 'n2', pid: 1, msg: 'field' }, 'other values');
    expectUniqueKeys(log);
    expect(log.lines[0]).toMatchObject({ nodeId: 'n1', routes: 3, msg: 'same value' });
    expect(log.lines[1]).toMatchObject({ nodeId: 'n1', _nodeId: 'n2', pid: process.pid, _pid: 1, msg: 'other values', _msg: 'field' });
  });
});
