// A persistent session online with messages in its store queue: when taking them fails (the store
// refuses, as during a failover), the take is tried again by itself. The client here has nothing
// in flight and nothing new comes, so no acknowledgement or delivery would trigger it: without the
// retry the queued message waited until the client reconnected.
// The store is made to fail for real: Redis' ACL takes EVAL/EVALSHA from the broker's user.
// Fails if a failed take is only logged (m2 never arrives).
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { testDefaults } from '../../helpers/broker-harness.js';
import { redisCommand } from '../../helpers/redis-command.js';
import { waitFor } from '../../helpers/wait.js';
import { capturingLogger, RedisFixture } from './fixture.js';

const fx = new RedisFixture();
const { logger, lines } = capturingLogger();
let running: RunningBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  await fx.start();
  running = await startBroker({ ...testDefaults, logLevel: 'info' }, await fx.backend(), { logger });
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await redisCommand(fx.server.port, 'ACL', 'SETUSER', 'default', '+@all').catch(() => {});
  await running?.close();
  await fx.stop();
});

it('a take from the store queue that failed is tried again while the client waits', async () => {
  const url = `mqtt://127.0.0.1:${running.port}`;
  // Receive Maximum 1: one message in flight, the next goes to the store queue.
  const sub = await mqtt.connectAsync(url, { clientId: 'take-retry', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 600, receiveMaximum: 1 }, reconnectPeriod: 0 });
  clients.push(sub);
  const received: string[] = [];
  const held: Array<() => void> = [];
  // The PUBACK goes when the callback is called: held until the test says.
  sub.handleMessage = (packet, done) => {
    if (packet.cmd === 'publish') received.push(packet.topic);
    held.push(() => done());
  };
  await sub.subscribeAsync('tr/#', { qos: 1 });
  const pub = await mqtt.connectAsync(url, { clientId: 'take-retry-pub', reconnectPeriod: 0 });
  clients.push(pub);
  await pub.publishAsync('tr/m1', 'one', { qos: 1 });
  await pub.publishAsync('tr/m2', 'two', { qos: 1 });
  await waitFor(() => received.length === 1, 'm1 in flight');
  expect(received).toEqual(['tr/m1']);

  await redisCommand(fx.server.port, 'ACL', 'SETUSER', 'default', '-eval', '-evalsha');
  // Acknowledging m1 frees the window: the session takes m2 from the store, which refuses.
  held.shift()!();
  await waitFor(() => lines.some((l) => l.msg.startsWith('could not take queued messages')), 'the take to fail');
  await redisCommand(fx.server.port, 'ACL', 'SETUSER', 'default', '+@all');

  await waitFor(() => received.length === 2, 'm2, taken again without anything else happening', 10_000);
  expect(received).toEqual(['tr/m1', 'tr/m2']);
});
