// ioredis under a running node (the CLI, one worker): Redis stops for a retry storm and comes back.
// What would make it fail: removing the 'error' listener of store/redis/connection.ts (ioredis then
// prints "[ioredis] Unhandled error event" to stderr, outside our logger), logging per error or per
// 'reconnecting' instead of once per state change, or a line printing a key twice (the bus' nodeId
// beside the worker logger's binding, without log.ts' guard).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { duplicatedKeys } from '../../helpers/log-capture.js';
import { waitFor } from '../../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The built CLI when the suite runs it (STARLING_CLUSTER_BIN=1), else the source.
const ENTRY = process.env.STARLING_CLUSTER_BIN === '1' ? ['bin/starling.js'] : ['--import', 'tsx', 'src/main.ts'];

let redis: RedisServerHandle | undefined;
let child: ChildProcess | undefined;
let stand: Server | undefined;
afterAll(async () => {
  stand?.close();
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await redis?.stop();
});

type Line = { level: number; msg: string; [key: string]: unknown };

it('a Redis outage is a few JSON lines through our logger, not one per retry, and nothing on stderr', async () => {
  redis = await startRedisServer();
  child = spawn(process.execPath, [...ENTRY, '--port', '0', '--redis', redis.url, '--workers', '1', '--log-format', 'auto'], {
    cwd: ROOT,
    env: { ...process.env, STARLING_REDIS_PREFIX: `oplogs-${process.pid}:` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const raw = (): string[] => stdout.split('\n').filter((l) => l !== '');
  const lines = (): Line[] => raw().map((l) => JSON.parse(l) as Line);
  const count = (msg: string, from = 0): number => lines().slice(from).filter((l) => l.msg === msg).length;
  await waitFor(() => lines().some((l) => l.msg.startsWith('listening on port')), 'the cluster listening', 20_000);
  // The worker's last start-up line (its pub/sub limit check), so the outage's lines are all that follow.
  await waitFor(() => lines().some((l) => l.msg.startsWith('redis: ') && l.msg.includes('client-output-buffer-limit')), 'the pub/sub limit check', 20_000);

  const before = lines().length;
  await redis.stop();
  // Stand in for Redis on its port, accepting and dropping every connection: each drop is one
  // more ioredis retry, counted here, so the storm is seen to happen (and no sleep is needed).
  let attempts = 0;
  const sockets = new Set<Socket>();
  stand = createServer((socket) => {
    attempts++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    stand!.once('error', reject);
    stand!.listen(redis!.port, '127.0.0.1', () => resolve());
  });
  // Two clients (commands, subscriber), backoff 100 ms doubling: about two seconds of retries.
  await waitFor(() => attempts >= 10, 'ioredis retrying', 15_000);
  await new Promise<void>((resolve) => stand!.close(() => resolve()));
  stand = undefined;
  await redis.restart();
  await waitFor(() => count('bus: Redis is back; node re-registered and routes rebuilt', before) === 1, 'the node back', 20_000);
  await waitFor(() => count('redis back', before) === 2, 'both clients back');

  const outage = lines().slice(before);
  // One line per client and state change, one for the bus; never one per retry.
  expect(count('redis unavailable', before)).toBe(2);
  expect(count('bus: Redis connection lost; publishes are refused until it is back', before)).toBe(1);
  expect(outage.filter((l) => l.level >= 40).map((l) => l.msg).sort()).toEqual(['bus: Redis connection lost; publishes are refused until it is back', 'redis unavailable', 'redis unavailable']);
  expect(outage.length, JSON.stringify(outage, null, 1)).toBeLessThanOrEqual(6);
  for (const l of outage) expect(l.nodeId).toEqual(expect.any(String));
  // Every line is our logger's JSON (stdout is a pipe: auto means JSON), each key once; ioredis printed nothing.
  for (const l of raw()) expect(duplicatedKeys(l), l).toEqual([]);
  expect(stderr).toBe('');
});
