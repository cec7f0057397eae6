// Starling under pm2, as ecosystem.config.js runs it: pm2 supervises the primary (fork mode,
// one instance), a client connects and exchanges a message, `pm2 kill` stops it all.
// Runs the built CLI (bin/starling.js -> dist/; `npm test` builds it first) with a private PM2_HOME.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectCollecting } from '../../helpers/cluster-clients.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../helpers/ports.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const pm2 = join(root, 'node_modules/.bin/pm2');
let redis: RedisServerHandle;
let pm2Home: string;
let port: number;


function pm2Env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PM2_HOME: pm2Home,
    STARLING_PORT: String(port),
    STARLING_REDIS: redis.url,
    STARLING_WORKERS: '2',
    STARLING_REDIS_PREFIX: `pm2${process.pid}:`,
    STARLING_LOG_LEVEL: 'info',
  };
}

beforeAll(async () => {
  redis = await startRedisServer();
  pm2Home = mkdtempSync(join(tmpdir(), 'starling-pm2-'));
  port = await freePort();
});

afterAll(async () => {
  await run(pm2, ['kill'], { env: pm2Env(), cwd: root }).catch(() => undefined);
  rmSync(pm2Home, { recursive: true, force: true });
  await redis?.stop();
});

it('pm2 supervises one primary in fork mode, which runs 2 workers; clients connect; pm2 kill stops it', async () => {
  expect(existsSync(join(root, 'dist/main.js'))).toBe(true);
  await run(pm2, ['start', 'ecosystem.config.js'], { env: pm2Env(), cwd: root });
  const { stdout } = await run(pm2, ['jlist'], { env: pm2Env(), cwd: root });
  const apps = JSON.parse(stdout) as Array<{ name: string; pm2_env: { exec_mode: string; status: string } }>;
  expect(apps.map((a) => [a.name, a.pm2_env.exec_mode])).toEqual([['starling', 'fork_mode']]);

  let client: Awaited<ReturnType<typeof connectCollecting>> | undefined;
  await waitFor(async () => {
    client = await connectCollecting(`mqtt://127.0.0.1:${port}`, { clientId: 'pm2-client' }).catch(() => undefined);
    return client !== undefined;
  }, 'the broker under pm2 to accept a client', 20_000, 100);
  await client!.client.subscribeAsync('pm2/test', { qos: 1 });
  await client!.client.publishAsync('pm2/test', 'hello', { qos: 1 });
  await waitFor(() => client!.messages.length === 1, 'the message');
  // The supervised process is the cluster primary: its workers are its business, not pm2's.
  const outLog = (): string => {
    const name = readdirSync(join(pm2Home, 'logs')).find((f) => f.startsWith('starling-out'));
    return name === undefined ? '' : readFileSync(join(pm2Home, 'logs', name), 'utf8');
  };
  await waitFor(() => outLog().includes(`listening on port ${port} with 2 workers`), "the primary's listening line in the pm2 log", 30_000); // pm2 starts its own daemon first: slow on a loaded 2-core machine
  const closed = new Promise<void>((resolve) => client!.client.once('close', () => resolve()));

  await run(pm2, ['kill'], { env: pm2Env(), cwd: root });
  await closed;
  await expect(connectCollecting(`mqtt://127.0.0.1:${port}`, { clientId: 'after-kill' })).rejects.toThrow();
}, 60_000);
