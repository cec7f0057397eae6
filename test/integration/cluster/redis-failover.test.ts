// Redis fails under a QoS 1 stream and Starling follows it, with --redis-wait-replicas 1:
// - a Redis Cluster master is killed (-9): its replica is promoted;
// - the Sentinel set's master is killed (-9): the sentinels promote the replica;
// - slots move between masters (redis-cli --cluster reshard) while the stream runs.
// With --redis-wait-replicas 1 an acknowledgement needs a replica of the shard it wrote to, so
// these run with two replicas per master: after the promotion the shard still has one (with one,
// it would rightly refuse acknowledgements that need a write there until a replica is back:
// replica-wait.test.ts). Every test counts: each PUBLISH the broker acknowledged must reach the online subscriber (on
// the other worker: through the bus) and the queue of a parked persistent session (on the
// publisher's worker: written under WAIT), and delivery must resume within 5 s of the promotion.
// Fails if the bus does not resubscribe after a shard's promotion (the online subscriber would
// get nothing more), if acknowledgements do not wait for the replica (the queue written on the
// killed master would be short), or if ioredis is not told to follow the cluster or the sentinels.
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { connectPlaced } from '../../helpers/cluster-clients.js';
import { ReceiptCounter, startRateStream, type RateStream } from '../../helpers/rate-stream.js';
import { startRedisCluster } from '../../helpers/redis-cluster.js';
import { startRedisSentinel } from '../../helpers/redis-sentinel.js';
import { waitFor } from '../../helpers/wait.js';

const RATE = 150;
const cleanups: Array<() => Promise<unknown>> = [];
const clients: MqttClient[] = [];

let current: TestCluster | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && current !== undefined) {
    const seen = new Map<string, number>();
    for (const l of current.logs) {
      const err = l.err as { message?: string } | string | undefined;
      const line = `${String(l.nodeId ?? 'primary').slice(-6)} ${l.msg ?? ''} ${typeof err === 'string' ? err : (err?.message ?? '')} ${String(l.reason ?? '')} ${String(l.clientId ?? '')}`;
      seen.set(line, (seen.get(line) ?? 0) + 1);
    }
    for (const [line, n] of seen) console.log(`${n}x ${line}`);
  }
  current = undefined;
  for (const c of clients.splice(0)) c.end(true);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface Run {
  cluster: TestCluster;
  stream: RateStream;
  online: ReceiptCounter;
  /** When each message reached the online subscriber. */
  arrivals: number[];
  parkedId: string;
  topic: string;
  /** Messages sent when Redis was hit (diagnostics). */
  killedAtSeq?: number;
  /** Messages sent at each (re)connect of the publisher, and on which worker (diagnostics). */
  publisherConnects: string[];
}

/** Starts the stream: online subscriber on one worker, publisher and a parked session on the other. */
async function streaming(cluster: TestCluster, topic: string): Promise<Run> {
  current = cluster;
  const [nodeA, nodeB] = [...cluster.workers.values()] as [string, string];
  // A CONNECT refused while Redis is away (server unavailable) is retried, as a fleet's clients do.
  const options = { reconnectPeriod: 200, reconnectOnConnackError: true, connectTimeout: 2000, clean: false, protocolVersion: 4 as const };
  const parkedId = `${topic}-parked`;
  const parked = await connectPlaced(cluster, (n) => n === nodeB, { ...options, clientId: parkedId });
  await parked.client.subscribeAsync(`${topic}/+`, { qos: 1 });
  await parked.client.endAsync();
  const sub = await connectPlaced(cluster, (n) => n === nodeA, { ...options, clientId: `${topic}-sub` });
  clients.push(sub.client);
  await sub.client.subscribeAsync(`${topic}/+`, { qos: 1 });
  const online = new ReceiptCounter(sub.client, topic);
  const arrivals: number[] = [];
  sub.client.on('message', () => arrivals.push(Date.now()));
  const pub = await connectPlaced(cluster, (n) => n === nodeB, { ...options, clean: true, clientId: `${topic}-pub` });
  clients.push(pub.client);
  const stream = startRateStream(pub.client, topic, 1, RATE);
  const publisherConnects: string[] = [];
  pub.client.on('connect', () => publisherConnects.push(`at seq ${stream.sent}`));
  await waitFor(() => online.total >= 150, 'the stream flowing', 15_000);
  return { cluster, stream, online, arrivals, parkedId, topic, publisherConnects };
}

/** Keeps streaming until 300 more messages are acknowledged, stops, and counts every acknowledged one. */
async function accountFor(run: Run): Promise<{ acked: number; online: number; queued: number }> {
  const target = run.stream.acked.size + 300;
  await waitFor(() => run.stream.acked.size >= target, '300 more acknowledged messages', 30_000);
  await run.stream.stop();
  const acked = [...run.stream.acked];
  await waitFor(() => run.online.missing(acked).length === 0, 'every acknowledged message at the online subscriber', 30_000).catch(() => {});
  const lost = run.online.missing(acked);
  if (lost.length > 0) console.log(`sub queue ${await run.cluster.redis().llen(`${run.cluster.prefix}{s:${run.topic}-sub}:queue`)} inflight ${await run.cluster.redis().hlen(`${run.cluster.prefix}{s:${run.topic}-sub}:inflight`)}`);
  if (lost.length > 0) for (const id of run.cluster.workers.values()) console.log(id, JSON.stringify(await run.cluster.nodeStats(id)));
  if (lost.length > 0) console.log(`online subscriber lost ${lost.length}: ${lost.slice(0, 5).join(',')} … ${lost.slice(-5).join(',')}; killed at seq ${run.killedAtSeq}; acked ${acked.length}, sent ${run.stream.sent}`);
  expect(lost, 'acknowledged, never at the online subscriber').toEqual([]);
  // Reconnecting as a client does: a CONNECT refused while a shard is still moving is tried again.
  const back = { client: mqtt.connect(run.cluster.url, { clientId: run.parkedId, clean: false, reconnectPeriod: 200, reconnectOnConnackError: true }), messages: [] as Array<{ payload: string }> };
  clients.push(back.client);
  back.client.on('message', (_topic, payload) => back.messages.push({ payload: payload.toString() }));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the parked session could not reconnect within 20 s')), 20_000);
    back.client.once('connect', () => (clearTimeout(timer), resolve()));
  });
  const queued = new Set<number>();
  const collect = (): number => {
    for (const m of back.messages) queued.add(Number(m.payload));
    return acked.filter((seq) => !queued.has(seq)).length;
  };
  await waitFor(() => collect() === 0, 'every acknowledged message in the parked session', 30_000).catch(() => {});
  if (collect() > 0) console.log(`parked session: killed at seq ${run.killedAtSeq}; publisher reconnected ${run.publisherConnects.join(', ') || 'never'}; acked ${acked.length}, sent ${run.stream.sent}`);
  expect(acked.filter((seq) => !queued.has(seq)), 'acknowledged, not in the parked session').toEqual([]);
  return { acked: acked.length, online: run.online.total, queued: back.messages.length };
}

/** How long after `at` the online subscriber got its next message. */
async function resumedAfter(run: Run, at: number): Promise<number> {
  await waitFor(() => run.arrivals.some((t) => t >= at), 'a delivery after the promotion', 15_000);
  return run.arrivals.find((t) => t >= at)! - at;
}

it('a Redis Cluster master killed with -9 mid-stream: nothing acknowledged is lost at the online subscriber, delivery resumes within 5 s of the promotion', async () => {
  const redis = await startRedisCluster({ masters: 3, replicasPerMaster: 2 });
  cleanups.push(() => redis.stop());
  const cluster = await startTestCluster({ workers: 2, redisCluster: redis, config: { redisWaitReplicas: 1 } });
  cleanups.push(() => cluster.close());
  const run = await streaming(cluster, 'rcfail');
  // The master holding the parked session's queue: what the acknowledgements promise is written there.
  const victim = await redis.masterOfKey(`${cluster.prefix}{s:${run.parkedId}}:queue`);
  run.killedAtSeq = run.stream.sent;
  redis.killNode(victim);
  // Generous: on a loaded machine the election can take a retry (2 × node timeout) or two; what
  // is measured is from the promotion on.
  const { promotedAt, newMasterPort } = await redis.waitForPromotion(victim, 45_000);
  const resumed = await resumedAfter(run, promotedAt);
  const counts = await accountFor(run);
  expect(newMasterPort).not.toBe(victim);
  expect(resumed).toBeLessThan(5000);
  console.log(`redis cluster failover: ${counts.acked} acknowledged, all delivered (${counts.online} online deliveries, ${counts.queued} from the queue); delivery resumed ${resumed} ms after the promotion`);
}, 150_000);

it('the Sentinel master killed with -9 mid-stream: nothing acknowledged is lost, delivery resumes within 5 s of the promotion', async () => {
  const sentinel = await startRedisSentinel({ replicas: 2 });
  cleanups.push(() => sentinel.stop());
  const cluster = await startTestCluster({ workers: 2, redisSentinel: sentinel, config: { redisWaitReplicas: 1 } });
  cleanups.push(() => cluster.close());
  const run = await streaming(cluster, 'snfail');
  const victim = await sentinel.killMaster();
  const { promotedAt } = await sentinel.waitForFailover(victim);
  const resumed = await resumedAfter(run, promotedAt);
  const counts = await accountFor(run);
  expect(resumed).toBeLessThan(5000);
  console.log(`sentinel failover: ${counts.acked} acknowledged, all delivered (${counts.online} online deliveries, ${counts.queued} from the queue); delivery resumed ${resumed} ms after the promotion`);
}, 120_000);

it('every slot of a master moved to another (redis-cli --cluster reshard) mid-stream: nothing acknowledged is lost', async () => {
  const redis = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  cleanups.push(() => redis.stop());
  const cluster = await startTestCluster({ workers: 2, redisCluster: redis, config: { redisWaitReplicas: 1 } });
  cleanups.push(() => cluster.close());
  const run = await streaming(cluster, 'reshard');
  const from = await redis.masterOfKey(`${cluster.prefix}{s:${run.parkedId}}:queue`);
  const to = (await redis.masters()).find((m) => m.port !== from)!.port;
  const owned = (await redis.masters()).find((m) => m.port === from)!.slots.reduce((n, [a, b]) => n + b - a + 1, 0);
  await redis.reshard(from, to, owned);
  expect(await redis.masterOfKey(`${cluster.prefix}{s:${run.parkedId}}:queue`)).toBe(to);
  const counts = await accountFor(run);
  console.log(`reshard of ${owned} slots: ${counts.acked} acknowledged, all delivered (${counts.online} online, ${counts.queued} from the queue)`);
}, 120_000);
