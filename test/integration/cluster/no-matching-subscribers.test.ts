// v5 PUBACK/PUBREC 0x10 No matching subscribers in a cluster (v5 §3.4.2.1, §3.5.2.1): it must mean
// no subscriber anywhere. Two hosts (one worker each, one Redis, one prefix): the subscriber on host
// A, the publisher on host B, so only host B's route table (the other node's routes, its shared
// groups) can tell that someone subscribes.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectCollecting } from '../../helpers/cluster-clients.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';
import { ackCode } from '../../helpers/ack-code.js';

let redis: RedisServerHandle;
let hostA: TestCluster;
let hostB: TestCluster;
const clients: MqttClient[] = [];
const prefix = `nomatch${process.pid}:`;

beforeAll(async () => {
  redis = await startRedisServer();
  [hostA, hostB] = await Promise.all([startTestCluster({ workers: 1, redisUrl: redis.url, prefix }), startTestCluster({ workers: 1, redisUrl: redis.url, prefix })]);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all([hostA?.close(), hostB?.close()]);
  await redis?.stop();
});

async function on(host: TestCluster, clientId: string, options: Parameters<typeof connectCollecting>[1] = {}): Promise<{ client: MqttClient; messages: Array<{ topic: string; payload: string }> }> {
  const c = await connectCollecting(host.url, { protocolVersion: 5, clientId, ...options });
  clients.push(c.client);
  return c;
}


describe('no subscriber anywhere in the cluster', () => {
  it.each([1, 2] as const)('QoS %i: 0x10', async (qos) => {
    const pub = await on(hostB, `cl-nm-pub-${qos}`);
    expect(await ackCode(pub.client, `cl-nomatch/none/${qos}`, qos)).toBe(0x10);
  });
});

describe('a subscriber on the other host only: 0x00', () => {
  it.each([
    ['an exact subscription', 'cl-nomatch/exact', 'cl-nomatch/exact'],
    ['a wildcard subscription', 'cl-nomatch/wild/+/#', 'cl-nomatch/wild/a/b'],
    ['a shared subscription group', '$share/grp/cl-nomatch/shared/+', 'cl-nomatch/shared/x'],
  ])('%s', async (_what, filter, topic) => {
    const sub = await on(hostA, `cl-nm-sub-${filter}`);
    await sub.client.subscribeAsync(filter, { qos: 2 }); // SUBACK once every node routes it
    const pub = await on(hostB, `cl-nm-pub-${filter}`);
    expect(await ackCode(pub.client, topic, 1)).toBe(0x00);
    expect(await ackCode(pub.client, topic, 2)).toBe(0x00);
    await waitFor(() => sub.messages.length === 2, 'both messages on host A', 10_000);
  });

  it('a parked persistent session on host A (its client offline) is a subscriber; it gets the message when back', async () => {
    const sub = await on(hostA, 'cl-nm-parked', { clean: false, properties: { sessionExpiryInterval: 300 } });
    await sub.client.subscribeAsync('cl-nomatch/parked', { qos: 1 });
    await sub.client.endAsync();
    const pub = await on(hostB, 'cl-nm-pub-parked');
    expect(await ackCode(pub.client, 'cl-nomatch/parked', 1)).toBe(0x00);
    const back = await on(hostA, 'cl-nm-parked', { clean: false, properties: { sessionExpiryInterval: 300 } });
    await waitFor(() => back.messages.some((m) => m.topic === 'cl-nomatch/parked'), 'the queued message on resume', 10_000);
  });
});
