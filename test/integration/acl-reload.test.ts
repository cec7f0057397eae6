// --acl-file re-read on SIGHUP by a broker process (bin/starling.js, built): rights granted and
// revoked under live connections, the subscriptions now denied removed (connected and parked
// sessions), a bad file keeping the old rules; and in a 2-worker cluster, every worker reloads.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet } from '../../src/protocol/index.js';
import { connectWithInbox } from '../helpers/broker-harness.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const BIN = 'bin/starling.js';

interface Child {
  port: number;
  process: ChildProcess;
  /** Parsed log lines so far. */
  lines(): Array<Record<string, unknown>>;
  count(msg: string): number;
}

async function startChild(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--sys-interval', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const lines = (): Array<Record<string, unknown>> =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const listening = (): Record<string, unknown> | undefined => lines().find((l) => String(l.msg).startsWith('listening'));
  await waitFor(() => listening() !== undefined, `the listening line (output so far: ${out})`, 20_000);
  return { port: listening()!.port as number, process: child, lines, count: (msg) => lines().filter((l) => l.msg === msg).length };
}

function aclFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'starling-acl-')), 'acl');
  writeFileSync(file, text);
  return file;
}

async function subscribe(client: RawClient, topic: string): Promise<number> {
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] } as Packet);
  return ((await client.next('suback')) as unknown as { granted: number[] }).granted[0]!;
}

const BEFORE = 'user admin\ntopic #\nuser alice\ntopic readwrite x/#\n';
const AFTER = 'user admin\ntopic #\nuser alice\ntopic read y/#\n';

describe('ACL reload on SIGHUP (one process)', () => {
  let child: Child;
  let file: string;
  beforeAll(async () => {
    file = aclFile(BEFORE);
    child = await startChild(['--acl-file', file]);
  });
  afterAll(() => {
    child.process.kill('SIGKILL');
  });

  it('rights granted and revoked under live connections; the subscriptions now denied are removed', async () => {
    const url = `mqtt://127.0.0.1:${child.port}`;
    const alice = await RawClient.connected(child.port, 'alice-live', 5, { username: 'alice' } as Partial<Packet>);
    expect(await subscribe(alice, 'x/#')).toBe(1);
    expect(await subscribe(alice, 'y/#')).toBe(0x87);
    // A persistent session parked with the same subscription.
    const parked = await RawClient.connected(child.port, 'alice-parked', 4, { username: 'alice', clean: false } as Partial<Packet>);
    expect(await subscribe(parked, 'x/#')).toBe(1);
    parked.send({ cmd: 'disconnect' } as Packet);
    await parked.waitClosed();
    const { client: admin } = await connectWithInbox(url, { clientId: 'admin', username: 'admin' });

    writeFileSync(file, AFTER);
    child.process.kill('SIGHUP');
    await waitFor(() => child.count('ACL reloaded') === 1, 'the reload line');
    const removed = child.lines().filter((l) => String(l.msg).startsWith('ACL reload: subscriptions now denied removed'));
    expect(removed.map((l) => [l.clientId, l.filters]).sort()).toEqual([
      ['alice-live', ['x/#']],
      ['alice-parked', ['x/#']],
    ]);
    expect(await subscribe(alice, 'y/#')).toBe(1); // granted now
    await admin.publishAsync('x/1', 'revoked', { qos: 1 });
    await admin.publishAsync('y/1', 'granted', { qos: 1 });
    const got = (await alice.next('publish')) as unknown as { topic: string };
    expect(got.topic).toBe('y/1');

    // A bad file: one error line, the rules in force stay.
    writeFileSync(file, 'topic maybe y/#\n');
    child.process.kill('SIGHUP');
    await waitFor(() => child.lines().some((l) => String(l.msg).startsWith('ACL not reloaded')), 'the error line');
    const error = child.lines().find((l) => String(l.msg).startsWith('ACL not reloaded'))!;
    expect(error.msg).toBe(`ACL not reloaded, the old rules stay: ${file}:1: 'maybe' is not an access type (read, write, readwrite or deny)`);
    await admin.publishAsync('y/2', 'still', { qos: 1 });
    expect(((await alice.next('publish')) as unknown as { topic: string }).topic).toBe('y/2');

    // The parked session comes back without the subscription it lost.
    writeFileSync(file, BEFORE);
    child.process.kill('SIGHUP');
    await waitFor(() => child.count('ACL reloaded') === 2, 'the second reload line');
    const back = await RawClient.connected(child.port, 'alice-parked', 4, { username: 'alice', clean: false } as Partial<Packet>);
    await admin.publishAsync('x/3', 'not subscribed', { qos: 1 });
    await expect(back.next('publish', 500)).rejects.toThrow();
    // Nor does the connected session: x/# may be read again, but its subscription is gone.
    await expect(alice.next('publish', 300)).rejects.toThrow();
    back.destroy();
    alice.destroy();
    admin.end(true);
  });

  it('a bad file at start: exit 2 with one line naming file and line', async () => {
    const bad = aclFile('user a\ntopic readwrite a/#\nwhat is this\n');
    const child2 = spawn(process.execPath, [BIN, '--port', '0', '--acl-file', bad], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child2.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child2.on('exit', resolve));
    expect(code).toBe(2);
    expect(err.trim()).toBe(`starling: --acl-file: ${bad}:3: unknown keyword 'what' (expected topic, pattern or user)`);
  });
});

describe('ACL reload on SIGHUP (2-worker cluster)', () => {
  let redis: RedisServerHandle;
  let child: Child;
  let file: string;
  beforeAll(async () => {
    redis = await startRedisServer();
    file = aclFile(BEFORE);
    child = await startChild(['--acl-file', file, '--workers', '2', '--redis', redis.url]);
  });
  afterAll(async () => {
    child.process.kill('SIGTERM');
    await new Promise((r) => child.process.once('exit', r));
    await redis.stop();
  });

  it('the primary forwards SIGHUP: every worker reloads, and its clients have the new rights', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map((i) => RawClient.connected(child.port, `alice-${i}`, 5, { username: 'alice' } as Partial<Packet>)));
    for (const c of clients) expect(await subscribe(c, 'y/#')).toBe(0x87);
    writeFileSync(file, AFTER);
    child.process.kill('SIGHUP');
    await waitFor(() => child.count('ACL reloaded') === 2, 'a reload line from each worker', 10_000);
    for (const c of clients) expect(await subscribe(c, 'y/#')).toBe(1);
    for (const c of clients) c.destroy();
  });
});
