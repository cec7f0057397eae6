// The Redis MessageBus's part in shared subscriptions (MQTT 5 4.8.2), several nodes in one
// process on a real redis-server: group routes are kept apart from normal routes, and a message
// reaches a node chosen for a group marked with the group, in one entry with its normal copy.
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisBus } from '../../../src/store/redis/bus.js';
import { createRedisBackend, type RedisBackend } from '../../../src/store/redis/index.js';
import type { Message, SharedRoute } from '../../../src/store/types.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

const prefix = `busshared${process.pid}:`;
let redis: RedisServerHandle;
const nodes: RedisBackend[] = [];

interface Got {
  payload: string;
  groups: readonly string[] | undefined;
}

let counter = 0;
async function node(): Promise<{ backend: RedisBackend; bus: RedisBus; got: Got[] }> {
  const backend = await createRedisBackend({ target: redis.url, prefix, nodeId: `s${++counter}`, logger: pino({ level: 'silent' }), heartbeatMs: 200, nodeTtlMs: 2000 });
  nodes.push(backend);
  const bus = backend.bus;
  const got: Got[] = [];
  bus.onMessage((m: Message, groups) => got.push({ payload: m.payload.toString(), groups }));
  return { backend, bus, got };
}

const msg = (topic: string, body: string): Message => ({ topic, payload: Buffer.from(body), qos: 1, retain: false });

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const backend of nodes) await backend.close();
  await redis.stop();
});

describe('RedisBus and shared subscription groups', () => {
  it('group routes are visible through matchSharedRoutes only; marked entries carry the groups, to the chosen node only', async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    await b.bus.addRoute('$share/g/jobs/+');
    await c.bus.addRoute('$share/g/jobs/+');
    await c.bus.addRoute('jobs/#');
    const routes: Array<[string, string[]]> = [];
    a.bus.matchSharedRoutes('jobs/1', (r: SharedRoute) => routes.push([r.group, [...r.nodes].sort()]));
    expect(routes).toEqual([['$share/g/jobs/+', [b.bus.nodeId, c.bus.nodeId].sort()]]);
    expect(a.bus.sharedRouteCount).toBe(1);
    // Plain publish: only C's normal route; B's group route alone never pulls a message.
    await a.bus.publish(msg('jobs/1', 'plain'));
    // Chosen B for the group: B gets a marked entry; C gets its normal copy, unmarked.
    await a.bus.publish(msg('jobs/1', 'to-b'), new Map([[b.bus.nodeId, ['$share/g/jobs/+']]]));
    // Chosen C for the group: one entry, marked, for both its normal subscriber and the group.
    await a.bus.publish(msg('jobs/1', 'to-c'), new Map([[c.bus.nodeId, ['$share/g/jobs/+']]]));
    await waitFor(() => b.got.length === 1 && c.got.length === 3, 'the messages at B and C');
    expect(b.got).toEqual([{ payload: 'to-b', groups: ['$share/g/jobs/+'] }]);
    expect(c.got).toEqual([
      { payload: 'plain', groups: undefined },
      { payload: 'to-b', groups: undefined },
      { payload: 'to-c', groups: ['$share/g/jobs/+'] },
    ]);
    b.bus.removeRoute('$share/g/jobs/+');
    await waitFor(() => {
      const left: string[][] = [];
      a.bus.matchSharedRoutes('jobs/1', (r) => left.push([...r.nodes]));
      return left.length === 1 && left[0].length === 1 && left[0][0] === c.bus.nodeId;
    }, 'B withdrawn from the group at A');
  });

  it('a marked frame to a node that is gone goes to its limbo with its groups', async () => {
    const a = await node();
    const gone = await node();
    await gone.bus.addRoute('$share/g/limbo/t');
    const goneId = gone.bus.nodeId;
    await gone.backend.close();
    const admin = new Redis(redis.url);
    // Redis has seen its subscriber go: a PUBLISH to its channel now reaches nobody.
    await waitFor(async () => Number(((await admin.pubsub('NUMSUB', `${prefix}node:${goneId}`)) as [string, number])[1]) === 0, 'no receiver on its channel');
    admin.disconnect();
    await a.bus.publish(msg('limbo/t', 'kept'), new Map([[goneId, ['$share/g/limbo/t']]]));
    const drained: Got[] = [];
    await a.bus.drainLimbo(goneId, (m, groups) => drained.push({ payload: m.payload.toString(), groups }));
    expect(drained).toEqual([{ payload: 'kept', groups: ['$share/g/limbo/t'] }]);
  });
});
