// A cluster that cannot start ends, loudly and at once, instead of spinning: a bad --redis is
// refused when flags are parsed (exit 2); Redis not there within --redis-timeout, or the port
// taken, ends the primary with exit 1 and one fatal line; a worker that keeps dying while
// starting is forked again with backoff, then given up on (exit 1).
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The built CLI when the suite runs it (STARLING_CLUSTER_BIN=1, as the cluster harness), else the source.
const ENTRY = process.env.STARLING_CLUSTER_BIN === '1' ? ['bin/starling.js'] : ['--import', 'tsx', 'src/main.ts'];

interface Run {
  code: number | null;
  ms: number;
  stderr: string;
  /** Parsed pino lines from stdout. */
  logs: Array<{ level: number; msg: string; [key: string]: unknown }>;
  stdout: string;
}

/** Runs the CLI to its end (killed after killAfterMs: then code is null). */
function run(args: string[], killAfterMs = 20_000, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [...ENTRY, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      const logs = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Run['logs'][number]);
      resolve({ code, ms: Date.now() - started, stderr, logs, stdout });
    });
  });
}

function fatalLines(r: Run): string[] {
  return r.logs.filter((l) => l.level >= 50).map((l) => l.msg);
}

describe('bad --redis URL', () => {
  it('is refused when flags are parsed: exit 2, one line naming --redis', () => {
    for (const bad of ['notaurl', 'http://127.0.0.1:6379', 'redis://', 'redis://127.0.0.1:6379/x', 'redis://127.0.0.1:99999']) {
      const r = spawnSync(process.execPath, [...ENTRY, '--redis', bad], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, bad).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, bad).toHaveLength(1);
      expect(lines[0]).toMatch(/^starling: --redis: '.*' is not a Redis URL/);
    }
  });

  it('from STARLING_REDIS names the variable, and the password is not echoed', () => {
    const r = spawnSync(process.execPath, ENTRY, { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { ...process.env, STARLING_REDIS: 'redis://user:s3cret@host/db0' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["starling: STARLING_REDIS: 'redis://user:***@host/db0' is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)"]);
  });
});

describe('Redis not reachable at start', () => {
  it.each([1, 2])('%i worker(s), --redis-timeout 1: waiting line, then the primary exits 1 with one fatal line', async (workers) => {
    const port = await freePort(); // closed: nothing listens there
    const r = await run(['--redis', `redis://:pw@127.0.0.1:${port}`, '--workers', String(workers), '--port', '0', '--redis-timeout', '1']);
    expect(r.code).toBe(1);
    // 1 s of waiting plus process start-up (2.5 to 5 s on 2 busy cores); never the 10 s default, never a restart loop.
    expect(r.ms).toBeLessThan(9500);
    expect(r.logs.filter((l) => l.msg === `waiting for Redis at redis://:***@127.0.0.1:${port}`)).toHaveLength(1);
    expect(fatalLines(r)).toEqual([`primary: Redis at redis://:***@127.0.0.1:${port} not reachable within 1 s (connect ECONNREFUSED 127.0.0.1:${port}) (--redis-timeout); giving up`]);
    expect(r.logs.some((l) => l.msg.startsWith('primary: worker died'))).toBe(false);
    // Refused connects while starting are not an outage: the waiting line said it.
    expect(r.logs.filter((l) => l.msg === 'redis unavailable')).toEqual([]);
    expect(r.stdout).not.toContain('    at ');
    expect(r.stderr).toBe('');
  }, 20_000);
});

describe('with a Redis', () => {
  let redis: RedisServerHandle;
  let blocker: Server;

  beforeAll(async () => {
    redis = await startRedisServer();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    blocker?.close();
    await redis?.stop();
  });

  it('port in use: the primary exits 1 with one line naming the address, no restarts', async () => {
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const r = await run(['--redis', redis.url, '--workers', '2', '--port', String(port)], 20_000, { STARLING_REDIS_PREFIX: `sf${process.pid}a:` });
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
    expect(fatalLines(r)).toEqual([`primary: cannot listen on 127.0.0.1:${port}: EADDRINUSE; giving up`]);
    expect(r.logs.some((l) => l.msg.startsWith('primary: worker died'))).toBe(false);
    expect(r.stdout).not.toContain('EADDRINUSE 127.0.0.1'); // no error object (with its stack) logged
    expect(r.stderr).toBe('');
  }, 20_000);

  it('a worker that keeps dying while starting is forked again with backoff, then given up on: exit 1', async () => {
    // A read-only replica of a master that is not there: connects fine, refuses every write, so
    // each worker dies registering itself. Not a fatal reason: the primary retries, then stops.
    const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(await freePort())] });
    try {
      const r = await run(['--redis', replica.url, '--workers', '2', '--port', '0'], 60_000, { STARLING_REDIS_PREFIX: `sf${process.pid}b:` });
      expect(r.code).toBe(1);
      const retries = r.logs.filter((l) => l.msg.startsWith('primary: worker died while starting'));
      // Failures 1..4 are retried after 250, 500, 1000, 2000 ms; the 5th ends it.
      expect(retries.map((l) => l.delayMs)).toEqual([250, 500, 1000, 2000]);
      const fatal = r.logs.filter((l) => l.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]?.msg).toMatch(/^primary: 5 workers in a row died while starting, the last: .*READONLY.*; giving up$/);
    } finally {
      await replica.stop();
    }
  }, 90_000);
});
