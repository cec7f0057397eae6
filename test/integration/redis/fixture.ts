// One private redis-server per test file and backends on it with unique prefixes and node ids.
import { pino } from 'pino';
import { createRedisBackend, type RedisBackend, type RedisBackendOptions } from '../../../src/store/redis/index.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';

let files = 0;

export class RedisFixture {
  server!: RedisServerHandle;
  readonly prefix = `it${process.pid}x${++files}x${Date.now().toString(36)}:`;
  private readonly backends: RedisBackend[] = [];
  private nodes = 0;

  async start(): Promise<void> {
    this.server = await startRedisServer();
  }

  async backend(overrides: Partial<RedisBackendOptions> = {}): Promise<RedisBackend> {
    const backend = await createRedisBackend({ target: this.server.url, prefix: this.prefix, nodeId: `n${++this.nodes}`, ackTimeoutMs: 2000, ...overrides });
    this.backends.push(backend);
    return backend;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.backends.map((b) => b.close()));
    await this.server?.stop();
  }
}

/** A pino logger whose lines land in `lines` (parsed), for asserting what was logged. */
export function capturingLogger(): { logger: pino.Logger; lines: Array<{ msg: string; role?: string }> } {
  const lines: Array<{ msg: string; role?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** Polls check until it returns true (a deadline only for failing clearly). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
