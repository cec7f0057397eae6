// --http in one process: /metrics counts what a load did, /healthz and /readyz answer.
// Fails if: handlePublish stops bumping receivedByQos (received by QoS is 0); Session.writePublish
// stops bumping sentByQos or reads the wrong bits of the PUBLISH header (sent by QoS wrong);
// answerError stops counting refusals (refusals absent); the $SYS rule in publish.ts stops going
// through refuse() (its drop absent); startBroker stops serving --http or stops exposing httpPort.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { silentLogger } from '../../src/log.js';
import { connectClient, connectWithInbox, testDefaults, type Inbox } from '../helpers/broker-harness.js';
import { httpGet, sample } from '../helpers/prometheus.js';

const N = 40; // QoS 0 messages
const M = 25; // QoS 1 messages
const K = 3; // subscribers
const AUTH = { username: 'u', password: 'p' };

let running: RunningBroker;
let url: string;
beforeAll(async () => {
  running = await startBroker({ ...testDefaults, ...AUTH, http: '127.0.0.1:0' }, undefined, { logger: silentLogger() });
  url = `mqtt://127.0.0.1:${running.port}`;
});
afterAll(async () => {
  await running?.close();
});

describe('/metrics, /healthz, /readyz (one process)', () => {
  it('serves /healthz and /readyz with 200, and 404 elsewhere', async () => {
    expect(running.httpPort).toBeGreaterThan(0);
    const port = running.httpPort!;
    expect(await httpGet(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await httpGet(port, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
    expect((await httpGet(port, '/nope')).status).toBe(404);
  });

  it('counts messages received and sent by QoS, connects, refusals and drops by reason', async () => {
    const subscribers: Array<{ client: MqttClient; inbox: Inbox }> = [];
    for (let i = 0; i < K; i++) {
      const s = await connectWithInbox(url, { clientId: `sub-${i}`, ...AUTH });
      await s.client.subscribeAsync('load/#', { qos: 1 });
      subscribers.push(s);
    }
    const pub = await connectClient(url, { clientId: 'pub', protocolVersion: 5, ...AUTH });
    for (let i = 0; i < N; i++) pub.publish(`load/${i}`, 'x', { qos: 0 });
    for (let i = 0; i < M; i++) await pub.publishAsync(`load/q1/${i}`, 'y', { qos: 1 });
    // A $SYS publish: dropped and counted, never delivered (the subscribers' count stays N + M).
    await pub.publishAsync('$SYS/x', 'z', { qos: 1 }).catch(() => undefined);
    for (const s of subscribers) await s.inbox.waitCount(N + M);
    await expect(connectClient(url, { clientId: 'bad', username: 'u', password: 'wrong' })).rejects.toThrow();

    const { status, body } = await httpGet(running.httpPort!, '/metrics');
    expect(status).toBe(200);
    expect(sample(body, 'starling_messages_received_total', { qos: '0' })).toBe(N);
    expect(sample(body, 'starling_messages_received_total', { qos: '1' })).toBe(M + 1); // the $SYS one was received, then dropped
    expect(sample(body, 'starling_messages_received_total', { qos: '2' })).toBe(0);
    expect(sample(body, 'starling_messages_sent_total', { qos: '0' })).toBe(K * N);
    expect(sample(body, 'starling_messages_sent_total', { qos: '1' })).toBe(K * M);
    expect(sample(body, 'starling_messages_dropped_total', { reason: 'publish_to_sys' })).toBe(1);
    expect(sample(body, 'starling_connect_refusals_total', { reason: 'bad_user_name_or_password' })).toBe(1);
    expect(sample(body, 'starling_connects_total')).toBe(K + 1);
    expect(sample(body, 'starling_connections')).toBe(K + 1);
    expect(sample(body, 'starling_subscriptions')).toBe(K);
    expect(sample(body, 'starling_sessions')).toBe(K + 1);
    expect(sample(body, 'starling_bytes_received_total')).toBeGreaterThan(0);
    expect(sample(body, 'starling_bytes_sent_total')).toBeGreaterThan(0);
    expect(sample(body, 'starling_queued_messages')).toBe(0);
    expect(sample(body, 'starling_retained_messages')).toBe(0);
    // No Redis in one process: no Redis or bus series.
    expect(sample(body, 'starling_redis_up')).toBeUndefined();
    for (const s of subscribers) await s.client.endAsync();
    await pub.endAsync();
  });
});
