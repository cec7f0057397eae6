// MQTT 5 shared subscriptions, $share/{ShareName}/{filter} (section 4.8.2): each message goes to
// one member of each group, in addition to normal subscribers. Runs in one process and on the
// 2-worker cluster (where members land on either worker).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnackPacket, DisconnectPacket, SubackPacket } from '../../../src/protocol/index.js';
import { connectClient, connectWithInbox, startTestBroker, type Inbox, type TestBroker } from '../../helpers/broker-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
const onCluster = (process.env.STARLING_TEST_HARNESS ?? '') !== '';

beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function member(clientId: string, protocolVersion: 4 | 5 = 5, extra: Record<string, unknown> = {}): Promise<{ client: MqttClient; inbox: Inbox }> {
  const r = await connectWithInbox(broker.url, { protocolVersion, clientId, ...extra });
  clients.push(r.client);
  return r;
}

async function publisher(clientId: string): Promise<MqttClient> {
  const c = await connectClient(broker.url, { protocolVersion: 5, clientId });
  clients.push(c);
  return c;
}

async function publishAll(pub: MqttClient, topic: string, count: number, prefix = 'm'): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    await pub.publishAsync(topic, `${prefix}${i}`, { qos: 1 });
    sent.push(`${prefix}${i}`);
  }
  return sent;
}

const payloads = (inbox: Inbox, topic?: string): string[] => inbox.messages.filter((m) => topic === undefined || m.topic === topic).map((m) => m.payload);

describe('shared subscriptions (MQTT 5 4.8.2)', () => {
  it('CONNACK says Shared Subscription Available', async () => {
    const raw = await RawClient.open(broker.port, 5);
    raw.send({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'shared-connack' });
    const connack = (await raw.next('connack')) as ConnackPacket;
    expect(connack.properties?.sharedSubscriptionAvailable ?? 1).toBe(1);
    raw.destroy();
  });

  it('three members receive disjoint sets whose union is every message, exactly once, round robin', async () => {
    const members = await Promise.all(['sh-a', 'sh-b', 'sh-c'].map((id) => member(id)));
    for (const m of members) await m.client.subscribeAsync('$share/workers/jobs/+', { qos: 1 });
    const pub = await publisher('sh-pub');
    const sent = await publishAll(pub, 'jobs/x', 30);
    const total = () => members.reduce((n, m) => n + m.inbox.messages.length, 0);
    await waitFor(() => total() >= 30, '30 messages across the group', 10_000);
    // One more message after all 30: a duplicate of an earlier one would be counted by now.
    await pub.publishAsync('jobs/x', 'end', { qos: 1 });
    await waitFor(() => total() >= 31, 'the last message', 10_000);
    const all = members.flatMap((m) => payloads(m.inbox));
    expect(all.sort()).toEqual([...sent, 'end'].sort()); // union = every message, no duplicates
    for (const m of members) expect(m.inbox.messages.length).toBeGreaterThan(0); // spread over the members
    if (!onCluster) for (const m of members.slice(1)) expect(Math.abs(m.inbox.messages.length - members[0].inbox.messages.length)).toBeLessThanOrEqual(1);
  });

  it('two groups on the same filter each get every message', async () => {
    const g1 = await Promise.all(['two-a1', 'two-a2'].map((id) => member(id)));
    const g2 = await member('two-b1');
    for (const m of g1) await m.client.subscribeAsync('$share/one/two/t', { qos: 1 });
    await g2.client.subscribeAsync('$share/other/two/t', { qos: 1 });
    const pub = await publisher('two-pub');
    const sent = await publishAll(pub, 'two/t', 10);
    await waitFor(() => g1[0].inbox.messages.length + g1[1].inbox.messages.length === 10 && g2.inbox.messages.length === 10, 'every message in each group', 10_000);
    expect([...payloads(g1[0].inbox), ...payloads(g1[1].inbox)].sort()).toEqual([...sent].sort());
    expect(payloads(g2.inbox)).toEqual(sent);
  });

  it('a client in a group and subscribed normally receives both copies; normal subscribers get every message', async () => {
    const both = await member('both-1');
    const normal = await member('both-normal');
    await both.client.subscribeAsync('$share/g/both/t', { qos: 1 });
    await both.client.subscribeAsync('both/t', { qos: 1 });
    await normal.client.subscribeAsync('both/#', { qos: 0 });
    const pub = await publisher('both-pub');
    await publishAll(pub, 'both/t', 5);
    await waitFor(() => both.inbox.messages.length === 10 && normal.inbox.messages.length === 5, 'two copies each at the member, one at the normal subscriber', 10_000);
    expect(payloads(both.inbox).sort()).toEqual(['m0', 'm0', 'm1', 'm1', 'm2', 'm2', 'm3', 'm3', 'm4', 'm4']);
  });

  it('retained messages are not sent when a shared subscription is made', async () => {
    const pub = await publisher('ret-pub');
    await pub.publishAsync('ret/t', 'kept', { qos: 1, retain: true });
    const m = await member('ret-member');
    await m.client.subscribeAsync('$share/g/ret/t', { qos: 1 });
    await pub.publishAsync('ret/t', 'live', { qos: 1 });
    // The first message the member gets is the live one, not the retained one.
    expect((await m.inbox.next()).payload).toBe('live');
    expect(m.inbox.messages.map((x) => x.payload)).toEqual(['live']);
    await pub.publishAsync('ret/t', '', { qos: 1, retain: true });
  });

  it('granted QoS and subscription identifiers are the member\'s own', async () => {
    const m = await member('subid-member');
    await m.client.subscribeAsync('$share/g/subid/t', { qos: 0, properties: { subscriptionIdentifier: 7 } });
    const pub = await publisher('subid-pub');
    await pub.publishAsync('subid/t', 'x', { qos: 1 });
    const got = await m.inbox.next(5000);
    expect(got.qos).toBe(0); // min(published 1, granted 0) [v5:MQTT-3.8.4-8] [MQTT-4.8.2-3]
    expect(got.properties?.subscriptionIdentifier).toEqual(7);
  });

  it('UNSUBSCRIBE $share/g/f leaves the group: the other member gets everything after', async () => {
    const a = await member('unsub-a');
    const b = await member('unsub-b');
    await a.client.subscribeAsync('$share/g/unsub/t', { qos: 1 });
    await b.client.subscribeAsync('$share/g/unsub/t', { qos: 1 });
    await a.client.unsubscribeAsync('$share/g/unsub/t');
    const pub = await publisher('unsub-pub');
    const sent = await publishAll(pub, 'unsub/t', 6);
    await waitFor(() => b.inbox.messages.length === 6, 'all 6 at the remaining member', 10_000);
    expect(payloads(b.inbox)).toEqual(sent);
    expect(a.inbox.messages).toEqual([]);
  });

  it('v3.1.1 clients may join a group with $share/ (as with Mosquitto and EMQX), next to v5 members', async () => {
    const v4 = await member('v4-member', 4);
    const v5 = await member('v5-member', 5);
    expect((await v4.client.subscribeAsync('$share/mixed/mixed/t', { qos: 1 }))[0].qos).toBe(1);
    await v5.client.subscribeAsync('$share/mixed/mixed/t', { qos: 1 });
    const pub = await publisher('mixed-pub');
    const sent = await publishAll(pub, 'mixed/t', 10);
    await waitFor(() => v4.inbox.messages.length + v5.inbox.messages.length === 10, '10 messages across both', 10_000);
    expect([...payloads(v4.inbox), ...payloads(v5.inbox)].sort()).toEqual([...sent].sort());
    expect(v4.inbox.messages.length).toBeGreaterThan(0);
    expect(v5.inbox.messages.length).toBeGreaterThan(0);
  });

  it('an invalid ShareName or filter is refused per filter: SUBACK 0x8F at v5, 0x80 at v3.1.1 [MQTT-4.8.2-1, MQTT-4.8.2-2]', async () => {
    const invalid = ['$share//a', '$share/+/a', '$share/g#/a', '$share/g', '$share/g/'];
    const raw5 = await RawClient.connected(broker.port, 'bad-share-5', 5);
    raw5.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok/t', qos: 1 }, ...invalid.map((topic) => ({ topic, qos: 0 as const })), { topic: '$share/g/ok/t', qos: 2 }] });
    expect(((await raw5.next('suback')) as SubackPacket).granted).toEqual([1, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 2]);
    raw5.destroy();
    const raw4 = await RawClient.connected(broker.port, 'bad-share-4', 4);
    raw4.send({ cmd: 'subscribe', messageId: 1, subscriptions: [...invalid.map((topic) => ({ topic, qos: 0 as const })), { topic: '$share/g/ok/t', qos: 1 }] });
    expect(((await raw4.next('suback')) as SubackPacket).granted).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 1]);
    raw4.destroy();
  });

  it('No Local on a shared subscription is a protocol error: DISCONNECT 0x82 [v5:MQTT-3.8.3-4]', async () => {
    const raw = await RawClient.connected(broker.port, 'nl-share', 5);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/nl/t', qos: 1, nl: true }] });
    expect(((await raw.next('disconnect')) as DisconnectPacket).reasonCode).toBe(0x82);
    await raw.waitClosed();
  });

  it('an offline persistent member gets the group\'s messages queued when no member is connected', async () => {
    const first = await member('off-member', 5, { clean: false, properties: { sessionExpiryInterval: 300 } });
    await first.client.subscribeAsync('$share/g/off/t', { qos: 1 });
    await first.client.endAsync();
    const pub = await publisher('off-pub');
    const sent = await publishAll(pub, 'off/t', 3);
    const back = await member('off-member', 5, { clean: false, properties: { sessionExpiryInterval: 0 } });
    await waitFor(() => back.inbox.messages.length === 3, 'the 3 queued messages', 10_000);
    expect(payloads(back.inbox)).toEqual(sent);
  });

  it('a connected member is preferred to an offline persistent one (on the cluster: whichever workers they are on)', async () => {
    const offline = await member('pref-offline', 5, { clean: false, properties: { sessionExpiryInterval: 300 } });
    await offline.client.subscribeAsync('$share/g/pref/t', { qos: 1 });
    await offline.client.endAsync();
    const online = await member('pref-online');
    await online.client.subscribeAsync('$share/g/pref/t', { qos: 1 });
    const pub = await publisher('pref-pub');
    const sent = await publishAll(pub, 'pref/t', 6);
    await waitFor(() => online.inbox.messages.length === 6, 'all 6 at the connected member', 10_000);
    expect(payloads(online.inbox)).toEqual(sent);
    const back = await member('pref-offline', 5, { clean: false, properties: { sessionExpiryInterval: 0 } });
    await back.client.publishAsync('pref/marker', 'm', { qos: 1 }); // a round trip: the queue came first
    expect(back.inbox.messages).toEqual([]);
  });
});
