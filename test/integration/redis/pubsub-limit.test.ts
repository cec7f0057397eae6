// The start-up check of Redis' pub/sub output limit (pubsub-limit.ts) against a real redis-server:
// one line saying whether it holds, the value to set when not, CONFIG SET when allowed, and one
// info line when CONFIG is refused (a user without it).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkPubsubLimit } from '../../../src/store/redis/pubsub-limit.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { capturingLogger } from './fixture.js';

const MiB = 1024 * 1024;
let server: RedisServerHandle;
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

const needs = (nodes: number) => ({ nodes, windowBytes: MiB, pendingBytes: 16 * MiB });
const pubsub = async (): Promise<string> => /pubsub \S+ \S+ \S+/.exec(((await admin.config('GET', 'client-output-buffer-limit')) as string[])[1] ?? '')?.[0] ?? '';

it("says in one line whether Redis' default pubsub limit holds the bus' burst, and the value to set when it does not", async () => {
  const { logger, lines } = capturingLogger();
  await checkPubsubLimit(admin, logger, needs(2), false);
  await checkPubsubLimit(admin, logger, needs(4), false);
  expect(lines.map((l) => l.msg)).toEqual([
    expect.stringMatching(/^redis: client-output-buffer-limit pubsub 32mb 8mb 60 holds what the bus may send one node \(assuming 2 nodes/),
    expect.stringMatching(/^redis: client-output-buffer-limit pubsub 32mb 8mb 60 is below .* set `CONFIG SET client-output-buffer-limit "pubsub 51mb 8mb 60"`/),
  ]);
  expect(await pubsub()).toBe('pubsub 33554432 8388608 60');
});

it('--redis-set-pubsub-limit raises it (only the pubsub class)', async () => {
  const before = ((await admin.config('GET', 'client-output-buffer-limit')) as string[])[1] ?? '';
  const { logger, lines } = capturingLogger();
  await checkPubsubLimit(admin, logger, needs(4), true);
  expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^redis: raised client-output-buffer-limit to pubsub 51mb 8mb 60 \(was pubsub 32mb 8mb 60/)]);
  expect(await pubsub()).toBe(`pubsub ${51 * MiB} ${8 * MiB} 60`);
  const after = ((await admin.config('GET', 'client-output-buffer-limit')) as string[])[1] ?? '';
  expect(after.replace(/pubsub .*$/, '')).toBe(before.replace(/pubsub .*$/, ''));
});

it('CONFIG refused (a user without it): one info line saying it could not check', async () => {
  await admin.call('ACL', 'SETUSER', 'limited', 'on', '>pw', '~*', '&*', '+@all', '-config');
  const limited = new Redis(server.url, { username: 'limited', password: 'pw' });
  try {
    const { logger, lines } = capturingLogger();
    await checkPubsubLimit(limited, logger, needs(2), true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: expect.stringMatching(/^redis: could not check client-output-buffer-limit pubsub \(CONFIG refused\)/) });
  } finally {
    limited.disconnect();
  }
});
