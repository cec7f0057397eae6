// `starling --config FILE` as a real process: bad values, --version, --print-config, SIGHUP.
// What would make these fail:
// - cli.ts printing more than one line, or exiting other than 2, for a bad config file;
// - --version not reading package.json's version;
// - --print-config showing the password or the password of the Redis URL;
// - SIGHUP not re-reading the file, not applying log-level live (no debug line after it), not
//   logging "needs a restart" for a changed port, or a bad file on SIGHUP changing anything;
// - the primary not sending the re-read config with 'reload' (messages.ts), or a worker not
//   applying it (worker.ts): each worker's "config reloaded: applied max-queued" line is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const MAIN = ['--import', 'tsx', 'src/main.ts'];
const dir = mkdtempSync(join(tmpdir(), 'starling-config-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function runSync(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...MAIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Line {
  msg?: string;
  level?: number;
  pid?: number;
  [key: string]: unknown;
}

/** A running starling whose JSON log lines are collected. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; lines: Line[]; stderr: () => string } {
  const child = spawn(process.execPath, [...MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: Line[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Line);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, lines, stderr: () => stderr };
}

describe('starling --config', () => {
  it('a bad value in the file exits 2 with one line naming file, line and key', () => {
    const path = write('bad.yaml', '# starling\nport: 0\nmax-inflight: abc\n');
    const r = runSync(['--config', path]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`starling: ${path}:3: max-inflight: 'abc' is not an integer in 1..65535`]);
    const unknown = runSync([], { STARLING_CONFIG: write('unknown.yaml', 'prot: 1884\n') });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toEqual([`starling: ${join(dir, 'unknown.yaml')}:1: unknown key 'prot' (did you mean 'port'?)`]);
  });

  it('--version prints the package version and exits 0', () => {
    const r = runSync(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('--print-config prints the merged config, secrets masked, and exits 0', () => {
    const path = write('print.yaml', 'username: admin\nmax-inflight: 7\nredis: redis://u:s3cret@127.0.0.1:6379\nworkers: 2\n');
    const r = runSync(['--config', path, '--print-config', '--max-inflight', '9'], { STARLING_PASSWORD: 'hunter2' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('max-inflight: 9\n');
    expect(r.stdout).toContain('username: admin\n');
    expect(r.stdout).toContain('password: "***"\n');
    expect(r.stdout).toContain('redis: redis://u:***@127.0.0.1:6379\n');
    expect(r.stdout).not.toMatch(/hunter2|s3cret/);
  });

  it('SIGHUP (one process): log-level applies live, a changed port needs a restart, a bad file changes nothing', async () => {
    const path = write('live.yaml', 'port: 0\nsys-interval: 0\nlog-level: info\n');
    const { child, lines, stderr } = start(['--config', path]);
    try {
      await waitFor(() => lines.some((l) => l.msg === 'listening'), 'the listening line', 15_000);
      // At info, SIGHUP's "no password file" debug line is not written.
      child.kill('SIGHUP');
      await waitFor(() => lines.some((l) => l.msg === 'config reloaded: no changes'), 'the first reload', 10_000);
      expect(lines.some((l) => l.msg === 'SIGHUP: no password file to re-read')).toBe(false);

      writeFileSync(path, 'port: 1\nsys-interval: 0\nlog-level: debug\n');
      child.kill('SIGHUP');
      await waitFor(() => lines.some((l) => l.msg === 'SIGHUP: no password file to re-read'), 'a debug line after log-level debug', 10_000);
      expect(lines.find((l) => l.msg === 'config reloaded: applied log-level')?.applied).toEqual({ 'log-level': 'debug' });
      expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.endsWith('needs a restart')).map((l) => l.msg)).toEqual(['config reloaded: port changed, needs a restart']);

      writeFileSync(path, 'port: 1\nlog-level: loud\n');
      const before = lines.length;
      child.kill('SIGHUP');
      await waitFor(() => lines.slice(before).some((l) => typeof l.msg === 'string' && l.msg.startsWith('config not reloaded')), 'the bad-file line', 10_000);
      const said = lines.slice(before).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('config'));
      expect(said.map((l) => l.msg)).toEqual([`config not reloaded, nothing changed: ${path}:2: log-level: 'loud' is not one of fatal, error, warn, info, debug, trace, silent`]);
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr()).toBe('');
  });

  it('SIGHUP to a cluster primary: every worker applies the live change and logs what needs a restart', async () => {
    const redis = await startRedisServer();
    const path = write('cluster.yaml', `redis: ${redis.url}\nworkers: 2\nport: 0\nmax-queued: 100\nmax-connections: 1000\n`);
    const { child, lines, stderr } = start(['--config', path], { STARLING_REDIS_PREFIX: `cfg${process.pid}:` });
    try {
      await waitFor(() => lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on port')), `the cluster listening (${stderr()})`, 30_000);
      const workers = lines.filter((l) => l.msg === 'primary: worker ready').map((l) => l.workerPid);
      expect(workers).toHaveLength(2);
      writeFileSync(path, `redis: ${redis.url}\nworkers: 2\nport: 0\nmax-queued: 200\nmax-connections: 2000\n`);
      child.kill('SIGHUP');
      const applied = (): Line[] => lines.filter((l) => l.msg === 'config reloaded: applied max-queued');
      await waitFor(() => applied().length === 2, 'both workers applying max-queued', 15_000);
      expect(new Set(applied().map((l) => l.pid))).toEqual(new Set(workers));
      expect(applied()[0].applied).toEqual({ 'max-queued': 200 });
      // Logged right after the applied line, but possibly in a later chunk of the primary's stdout.
      const restart = (): Line[] => lines.filter((l) => l.msg === 'config reloaded: max-connections changed, needs a restart');
      await waitFor(() => new Set(restart().map((l) => l.pid)).size === 2, 'both workers saying max-connections needs a restart', 15_000);
      expect(new Set(restart().map((l) => l.pid))).toEqual(new Set(workers));
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      await redis.stop();
    }
  });
});
