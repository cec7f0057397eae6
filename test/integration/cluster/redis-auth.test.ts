// Redis-backed users on two hosts: two single-worker nodes ("hosts": own ports, one Redis, one
// prefix) run with --auth redis; users and the ACL are edited with `starling passwd --redis` only,
// and each change is in force on both hosts once each has read it (no file, no SIGHUP): the tests
// wait for that event, each host's log line, and do not time it (on an idle machine it is one
// PUBLISH and one HGETALL, well under a second).
//
// What would make these fail:
// - the nodes not subscribing to {p}auth:changed (auth-source.ts): a change is only seen at the next
//   start, so the hosts' re-read lines never come and the logins, refusals and ACL effects time out;
// - redis-auth.ts applying the ACL with Acl.reload() instead of Broker.reloadAcl(): the revoked
//   subscription stays (no removal is logged, and room/3 would reach bob after the grant);
// - auth-source.ts not reading again on the subscriber's reconnect, or the worker's reload() not
//   reading Redis: the user written without a notice stays unknown;
// - passwd/redis.ts storing an ACL before parsing it: the bad text reaches Redis;
// - redis-auth.ts applying a bad ACL text: the old rules no longer hold;
// - hasUsers() not counting --auth redis: anonymous clients let in, SCRAM-SHA-256 not offered (0x8C).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCluster, type LogLine, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectWithInbox, type Inbox } from '../../helpers/broker-harness.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';
import { runPasswdCli } from '../../../src/passwd/cli.js';
import { hashPassword } from '../../../src/broker/auth/password-hash.js';
import type { AuthPacket, ConnackPacket, Packet } from '../../../src/protocol/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ScramClient } from '../../helpers/scram-client.js';

/** The promise of --auth redis: every host applies a change within this. */
const PROPAGATION_MS = 1000;

let redis: RedisServerHandle;
let hostA: TestCluster;
let hostB: TestCluster;
const clients: MqttClient[] = [];
const prefix = `rauth${process.pid}:`;
const dir = mkdtempSync(join(tmpdir(), 'starling-redis-auth-'));
let n = 0;

/** `starling passwd --redis URL --prefix P ...args`, in this process: its exit code and what it wrote to stderr. */
async function passwd(...args: string[]): Promise<{ code: number; stderr: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => chunks.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await runPasswdCli(['--redis', redis.url, '--prefix', prefix, ...args]);
    return { code, stderr: chunks.join('') };
  } finally {
    process.stderr.write = write;
  }
}

function aclFile(text: string): string {
  const file = join(dir, `acl-${++n}`);
  writeFileSync(file, text);
  return file;
}

/** One CONNECT: the client when accepted, the CONNACK code when refused. */
function login(host: TestCluster, username: string, password: string): Promise<MqttClient | number> {
  const client = mqtt.connect(host.url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, clientId: `login-${++n}`, username, password });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err: Error & { code?: unknown }) => {
      client.end(true);
      if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
  });
}

/** Logs in again and again on every host until each gives `want`; the ms it took. */
function untilOnAll(username: string, password: string, want: 'accepted' | 'refused'): Promise<number> {
  return untilOn([hostA, hostB], username, password, want);
}

async function untilOn(hosts: TestCluster[], username: string, password: string, want: 'accepted' | 'refused'): Promise<number> {
  const start = Date.now();
  await Promise.all(
    hosts.map((host) =>
      waitFor(
        async () => {
          const outcome = await login(host, username, password);
          if (typeof outcome === 'number') return want === 'refused';
          await outcome.endAsync();
          return want === 'accepted';
        },
        `${username} ${want} on port ${host.port}`,
        PROPAGATION_MS * 5,
      ),
    ),
  );
  return Date.now() - start;
}

async function on(host: TestCluster, username: string, password: string): Promise<{ client: MqttClient; inbox: Inbox }> {
  const c = await connectWithInbox(host.url, { clientId: `${username}-${++n}`, username, password });
  clients.push(c.client);
  return c;
}

/** The SUBACK code for one filter (mqtt.js rejects a refused one, with the SUBACK). */
async function subscribeCode(client: MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
  } catch (err) {
    const code = (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
    if (typeof code === 'number') return code;
    throw err;
  }
}

/** Log lines of a host from index `from` on, waited for (so each test sees only its own). */
function logAfter(host: TestCluster, from: number, match: (line: LogLine) => boolean, what: string): Promise<LogLine> {
  return host.waitForLog((line) => host.logs.indexOf(line) >= from && match(line), what, PROPAGATION_MS * 5);
}

beforeAll(async () => {
  redis = await startRedisServer();
  // A user that exists before the hosts start: read at start, before they accept anyone.
  expect((await passwd('-b', 'admin', 'pw-admin')).code).toBe(0);
  // Failed logins not slowed down: the polling logins below fail on purpose until a change lands.
  const config = { auth: 'redis' as const, authFailDelayMs: 0 };
  [hostA, hostB] = await Promise.all([startTestCluster({ workers: 1, redisUrl: redis.url, prefix, config }), startTestCluster({ workers: 1, redisUrl: redis.url, prefix, config })]);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all([hostA?.close(), hostB?.close()]);
  await redis?.stop();
});

it('a user read at start logs in on both hosts; anonymous clients and unknown users are refused', async () => {
  expect(await untilOnAll('admin', 'pw-admin', 'accepted')).toBeLessThan(PROPAGATION_MS * 5);
  expect(await login(hostA, 'admin', 'wrong')).toBe(4);
  expect(await login(hostB, 'nobody', 'pw')).toBe(4);
  const anonymous = mqtt.connect(hostA.url, { reconnectPeriod: 0, protocolVersion: 4 });
  const code = await new Promise((resolve) => anonymous.once('error', (err: Error & { code?: unknown }) => resolve(err.code)));
  anonymous.end(true);
  expect(code).toBe(5);
});

it('a user in Redis logs in with SCRAM-SHA-256 too (offered by default with --auth redis)', async () => {
  const raw = await RawClient.open(hostB.port, 5);
  const scram = new ScramClient('admin', 'pw-admin');
  const method = 'SCRAM-SHA-256';
  raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'scram-admin', properties: { authenticationMethod: method, authenticationData: scram.first() } } as Packet);
  const challenge = (await raw.next('auth')) as AuthPacket;
  raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: method, authenticationData: scram.final(challenge.properties?.authenticationData as Buffer) } });
  const connack = (await raw.next('connack')) as ConnackPacket;
  expect(connack.reasonCode).toBe(0);
  expect(scram.verifyServer(connack.properties?.authenticationData)).toBe(true);
  raw.destroy();
});

/**
 * Runs `change` (a `starling passwd --redis` call) and waits until both hosts logged that they read
 * the users again (the notice on {p}auth:changed reached each). Event-based: how fast that is on an
 * idle machine (well under a second: one PUBLISH and one HGETALL) is not asserted here.
 */
async function usersChangedOnBoth(change: () => Promise<{ code: number }>): Promise<void> {
  const fromA = hostA.logs.length;
  const fromB = hostB.logs.length;
  expect((await change()).code).toBe(0);
  const reread = (l: LogLine): boolean => typeof l.msg === 'string' && / re-read: \d+ users$/.test(l.msg);
  await Promise.all([logAfter(hostA, fromA, reread, 'host A reading the users again'), logAfter(hostB, fromB, reread, 'host B reading the users again')]);
}

it('a user added with starling passwd --redis logs in on both hosts as soon as each read the change; a new password replaces the old; a deleted user is refused', async () => {
  expect(await login(hostA, 'alice', 'pw-1')).toBe(4);
  await usersChangedOnBoth(() => passwd('-b', 'alice', 'pw-1'));
  for (const host of [hostA, hostB]) {
    const client = await login(host, 'alice', 'pw-1');
    expect(typeof client).not.toBe('number');
    await (client as MqttClient).endAsync();
  }

  await usersChangedOnBoth(() => passwd('-b', 'alice', 'pw-2'));
  for (const host of [hostA, hostB]) {
    expect(await login(host, 'alice', 'pw-1')).toBe(4);
    const client = await login(host, 'alice', 'pw-2');
    expect(typeof client).not.toBe('number');
    await (client as MqttClient).endAsync();
  }

  await usersChangedOnBoth(() => passwd('-D', 'alice'));
  for (const host of [hostA, hostB]) expect(await login(host, 'alice', 'pw-2')).toBe(4);
  // Deleting a user who is not there is an error (one line, exit 1), as in the file mode.
  const again = await passwd('-D', 'alice');
  expect(again.code).toBe(1);
  expect(again.stderr).toBe(`starling passwd: user 'alice' is not in ${prefix}{auth}:users\n`);
});

it('ACL set with the tool: rights revoked live on the other host (subscription removed, publish dropped), then granted live', async () => {
  expect((await passwd('-b', 'pub', 'pw-pub')).code).toBe(0);
  expect((await passwd('-b', 'bob', 'pw-bob')).code).toBe(0);
  await untilOnAll('bob', 'pw-bob', 'accepted');
  await untilOnAll('pub', 'pw-pub', 'accepted');
  // No ACL yet: everything allowed. bob (host B) reads room/# and other/#; pub writes from host A.
  const bob = await on(hostB, 'bob', 'pw-bob');
  await bob.client.subscribeAsync(['room/#', 'other/#'], { qos: 1 });
  const watcher = await on(hostB, 'admin', 'pw-admin');
  await watcher.client.subscribeAsync('#', { qos: 1 });
  const pub = await on(hostA, 'pub', 'pw-pub');
  await pub.client.publishAsync('room/1', 'before', { qos: 1 });
  await waitFor(() => bob.inbox.messages.some((m) => m.topic === 'room/1'), 'room/1 for bob while everything is allowed');

  const revoke = `user admin
topic readwrite #
user pub
topic write room/#
topic write other/#
user bob
topic read other/#
`;
  const fromB = hostB.logs.length;
  const fromA = hostA.logs.length;
  expect((await passwd('--acl-file', aclFile(revoke))).code).toBe(0);
  const removed = await logAfter(hostB, fromB, (l) => l.msg === 'ACL reload: subscriptions now denied removed' && String(l.clientId).startsWith('bob-'), "bob's room/# removed on host B");
  expect(removed.filters).toEqual(['room/#']);
  await logAfter(hostA, fromA, (l) => l.msg === 'ACL reloaded', 'the new ACL on host A');

  // pub may not write secret/x: dropped; room/2 is routed but bob no longer has room/#.
  await pub.client.publishAsync('secret/x', 'denied', { qos: 1 });
  await pub.client.publishAsync('room/2', 'after revoke', { qos: 1 });
  await pub.client.publishAsync('other/marker', 'm', { qos: 1 });
  await waitFor(() => bob.inbox.messages.some((m) => m.topic === 'other/marker'), 'the marker for bob');
  await waitFor(() => watcher.inbox.messages.some((m) => m.topic === 'other/marker'), 'the marker for the watcher');
  expect(bob.inbox.messages.map((m) => m.topic)).toEqual(['room/1', 'other/marker']);
  expect(watcher.inbox.messages.map((m) => m.topic)).toEqual(['room/1', 'room/2', 'other/marker']);
  // Subscribing again is refused while the rule stands (0x80: Failure, v3.1.1).
  expect(await subscribeCode(bob.client, 'room/#')).toBe(0x80);

  const grant = `${revoke}topic read room/#\n`;
  const fromB2 = hostB.logs.length;
  expect((await passwd('--acl-file', aclFile(grant))).code).toBe(0);
  await logAfter(hostB, fromB2, (l) => l.msg === 'ACL reloaded', 'the grant on host B');
  // The revoked subscription did not come back with the grant: bob subscribes again, and may.
  await pub.client.publishAsync('room/3', 'not subscribed', { qos: 1 });
  await pub.client.publishAsync('other/marker2', 'm', { qos: 1 });
  await waitFor(() => bob.inbox.messages.some((m) => m.topic === 'other/marker2'), 'the second marker');
  expect(bob.inbox.messages.some((m) => m.topic === 'room/3')).toBe(false);
  expect(await subscribeCode(bob.client, 'room/#')).toBe(1);
  await pub.client.publishAsync('room/4', 'granted', { qos: 1 });
  await waitFor(() => bob.inbox.messages.some((m) => m.topic === 'room/4'), 'room/4 for bob after the grant');
});

it('a bad ACL is refused by the tool (exit 1, one line) and never reaches Redis; one written past the tool leaves the old rules in force', async () => {
  const before = await hostA.redis().get(`${prefix}{auth}:acl`);
  expect(before).toContain('user bob');
  const file = aclFile('user bob\ntopic read room/#\nfrobnicate x\n');
  const refused = await passwd('--acl-file', file);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(`starling passwd: ${file}:3: unknown keyword 'frobnicate' (expected topic, pattern or user)\n`);
  expect(await hostA.redis().get(`${prefix}{auth}:acl`)).toBe(before);

  // Written straight into Redis (not through the tool): each host logs one error and keeps the old rules.
  const fromA = hostA.logs.length;
  const fromB = hostB.logs.length;
  await hostA.redis().multi().set(`${prefix}{auth}:acl`, 'topic nonsense a b\n').publish(`${prefix}{auth}:changed`, '1').exec();
  await logAfter(hostA, fromA, (l) => typeof l.msg === 'string' && l.msg.startsWith('ACL not reloaded, the old rules stay'), 'the error on host A');
  await logAfter(hostB, fromB, (l) => typeof l.msg === 'string' && l.msg.startsWith('ACL not reloaded, the old rules stay'), 'the error on host B');
  const bob = await on(hostA, 'bob', 'pw-bob');
  expect(await subscribeCode(bob.client, 'other/#')).toBe(1);
  expect(await subscribeCode(bob.client, 'secret/#')).toBe(0x80);

  // --acl-clear: no ACL, everything allowed again.
  const fromA2 = hostA.logs.length;
  expect((await passwd('--acl-clear')).code).toBe(0);
  await logAfter(hostA, fromA2, (l) => l.msg === 'ACL reloaded', 'the ACL cleared on host A');
  expect(await hostA.redis().exists(`${prefix}{auth}:acl`)).toBe(0);
  expect(await subscribeCode(bob.client, 'secret/#')).toBe(1);
});

it('a change whose notice was lost is read on SIGHUP, and when the subscriber connection comes back', async () => {
  // Written past the tool, with no notice: as if the notice had been sent while a host was cut off.
  await hostA.redis().hset(`${prefix}{auth}:users`, 'quiet', await hashPassword('pw-quiet'));
  expect(await login(hostA, 'quiet', 'pw-quiet')).toBe(4);
  process.kill(hostA.primaryPid, 'SIGHUP');
  await untilOn([hostA], 'quiet', 'pw-quiet', 'accepted');
  expect(await login(hostB, 'quiet', 'pw-quiet')).toBe(4);
  // Host B's subscriber connection dropped: once it is back, the users are read again.
  const clientList = String(await hostB.redis().client('LIST'));
  const ids = clientList
    .split('\n')
    .filter((line) => line.includes(' name=starling:auth-sub '))
    .map((line) => /^id=(\d+) /.exec(line)?.[1]);
  expect(ids).toHaveLength(2); // one per host
  for (const id of ids) await hostB.redis().client('KILL', 'ID', id!);
  await untilOn([hostB], 'quiet', 'pw-quiet', 'accepted');
});
