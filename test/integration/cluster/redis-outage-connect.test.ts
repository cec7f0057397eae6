// CONNECT while Redis is down: the client is told "server unavailable" (CONNACK 0x03 for
// v3.1.1, 0x88 for v5) rather than a bare close; the outage is logged once per Redis connection
// at warn level, without stacks and not per attempt; once Redis is back (same port, empty) one
// "redis back" line each, and CONNECTs succeed again.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnackPacket } from '../../../src/protocol/types.js';
import { startTestCluster, type LogLine, type TestCluster } from '../../helpers/cluster-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

let redis: RedisServerHandle;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startTestCluster({ workers: 2, redisUrl: redis.url });
});

afterAll(async () => {
  await cluster?.close();
  await redis?.stop();
});

/** CONNECT with a fresh socket; resolves with the CONNACK reason code (null: closed without one). */
async function connectCode(version: 4 | 5, clientId: string, clean = true): Promise<number | null> {
  const client = await RawClient.open(cluster.port, version);
  try {
    client.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean, keepalive: 0, clientId });
    const connack = (await client.next('connack').catch(() => null)) as ConnackPacket | null;
    return connack === null ? null : (connack.reasonCode ?? 0);
  } finally {
    client.destroy();
  }
}

const isDown = (l: LogLine): boolean => l.msg === 'redis unavailable';
const isBack = (l: LogLine): boolean => l.msg === 'redis back';

it('Redis down: CONNACK 0x03 (v3.1.1) / 0x88 (v5), the outage logged once per connection; back: one line each, connects work', async () => {
  const nodes = [...cluster.workers.values()];
  expect(await connectCode(5, 'before-outage')).toBe(0);

  await redis.stop();
  for (const nodeId of nodes) await cluster.waitForLog((l) => isDown(l) && l.nodeId === nodeId && l.role === `${nodeId}:commands`, `${nodeId} sees the outage`);

  // Several attempts per version, clean and persistent, spread over both workers.
  const codes: Array<[number, number | null]> = [];
  for (let i = 0; i < 4; i++) {
    codes.push([4, await connectCode(4, `down-v4-${i}`, i % 2 === 0)]);
    codes.push([5, await connectCode(5, `down-v5-${i}`, i % 2 === 0)]);
  }
  expect(codes).toEqual(codes.map(([v]) => [v, v === 5 ? 0x88 : 0x03]));

  await redis.restart();
  for (const nodeId of nodes) await cluster.waitForLog((l) => isBack(l) && l.role === `${nodeId}:commands`, `${nodeId} sees Redis back`, 20_000);
  // Like any MQTT client, retry until accepted: the first attempts may meet the bus still re-registering.
  await waitFor(async () => (await connectCode(5, 'after-outage-v5')) === 0, 'a v5 CONNECT accepted after the restart', 15_000, 100);
  await waitFor(async () => (await connectCode(4, 'after-outage-v4', false)) === 0, 'a v4 CONNECT accepted after the restart', 15_000, 100);

  for (const nodeId of nodes) {
    for (const role of [`${nodeId}:commands`, `${nodeId}:subscriber`]) {
      expect(cluster.logs.filter((l) => isDown(l) && l.role === role), `${role} down lines`).toHaveLength(1);
      expect(cluster.logs.filter((l) => isBack(l) && l.role === role), `${role} back lines`).toHaveLength(1);
    }
  }
  // No error-level line (and so no stack) for any of the refused CONNECTs.
  expect(cluster.logs.filter((l) => Number(l.level) >= 50).map((l) => l.msg)).toEqual([]);
  for (const line of cluster.logs.filter(isDown)) {
    expect(line.level).toBe(40);
    expect(typeof line.err).not.toBe('object'); // the error's message at most, never an error object with its stack
  }
}, 60_000);
