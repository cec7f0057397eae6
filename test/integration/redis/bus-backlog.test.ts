// Two buses on one real redis-server: the cap on bytes waiting for Redis (redis-backlog.ts, fed by
// node-batches.ts) under a stopped Redis, and flow-control credit reset by a node's rejoin
// (bus-flow.ts, called from bus.ts on the 'rejoin' announcement).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RedisBackend } from '../../../src/store/redis/index.js';
import type { Message, Throttled } from '../../../src/store/types.js';
import { eventually, RedisFixture } from './fixture.js';

const fixture = new RedisFixture();
let a: RedisBackend;
let b: RedisBackend;
let admin: Redis;

beforeAll(async () => {
  await fixture.start();
  a = await fixture.backend({ pendingBytes: 1024 * 1024 });
  b = await fixture.backend();
  admin = new Redis(fixture.server.url);
  await b.bus.addRoute('to-b/#');
  await a.bus.addRoute('to-a/#');
});

afterAll(async () => {
  fixture.server.signal('SIGCONT');
  admin?.disconnect();
  await fixture.stop();
});

class Publisher implements Throttled {
  paused = false;
  pauseReading(): boolean {
    if (this.paused) return false;
    return (this.paused = true);
  }
  resumeReading(): void {
    this.paused = false;
  }
}

const message = (topic: string, bytes: number): Message => ({ topic, payload: Buffer.alloc(bytes, 1), qos: 1, retain: false });

it('a stopped Redis: publishers wait once a cap of bytes is unanswered, nothing is acknowledged meanwhile, all goes on after SIGCONT', async () => {
  const publisher = new Publisher();
  let handedOver = 0;
  fixture.server.signal('SIGSTOP');
  let published = 0;
  try {
    // As the core does: publish, then throttle; a paused publisher sends nothing more.
    while (!publisher.paused && published < 1000) {
      a.bus.publish(message('to-b/x', 64 * 1024)).then(() => handedOver++, () => {});
      a.bus.throttle(publisher);
      published++;
      if (published % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(publisher.paused).toBe(true);
    // 1 MiB cap / 64 KiB: the 16th message reached it (without the cap: all 1,000 written and buffered).
    expect(published).toBe(16);
    expect(a.bus.backlog.bytes).toBeGreaterThanOrEqual(1024 * 1024);
    await new Promise((r) => setTimeout(r, 200));
    expect(handedOver).toBe(0);
    expect(publisher.paused).toBe(true);
  } finally {
    fixture.server.signal('SIGCONT');
  }
  await eventually(() => !publisher.paused, 'the publisher resumed after SIGCONT');
  await eventually(() => handedOver === published, 'every publish handed over');
  expect(a.bus.backlog.bytes).toBe(0);
});

it("a node whose subscriber connection was reset and rejoined is credited from zero both ways by the others", async () => {
  // Less than an ack's worth each way (64 KiB): outstanding at the sender, unacked at the receiver.
  await a.bus.publish(message('to-b/y', 10_000));
  await b.bus.publish(message('to-a/y', 10_000));
  await eventually(() => a.bus.flow.outstanding(b.bus.nodeId) > 0 && a.bus.flow.unacked(b.bus.nodeId) > 0, 'credit both ways between a and b');
  // Redis drops b's subscriber (as past its pub/sub output limit): b reconnects, resyncs, announces 'rejoin'.
  const clients = (await admin.client('LIST')) as string;
  const line = clients.split('\n').find((l) => l.includes(`name=starling:${b.bus.nodeId}:subscriber`));
  const id = /id=(\d+)/.exec(line ?? '')?.[1];
  expect(id).toBeDefined();
  await admin.client('KILL', 'ID', id!);
  await eventually(() => a.bus.flow.outstanding(b.bus.nodeId) === 0, "a forgets the bytes b never acked");
  expect(a.bus.flow.unacked(b.bus.nodeId)).toBe(0);
});
