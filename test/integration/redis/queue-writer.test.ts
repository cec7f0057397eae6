// QueueWriter on a real redis-server that goes away and comes back: a queue write no publisher
// waits for (a message from the bus, whose publisher was acknowledged on another node) is not
// lost when the store fails: it waits, in order, and lands once Redis is back; a write the
// publisher's acknowledgement waits for is not retried (the publisher is refused and resends);
// what waits is bounded (--max-queued per client) and dropped with a count beyond that or at close.
// Fails if a failed non-awaited write is only logged (the queue would miss q/1..q/3: the loss a
// Redis Cluster failover showed), if the retry reorders or loses the writes queued behind it, if
// an awaited write is retried as well (q/awaited would be queued: a duplicate of the resend), or
// if the bound is not applied.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropLog } from '../../../src/broker/drop-log.js';
import { QueueWriter } from '../../../src/broker/queue-writer.js';
import { BrokerCounters } from '../../../src/broker/stats.js';
import type { RedisBackend } from '../../../src/store/redis/index.js';
import type { Message } from '../../../src/store/types.js';
import { eventually, RedisFixture } from './fixture.js';

const fx = new RedisFixture();
let backend: RedisBackend;

beforeAll(async () => {
  await fx.start();
  backend = await fx.backend();
});
afterAll(() => fx.stop());

function fromBus(topic: string, seq: number): Message {
  return { topic, payload: Buffer.from(topic), qos: 1, retain: false, origin: { sender: 'other-node', seq } };
}

function writer(limits = { messages: 100, bytes: 0 }) {
  const counters = new BrokerCounters();
  const changed: string[] = [];
  const queue = new QueueWriter({
    store: backend.sessions,
    limits,
    drops: new DropLog(counters, pino({ level: 'silent' })),
    log: pino({ level: 'silent' }),
    nodeId: 'this-node',
    maxWaitingBytes: 1024 * 1024,
    notifyHolder: () => {},
    queueChanged: (clientId) => changed.push(clientId),
  });
  return { queue, counters, changed };
}

async function redisDown(): Promise<void> {
  await fx.server.stop();
  await eventually(() => backend.redis.status !== 'ready', 'the client to notice the outage');
}

async function redisBack(): Promise<void> {
  await fx.server.restart();
  await eventually(() => backend.redis.status === 'ready', 'the client to reconnect');
}

describe('QueueWriter when the store fails', () => {
  it('holds the writes no publisher waits for and writes them, in order, once Redis is back; an awaited one is not retried', async () => {
    const { queue, counters, changed } = writer();
    backend.sessions.save('qw-1', 600);
    await backend.sessions.flush();
    await redisDown();
    const settled: Promise<void>[] = [];
    settled.push(queue.write('qw-1', fromBus('q/1', 1), { awaited: false }));
    settled.push(queue.write('qw-1', { topic: 'q/awaited', payload: Buffer.from('a'), qos: 1, retain: false }, { awaited: true }));
    settled.push(queue.write('qw-1', fromBus('q/2', 2), { awaited: false }));
    settled.push(queue.write('qw-1', fromBus('q/3', 3), { awaited: false }));
    await eventually(() => queue.waitingCount === 3, 'the three bus messages to wait');
    await redisBack();
    await Promise.all(settled);
    expect(queue.waitingCount).toBe(0);
    const queued = await backend.sessions.drainQueue('qw-1');
    expect(queued.map((m) => m.topic)).toEqual(['q/1', 'q/2', 'q/3']);
    expect(queue.retried).toBe(3);
    expect(counters.messagesDropped).toBe(0);
    // Online here by now, perhaps: the session is told its queue grew.
    expect(changed).toContain('qw-1');
  });

  it('a write for a client with writes waiting goes behind them, even once Redis is back', async () => {
    const { queue } = writer();
    await redisDown();
    const first = queue.write('qw-2', fromBus('r/1', 1), { awaited: false });
    await eventually(() => queue.waitingCount === 1, 'r/1 to wait');
    await redisBack();
    // Redis answers again, but r/1 still waits for its retry: r/2 must not overtake it.
    const second = queue.write('qw-2', fromBus('r/2', 2), { awaited: false });
    await Promise.all([first, second]);
    expect((await backend.sessions.drainQueue('qw-2')).map((m) => m.topic)).toEqual(['r/1', 'r/2']);
  });

  it('beyond --max-queued per client what would wait is dropped and counted; close drops (and counts) what still waits', async () => {
    const { queue, counters } = writer({ messages: 2, bytes: 0 });
    await redisDown();
    const settled = [1, 2, 3].map((seq) => queue.write('qw-3', fromBus(`s/${seq}`, seq), { awaited: false }));
    // The third is dropped at once (its promise settles then).
    await settled[2];
    expect(counters.messagesDropped).toBe(1);
    expect(queue.waitingCount).toBe(2);
    queue.close();
    await Promise.all(settled);
    expect(counters.messagesDropped).toBe(3);
    expect(queue.waitingCount).toBe(0);
    await redisBack();
  });
});
