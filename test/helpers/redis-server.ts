// A private redis-server for one test file: free port, temp dir, no persistence, killed when
// the test process exits. restart() stops it and starts it again on the SAME port (outage tests).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { killChild, spawnAnswering, stopChild } from './redis-process.js';

export interface RedisServerHandle {
  port: number;
  /** The current process's pid (a new one after restart()). */
  readonly pid: number;
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** SIGKILL, no waiting. */
  kill(): void;
  /** Start again on the same port (after stop() or kill(), or stopping it first); resolves when it answers PING. */
  restart(): Promise<void>;
  /** Sends a signal to the server process (SIGSTOP / SIGCONT: a stalled Redis); returns its pid. */
  signal(signal: NodeJS.Signals): number;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServerOptions {
  /** More redis-server arguments (e.g. ['--replicaof', host, port] for a read-only server). */
  args?: string[];
  /** Listen on this port instead of a free one (no retry elsewhere): a cluster node's port is part of its arguments. */
  port?: number;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const extra = options.args ?? [];
  const dir = mkdtempSync(join(tmpdir(), 'starling-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      let child = await launch(port, dir, extra);
      const handle: RedisServerHandle = {
        port,
        get pid() {
          return child.pid ?? 0;
        },
        url: `redis://127.0.0.1:${port}`,
        stop: async () => {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
        signal: (signal) => {
          child.kill(signal);
          return child.pid ?? 0;
        },
        kill: () => killChild(child),
        restart: async () => {
          await stopChild(child);
          // The port was ours a moment ago; retry briefly if the OS has not let go of it yet.
          for (let i = 0; ; i++) {
            try {
              child = await launch(port, dir, extra);
              return;
            } catch (err) {
              if (i >= 20) throw err;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        },
      };
      return handle;
    } catch (err) {
      if (attempt >= 5 || options.port !== undefined) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** Spawns redis-server on port and resolves once it answers PING; rejects if it exits first (e.g. EADDRINUSE). */
function launch(port: number, dir: string, extra: readonly string[]): Promise<ChildProcess> {
  // stop() removed it; a restart needs it back.
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...extra];
  return spawnAnswering(REDIS_SERVER, args, dir, port);
}
