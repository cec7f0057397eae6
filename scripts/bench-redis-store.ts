// Throughput of the Redis stores on a private redis-server (started here, on a free port):
// per-message session writes (put/delete in-flight, flush per batch), capped enqueue, retained
// set, and retained wildcard match over 100,000 topics.
// Run: npx tsx scripts/bench-redis-store.ts [messages, default 50000]
import { createRedisBackend } from '../src/store/redis/index.js';
import type { Message } from '../src/store/types.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const count = Number(process.argv[2] ?? 50_000);
const server = await startRedisServer();
const backend = await createRedisBackend({ target: server.url, prefix: 'bench:', nodeId: 'bench' });
const { sessions, retained } = backend;
const message = (topic: string): Message => ({ topic, payload: Buffer.alloc(64, 1), qos: 1, retain: false });

async function timed(label: string, ops: number, run: () => Promise<void>): Promise<void> {
  const start = process.hrtime.bigint();
  await run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${label.padEnd(52)} ${ops.toLocaleString('en').padStart(9)} ops  ${ms.toFixed(0).padStart(6)} ms  ${Math.round((ops / ms) * 1000).toLocaleString('en').padStart(9)} ops/s`);
}

try {
  await timed('putInflight + deleteInflight, flush every 1000', count, async () => {
    for (let i = 0; i < count; i++) {
      const id = (i % 65535) + 1;
      sessions.putInflight(`c${i % 100}`, { messageId: id, state: 'publish', message: message(`t/${i % 100}`) });
      sessions.deleteInflight(`c${i % 100}`, id);
      if (i % 1000 === 999) await sessions.flush();
    }
    await sessions.flush();
  });

  await timed('enqueue (cap 1e6), 1000 in flight at a time', count, async () => {
    for (let i = 0; i < count; i += 1000) {
      const batch: Promise<boolean>[] = [];
      for (let j = i; j < Math.min(count, i + 1000); j++) batch.push(sessions.enqueue(`q${j % 100}`, message('q/t'), { messages: 1_000_000, bytes: 0 }));
      await Promise.all(batch);
    }
  });

  await timed('drainQueue of 100 queues', count, async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => sessions.drainQueue(`q${i}`)));
  });

  await timed('retained set of 100,000 topics, flush every 5000', 100_000, async () => {
    for (let i = 0; i < 100_000; i++) {
      const topic = `r/${i % 100}/${Math.floor(i / 100) % 10}/${Math.floor(i / 1000)}`;
      retained.set(topic, { ...message(topic), retain: true });
      if (i % 5000 === 4999) await retained.flush();
    }
    await retained.flush();
  });

  for (const filter of ['r/42/+/7', 'r/+/3/5', 'r/42/3/#', 'r/#']) {
    const runs = filter === 'r/#' ? 3 : 200;
    let found = 0;
    const before = retained.matchCommands;
    await timed(`retained match ${filter} (x${runs})`, runs, async () => {
      for (let i = 0; i < runs; i++) found = (await retained.match(filter)).length;
    });
    console.log(`   -> ${found} messages, ${(retained.matchCommands - before) / runs} Redis commands per match`);
  }
} finally {
  await backend.close();
  await server.stop();
}
