// SIGHUP re-reads --password-file: in a single process (the real command, a child process) and in
// every worker of a 2-worker cluster (the primary forwards it). A bad file on reload logs one error
// line and the users read before stay; connected clients stay connected. A bad file at start is
// one line naming the file and line, exit 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../helpers/broker-harness.js';
import { startTestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced } from '../../helpers/cluster-clients.js';
import { waitFor } from '../../helpers/wait.js';
import { hashPassword } from '../../../src/broker/auth/password-hash.js';

const MAIN = ['--import', 'tsx', 'src/main.ts'];
const dir = mkdtempSync(join(tmpdir(), 'starling-sighup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** Cheap hashes: the test is about reloading, not about scrypt's cost. */
const cheap = (password: string): Promise<string> => hashPassword(password, { N: 1024, r: 8, p: 1 });

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function startChild(args: string[]): { child: ChildProcess; logs: LogLine[]; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logs, stderr: () => stderr, exited };
}

async function refused(url: string, username: string, password: string): Promise<boolean> {
  try {
    const client = await connectClient(url, { username, password, clientId: `refused-${username}` });
    await client.endAsync();
    return false;
  } catch (err) {
    return /Bad username or password/i.test((err as Error).message);
  }
}

describe('SIGHUP re-reads the password file (single process)', () => {
  it('adds a user without a restart, keeps connected clients, and keeps the old users when the new file is bad', async () => {
    const file = join(dir, 'single');
    writeFileSync(file, `old:${await cheap('old-pw')}\n`);
    const { child, logs } = startChild(['--port', '0', '--sys-interval', '0', '--password-file', file]);
    const clients: MqttClient[] = [];
    try {
      await waitFor(() => logs.some((l) => l.msg === 'listening'), 'the listening line', 15_000);
      const url = `mqtt://127.0.0.1:${logs.find((l) => l.msg === 'listening')?.port as number}`;
      const old = await connectClient(url, { username: 'old', password: 'old-pw', clientId: 'sighup-old' });
      clients.push(old);

      writeFileSync(file, `old:${await cheap('old-pw')}\nnew:${await cheap('new-pw')}\n`);
      expect(await refused(url, 'new', 'new-pw')).toBe(true); // not read again per login
      child.kill('SIGHUP');
      await waitFor(() => logs.some((l) => l.msg === `password file ${file} re-read: 2 users`), 'the re-read line', 10_000);
      clients.push(await connectClient(url, { username: 'new', password: 'new-pw', clientId: 'sighup-new' }));
      expect(old.connected).toBe(true);
      await old.publishAsync('sighup/still', 'here', { qos: 1 }); // the old connection still works

      writeFileSync(file, 'new:plain-text\n');
      child.kill('SIGHUP');
      await waitFor(() => logs.some((l) => l.level === 50), 'the error line', 10_000);
      const errors = logs.filter((l) => l.level === 50);
      expect(errors.map((l) => l.msg)).toEqual([`${file}:1: user 'new': not a password hash (plain text? \`starling passwd -U FILE\` hashes it); keeping the users read before`]);
      clients.push(await connectClient(url, { username: 'new', password: 'new-pw', clientId: 'sighup-new-2' }));
      expect(child.exitCode).toBeNull();
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      child.kill('SIGKILL');
    }
  });

  it('a bad file at start: one line naming the file and line, exit 1', async () => {
    const file = join(dir, 'bad-at-start');
    writeFileSync(file, `# users\nok:${await cheap('x')}\nbroken\n`);
    const { exited, stderr } = startChild(['--port', '0', '--password-file', file]);
    expect(await exited).toBe(1);
    expect(stderr()).toBe(`starling: ${file}:3: no ':' (expected user:hash)\n`);
  });

  it('--password on the command line is warned about', async () => {
    const { child, logs } = startChild(['--port', '0', '--sys-interval', '0', '--username', 'u', '--password', 'p']);
    try {
      await waitFor(() => logs.some((l) => l.msg === 'listening'), 'the listening line', 15_000);
      expect(logs.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
        '--password on the command line is visible to other users of this machine (ps); use --password-file, or STARLING_PASSWORD in the environment',
      ]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('SIGHUP re-reads the password file (2-worker cluster)', () => {
  it('the primary tells every worker; each re-reads, and the new user logs in on both', async () => {
    const file = join(dir, 'cluster');
    writeFileSync(file, `old:${await cheap('old-pw')}\n`);
    // --allow-anonymous: connectPlaced's probes are anonymous; users are still checked.
    const cluster = await startTestCluster({ workers: 2, config: { passwordFile: file, allowAnonymous: true } });
    const clients: MqttClient[] = [];
    try {
      const nodes = [...cluster.workers.values()];
      expect(nodes).toHaveLength(2);
      writeFileSync(file, `old:${await cheap('old-pw')}\nnew:${await cheap('new-pw')}\n`);
      process.kill(cluster.primaryPid, 'SIGHUP');
      for (const node of nodes) await cluster.waitForLog((l) => l.nodeId === node && l.msg === `password file ${file} re-read: 2 users`, `node ${node} re-read`);
      for (const node of nodes) {
        const placed = await connectPlaced(cluster, (n) => n === node, { username: 'new', password: 'new-pw' });
        clients.push(placed.client);
      }
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await cluster.close();
    }
  });
});
