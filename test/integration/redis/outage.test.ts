// Redis goes away and comes back (same port, data lost: no persistence). While it is away the
// store's writes make flush() reject at once instead of hanging, reads reject too; once it is
// back the same store works again without being recreated; each connection logs the outage
// once and the recovery once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisBackend } from '../../../src/store/redis/index.js';
import type { Message } from '../../../src/store/types.js';
import { capturingLogger, eventually, RedisFixture } from './fixture.js';

const fx = new RedisFixture();
const { logger, lines } = capturingLogger();
let backend: RedisBackend;

beforeAll(async () => {
  await fx.start();
  backend = await fx.backend({ logger });
});
afterAll(() => fx.stop());

const msg: Message = { topic: 'o/1', payload: Buffer.from('x'), qos: 1, retain: false };

/** Rejects if the promise neither settles within ms: only to fail clearly rather than hang. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms))]);
}

describe('Redis store through an outage', () => {
  it('fails fast while Redis is down and works again after it comes back, logging once per outage', async () => {
    const { sessions, retained } = backend;
    sessions.save('out-1', 60);
    await sessions.flush();

    await fx.server.stop();
    await eventually(() => backend.redis.status !== 'ready', 'the client to notice the outage');

    // Several writes during the outage, then flush: it rejects (promptly), it does not hang.
    sessions.addSubscriptions('out-1', [['o/#', { qos: 1 }]]);
    sessions.putInflight('out-1', { messageId: 1, state: 'publish', message: msg });
    await expect(within(sessions.flush(), 5000)).rejects.toThrow(/writeable|closed|Connection|ECONNREFUSED/i);
    retained.set('o/r', msg);
    await expect(within(retained.flush(), 5000)).rejects.toThrow();
    await expect(within(sessions.enqueue('out-1', msg, { messages: 10, bytes: 0 }), 5000)).rejects.toThrow();
    await expect(within(sessions.load('out-1'), 5000)).rejects.toThrow();
    // A flush after the failed one reports only new failures (none were issued): still down, so the PING fails.
    await expect(within(sessions.flush(), 5000)).rejects.toThrow();

    await fx.server.restart();
    await eventually(async () => backend.redis.status === 'ready', 'the client to reconnect');

    // The same store objects work again (Redis lost its data: no persistence in tests).
    sessions.save('out-1', 60);
    sessions.addSubscriptions('out-1', [['o/#', { qos: 1 }]]);
    await sessions.flush();
    expect([...(await sessions.load('out-1'))!.subscriptions.keys()]).toEqual(['o/#']);
    expect(await sessions.enqueue('out-1', msg, { messages: 10, bytes: 0 })).toBe(true);
    retained.set('o/r', msg);
    await retained.flush();
    expect(await retained.match('o/+')).toEqual([msg]);

    await eventually(() => lines.filter((l) => l.msg === 'redis back').length >= 2, 'both connections to log their recovery');
    const commandsRole = `${backend.bus.nodeId}:commands`;
    const about = (role: string, msg: string) => lines.filter((l) => l.role === role && l.msg === msg).length;
    expect(about(commandsRole, 'redis unavailable')).toBe(1);
    expect(about(commandsRole, 'redis back')).toBe(1);
    expect(about(`${backend.bus.nodeId}:subscriber`, 'redis unavailable')).toBe(1);
  });

  it('a second outage (redis-server killed) is logged once more, and recovery once more', async () => {
    const role = `${backend.bus.nodeId}:commands`;
    const about = (msg: string) => lines.filter((l) => l.role === role && l.msg === msg).length;
    fx.server.kill();
    await eventually(() => backend.redis.status !== 'ready', 'the client to notice the outage');
    backend.sessions.save('out-2', 5);
    await expect(within(backend.sessions.flush(), 5000)).rejects.toThrow();
    await fx.server.restart();
    await eventually(() => about('redis back') === 2, 'the recovery to be logged');
    backend.sessions.save('out-2', 5);
    await backend.sessions.flush();
    expect((await backend.sessions.load('out-2'))?.expiryInterval).toBe(5);
    expect(about('redis unavailable')).toBe(2);
  });
});
