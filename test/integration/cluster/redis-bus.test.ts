// The Redis MessageBus between several nodes in one process, on a real redis-server:
// routing by interest, acked route announcements, limbo for unreachable nodes, takeover
// notices, and a Redis restart under live buses. Each node is a whole Redis backend built as a
// worker builds it (createRedisBackend); the tests drive its bus and membership.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisBus } from '../../../src/store/redis/bus.js';
import { createRedisBackend, redisKeys, type NodeMembership, type RedisBackend } from '../../../src/store/redis/index.js';
import { encodeTakeover } from '../../../src/store/redis/node-frames.js';
import type { Message } from '../../../src/store/types.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';

const prefix = `bus${process.pid}:`;
let redis: RedisServerHandle;
let admin: Redis;
const nodes: RedisBackend[] = [];
const logLines: string[] = [];

function logger() {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

let nodeCounter = 0;
async function node(options: { ackTimeoutMs?: number } = {}): Promise<{ backend: RedisBackend; bus: RedisBus; membership: NodeMembership; got: Message[] }> {
  const backend = await createRedisBackend({ target: redis.url, prefix, nodeId: `n${++nodeCounter}`, logger: logger(), heartbeatMs: 200, nodeTtlMs: 2000, ...options });
  nodes.push(backend);
  const bus = backend.bus;
  const got: Message[] = [];
  bus.onMessage((m) => got.push(m));
  return { backend, bus, membership: backend.membership, got };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const msg = (topic: string, body = topic): Message => ({ topic, payload: Buffer.from(body), qos: 1, retain: false });

beforeAll(async () => {
  redis = await startRedisServer();
  admin = new Redis(redis.url);
  admin.on('error', () => {});
});

afterAll(async () => {
  for (const backend of nodes) await backend.close();
  admin.disconnect();
  await redis.stop();
});

describe('RedisBus', () => {
  it('routes by interest: only the node with a matching route receives; others receive nothing', async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    await b.bus.addRoute('sensors/+/temp');
    await a.bus.publish(msg('sensors/k1/temp', 'hot'));
    await a.bus.publish(msg('sensors/k1/humidity'));
    await until(() => b.got.length === 1);
    expect(b.got[0]?.payload.toString()).toBe('hot');
    expect(b.bus.received).toBe(1);
    expect(c.bus.received).toBe(0);
    // A node never receives its own publish through the bus (the core delivers locally).
    await b.bus.publish(msg('sensors/k2/temp'));
    await a.bus.publish(msg('sensors/k3/temp'));
    await until(() => b.got.length === 2);
    expect(b.got.map((m) => m.topic)).toEqual(['sensors/k1/temp', 'sensors/k3/temp']);
    expect(c.bus.received).toBe(0);
    expect(a.bus.received).toBe(0);
  });

  it('each node subscribes to exactly its own channel and the routes channel', async () => {
    const channels = (await admin.pubsub('CHANNELS', `${prefix}*`)) as string[];
    const nodeChannels = channels.filter((c) => c.startsWith(`${prefix}node:`));
    expect(nodeChannels.length).toBe(nodes.length);
    const numsub = (await admin.pubsub('NUMSUB', redisKeys(prefix).routesChannel)) as [string, number];
    expect(Number(numsub[1])).toBe(nodes.length);
  });

  it('addRoute resolves only once every other node routes to it: 1,000 fresh filters, zero misses', async () => {
    const sub = await node();
    const pub = await node();
    for (let round = 0; round < 1000; round++) {
      await sub.bus.addRoute(`round/${round}/+`);
      await pub.bus.publish(msg(`round/${round}/x`));
    }
    await until(() => sub.got.length === 1000);
    expect(new Set(sub.got.map((m) => m.topic)).size).toBe(1000);
  });

  it('a removed route is no longer sent to', async () => {
    const a = await node();
    const b = await node();
    await b.bus.addRoute('gone/soon');
    b.bus.removeRoute('gone/soon');
    await b.bus.addRoute('marker');
    await a.bus.publish(msg('gone/soon'));
    await a.bus.publish(msg('marker'));
    await until(() => b.got.length === 1);
    expect(b.got.map((m) => m.topic)).toEqual(['marker']);
  });

  it('a message for a node nobody hears (PUBLISH reached 0) goes to its limbo, and a recoverer delivers it', async () => {
    const a = await node();
    const doomed = await node();
    const rescuer = await node();
    await doomed.bus.addRoute('limbo/#');
    // Simulate a dead node: its subscriber connection vanishes, its routes stay behind.
    (doomed.bus as unknown as { subscriber: Redis }).subscriber.disconnect();
    const numsub = async () => Number(((await admin.pubsub('NUMSUB', `${prefix}node:${doomed.bus.nodeId}`)) as [string, number])[1]);
    const deadline = Date.now() + 5000;
    while ((await numsub()) !== 0 && Date.now() < deadline);
    await a.bus.publish(msg('limbo/1'));
    expect(await admin.llen(redisKeys(prefix).limbo(doomed.bus.nodeId))).toBe(1);
    await rescuer.bus.announceGone(doomed.bus.nodeId);
    const delivered = await rescuer.bus.drainLimbo(doomed.bus.nodeId);
    expect(delivered).toBe(1);
    expect(rescuer.got.map((m) => m.topic)).toContain('limbo/1');
    // After the gone announcement nobody routes to it any more.
    await a.bus.publish(msg('limbo/2'));
    expect(await admin.llen(redisKeys(prefix).limbo(doomed.bus.nodeId))).toBe(0);
  });

  it('a listener that never acks delays addRoute by the ack timeout only, and is logged', async () => {
    const stray = new Redis(redis.url);
    await stray.subscribe(redisKeys(prefix).routesChannel);
    try {
      const a = await node({ ackTimeoutMs: 200 });
      const linesBefore = logLines.length;
      const started = Date.now();
      await a.bus.addRoute('stray/+');
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      await until(() => logLines.slice(linesBefore).some((l) => l.includes('did not ack')));
    } finally {
      stray.disconnect();
    }
  });

  it('delivers takeover notices from the node channel to the takeover handler', async () => {
    const a = await node();
    const seen: Array<[string, string, number]> = [];
    a.bus.onTakeover((clientId, connectionId, epoch) => seen.push([clientId, connectionId, epoch]));
    await admin.publish(redisKeys(prefix).nodeChannel(a.bus.nodeId), encodeTakeover('client-1', 'conn-9', 42));
    await until(() => seen.length === 1);
    expect(seen).toEqual([['client-1', 'conn-9', 42]]);
  });
});

describe('NodeMembership', () => {
  it('a node that leaves is no longer live and is reported to the onDeadNode handlers of the others', async () => {
    const watcher = await node();
    const leaving = await node();
    const dead: string[] = [];
    watcher.membership.onDeadNode((id) => dead.push(id));
    expect(await watcher.membership.liveNodes()).toContain(leaving.bus.nodeId);
    // A worker's shutdown: the backend closes its bus, which leaves the membership (marked expired).
    await leaving.backend.close();
    expect(await watcher.membership.liveNodes()).not.toContain(leaving.bus.nodeId);
    // Reported by the watcher's next heartbeat (every 200 ms here), never about the watcher itself.
    await until(() => dead.includes(leaving.bus.nodeId));
    expect(dead).not.toContain(watcher.bus.nodeId);
  });
});

describe('RedisBus across a Redis restart', () => {
  it('refuses publishes while Redis is down, logs it once, rebuilds routes when Redis is back', async () => {
    const a = await node();
    const b = await node();
    await b.bus.addRoute('outage/+');
    await a.bus.publish(msg('outage/before'));
    await until(() => b.got.length === 1);
    const linesBefore = logLines.length;
    await redis.stop();
    await until(() => logLines.slice(linesBefore).some((l) => l.includes('connection lost')));
    const failures = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => a.bus.publish(msg(`outage/${i}`))));
    expect(failures.every((r) => r.status === 'rejected')).toBe(true);
    await redis.restart();
    // The restarted server is empty: every node re-registers and rewrites its routes.
    const since = () => logLines.slice(linesBefore);
    const backFor = (bus: RedisBus) => since().some((l) => l.includes('Redis is back') && l.includes(`"${bus.nodeId}"`));
    // Reconnect backoff is up to 2 s per client; a loaded machine needs the margin.
    await until(() => backFor(a.bus) && backFor(b.bus), 20_000);
    const aLost = logLines.slice(linesBefore).filter((l) => l.includes('connection lost') && l.includes(`"${a.bus.nodeId}"`));
    expect(aLost.length).toBe(1);
    await until(() => a.bus.sync.table.filtersOf(b.bus.nodeId).has('outage/+'));
    await a.bus.publish(msg('outage/after'));
    await until(() => b.got.length === 2);
    expect(b.got.map((m) => m.topic)).toEqual(['outage/before', 'outage/after']);
  });
});
