// Starts Starling as a real cluster for a test: a primary process forking N workers on one
// shared port, all on a redis-server (a private one unless redisUrl is given) under a key
// prefix of its own. Logs (pino JSON lines) are kept so tests can wait on them.
//
// Also usable as STARLING_TEST_HARNESS for the broker's integration tests: it exports
// startTestBroker(overrides) with the same contract as broker-harness.ts, backed by a
// 2-worker cluster (clients spread over workers by node:cluster's round robin).
//
// Round robin is not Starling's default (the workers accept themselves, cluster.SCHED_NONE), but
// its strict alternation is what lets a test place a client on a chosen worker
// (cluster-clients.ts), so the harness asks for it; accept-balance.test.ts runs the default.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';
import type { BrokerConfig, BrokerStats } from '../../src/index.js';
import type { ListenerConfig } from '../../src/config.js';
import { listenerFlags } from '../../src/listener-flags.js';
import { startRedisCluster, type RedisClusterHandle } from './redis-cluster.js';
import type { RedisSentinelHandle } from './redis-sentinel.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { waitFor } from './wait.js';
import type { TestBroker } from './broker-harness.js';

const ENTRY = fileURLToPath(new URL('./cluster-main.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/starling.js', import.meta.url));
/** STARLING_CLUSTER_BIN=1: run the built CLI (bin/starling.js -> dist/) instead of the source through tsx. */
const useBin = process.env.STARLING_CLUSTER_BIN === '1';

export interface ClusterOptions {
  workers?: number;
  redisUrl?: string;
  /** Run on this Redis Cluster (--redis-cluster) instead of a redis-server. */
  redisCluster?: RedisClusterHandle;
  /** Run on the master of this Sentinel set (--redis-sentinel, --redis-master). */
  redisSentinel?: RedisSentinelHandle;
  prefix?: string;
  /** Broker config (the harness turns it into flags). */
  config?: Partial<BrokerConfig>;
  /** Port to listen on; 0 (default) lets the cluster pick one. */
  port?: number;
  /** Extra environment for the primary and its workers. */
  env?: NodeJS.ProcessEnv;
}

export interface LogLine {
  msg?: string;
  pid?: number;
  nodeId?: string;
  [key: string]: unknown;
}

export interface TestCluster {
  url: string;
  port: number;
  redisUrl: string;
  prefix: string;
  primaryPid: number;
  /** pid -> node id of the workers that reported ready and have not died. */
  workers: Map<number, string>;
  logs: LogLine[];
  /** Worker pids in the order they became ready. */
  pids(): number[];
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGKILL worker i (index into pids()); resolves with its node id. */
  killWorker(i: number): string;
  /** SIGTERM the primary and wait for it to exit; resolves with its exit code. */
  close(): Promise<number | null>;
  stats(): Promise<BrokerStats>;
  /** The node holding clientId (its owner record in Redis), or null. */
  nodeOf(clientId: string): Promise<string | null>;
  /** The counters nodeId last wrote (every 50 ms in tests), busReceived included. */
  nodeStats(nodeId: string): Promise<Record<string, number>>;
  /** Live node ids registered in Redis (heartbeat not expired). */
  liveNodes(): Promise<string[]>;
  /** Shared Redis connection for assertions (closed by close()): a Cluster client on a Redis Cluster. */
  redis(): Redis;
  /** The Redis Cluster it runs on, if it does. */
  redisCluster: RedisClusterHandle | undefined;
}

let clusterCounter = 0;

function flags(config: Partial<BrokerConfig>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || key === 'logLevel' || key === 'redis' || key === 'workers' || key === 'port') continue;
    // ListenerConfig[] is --listeners=URL,... and --tls-* (src/listener-flags.ts).
    if (key === 'listeners') {
      out.push(...listenerFlags(value as ListenerConfig[]));
      continue;
    }
    const flag = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    // Milliseconds in the config are seconds on the command line (connectTimeoutMs: --connect-timeout).
    if (key.endsWith('Ms')) out.push(`--${flag(key.slice(0, -2))}=${Number(value) / 1000}`);
    else out.push(`--${flag(key)}=${String(value)}`);
  }
  return out;
}

/**
 * STARLING_TEST_REDIS=cluster: clusters started without a Redis of their own run on one Redis
 * Cluster (3 masters, 3 replicas) shared while any of them runs, each under its own prefix. It
 * is stopped when the last one closes: vitest ends a test file's process without running its
 * exit handlers, and a cluster left to them outlived every file (six redis-servers each).
 */
let sharedCluster: Promise<RedisClusterHandle> | undefined;
let sharedUsers = 0;
function sharedRedisCluster(): Promise<RedisClusterHandle> {
  sharedUsers++;
  // A node timeout of 5 s: on a loaded 2-core machine 1 s lets a busy master be failed over by mistake.
  sharedCluster ??= startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 5000 });
  return sharedCluster;
}
async function releaseSharedCluster(): Promise<void> {
  if (--sharedUsers > 0 || sharedCluster === undefined) return;
  const cluster = sharedCluster;
  sharedCluster = undefined;
  await (await cluster).stop();
}

export async function startTestCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  let ownRedis: RedisServerHandle | undefined;
  const shared = options.redisCluster === undefined && options.redisSentinel === undefined && options.redisUrl === undefined && process.env.STARLING_TEST_REDIS === 'cluster';
  const onCluster = options.redisCluster ?? (shared ? await sharedRedisCluster() : undefined);
  const sentinel = options.redisSentinel;
  const redisUrl = onCluster !== undefined ? onCluster.spec : sentinel !== undefined ? sentinel.spec : (options.redisUrl ?? (ownRedis = await startRedisServer()).url);
  const prefix = options.prefix ?? `tc${process.pid}-${++clusterCounter}:`;
  const workers = options.workers ?? 2;
  const store =
    onCluster !== undefined ? ['--redis-cluster', onCluster.spec] : sentinel !== undefined ? ['--redis-sentinel', sentinel.spec, '--redis-master', sentinel.masterName] : ['--redis', redisUrl];
  const args = [...(useBin ? [BIN] : ['--import', 'tsx', ENTRY]), '--workers', String(workers), ...store, '--port', String(options.port ?? 0), '--log-level', 'info', ...flags(options.config ?? {})];
  const child: ChildProcess = spawn(process.execPath, args, { env: { ...process.env, STARLING_REDIS_PREFIX: prefix, STARLING_STATS_INTERVAL_MS: '50', NODE_CLUSTER_SCHED_POLICY: 'rr', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const live = new Map<number, string>();
  const order: number[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      if (line.msg === 'primary: worker ready' && typeof line.workerPid === 'number' && typeof line.nodeId === 'string') {
        live.set(line.workerPid, line.nodeId);
        order.push(line.workerPid);
      }
      if (line.msg === 'primary: worker died; forking a replacement' && typeof line.workerPid === 'number') {
        live.delete(line.workerPid);
      }
      for (const wake of waiters) wake();
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (match: (line: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = logs.find(match);
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => (cleanup(), reject(new Error(`cluster: no log line for ${what} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))), timeoutMs);
      const onExit = () => (cleanup(), reject(new Error(`cluster exited while waiting for ${what}; stderr: ${stderr.slice(-2000)}`)));
      const cleanup = () => (clearTimeout(timer), waiters.delete(wake), child.off('exit', onExit));
      const wake = () => void check();
      if (check()) return;
      waiters.add(wake);
      child.once('exit', onExit);
    });

  const listening = await waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on port'), 'listening', 30_000).catch(async (err) => {
    child.kill('SIGKILL');
    await ownRedis?.stop();
    if (shared) await releaseSharedCluster();
    throw err;
  });
  const port = Number(listening.port);
  const pids = () => order.filter((pid) => live.has(pid));
  let statsClient: Redis | undefined;
  // Typed as Redis: the commands tests use are the same on a Cluster client (single-slot ones).
  const redis = (): Redis =>
    (statsClient ??=
      onCluster !== undefined
        ? (new Cluster(onCluster.seeds).on('error', () => {}) as unknown as Redis)
        : sentinel !== undefined
          ? new Redis({ sentinels: sentinel.sentinels, name: sentinel.masterName }).on('error', () => {})
          : new Redis(redisUrl).on('error', () => {}));
  const liveNodes = (): Promise<string[]> => redis().zrangebyscore(`${prefix}{c}:nodes`, Date.now(), '+inf');
  const nodeStats = async (nodeId: string): Promise<Record<string, number>> => {
    const hash = await redis().hgetall(`${prefix}{c}:stats:${nodeId}`);
    return Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, Number(v)]));
  };

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    redisUrl,
    redisCluster: onCluster,
    prefix,
    primaryPid: child.pid ?? 0,
    workers: live,
    logs,
    pids,
    waitForLog,
    killWorker(i) {
      const pid = pids()[i];
      if (pid === undefined) throw new Error(`no worker ${i}`);
      const nodeId = live.get(pid) ?? '';
      process.kill(pid, 'SIGKILL');
      return nodeId;
    },
    async close() {
      statsClient?.disconnect();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      // Workers are the primary's children; make sure none outlives a failed shutdown.
      for (const pid of live.keys()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await ownRedis?.stop();
      if (shared) await releaseSharedCluster();
      return code;
    },
    async stats() {
      // Figures written after this call: every node reports every 50 ms (reportedAt).
      const since = Date.now();
      let all: Array<Record<string, number>> = [];
      await waitFor(async () => {
        all = await Promise.all((await liveNodes()).map((id) => nodeStats(id)));
        return all.every((s) => (s.reportedAt ?? 0) > since);
      }, 'fresh stats from every node');
      const total: Record<string, number> = {};
      for (const s of all) for (const [k, v] of Object.entries(s)) if (k !== 'reportedAt') total[k] = (total[k] ?? 0) + v;
      return total as unknown as BrokerStats;
    },
    nodeOf: (clientId) => redis().hget(`${prefix}{s:${clientId}}:owner`, 'node'),
    nodeStats,
    liveNodes,
    redis,
  };
}

/** STARLING_TEST_HARNESS entry: the broker's integration tests against a 2-worker cluster. */
export async function startTestBroker(overrides: Partial<BrokerConfig> = {}): Promise<TestBroker> {
  const cluster = await startTestCluster({ workers: 2, config: overrides });
  return {
    url: cluster.url,
    port: cluster.port,
    broker: undefined,
    stats: () => cluster.stats(),
    close: async () => void (await cluster.close()),
  };
}
