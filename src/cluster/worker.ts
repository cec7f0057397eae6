// A worker: one broker on the shared port, with the Redis backend, dead-node recovery and
// cluster-wide $SYS. Tells the primary when it accepts connections; obeys its recover and
// shutdown messages. Also runs alone (no primary): `--workers 1 --redis URL` on each host.
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError, type BrokerConfig } from '../config.js';
import { redisTargetOf } from '../config-redis.js';
import { describeTarget } from '../store/redis/target.js';
import type { Logger } from '../log.js';
import { startBroker, type RunningBroker } from '../index.js';
import { createRedisBackend, RedisUnreachableError } from '../store/redis/index.js';
import { reloadCredentials } from '../broker/auth/credentials.js';
import { PasswordFileError } from '../broker/auth/password-file.js';
import { PluginError } from '../broker/hooks/load.js';
import { AclError } from '../broker/acl/acl.js';
import { openRedisAuth, type RedisAuth } from './redis-auth.js';
import { ClusterStats } from './cluster-stats.js';
import { isStarlingMessage, type LoadMessage, type PrimaryToWorker, type ReadyMessage, type Reread } from './messages.js';
import { applyConfig } from '../config-reload.js';
import { SYS_PUBLISHER_ENV } from './primary.js';
import { DeadNodeRecovery } from './recovery.js';
import { answerProbe } from './probe-reply.js';

/** Bound on a worker's shutdown: clients told, wills published, writes flushed. */
const SHUTDOWN_TIMEOUT_MS = 5000;
/** How often a worker tells the primary its open connections, when they changed (accept-balance.ts). */
const LOAD_REPORT_MS = 100;
/** ...and at least this often, changed or not. */
const LOAD_KEEPALIVE_MS = 1000;
/** How often a node writes its counters to {p}stats:{nodeId} (STARLING_STATS_INTERVAL_MS). */
const STATS_INTERVAL_MS = Number(process.env.STARLING_STATS_INTERVAL_MS ?? 1000) || 1000;

/** Listen errors no restart fixes: the address is taken, not allowed, or not this host's. */
const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

/**
 * The worker could not start. `fatal`: a restart would not help (Redis unreachable within
 * --redis-timeout, the port unusable); the message is one line for the operator.
 */
export class StartError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

export interface WorkerOptions {
  /** Key/channel prefix shared by every node of one cluster (default "starling:"). */
  prefix?: string;
  /** SIGHUP of a worker run alone: the config read again (under a primary, the primary sends it). */
  reread?: Reread;
}

/** A node id that never repeats: a restarted process is a new node (its old self gets recovered). */
export function newNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function runWorker(config: BrokerConfig, log: Logger, options: WorkerOptions = {}): Promise<void> {
  const target = redisTargetOf(config);
  if (target === undefined) throw new Error('a cluster worker needs --redis, --redis-cluster or --redis-sentinel');
  const nodeId = newNodeId();
  const nodeLog = log.child({ nodeId });
  // STARLING_NODE_TTL_MS: how long a silent heartbeat means dead (default 5000; tests shorten it).
  const nodeTtlMs = Number(process.env.STARLING_NODE_TTL_MS) || undefined;
  const flow = { windowBytes: config.busWindowBytes, stallMs: config.busStallMs };
  // In a cluster the primary says it once for all its workers.
  if (!cluster.isWorker) nodeLog.info({ timeoutMs: config.redisTimeoutMs }, `waiting for Redis at ${describeTarget(target)}`);
  // Redis' pub/sub output limit: checked (and logged) by one worker per primary.
  const pubsubCheck = cluster.isWorker && process.env[SYS_PUBLISHER_ENV] !== '1' ? undefined : { nodes: config.workers, set: config.redisSetPubsubLimit };
  let backend;
  try {
    backend = await createRedisBackend({
      target,
      ...(config.redisWaitReplicas > 0 ? { waitReplicas: { replicas: config.redisWaitReplicas, timeoutMs: config.redisWaitTimeoutMs } } : {}),
      prefix: options.prefix,
      nodeId,
      logger: nodeLog,
      ...(nodeTtlMs !== undefined ? { nodeTtlMs } : {}),
      flow,
      pendingBytes: config.redisPendingBytes,
      pubsubCheck,
      connectTimeoutMs: config.redisTimeoutMs,
    });
  } catch (err) {
    if (err instanceof RedisUnreachableError) throw new StartError(`${err.message} (--redis-timeout)`, true);
    throw err;
  }
  // $SYS sums over the cluster; ClusterStats needs the broker, which needs the stats source first.
  const statsRef: { current?: ClusterStats } = {};
  // One worker per primary publishes $SYS (with cluster-wide sums), not every worker.
  const sysInterval = cluster.isWorker && process.env[SYS_PUBLISHER_ENV] !== '1' ? 0 : config.sysInterval;
  let running: RunningBroker;
  // --auth redis: users and ACL read before the broker accepts anyone.
  let redisAuth: RedisAuth | undefined;
  try {
    if (config.auth === 'redis') redisAuth = await openRedisAuth(target, options.prefix, config.redisTimeoutMs, nodeLog);
    const auth = redisAuth === undefined ? {} : { credentials: redisAuth.credentials, acl: redisAuth.acl };
    running = await startBroker({ ...config, sysInterval }, backend, { logger: nodeLog, stats: { stats: () => (statsRef.current ?? running.broker).stats() }, bus: backend.bus, serveHttp: !cluster.isWorker, ...auth });
  } catch (err) {
    // Leave Redis tidy (no heartbeat left to expire and be "recovered"), but never hang on it.
    await Promise.race([Promise.all([backend.close(), redisAuth?.close()]).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    if (err instanceof PasswordFileError || err instanceof AclError || err instanceof PluginError || err instanceof ConfigError) throw new StartError(err.message, true);
    if (err instanceof RedisUnreachableError) throw new StartError(`${err.message} (--redis-timeout)`, true);
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && LISTEN_ERRORS.has(code)) throw new StartError(`cannot listen on ${config.host}:${config.port}: ${code}`, true);
    throw err;
  }
  const reporter = (statsRef.current = new ClusterStats(backend, running.broker));
  const reportTimer = setInterval(() => void reporter.report().catch(() => {}), STATS_INTERVAL_MS);
  reportTimer.unref();
  void reporter.report().catch(() => {});
  const broker = running.broker;
  redisAuth?.attach(broker);
  const recovery = new DeadNodeRecovery({ backend, broker: broker.deadNodes, logger: nodeLog });

  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      nodeLog.info({ reason }, 'worker: stopping');
      clearInterval(reportTimer);
      clearInterval(loadTimer);
      const timer = setTimeout(() => process.exit(0), SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      await running.close().catch((err: unknown) => nodeLog.error({ err }, 'worker: broker close failed'));
      await redisAuth?.close().catch(() => {});
      await backend.close().catch((err: unknown) => nodeLog.error({ err }, 'worker: backend close failed'));
      process.exit(0);
    })());

  // Load reports to the primary, which may ask this worker to stop or start accepting.
  let reported = { connections: -1, accepting: true, at: 0 };
  const reportLoad = (): void => {
    const { connections, accepting } = running.listener;
    const now = Date.now();
    const same = connections === reported.connections && accepting === reported.accepting;
    // Unchanged figures are sent again every second: silence tells the primary this worker stalled.
    if (stopping !== null || (same && now - reported.at < LOAD_KEEPALIVE_MS)) return;
    reported = { connections, accepting, at: now };
    const load: LoadMessage = { starling: 'load', connections, accepting };
    process.send?.(load);
  };
  const loadTimer = cluster.isWorker ? setInterval(reportLoad, LOAD_REPORT_MS) : undefined;
  loadTimer?.unref();
  const setAccepting = async (accept: boolean): Promise<void> => {
    if (stopping !== null) return;
    try {
      const changed = await (accept ? running.listener.resume() : running.listener.pause());
      if (changed) nodeLog.info({ connections: running.listener.connections }, accept ? 'worker: accepting connections again' : 'worker: stopped accepting connections');
    } catch (err) {
      nodeLog.error({ err }, 'worker: could not listen again on the shared port');
    }
    reportLoad();
  };

  /**
   * SIGHUP's work: TLS certificates read again; `next`, the config read again, applied (live keys;
   * the others logged as needing a restart); the password file and the ACL read again (a bad one
   * keeps the old: one error line); with --auth redis, read from Redis.
   */
  let current = config;
  const reload = (next: BrokerConfig | null | undefined): void => {
    running.reloadListeners();
    if (next !== null && next !== undefined) current = applyConfig(current, next, broker, [nodeLog, log], nodeLog);
    if (redisAuth !== undefined) return void redisAuth.refresh();
    reloadCredentials(broker.credentials, nodeLog);
    broker.reloadAcl();
  };
  process.on('message', (message: unknown) => {
    if (!isStarlingMessage<PrimaryToWorker>(message)) return;
    if (message.starling === 'recover') void recovery.recover(message.nodeId);
    else if (message.starling === 'shutdown') void stop('primary asked');
    else if (message.starling === 'accept') void setAccepting(message.accept);
    else if (message.starling === 'reload') reload(message.config);
    else if (message.starling === 'probe') void answerProbe(message, running.metrics, () => stopping === null && backend.bus.connected);
  });
  // A worker run alone reloads on its own SIGHUP; one under a primary is told by it (a SIGHUP to the
  // whole process group would otherwise reload it twice), but must not die of the signal either.
  process.on('SIGHUP', () => {
    if (!cluster.isWorker) reload(options.reread?.(nodeLog));
  });
  // A terminal's Ctrl-C reaches the whole process group: stop the same way as when asked.
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  const ready: ReadyMessage = { starling: 'ready', nodeId, port: running.port };
  if (cluster.isWorker) process.send?.(ready);
  else nodeLog.info({ host: config.host, port: running.port }, 'listening');
}
