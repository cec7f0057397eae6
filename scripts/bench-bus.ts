// Per-message costs of the cluster path, for docs/scaling.md:
//   1. raw Redis PUBLISH (auto-pipelined, 1 subscriber), one message per PUBLISH
//   2. the RedisBus between two nodes in one process: messages per second from publish() on
//      node A to the onMessage handler on node B (batched: one PUBLISH per node per turn)
// Starts its own redis-server on a free port.   node --import tsx scripts/bench-bus.ts [count]
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedisBackend } from '../src/store/redis/index.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const count = Number(process.argv[2] ?? 200_000);
const payload = Buffer.alloc(64, 'x');
const redis = await startRedisServer();

async function rawPublish(): Promise<number> {
  const pub = new Redis(redis.url, { enableAutoPipelining: true });
  const sub = new Redis(redis.url);
  let got = 0;
  await sub.subscribe('bench');
  const done = new Promise<void>((resolve) => sub.on('messageBuffer', () => ++got === count && resolve()));
  const started = performance.now();
  const window = 1000;
  for (let i = 0; i < count; i += window) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + window); j++) batch.push(pub.publish('bench', payload));
    await Promise.all(batch);
  }
  await done;
  const rate = count / ((performance.now() - started) / 1000);
  pub.disconnect();
  sub.disconnect();
  return rate;
}

async function busPublish(): Promise<number> {
  const logger = pino({ level: 'silent' });
  // Two nodes wired as workers wire them (createRedisBackend); only their buses are used.
  const nodeA = await createRedisBackend({ target: redis.url, prefix: 'bench:', nodeId: 'a', logger });
  const nodeB = await createRedisBackend({ target: redis.url, prefix: 'bench:', nodeId: 'b', logger });
  const a = nodeA.bus;
  const b = nodeB.bus;
  await b.addRoute('bench/+');
  let got = 0;
  const done = new Promise<void>((resolve) => b.onMessage(() => ++got === count && resolve()));
  const started = performance.now();
  const window = 1000;
  for (let i = 0; i < count; i += window) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + window); j++) batch.push(a.publish({ topic: `bench/${j % 100}`, payload, qos: 1, retain: false }));
    await Promise.all(batch);
  }
  await done;
  const rate = count / ((performance.now() - started) / 1000);
  await nodeA.close();
  await nodeB.close();
  return rate;
}

const raw = await rawPublish();
const bus = await busPublish();
console.log(JSON.stringify({ count, payloadBytes: payload.length, rawRedisPublishPerSec: Math.round(raw), busMessagesPerSec: Math.round(bus) }));
await redis.stop();
process.exit(0);
