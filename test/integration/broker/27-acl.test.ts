// --acl-file (Mosquitto's acl_file): SUBSCRIBE refused per filter, PUBLISH dropped, delivery and
// retained messages filtered by read rights (a wildcard never leaks a denied topic), wills checked.
// Usernames are labels here (no password configured): the ACL is what decides.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion } from '../../../src/protocol/index.js';
import { connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

const ACL = `# anonymous clients
topic read public/#
topic write anon/out

user alice
topic readwrite a/#
topic deny a/secret
topic write w/#

user admin
topic readwrite #

pattern readwrite dev/%c/#
pattern read inbox/%u
`;

let broker: TestBroker;
let n = 0;
beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'starling-acl-')), 'acl');
  writeFileSync(file, ACL);
  broker = await startTestBroker({ aclFile: file });
});
afterAll(async () => {
  await broker.close();
});

function name(prefix: string): string {
  return `${prefix}-${++n}`;
}

async function raw(username: string | undefined, version: ProtocolVersion = 5, clientId = name('acl'), extra: Partial<Packet> = {}): Promise<RawClient> {
  return RawClient.connected(broker.port, clientId, version, { ...(username === undefined ? {} : { username }), ...extra } as Partial<Packet>);
}

async function subscribe(client: RawClient, topics: string[], qos: 0 | 1 | 2 = 1): Promise<number[]> {
  client.send({ cmd: 'subscribe', messageId: 7, subscriptions: topics.map((topic) => ({ topic, qos })) } as Packet);
  return ((await client.next('suback')) as unknown as { granted: number[] }).granted;
}

/** An admin subscribed to '#': sees whatever is routed. */
async function watcher(filter = '#'): Promise<Awaited<ReturnType<typeof connectWithInbox>>> {
  const w = await connectWithInbox(broker.url, { clientId: name('watch'), username: 'admin' });
  await w.client.subscribeAsync(filter, { qos: 1 });
  return w;
}

describe('SUBSCRIBE', () => {
  it('v5: a denied filter gets 0x87 Not authorized in the SUBACK, the others their QoS', async () => {
    const c = await raw('alice', 5);
    expect(await subscribe(c, ['a/#', 'b/x', 'a/secret', 'w/x', '#'])).toEqual([1, 0x87, 0x87, 0x87, 1]);
    c.destroy();
  });

  it('v3.1.1: a denied filter gets 0x80 Failure', async () => {
    const c = await raw('alice', 4);
    expect(await subscribe(c, ['a/b', 'b/x'])).toEqual([1, 0x80]);
    c.destroy();
  });

  it('v3.1 has no failure code: a denied SUBSCRIBE closes the connection', async () => {
    const c = await raw('alice', 3, name('v31').slice(0, 20));
    c.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'b/x', qos: 0 }] } as Packet);
    await c.waitClosed();
  });

  it('anonymous clients get the section before the first user line; patterns %c and %u', async () => {
    const anon = await raw(undefined, 5, 'devA');
    expect(await subscribe(anon, ['public/#', 'a/b', 'dev/devA/#', 'dev/devB/x', 'inbox/devA'])).toEqual([1, 0x87, 1, 0x87, 0x87]);
    anon.destroy();
    const alice = await raw('alice', 5);
    expect(await subscribe(alice, ['inbox/alice', 'inbox/bob'])).toEqual([1, 0x87]);
    alice.destroy();
  });
});

describe('PUBLISH', () => {
  it('v5: denied QoS 1 and 2 are answered 0x87, not routed, and counted as dropped', async () => {
    const { client: w, inbox } = await watcher();
    const before = (await broker.stats()).messagesDropped;
    const c = await raw('alice', 5);
    c.send({ cmd: 'publish', topic: 'b/denied', payload: Buffer.from('no'), qos: 1, messageId: 1, retain: false, dup: false } as Packet);
    expect(((await c.next('puback')) as unknown as { reasonCode: number }).reasonCode).toBe(0x87);
    c.send({ cmd: 'publish', topic: 'a/secret', payload: Buffer.from('no'), qos: 2, messageId: 2, retain: false, dup: false } as Packet);
    expect(((await c.next('pubrec')) as unknown as { reasonCode: number }).reasonCode).toBe(0x87);
    c.send({ cmd: 'publish', topic: 'public/x', payload: Buffer.from('no'), qos: 0, retain: false, dup: false } as Packet);
    c.send({ cmd: 'publish', topic: 'w/ok', payload: Buffer.from('yes'), qos: 1, messageId: 3, retain: false, dup: false } as Packet);
    expect(((await c.next('puback')) as unknown as { reasonCode?: number }).reasonCode ?? 0).toBe(0);
    expect((await inbox.next()).topic).toBe('w/ok');
    await waitFor(async () => (await broker.stats()).messagesDropped - before >= 3, 'three drops counted');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['w/ok']);
    c.destroy();
    w.end(true);
  });

  it('v3.1.1: denied QoS 1 and 2 are acknowledged as usual and not routed', async () => {
    const { client: w, inbox } = await watcher();
    const c = await raw(undefined, 4);
    c.send({ cmd: 'publish', topic: 'public/x', payload: Buffer.from('no'), qos: 1, messageId: 1, retain: false, dup: false } as Packet);
    await c.next('puback');
    c.send({ cmd: 'publish', topic: 'public/y', payload: Buffer.from('no'), qos: 2, messageId: 2, retain: false, dup: false } as Packet);
    await c.next('pubrec');
    c.send({ cmd: 'pubrel', messageId: 2 } as Packet);
    await c.next('pubcomp');
    c.send({ cmd: 'publish', topic: 'anon/out', payload: Buffer.from('yes'), qos: 1, messageId: 3, retain: false, dup: false } as Packet);
    await c.next('puback');
    expect((await inbox.next()).topic).toBe('anon/out');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['anon/out']);
    c.destroy();
    w.end(true);
  });
});

describe('delivery', () => {
  it("a '#' subscriber allowed a/# but denied a/secret never gets a/secret", async () => {
    const { client: sub, inbox } = await connectWithInbox(broker.url, { clientId: name('alice'), username: 'alice', protocolVersion: 5 });
    await sub.subscribeAsync('#', { qos: 1 });
    const { client: pub } = await connectWithInbox(broker.url, { clientId: name('admin'), username: 'admin' });
    for (const topic of ['a/secret', 'b/other', 'dev/x/y', 'a/visible']) await pub.publishAsync(topic, topic, { qos: 1 });
    expect((await inbox.next()).topic).toBe('a/visible');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['a/visible']);
    sub.end(true);
    pub.end(true);
  });

  it('retained: a denied retained PUBLISH is not stored; a stored one the subscriber may not read is not sent', async () => {
    const alice = await raw('alice', 5);
    const t = name('ret');
    alice.send({ cmd: 'publish', topic: `w/${t}`, payload: Buffer.from('wo'), qos: 1, messageId: 1, retain: true, dup: false } as Packet); // write-only: allowed
    await alice.next('puback');
    alice.send({ cmd: 'publish', topic: `b/${t}`, payload: Buffer.from('no'), qos: 1, messageId: 2, retain: true, dup: false } as Packet);
    expect(((await alice.next('puback')) as unknown as { reasonCode: number }).reasonCode).toBe(0x87);
    const { client: admin, inbox: adminInbox } = await connectWithInbox(broker.url, { clientId: name('admin'), username: 'admin' });
    await admin.publishAsync(`a/${t}/open`, 'open', { qos: 1, retain: true });
    await admin.publishAsync('a/secret', 'secret', { qos: 1, retain: true });
    await admin.subscribeAsync([`b/${t}`, `w/${t}`], { qos: 1 });
    expect((await adminInbox.next()).topic).toBe(`w/${t}`); // the stored one (b/… was never stored)
    const { client: sub, inbox } = await connectWithInbox(broker.url, { clientId: name('alice'), username: 'alice' });
    await sub.subscribeAsync('a/#', { qos: 1 });
    await sub.subscribeAsync(`w/${t}`, { qos: 1 }).catch(() => undefined); // 0x80: write only
    expect((await inbox.next()).topic).toBe(`a/${t}/open`);
    await new Promise((r) => setTimeout(r, 200));
    expect(inbox.messages.map((m) => m.topic).filter((x) => x === 'a/secret' || x === `w/${t}`)).toEqual([]);
    expect(adminInbox.messages.map((m) => m.topic)).toEqual([`w/${t}`]);
    await admin.publishAsync('a/secret', '', { qos: 1, retain: true });
    alice.destroy();
    admin.end(true);
    sub.end(true);
  });

  it('a denied will is not published; an allowed one is', async () => {
    const { client: w, inbox } = await watcher('will/#');
    const { client: w2, inbox: inbox2 } = await watcher('a/will');
    const denied = await raw('alice', 5, name('dying'), { will: { topic: 'will/alice', payload: Buffer.from('no'), qos: 1, retain: false } } as Partial<Packet>);
    const allowed = await raw('alice', 4, name('dying'), { will: { topic: 'a/will', payload: Buffer.from('yes'), qos: 1, retain: false } } as Partial<Packet>);
    denied.destroy();
    allowed.destroy();
    expect((await inbox2.next()).payload).toBe('yes');
    await new Promise((r) => setTimeout(r, 200));
    expect(inbox.messages).toEqual([]);
    w.end(true);
    w2.end(true);
  });
});

describe('offline queue', () => {
  // Fails if Broker.deliverNow queues for a parked session without asking its ACL: the denied
  // messages fill the two places of --max-queued 2, the allowed ones are dropped, and the denied
  // ones are then dropped again when taken (alice would get nothing).
  it('a message a parked session may not read takes no room in its queue', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'starling-acl-q-')), 'acl');
    writeFileSync(file, ACL);
    const small = await startTestBroker({ aclFile: file, maxQueued: 2 });
    try {
      const id = name('alice-parked');
      const first = await connectWithInbox(small.url, { clientId: id, username: 'alice', clean: false });
      await first.client.subscribeAsync('#', { qos: 1 });
      await first.client.endAsync();
      const { client: admin } = await connectWithInbox(small.url, { clientId: name('admin'), username: 'admin' });
      for (const topic of ['b/1', 'b/2', 'a/secret', 'a/ok1', 'a/ok2']) await admin.publishAsync(topic, topic, { qos: 1 });
      const again = await connectWithInbox(small.url, { clientId: id, username: 'alice', clean: false });
      await again.inbox.waitCount(2);
      expect(again.inbox.messages.map((m) => m.topic)).toEqual(['a/ok1', 'a/ok2']);
      again.client.end(true);
      admin.end(true);
    } finally {
      await small.close();
    }
  });
});

describe('mosquitto clients', () => {
  const run = promisify(execFile);

  it('mosquitto_sub -u alice -t # gets what alice may read; mosquitto_pub -u alice to a denied topic goes nowhere', async () => {
    const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(broker.port), '-u', 'alice', '-t', '#', '-q', '1', '-v', '-d', '-i', name('msub')]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => out.includes('received SUBACK'), 'mosquitto_sub SUBACK');
      const pub = (args: string[]): Promise<unknown> => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', ...args]);
      await pub(['-u', 'alice', '-t', 'b/mosq', '-m', 'denied']); // acknowledged (exit 0), dropped
      await pub(['-u', 'admin', '-t', 'a/secret', '-m', 'secret']);
      await pub(['-u', 'admin', '-t', 'a/mosq', '-m', 'ok']);
      await waitFor(() => out.includes('a/mosq ok'), 'a/mosq at mosquitto_sub');
      expect(out).not.toContain('denied');
      expect(out).not.toContain('secret');
    } finally {
      child.kill();
    }
  });
});
