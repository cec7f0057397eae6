// A transient error while a packet is processed closes that connection [v3:MQTT-4.8.0-2]: a
// cluster whose redis-server goes away under connected clients. A retained QoS 1 PUBLISH then
// cannot be stored: it is not acknowledged, and its connection is closed (3.1.1: a plain close;
// 5.0: DISCONNECT 0x80 first), so the client sends it again once it is back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DisconnectPacket } from '../../../src/protocol/types.js';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';

let redis: RedisServerHandle;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startTestCluster({ workers: 2, redisUrl: redis.url });
});
afterAll(async () => {
  await cluster?.close();
  await redis?.stop();
});

it('Redis gone: a retained QoS 1 PUBLISH gets no PUBACK and its connection is closed (v5: DISCONNECT 0x80 first) [v3:MQTT-4.8.0-2]', async () => {
  const clients = [await RawClient.connected(cluster.port, 'transient-4', 4), await RawClient.connected(cluster.port, 'transient-5', 5)];
  await redis.stop();
  for (const nodeId of cluster.workers.values()) {
    await cluster.waitForLog((l) => l.msg === 'redis unavailable' && l.role === `${nodeId}:commands`, `${nodeId} sees the outage`);
  }
  for (const raw of clients) {
    raw.send({ cmd: 'publish', topic: `transient/${raw.version}`, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: true, dup: false });
    await raw.waitClosed(5000);
    if (raw.version === 5) expect(raw.packets.map((p) => [p.cmd, (p as DisconnectPacket).reasonCode])).toEqual([['disconnect', 0x80]]);
    else expect(raw.packets).toEqual([]);
  }
}, 30_000);
