// Bus throughput on a Redis Cluster of 1, 2 and 3 shards, side by side in one run (sharded pub/sub:
// each node SSUBSCRIBEs {p}node:{id}, which lives on one shard; senders SPUBLISH one frame per target
// node per event-loop turn, node-batches.ts). What it measures is Redis' side of the bus:
//   - messages/s delivered end to end, from publish() on K sender nodes to the onMessage handlers
//     of K receiver nodes (each a real createRedisBackend: own connections, own node id);
//   - Redis CPU (INFO cpu: used_cpu_sys + used_cpu_user of every shard) per message delivered, and
//     each shard's CPU utilisation over the measured interval;
//   - SPUBLISH commands (INFO commandstats, cmdstat_spublish calls) and messages per frame: Redis
//     pays per command, so this is what the batching buys. SPUBLISH counts every frame, flow-control
//     acks and probes included; "data frames" counts only the senders' MESSAGES frames (counted in
//     this process, on the senders' connections);
//   - the generator's own CPU (process.cpuUsage): near 100% of its core means the generator, not
//     Redis, was the limit; and its event-loop utilisation: busy near 100% with CPU well below it
//     means the generator wanted more CPU than its core gave it (other load on that core).
// Every S gets a fresh cluster (masters only, startRedisCluster), stopped after. Receiver node ids are
// chosen so their channels are spread evenly over the shards (senders' too: their channels carry the
// flow-control acks). Each receiver routes bench/<index>/#; each sender publishes QoS 1, 64-byte
// messages to every receiver round-robin with at most --window publish() promises outstanding, and
// obeys the bus's flow control (bus.throttle, as the broker core does). Shard counts are interleaved
// over the repetitions (1,2,3,1,2,3,...) and the table shows medians.
// Pinning (taskset -a: every thread of the process): this process on the last allowed core, the
// redis-servers round-robin over the others (all of them if there is only one): with 2 cores every
// shard shares core 0, so msg/s cannot grow with the shards there; CPU per message and frames still
// compare. --redis-cores 0,1 puts shard i on core i % 2 (then one shard shares the generator's core).
//   node --import tsx scripts/bench-shards.ts [--pairs 6] [--seconds 5] [--reps 3] [--help]
import { execFileSync } from 'node:child_process';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createRedisBackend, redisKeys, type RedisBackend } from '../src/store/redis/index.js';
import type { Throttled } from '../src/store/types.js';
import { startRedisCluster, type RedisClusterHandle } from '../test/helpers/redis-cluster.js';
import { infoField, redisCommand } from '../test/helpers/redis-command.js';

const HELP = `Usage: node --import tsx scripts/bench-shards.ts [options]

Bus throughput (sharded pub/sub) on a fresh Redis Cluster of 1, 2 and 3 masters, with Redis CPU
per message, per-shard CPU %, SPUBLISH frames and the generator's own CPU.

Options:
  --pairs K          sender nodes and receiver nodes, K of each (default 6)
  --seconds N        measured interval per run (default 5)
  --warmup N         warm-up before it, seconds (default 1)
  --reps N           repetitions per shard count, interleaved; medians reported (default 3)
  --shards LIST      shard counts (default 1,2,3)
  --window N         outstanding publish() promises per sender (default 1000)
  --redis-cores LIST cores for the redis-servers, shard i on LIST[i % length]
                     (default: every allowed core but the generator's; all of them if only one)
  --gen-core N       core for this process (default: the last allowed core)
  --no-pin           pin nothing
  --help             this text`;

const { values: flags } = parseArgs({
  options: {
    pairs: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    reps: { type: 'string', default: '3' },
    shards: { type: 'string', default: '1,2,3' },
    window: { type: 'string', default: '1000' },
    'redis-cores': { type: 'string' },
    'gen-core': { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, not ${JSON.stringify(value)}`);
  return n;
}
function positive(name: string, value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`--${name}: expected a positive number, not ${JSON.stringify(value)}`);
  return n;
}

const pairs = positiveInt('pairs', flags.pairs);
const seconds = positive('seconds', flags.seconds);
const warmup = Number(flags.warmup);
if (!(warmup >= 0)) throw new Error(`--warmup: expected a number >= 0, not ${flags.warmup}`);
const reps = positiveInt('reps', flags.reps);
const window = positiveInt('window', flags.window);
const shardCounts = flags.shards.split(',').map((s) => positiveInt('shards', s));
for (const s of shardCounts) if (s > pairs) throw new Error(`--shards ${s}: more shards than --pairs ${pairs} leaves a shard without receivers`);
const payload = Buffer.alloc(64, 'x');
const prefix = 'bench:';
const keys = redisKeys(prefix);
const logger = pino({ level: 'silent' });

// ---- pinning ------------------------------------------------------------------------------

/** "0,2-3" -> [0, 2, 3] */
function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    const [a, b = a] = part.split('-').map(Number);
    for (let c = a!; c <= b!; c++) cpus.push(c);
  }
  return cpus;
}

/** The cores this process may run on (its affinity, before we pin it), or undefined without taskset. */
function allowedCores(): number[] | undefined {
  try {
    const out = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
    return parseCpuList(out.split(':').pop()!);
  } catch {
    return undefined;
  }
}

function pin(pid: number, core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const allowed = flags['no-pin'] ? undefined : allowedCores();
const pinning = allowed !== undefined;
const genCore = flags['gen-core'] !== undefined ? Number(flags['gen-core']) : allowed?.[allowed.length - 1];
let redisCores: number[] = [];
if (pinning) {
  if (flags['redis-cores'] !== undefined) redisCores = parseCpuList(flags['redis-cores']);
  else {
    redisCores = allowed.filter((c) => c !== genCore);
    if (redisCores.length === 0) redisCores = [...allowed];
  }
  for (const c of [...redisCores, genCore!]) if (!allowed.includes(c)) throw new Error(`core ${c} is not among the allowed cores ${allowed.join(',')}`);
  if (!pin(process.pid, genCore!)) throw new Error(`taskset could not pin this process to core ${genCore}`);
}
const coreOfShard = (i: number): number | undefined => (pinning ? redisCores[i % redisCores.length] : undefined);

function layoutText(): string {
  if (!pinning) return 'not pinned (--no-pin, or taskset unavailable): the generator and every redis-server share all cores';
  const per = shardCounts.map((s) => `${s} shard${s > 1 ? 's' : ''}: ${Array.from({ length: s }, (_, i) => `shard ${i} on core ${coreOfShard(i)}`).join(', ')}`).join('; ');
  const sharedWithGen = shardCounts.some((s) => Array.from({ length: s }, (_, i) => coreOfShard(i)).includes(genCore));
  const crowded = shardCounts.some((s) => s > redisCores.length);
  return (
    `${allowed.length} core${allowed.length > 1 ? 's' : ''} allowed (${allowed.join(',')}); generator (this process) on core ${genCore}; redis-servers on core${redisCores.length > 1 ? 's' : ''} ${redisCores.join(',')}. ${per}.` +
    (crowded ? ' Shards beyond the number of Redis cores share a core: their msg/s cannot scale here, CPU per message and frames still compare.' : '') +
    (sharedWithGen ? ' Some shard shares the generator\'s core.' : '')
  );
}

// ---- cleanup ------------------------------------------------------------------------------

const liveClusters = new Set<RedisClusterHandle>();
async function stopAll(): Promise<void> {
  await Promise.allSettled([...liveClusters].map((c) => c.stop()));
  liveClusters.clear();
}
let exiting = false;
function fail(err: unknown, code = 1): void {
  if (exiting) return;
  exiting = true;
  if (err !== undefined) console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  // redis-server.ts SIGKILLs whatever is still running on exit; a clean stop first removes the temp dirs.
  const timer = setTimeout(() => process.exit(code), 10_000);
  timer.unref();
  void stopAll().finally(() => process.exit(code));
}
process.once('SIGINT', () => fail('interrupted', 130));
process.once('SIGTERM', () => fail('terminated', 143));
process.on('uncaughtException', (err) => fail(err));
process.on('unhandledRejection', (err) => fail(err));

// ---- the load -----------------------------------------------------------------------------

/** One sender node's publishing loop: round-robin over the receivers' topics, at most `window` outstanding. */
class Sender implements Throttled {
  private outstanding = 0;
  private next = 0;
  private paused = false;
  private stopping = false;
  private idle: (() => void) | undefined;

  constructor(
    private readonly node: RedisBackend,
    private readonly topics: string[],
    private readonly onError: (err: unknown) => void,
  ) {}

  pauseReading(): boolean {
    if (this.paused) return false;
    this.paused = true;
    return true;
  }

  resumeReading(): void {
    this.paused = false;
    this.pump();
  }

  readonly pump = (): void => {
    while (!this.stopping && !this.paused && this.outstanding < window) {
      this.outstanding++;
      const topic = this.topics[this.next++ % this.topics.length]!;
      this.node.bus.publish({ topic, payload, qos: 1, retain: false }).then(this.done, this.onError);
      // As the broker core does after each publish: pauses us if the target node is behind.
      this.node.bus.throttle(this);
    }
  };

  private readonly done = (): void => {
    this.outstanding--;
    if (!this.stopping) this.pump();
    else if (this.outstanding === 0) this.idle?.();
  };

  /** Stops publishing; resolves once every outstanding publish() has resolved. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }
}

/** Node ids whose channels fall on the shards as evenly as possible (count per shard differs by at most 1). */
async function spreadIds(cluster: RedisClusterHandle, shardOfPort: Map<number, number>, shards: number, count: number, stem: string): Promise<string[]> {
  const quota = Array.from({ length: shards }, (_, i) => Math.floor(count / shards) + (i < count % shards ? 1 : 0));
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) {
    if (n > count * 200) throw new Error(`could not spread ${count} ${stem} channels over ${shards} shards`);
    const id = `${stem}-${n}`;
    const shard = shardOfPort.get(await cluster.masterOfKey(keys.nodeChannel(id)));
    if (shard === undefined || quota[shard]! === 0) continue;
    quota[shard]!--;
    ids.push(id);
  }
  return ids;
}

interface ShardStats {
  cpuSec: number;
  spublish: number;
}

async function shardStats(port: number): Promise<ShardStats> {
  const [cpu, commands] = await Promise.all([redisCommand(port, 'INFO', 'cpu'), redisCommand(port, 'INFO', 'commandstats')]);
  const cpuSec = Number(infoField(cpu, 'used_cpu_sys')) + Number(infoField(cpu, 'used_cpu_user'));
  const calls = /calls=(\d+)/.exec(infoField(commands, 'cmdstat_spublish') ?? '');
  return { cpuSec, spublish: calls ? Number(calls[1]) : 0 };
}

interface Snapshot {
  at: number;
  received: number;
  dataFrames: number;
  pauses: number;
  gen: NodeJS.CpuUsage;
  loop: EventLoopUtilization;
  shards: ShardStats[];
}

interface RunResult {
  shards: number;
  rep: number;
  seconds: number;
  delivered: number;
  msgsPerSec: number;
  redisCpuUsPerMsg: number;
  shardCpuPct: number[];
  spublish: number;
  spublishPerShard: number[];
  msgsPerSpublish: number;
  dataFrames: number;
  msgsPerDataFrame: number;
  genCpuPct: number;
  genLoopPct: number;
  throttlePauses: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function runOnce(shards: number, rep: number): Promise<RunResult> {
  const cluster = await startRedisCluster({ masters: shards, replicasPerMaster: 0 });
  liveClusters.add(cluster);
  const nodes: RedisBackend[] = [];
  try {
    // nodes: the masters, in the order of their slot ranges.
    const ports = cluster.nodes.map((n) => n.port);
    const shardOfPort = new Map(ports.map((p, i) => [p, i]));
    cluster.nodes.forEach((n, i) => {
      const core = coreOfShard(i);
      if (core !== undefined && !pin(n.pid, core)) throw new Error(`taskset could not pin redis-server ${n.pid} to core ${core}`);
    });
    const receiverIds = await spreadIds(cluster, shardOfPort, shards, pairs, 'recv');
    const senderIds = await spreadIds(cluster, shardOfPort, shards, pairs, 'send');
    const target = { kind: 'cluster' as const, nodes: cluster.seeds };
    for (const nodeId of [...receiverIds, ...senderIds]) nodes.push(await createRedisBackend({ target, prefix, nodeId, logger }));
    const receivers = nodes.slice(0, pairs);
    const senders = nodes.slice(pairs);

    let received = 0;
    for (const r of receivers) r.bus.onMessage(() => void received++);
    // addRoute resolves once every other node has applied the route.
    await Promise.all(receivers.map((r, j) => r.bus.addRoute(`bench/${j}/#`)));
    const topics = receivers.map((_, j) => `bench/${j}/m`);

    // Data frames: the senders' SPUBLISHes to a receiver's channel (acks and probes go elsewhere).
    let dataFrames = 0;
    const receiverChannels = new Set(receiverIds.map((id) => keys.nodeChannel(id)));
    for (const s of senders) {
      const conn = s.redis as unknown as { spublish: (channel: string, ...rest: unknown[]) => Promise<unknown> };
      const spublish = conn.spublish.bind(conn);
      conn.spublish = (channel, ...rest) => {
        if (receiverChannels.has(String(channel))) dataFrames++;
        return spublish(channel, ...rest);
      };
    }

    let failure: unknown;
    let rejectFailed!: (err: unknown) => void;
    const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
    failed.catch(() => {});
    const onError = (err: unknown): void => {
      if (failure !== undefined) return;
      failure = err;
      rejectFailed(err);
    };
    const loads = senders.map((s) => new Sender(s, topics, onError));
    const pauses = (): number => senders.reduce((sum, s) => sum + s.bus.flow.pauses + s.bus.backlog.pauses, 0);
    const snapshot = async (): Promise<Snapshot> => {
      const local = { at: performance.now(), received, dataFrames, pauses: pauses(), gen: process.cpuUsage(), loop: performance.eventLoopUtilization() };
      return { ...local, shards: await Promise.all(ports.map(shardStats)) };
    };

    for (const load of loads) load.pump();
    await Promise.race([sleep(warmup * 1000), failed]);
    const a = await snapshot();
    await Promise.race([sleep(seconds * 1000), failed]);
    const b = await snapshot();
    await Promise.race([withTimeout(Promise.all(loads.map((l) => l.stop())), 30_000, 'draining the senders'), failed]);

    const elapsed = (b.at - a.at) / 1000;
    const delivered = b.received - a.received;
    const cpu = b.shards.map((s, i) => s.cpuSec - a.shards[i]!.cpuSec);
    const spublishPerShard = b.shards.map((s, i) => s.spublish - a.shards[i]!.spublish);
    const spublish = spublishPerShard.reduce((x, y) => x + y, 0);
    const frames = b.dataFrames - a.dataFrames;
    const genUs = b.gen.user - a.gen.user + (b.gen.system - a.gen.system);
    return {
      shards,
      rep,
      seconds: elapsed,
      delivered,
      msgsPerSec: delivered / elapsed,
      redisCpuUsPerMsg: delivered > 0 ? (cpu.reduce((x, y) => x + y, 0) * 1e6) / delivered : NaN,
      shardCpuPct: cpu.map((c) => (c / elapsed) * 100),
      spublish,
      spublishPerShard,
      msgsPerSpublish: spublish > 0 ? delivered / spublish : NaN,
      dataFrames: frames,
      msgsPerDataFrame: frames > 0 ? delivered / frames : NaN,
      genCpuPct: (genUs / 1e6 / elapsed) * 100,
      genLoopPct: performance.eventLoopUtilization(b.loop, a.loop).utilization * 100,
      throttlePauses: b.pauses - a.pauses,
    };
  } finally {
    await Promise.allSettled(nodes.map((n) => withTimeout(n.close(), 5000, 'closing a node')));
    await cluster.stop();
    liveClusters.delete(cluster);
  }
}

// ---- report -------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medians(runs: RunResult[]): Omit<RunResult, 'rep'> & { reps: number } {
  const m = (f: (r: RunResult) => number): number => median(runs.map(f));
  const perShard = (f: (r: RunResult) => number[]): number[] => runs[0]!.shardCpuPct.map((_, i) => median(runs.map((r) => f(r)[i]!)));
  return {
    shards: runs[0]!.shards,
    reps: runs.length,
    seconds: m((r) => r.seconds),
    delivered: m((r) => r.delivered),
    msgsPerSec: m((r) => r.msgsPerSec),
    redisCpuUsPerMsg: m((r) => r.redisCpuUsPerMsg),
    shardCpuPct: perShard((r) => r.shardCpuPct),
    spublish: m((r) => r.spublish),
    spublishPerShard: perShard((r) => r.spublishPerShard),
    msgsPerSpublish: m((r) => r.msgsPerSpublish),
    dataFrames: m((r) => r.dataFrames),
    msgsPerDataFrame: m((r) => r.msgsPerDataFrame),
    genCpuPct: m((r) => r.genCpuPct),
    genLoopPct: m((r) => r.genLoopPct),
    throttlePauses: m((r) => r.throttlePauses),
  };
}

const fmt = (n: number, digits = 0): string => (Number.isNaN(n) ? '–' : n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

try {
  console.log(`bench-shards: ${pairs} sender + ${pairs} receiver nodes, QoS 1, ${payload.length}-byte payload, window ${window} per sender, ${warmup} s warm-up + ${seconds} s measured, ${reps} rep(s) of shards ${shardCounts.join(',')} interleaved.`);
  console.log(`Pinning: ${layoutText()}`);
  const runs: RunResult[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const shards of shardCounts) {
      const r = await runOnce(shards, rep);
      runs.push(r);
      console.log(
        `  rep ${rep} shards ${shards}: ${fmt(r.msgsPerSec)} msg/s, Redis ${fmt(r.redisCpuUsPerMsg, 2)} µs/msg, shard CPU ${r.shardCpuPct.map((p) => `${fmt(p)}%`).join('/')}, ` +
          `${fmt(r.spublish)} SPUBLISH (${fmt(r.msgsPerSpublish, 1)} msg each; ${fmt(r.msgsPerDataFrame, 1)} per data frame), generator CPU ${fmt(r.genCpuPct)}% (event loop busy ${fmt(r.genLoopPct)}%), ${fmt(r.throttlePauses)} throttle pauses`,
      );
    }
  }

  const summary = shardCounts.map((s) => medians(runs.filter((r) => r.shards === s)));
  console.log('');
  console.log(`Medians of ${reps} run(s). ${layoutText()}`);
  console.log('');
  console.log('| shards | msg/s delivered | Redis CPU µs/msg | CPU % per shard | SPUBLISH/s | msgs per SPUBLISH | msgs per data frame | generator CPU % | generator loop busy % | throttle pauses |');
  console.log('|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const s of summary) {
    const cores = s.shardCpuPct.map((p, i) => `${fmt(p)}${pinning ? ` (c${coreOfShard(i)})` : ''}`).join(' / ');
    console.log(`| ${s.shards} | ${fmt(s.msgsPerSec)} | ${fmt(s.redisCpuUsPerMsg, 2)} | ${cores} | ${fmt(s.spublish / s.seconds)} | ${fmt(s.msgsPerSpublish, 1)} | ${fmt(s.msgsPerDataFrame, 1)} | ${fmt(s.genCpuPct)} | ${fmt(s.genLoopPct)} | ${fmt(s.throttlePauses)} |`);
  }
  console.log('');
  console.log(
    'Redis CPU = used_cpu_sys + used_cpu_user of every shard over the measured interval (whole process). SPUBLISH counts every frame (flow-control acks and probes too); data frames are the senders\' MESSAGES frames only. ' +
      'A generator CPU % near 100 means this process (one core, all 2K nodes) was the limit, not Redis; loop busy near 100 with CPU well below it means it was busy but got only that share of its core (other load on the core).',
  );
  console.log(
    JSON.stringify({
      bench: 'shards',
      pairs,
      payloadBytes: payload.length,
      qos: 1,
      window,
      warmupSec: warmup,
      seconds,
      reps,
      cores: allowed ?? null,
      generatorCore: pinning ? genCore : null,
      redisCores: pinning ? redisCores : null,
      medians: summary,
      runs,
    }),
  );
  await stopAll();
  process.exit(0);
} catch (err) {
  fail(err);
}
