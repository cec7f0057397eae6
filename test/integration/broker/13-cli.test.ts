// The `starling` command: listening line, bad flags (exit 2, one line), --help, SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { connectWithInbox } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

const MAIN = ['--import', 'tsx', 'src/main.ts'];

function runSync(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('starling CLI', () => {
  it('a bad value exits 2 with one line naming the flag', () => {
    const r = runSync(['--port', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["starling: --port: 'nope' is not an integer in 0..65535"]);
  });

  it('--workers 2 without --redis exits 2 with the one explanatory line', () => {
    const r = runSync(['--workers', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('starling: --workers 2 needs --redis, --redis-cluster or --redis-sentinel: without Redis the workers could not share sessions and subscriptions');
  });

  it('--plugins: a path that is not a file, or a module that is not a plugin, exits 2 with one line naming it', () => {
    const missing = runSync(['--port', '0', '--plugins', 'no/such/plugin.mjs']);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([`starling: --plugins: ${process.cwd()}/no/such/plugin.mjs: no such file`]);
    // A module whose default export has a misspelt hook: refused, not silently ignored.
    const typo = runSync(['--port', '0', '--plugins', 'test/fixtures/plugins/misspelt-plugin.mjs']);
    expect(typo.status).toBe(2);
    expect(typo.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^starling: plugin .*misspelt-plugin\.mjs: unknown hook 'authorisePublish' \(hooks: authenticate, /)]);
  });

  it('--help prints usage and exits 0', () => {
    const r = runSync(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: starling \[options\]/);
  });

  it('logs one listening line, serves clients, and on SIGTERM publishes wills and exits 0', async () => {
    const child = spawn(process.execPath, [...MAIN, '--port', '0', '--sys-interval', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('"msg":"listening"'), 'the listening line', 15_000);
      const line = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"listening"')) as string) as { host: string; port: number };
      expect(line.host).toBe('127.0.0.1');
      const { client, inbox } = await connectWithInbox(`mqtt://127.0.0.1:${line.port}`, { clientId: 'cli-watch' });
      await client.subscribeAsync('cli/will');
      const raw = await RawClient.open(line.port);
      raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'cli-dying', will: { topic: 'cli/will', payload: Buffer.from('bye'), qos: 0, retain: false } });
      await raw.next('connack');
      child.kill('SIGTERM');
      expect((await inbox.next()).payload).toBe('bye');
      expect(await exited).toBe(0);
      client.end(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
