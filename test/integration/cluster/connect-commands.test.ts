// What one clean-session connection costs Redis, counted by Redis itself (INFO commandstats):
// the ownership claim and release (two scripts) and one DEL of any old session at the clean
// start; no PING to wait for writes, and no second DEL of the session at the end when nothing
// was stored.
// A clean session with a will stores it, and then its end deletes it.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectClient } from '../../helpers/broker-harness.js';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { waitFor } from '../../helpers/wait.js';

let cluster: TestCluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await startTestCluster({ workers: 1 });
  redis = cluster.redis();
});
afterAll(() => cluster?.close());

async function calls(): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) counts.set(m[1]!, Number(m[2]));
  return counts;
}

/** Commands Redis ran for one connect + disconnect of clientId (which the caller makes). */
async function commandsOf(clientId: string, cycle: () => Promise<void>): Promise<(name: string) => number> {
  const before = await calls();
  await cycle();
  // The release is the last command of the cycle: the owner record is gone once it ran.
  await waitFor(async () => (await cluster.nodeOf(clientId)) === null, `release of ${clientId}`);
  const after = await calls();
  return (name) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

it('a clean session that stores nothing: claim, one DEL, release; no PING, no second DEL', async () => {
  const delta = await commandsOf('cc-plain', async () => {
    const client = await connectClient(cluster.url, { clientId: 'cc-plain', clean: true });
    await client.endAsync();
  });
  // commandstats counts what scripts run too: one DEL of the session keys at the clean start, and
  // the release script's DEL of the owner record. (Before: a second DEL of the session keys.)
  expect(delta('del')).toBe(2);
  expect(delta('ping')).toBe(0);
  expect(delta('evalsha') + delta('eval')).toBeGreaterThanOrEqual(2); // claim + release (+ heartbeats)
});

it('a clean session with a will stores it, and its end deletes it', async () => {
  const key = `${cluster.prefix}{s:cc-will}:will`;
  const delta = await commandsOf('cc-will', async () => {
    const client = await connectClient(cluster.url, { clientId: 'cc-will', clean: true, will: { topic: 'cc/will', payload: Buffer.from('x'), qos: 0, retain: false } });
    // Stored while the client is connected, by its node (the HSET count cannot show it: the
    // stats writer's HSETs run meanwhile).
    await waitFor(async () => (await redis.exists(key)) === 1, 'the will stored');
    expect(await redis.hget(key, 'node')).toBe([...cluster.workers.values()][0]);
    await client.endAsync();
  });
  expect(delta('hset')).toBeGreaterThanOrEqual(1); // the will (and the stats writer's own HSETs)
  expect(delta('del')).toBe(3); // the clean start's, the release script's, and the will's at the end
  expect(await redis.exists(key)).toBe(0);
});
