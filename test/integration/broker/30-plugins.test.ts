// Plugins by module path (--plugins): test/fixtures/plugins/rules-plugin.mjs decides by names, so
// the same expectations hold in one process and in the 2-worker cluster (the broker-on-cluster
// project runs this file again, the plugin loaded in each worker), whichever worker a client lands on.
//
// What would make these fail: connect.ts not asking authenticate (banned/plugin-user get in); the
// CONNACK code not taken from the refusal (0x87 instead of 0x8A); Hooks.budget not racing the
// timeout (slow-auth/hang hang); a throw not turned into a denial (the connection fails or the
// message is routed); publish.ts routing without waiting for the answer, or without chaining a
// connection's publishes (slow/ overtaken by the next one, PUBACKs out of order); refuse() ignoring
// the plugin's code (0x97 → 0x87); subscribe.ts ignoring a lower QoS or a refusal; the delivery gate
// delivering before the answer, out of order, or skipping queued/retained copies; an event not emitted.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion } from '../../../src/protocol/index.js';
import { connectWithInbox, startTestBroker, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

const PLUGIN = fileURLToPath(new URL('../../fixtures/plugins/rules-plugin.mjs', import.meta.url));
const TIMEOUT_MS = 300;
const eventsFile = join(mkdtempSync(join(tmpdir(), 'starling-plugins-')), 'events.jsonl');

let broker: TestBroker;
let n = 0;
beforeAll(async () => {
  writeFileSync(eventsFile, '');
  // Read by the plugin in whichever process runs it (cluster workers inherit the environment).
  process.env.STARLING_TEST_PLUGIN_LOG = eventsFile;
  broker = await startTestBroker({ plugins: [PLUGIN], pluginTimeoutMs: TIMEOUT_MS });
});
afterAll(async () => {
  await broker?.close();
});

function name(prefix: string): string {
  return `${prefix}-${process.pid}-${++n}`;
}

interface PluginEvent {
  event: string;
  clientId?: string;
  [key: string]: unknown;
}

function events(): PluginEvent[] {
  return readFileSync(eventsFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PluginEvent);
}

/** Opens a connection and sends CONNECT; the caller reads the CONNACK. */
async function connect(username: string | undefined, version: ProtocolVersion = 5, extra: Partial<Packet> = {}): Promise<RawClient> {
  const c = await RawClient.open(broker.port, version);
  c.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: name('p'), ...(username === undefined ? {} : { username }), ...extra } as Packet);
  return c;
}

async function connackCode(c: RawClient): Promise<number> {
  return ((await c.next('connack')) as unknown as { reasonCode: number }).reasonCode;
}

async function connected(username = 'user', version: ProtocolVersion = 5, extra: Partial<Packet> = {}): Promise<RawClient> {
  const c = await connect(username, version, extra);
  expect(await connackCode(c)).toBe(0);
  return c;
}

function publish(c: RawClient, topic: string, qos: 0 | 1 | 2, messageId?: number, retain = false): void {
  c.send({ cmd: 'publish', topic, payload: Buffer.from(topic), qos, retain, dup: false, ...(qos > 0 ? { messageId } : {}) } as Packet);
}

async function ackCode(c: RawClient, cmd: 'puback' | 'pubrec'): Promise<{ messageId: number; code: number }> {
  const p = (await c.next(cmd)) as unknown as { messageId: number; reasonCode?: number };
  return { messageId: p.messageId, code: p.reasonCode ?? 0 };
}

describe('authenticate', () => {
  it('a refusal with a reason code is the CONNACK code (v5) and the nearest v3.1.1 return code', async () => {
    const v5 = await connect('banned', 5);
    expect(await connackCode(v5)).toBe(0x8a);
    await v5.waitClosed();
    const v4 = await connect('banned', 4);
    expect(await connackCode(v4)).toBe(5); // not authorized
    await v4.waitClosed();
  });

  it('the plugin checks the password; an async acceptance is awaited', async () => {
    const wrong = await connect('plugin-user', 5, { password: Buffer.from('nope') } as Partial<Packet>);
    expect(await connackCode(wrong)).toBe(0x87);
    const right = await connect('plugin-user', 5, { password: Buffer.from('secret') } as Partial<Packet>);
    expect(await connackCode(right)).toBe(0);
    right.destroy();
    const late = await connect('late-ok', 4);
    expect(await connackCode(late)).toBe(0);
    late.destroy();
  });

  it('a hook that throws, or does not answer within --plugin-timeout, denies (0x87) and the broker goes on', async () => {
    const throws = await connect('throws', 5);
    expect(await connackCode(throws)).toBe(0x87);
    const started = Date.now();
    const slow = await connect('slow-auth', 5);
    expect(await connackCode(slow)).toBe(0x87);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    (await connected()).destroy();
  });
});

describe('authorizePublish', () => {
  it('v5: refusals answer QoS 1/2 with their code (0x87, or the plugin\'s 0x97), sync, async, thrown or timed out; nothing denied is routed', async () => {
    const { client: w, inbox } = await connectWithInbox(broker.url, { clientId: name('watch'), protocolVersion: 5 });
    await w.subscribeAsync('#', { qos: 1 });
    const c = await connected('user', 5);
    publish(c, 'deny/1', 1, 1);
    expect(await ackCode(c, 'puback')).toEqual({ messageId: 1, code: 0x87 });
    publish(c, 'quota/1', 2, 2);
    expect(await ackCode(c, 'pubrec')).toEqual({ messageId: 2, code: 0x97 });
    publish(c, 'adeny/1', 1, 3);
    expect(await ackCode(c, 'puback')).toEqual({ messageId: 3, code: 0x87 });
    publish(c, 'throw/1', 1, 4);
    expect(await ackCode(c, 'puback')).toEqual({ messageId: 4, code: 0x87 });
    publish(c, 'hang/1', 1, 5);
    expect(await ackCode(c, 'puback')).toEqual({ messageId: 5, code: 0x87 });
    publish(c, 'deny/qos0', 0);
    publish(c, 'ok/after', 1, 6);
    expect(await ackCode(c, 'puback')).toEqual({ messageId: 6, code: 0 });
    // ok/after went through the same connection after the denied ones: had any been routed, it came first.
    expect((await inbox.next()).topic).toBe('ok/after');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['ok/after']);
    c.destroy();
    w.end(true);
  });

  it('v3.1.1: a denied QoS 2 is acknowledged and its PUBREL completes; the id can be used again', async () => {
    const c = await connected('user', 4);
    publish(c, 'deny/q2', 2, 9);
    expect((await ackCode(c, 'pubrec')).messageId).toBe(9);
    c.send({ cmd: 'pubrel', messageId: 9 } as Packet);
    await c.next('pubcomp');
    publish(c, 'ok/q2', 2, 9);
    expect((await ackCode(c, 'pubrec')).messageId).toBe(9);
    c.destroy();
  });

  it('a connection\'s messages keep their order while an answer is awaited [MQTT-4.6.0-2] [MQTT-4.6.0-3]', async () => {
    const { client: w, inbox } = await connectWithInbox(broker.url, { clientId: name('watch'), protocolVersion: 5 });
    const t = name('order');
    await w.subscribeAsync([`slow/${t}/#`, `fast/${t}/#`], { qos: 1 });
    const c = await connected('user', 5);
    publish(c, `slow/${t}/1`, 1, 1); // answered after 80 ms
    publish(c, `fast/${t}/2`, 1, 2); // answered at once
    publish(c, `slow/${t}/3`, 0);
    publish(c, `fast/${t}/4`, 1, 3);
    expect((await ackCode(c, 'puback')).messageId).toBe(1);
    expect((await ackCode(c, 'puback')).messageId).toBe(2);
    expect((await ackCode(c, 'puback')).messageId).toBe(3);
    await inbox.waitCount(4);
    expect(inbox.messages.map((m) => m.topic)).toEqual([`slow/${t}/1`, `fast/${t}/2`, `slow/${t}/3`, `fast/${t}/4`]);
    c.destroy();
    w.end(true);
  });

  it('a will the plugin denies is not published; an allowed one is', async () => {
    const { client: w, inbox } = await connectWithInbox(broker.url, { clientId: name('watch') });
    const t = name('will');
    await w.subscribeAsync([`deny/${t}`, `ok/${t}`], { qos: 1 });
    const denied = await connected('user', 5, { will: { topic: `deny/${t}`, payload: Buffer.from('no'), qos: 1, retain: false } } as Partial<Packet>);
    denied.destroy();
    const allowed = await connected('user', 4, { will: { topic: `ok/${t}`, payload: Buffer.from('yes'), qos: 1, retain: false } } as Partial<Packet>);
    allowed.destroy();
    // The denied client closed first: its will, had it been kept, would have been routed before this one.
    expect((await inbox.next()).topic).toBe(`ok/${t}`);
    expect(inbox.messages.map((m) => m.topic)).toEqual([`ok/${t}`]);
    w.end(true);
  });
});

describe('authorizeSubscribe', () => {
  it('per filter: refused (v5 0x87 or the plugin\'s code, v3.1.1 0x80), granted lower, sync and async', async () => {
    const c = await connected('user', 5);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: ['secret/x', 'lower/#', 'ok/#', 'asecret/x', 'alower/#'].map((topic) => ({ topic, qos: 2 })) } as Packet);
    expect(((await c.next('suback')) as unknown as { granted: number[] }).granted).toEqual([0x87, 0, 2, 0x97, 1]);
    c.destroy();
    const v4 = await connected('user', 4);
    v4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'secret/x', qos: 1 }, { topic: 'ok/x', qos: 1 }] } as Packet);
    expect(((await v4.next('suback')) as unknown as { granted: number[] }).granted).toEqual([0x80, 1]);
    v4.destroy();
  });

  it('a lowered grant is the QoS messages arrive with', async () => {
    const { client: sub, inbox } = await connectWithInbox(broker.url, { clientId: name('sub'), protocolVersion: 5 });
    const t = name('low');
    const granted = await sub.subscribeAsync(`lower/${t}`, { qos: 2 });
    expect(granted[0]!.qos).toBe(0);
    const { client: pub } = await connectWithInbox(broker.url, { clientId: name('pub') });
    await pub.publishAsync(`lower/${t}`, 'x', { qos: 2 });
    expect((await inbox.next()).qos).toBe(0);
    sub.end(true);
    pub.end(true);
  });
});

describe('authorizeDelivery', () => {
  it('a wildcard subscriber gets only what the plugin lets it read, sync and async, in order', async () => {
    const { client: alice, inbox } = await connectWithInbox(broker.url, { clientId: name('alice'), username: 'alice' });
    await alice.subscribeAsync(['private/#', 'aprivate/#'], { qos: 1 });
    const { client: pub } = await connectWithInbox(broker.url, { clientId: name('pub'), username: 'pub' });
    const t = name('d');
    // aprivate/slowpoke/… waits 60 ms for its (negative) answer; what follows for alice waits behind it.
    // Sent back to back (not each after its PUBACK), so later messages reach the gate while earlier ones wait.
    const topics = [`private/bob/${t}`, `private/alice/${t}/1`, `aprivate/slowpoke/${t}`, `aprivate/alice/${t}/2`, `private/alice/${t}/3`, `aprivate/bob/${t}`, `private/alice/${t}/4`];
    await Promise.all(topics.map((topic) => pub.publishAsync(topic, topic, { qos: 1 })));
    await inbox.waitCount(3);
    await waitFor(() => inbox.messages.some((m) => m.topic.endsWith('/4')), 'the last allowed message');
    expect(inbox.messages.map((m) => m.topic)).toEqual([`private/alice/${t}/1`, `aprivate/alice/${t}/2`, `private/alice/${t}/3`, `private/alice/${t}/4`]);
    alice.end(true);
    pub.end(true);
  });

  it('retained messages on SUBSCRIBE and an offline session\'s queue are filtered too', async () => {
    const t = name('r');
    const { client: pub } = await connectWithInbox(broker.url, { clientId: name('pub'), username: 'pub' });
    await pub.publishAsync(`private/bob/${t}`, 'bob', { qos: 1, retain: true });
    await pub.publishAsync(`private/alice/${t}`, 'alice', { qos: 1, retain: true });
    const id = name('alice-persistent');
    const first = await connectWithInbox(broker.url, { clientId: id, username: 'alice', clean: false });
    await first.client.subscribeAsync(`private/+/${t}`, { qos: 1 });
    expect((await first.inbox.next()).payload).toBe('alice'); // the retained one it may read
    first.client.end(true);
    await waitFor(() => events().some((e) => e.event === 'disconnected' && e.clientId === id), 'alice offline');
    await pub.publishAsync(`private/bob/${t}`, 'bob-queued', { qos: 1 });
    await pub.publishAsync(`private/alice/${t}`, 'alice-queued', { qos: 1 });
    const again = await connectWithInbox(broker.url, { clientId: id, username: 'alice', clean: false });
    expect((await again.inbox.next()).payload).toBe('alice-queued');
    expect(first.inbox.messages.map((m) => m.payload)).toEqual(['alice']);
    expect(again.inbox.messages.map((m) => m.payload)).toEqual(['alice-queued']);
    await pub.publishAsync(`private/bob/${t}`, '', { qos: 1, retain: true });
    await pub.publishAsync(`private/alice/${t}`, '', { qos: 1, retain: true });
    again.client.end(true);
    pub.end(true);
  });
});

describe('events', () => {
  it('connected, subscribed, published and disconnected are told, with the client; a throwing event changes nothing', async () => {
    const id = name('ev');
    const { client, inbox } = await connectWithInbox(broker.url, { clientId: id, username: 'eve', protocolVersion: 5 });
    await client.subscribeAsync(['event/throws', `ev/${id}`], { qos: 1 });
    await client.publishAsync(`ev/${id}`, 'hello', { qos: 1 });
    expect((await inbox.next()).payload).toBe('hello'); // the throwing subscribed hook did not stop delivery
    await client.endAsync();
    await waitFor(() => events().some((e) => e.event === 'disconnected' && e.clientId === id), 'disconnected event');
    const mine = events().filter((e) => e.clientId === id);
    expect(mine.map((e) => e.event)).toEqual(['connected', 'subscribed', 'published', 'disconnected']);
    expect(mine[0]).toMatchObject({ username: 'eve', address: '127.0.0.1', protocolVersion: 5 });
    expect(mine[1]!.subscriptions).toEqual([
      { filter: 'event/throws', qos: 1 },
      { filter: `ev/${id}`, qos: 1 },
    ]);
    expect(mine[2]).toMatchObject({ topic: `ev/${id}`, qos: 1 });
    expect(typeof mine[3]!.reason).toBe('string');
  });

  it('the factory got the config: every process that loaded the plugin saw --plugin-timeout', () => {
    const loaded = events().filter((e) => e.event === 'loaded');
    expect(loaded.length).toBeGreaterThan(0);
    for (const e of loaded) expect(e.timeoutMs).toBe(TIMEOUT_MS);
  });
});
