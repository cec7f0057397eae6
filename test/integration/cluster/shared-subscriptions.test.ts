// MQTT 5 shared subscriptions across the cluster (section 4.8.2): a group's members on different
// workers and hosts share one stream — every message reaches exactly one member of each group,
// cluster-wide — while normal subscribers on the same nodes still get every message.
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { randomBytes } from 'node:crypto';
import { connectCollecting, nodeOfClient, type PlacedClient } from '../../helpers/cluster-clients.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

const clients: MqttClient[] = [];
const v5: IClientOptions = { protocolVersion: 5 };

async function publishAll(pub: MqttClient, topic: string, count: number, prefix: string): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    await pub.publishAsync(topic, `${prefix}${i}`, { qos: 1 });
    sent.push(`${prefix}${i}`);
  }
  return sent;
}

const payloadsOf = (members: PlacedClient[], topic: string): string[] => members.flatMap((m) => m.messages.filter((x) => x.topic === topic).map((x) => x.payload));
const countOf = (members: PlacedClient[], topic: string): number => payloadsOf(members, topic).length;

afterAll(() => {
  for (const c of clients) c.end(true);
});

describe('3-worker cluster', () => {
  let cluster: TestCluster;
  let nodes: string[];

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 3 });
    nodes = [...cluster.workers.values()];
  });
  afterAll(async () => {
    await cluster?.close();
  });

  /** node:cluster hands connections out in turn: with 3 workers, one of 3 consecutive tries lands on `node`. */
  async function on(node: string, options: IClientOptions = {}): Promise<PlacedClient> {
    for (let attempt = 0; attempt < 12; attempt++) {
      const clientId = `sh-${randomBytes(4).toString('hex')}`;
      const { client, messages } = await connectCollecting(cluster.url, { ...v5, ...options, clientId });
      const nodeId = await nodeOfClient(cluster, clientId);
      if (nodeId === node) {
        clients.push(client);
        return { client, messages, nodeId };
      }
      await client.endAsync();
    }
    throw new Error(`could not place a client on ${node}`);
  }

  it('members on two workers, publisher on the third: each message exactly once in the group, spread over both workers; normal subscribers get all', async () => {
    const [a, b, c] = nodes as [string, string, string];
    const group = [await on(a), await on(a), await on(b)];
    for (const m of group) await m.client.subscribeAsync('$share/g/cl/jobs/+', { qos: 1 });
    const other = await on(b); // a second group, one member: gets everything
    await other.client.subscribeAsync('$share/h/cl/jobs/+', { qos: 1 });
    const normal = await on(a); // a normal subscriber on a node that also has members of g
    await normal.client.subscribeAsync('cl/jobs/#', { qos: 1 });
    const pub = await on(c);
    const sent = await publishAll(pub.client, 'cl/jobs/1', 40, 'c');
    await waitFor(() => countOf(group, 'cl/jobs/1') >= 40 && other.messages.length >= 40 && normal.messages.length >= 40, '40 messages in each group and at the normal subscriber', 15_000);
    // One more message after the 40: a duplicate of an earlier one would have arrived by then.
    await pub.client.publishAsync('cl/jobs/1', 'end', { qos: 1 });
    await waitFor(() => countOf(group, 'cl/jobs/1') === 41 && other.messages.length === 41 && normal.messages.length === 41, 'the last message', 15_000);
    expect(payloadsOf(group, 'cl/jobs/1').sort()).toEqual([...sent, 'end'].sort());
    expect(other.messages.map((m) => m.payload)).toEqual([...sent, 'end']);
    expect(normal.messages.map((m) => m.payload)).toEqual([...sent, 'end']);
    // Both workers' members got a share (the publisher's node alternates between A and B).
    const onA = group[0].messages.length + group[1].messages.length;
    const onB = group[2].messages.length;
    expect(onA).toBeGreaterThan(0);
    expect(onB).toBeGreaterThan(0);
    for (const m of group) expect(m.messages.length).toBeGreaterThan(0);
  }, 60_000);

  it('a publisher on a node with members shares the group with the other node; a member leaving moves its share', async () => {
    const [a, b] = nodes as [string, string, string];
    const local = await on(a);
    const remote = await on(b);
    await local.client.subscribeAsync('$share/mix/cl/mix', { qos: 1 });
    await remote.client.subscribeAsync('$share/mix/cl/mix', { qos: 1 });
    const pub = await on(a);
    const sent = await publishAll(pub.client, 'cl/mix', 20, 'x');
    await waitFor(() => countOf([local, remote], 'cl/mix') === 20, '20 messages across the group', 15_000);
    expect(payloadsOf([local, remote], 'cl/mix').sort()).toEqual([...sent].sort());
    expect(local.messages.length).toBeGreaterThan(0);
    expect(remote.messages.length).toBeGreaterThan(0);
    // B's only member leaves the group: its route goes, everything comes to A's member.
    await remote.client.unsubscribeAsync('$share/mix/cl/mix');
    const before = remote.messages.length;
    // B announces a new route after the removal, on the same connection: its SUBACK waits for
    // every node's ack of it, so by then A has applied the removal too.
    await remote.client.subscribeAsync('cl/after-removal', { qos: 1 });
    const more = await publishAll(pub.client, 'cl/mix', 10, 'y');
    await waitFor(() => local.messages.filter((m) => m.payload.startsWith('y')).length === 10, 'the next 10 at A', 15_000);
    expect(local.messages.filter((m) => m.payload.startsWith('y')).map((m) => m.payload)).toEqual(more);
    expect(remote.messages.length).toBe(before);
  }, 60_000);
  it('a connected member on another worker is preferred to an offline persistent one; with none connected, the offline one queues', async () => {
    const [a, b, c] = nodes as [string, string, string];
    const persistent: IClientOptions = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const offline = await on(a, persistent);
    const offlineId = offline.client.options.clientId as string;
    await offline.client.subscribeAsync('$share/pref/cl/pref', { qos: 1 });
    await offline.client.endAsync();
    const online = await on(b);
    await online.client.subscribeAsync('$share/pref/cl/pref', { qos: 1 });
    const pub = await on(c);
    const first = await publishAll(pub.client, 'cl/pref', 10, 'p');
    await waitFor(() => online.messages.length === 10, 'all 10 at the connected member on B', 15_000);
    expect(online.messages.map((m) => m.payload)).toEqual(first);
    // B's member leaves: nobody connected, so A's offline member gets the next ones queued.
    await online.client.endAsync();
    // B has withdrawn the group (its routes hash, written with the announcement in one MULTI) ...
    await waitFor(async () => !(await cluster.redis().hkeys(`${cluster.prefix}{c}:routes:${b}`)).some((f) => f.startsWith('$share/pref/')), 'B withdrew the group', 10_000);
    // ... and a later announcement, acked by every node, shows C has applied the withdrawal.
    await pub.client.subscribeAsync('cl/sync', { qos: 0 });
    const second = await publishAll(pub.client, 'cl/pref', 5, 'q');
    const back = await connectCollecting(cluster.url, { ...v5, clientId: offlineId, clean: false, properties: { sessionExpiryInterval: 0 } });
    clients.push(back.client);
    await waitFor(() => back.messages.length === 5, 'the 5 queued messages', 15_000);
    expect(back.messages.map((m) => m.payload)).toEqual(second);
  }, 60_000);
});

describe('two hosts on one Redis', () => {
  let redis: RedisServerHandle;
  let hostA: TestCluster;
  let hostB: TestCluster;
  const prefix = `sharedhosts${process.pid}:`;

  beforeAll(async () => {
    redis = await startRedisServer();
    [hostA, hostB] = await Promise.all([startTestCluster({ workers: 1, redisUrl: redis.url, prefix }), startTestCluster({ workers: 1, redisUrl: redis.url, prefix })]);
  });
  afterAll(async () => {
    await Promise.all([hostA?.close(), hostB?.close()]);
    await redis?.stop();
  });

  async function on(host: TestCluster): Promise<PlacedClient> {
    const c = await connectCollecting(host.url, v5);
    clients.push(c.client);
    return { ...c, nodeId: '' };
  }

  it('a group with members on both hosts: every message exactly once, from publishers on either host', async () => {
    const group = [await on(hostA), await on(hostB), await on(hostB)];
    for (const m of group) await m.client.subscribeAsync('$share/hosts/hs/t', { qos: 1 });
    const pubA = await on(hostA);
    const pubB = await on(hostB);
    const sent = [...(await publishAll(pubA.client, 'hs/t', 20, 'a')), ...(await publishAll(pubB.client, 'hs/t', 20, 'b'))];
    await waitFor(() => countOf(group, 'hs/t') >= 40, '40 messages across the group', 15_000);
    await pubA.client.publishAsync('hs/t', 'end', { qos: 1 });
    await waitFor(() => countOf(group, 'hs/t') >= 41, 'the last message', 15_000);
    expect(payloadsOf(group, 'hs/t').sort()).toEqual([...sent, 'end'].sort());
    expect(group[0].messages.length).toBeGreaterThan(0);
    expect(group[1].messages.length + group[2].messages.length).toBeGreaterThan(0);
  }, 60_000);
});
