// SIGHUP's live limits change what a running broker does (config-reload.ts applyConfig →
// Broker.setLiveLimits), not only its fields. What would make these fail:
// - setLiveLimits replacing queueLimits with a new object (sessions keep the one they were given);
// - the connect sweep reading a copy of --connect-timeout taken at start.
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type BrokerConfig } from '../../src/config.js';
import { applyConfig } from '../../src/config-reload.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { silentLogger } from '../../src/log.js';
import { connectClient, connectWithInbox } from '../helpers/broker-harness.js';

const base: BrokerConfig = { ...defaultConfig, port: 0, sysInterval: 0, authFailDelayMs: 0 };
let running: RunningBroker | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('live limits on a running broker', () => {
  it('max-queued lowered: a parked session queues only the new number', async () => {
    running = await startBroker(base, undefined, { logger: silentLogger() });
    const url = `mqtt://127.0.0.1:${running.port}`;
    const parked = await connectClient(url, { clientId: 'live-parked', clean: false });
    await parked.subscribeAsync('live/q', { qos: 1 });
    await parked.endAsync();
    const log = silentLogger();
    applyConfig(base, { ...base, maxQueued: 2 }, running.broker, [log], log);
    const publisher = await connectClient(url, { clientId: 'live-pub' });
    for (let i = 0; i < 5; i++) await publisher.publishAsync('live/q', `m${i}`, { qos: 1 });
    const { client, inbox } = await connectWithInbox(url, { clientId: 'live-parked', clean: false });
    await inbox.waitCount(2);
    // A sentinel published after the resume comes after anything the queue still held.
    await publisher.publishAsync('live/q', 'sentinel', { qos: 1 });
    await inbox.waitCount(3);
    expect(inbox.messages.map((m) => m.payload)).toEqual(['m0', 'm1', 'sentinel']);
    client.end(true);
    publisher.end(true);
  });

  it('connect-timeout lowered: a socket that never sends CONNECT is closed after the new timeout', async () => {
    running = await startBroker(base, undefined, { logger: silentLogger() });
    const log = silentLogger();
    applyConfig(base, { ...base, connectTimeoutMs: 200 }, running.broker, [log], log);
    const socket = tcpConnect(running.port, '127.0.0.1');
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    // The default (10 s) would keep it open that long; the new 0.2 s closes it at the next sweep
    // (at most a second later). The bound tells the two apart without timing the sweep itself.
    expect(Date.now() - started).toBeLessThan(9000);
  });
});
