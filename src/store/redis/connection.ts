// The one place ioredis clients are made (one Redis, a Redis Cluster, or the master a Sentinel
// set names: target.ts), with settings right for a broker:
// - enableOfflineQueue false on command connections: while Redis is away, commands fail at once
//   instead of piling up, so the broker never acknowledges what it could not hand off.
// - few retries per request and no auto-pipelining (see below), but the writes of one event-loop
//   turn leave in one syscall (corkEachTurn),
// - reconnect forever with capped backoff,
// - one "redis unavailable" line per outage and one "redis back" when it ends (never per error);
//   none while the first connect is awaited (start-up: the caller logs that it waits, with a bound).
import type { Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { redactUrl } from '../../config-redis.js';
import { describeTarget, type RedisTarget } from './target.js';

/**
 * A command or subscriber connection to the store: one Redis (also when found through Sentinel)
 * or a Redis Cluster. Both take the same commands; on a cluster every multi-key command, script
 * and MULTI must keep its keys in one slot (keys.ts tags them) and replies to commands on
 * different shards come back in no particular order (write-tracker.ts).
 */
export type RedisConn = Redis | Cluster;

/** Whether conn talks to a Redis Cluster (sharded pub/sub, per-shard WAIT, CLIENT LIST per master). */
export function isCluster(conn: RedisConn): conn is Cluster {
  return conn instanceof Cluster;
}

/** The part of a pino logger we use; any pino-compatible logger fits. */
export interface RedisLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RedisClientOptions {
  logger?: RedisLogger;
  /** Subscriber connections keep the offline queue so (re)subscriptions wait for the link. */
  subscriber?: boolean;
  /** Cap of the reconnect backoff. */
  maxBackoffMs?: number;
}

const silent: RedisLogger = { warn() {}, info() {}, error() {} };

export function createRedisClient(target: RedisTarget | string, role: string, options: RedisClientOptions = {}): RedisConn {
  if (typeof target === 'string') target = { kind: 'single', url: target };
  const log = options.logger ?? silent;
  const maxBackoff = options.maxBackoffMs ?? 2000;
  const subscriber = options.subscriber === true;
  const retry = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), maxBackoff);
  const common = {
    // Commands are written at once, in issue order. ioredis' auto-pipelining (one Pipeline object
    // per turn) measured 48% more cluster CPU per message for clean-session QoS 1 pairs at a fixed
    // rate and no gain for persistent ones, whose per-message writes it would batch: the bus
    // batches its messages itself (one PUBLISH per node per turn).
    enableAutoPipelining: false,
    connectionName: `starling:${role}`,
    // Never give up a connection because a command was in the air when it dropped.
    reconnectOnError: () => false,
  } as const;
  let client: RedisConn;
  if (target.kind === 'cluster') {
    client = new Cluster(target.nodes, {
      // The subscriber keeps its (re)subscriptions while a shard is away; commands fail at once.
      enableOfflineQueue: subscriber,
      // No auto-pipelining: a MOVED or ASK reply inside an auto-pipeline (a reshard, a failover)
      // comes back to the caller as an error instead of being followed; single commands follow it.
      enableAutoPipelining: false,
      shardedSubscribers: subscriber,
      clusterRetryStrategy: retry,
      // A failover or a slot migration: retry the command a few times rather than fail it at once.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 2000,
      // After a failover the map still names the dead master until it is read again: commands for
      // its slots fail ("Connection is closed") until then. Read it every second, not every 5 s.
      slotsRefreshInterval: 1000,
      redisOptions: {
        ...common,
        enableAutoPipelining: false,
        maxRetriesPerRequest: subscriber ? null : 1,
        ...credentials(target),
      },
    });
  } else if (target.kind === 'sentinel') {
    client = new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.masterName,
      role: 'master',
      ...credentials(target),
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.tls === true ? { enableTLSForSentinelMode: true } : {}),
      // Told by the sentinels of a promotion even while the old master still answers.
      failoverDetector: true,
      sentinelRetryStrategy: retry,
      enableOfflineQueue: subscriber,
      maxRetriesPerRequest: subscriber ? null : 1,
      retryStrategy: retry,
    });
  } else {
    client = new Redis(target.url, {
      ...common,
      enableOfflineQueue: subscriber,
      maxRetriesPerRequest: subscriber ? null : 1,
      // The first connect may also happen while Redis is down: wait for it rather than failing start.
      lazyConnect: false,
      retryStrategy: retry,
    });
  }
  if (!subscriber && !isCluster(client)) corkEachTurn(client);
  if (!isCluster(client)) connectAgainWhenEnded(client, maxBackoff);
  const where = describeTarget(target);
  let outage = false;
  // Before the first connect the node is starting: it logs that it waits (cluster/worker.ts) and
  // gives up after --redis-timeout, so refused attempts are not an outage yet.
  let everReady = false;
  const down = (err?: Error): void => {
    if (outage || !everReady) return;
    outage = true;
    log.warn({ role, redis: where, err: err?.message }, 'redis unavailable');
  };
  client.on('error', (err: Error) => down(err));
  // 'reconnecting' rather than 'close': a deliberate quit/disconnect closes without reconnecting.
  client.on('reconnecting', () => down());
  client.on('ready', () => {
    everReady = true;
    if (!outage) return;
    outage = false;
    log.info({ role, redis: where }, 'redis back');
  });
  return client;
}

/**
 * ioredis gives a client up for good ('end') when one reconnect attempt fails inside its connector:
 * a Sentinel connector whose failover detector disconnects while it is connecting does that, and
 * the worker was left without Redis after a failover. Such a client is connected again, as its
 * retry strategy would have; one we close (quit, disconnect) is not.
 */
function connectAgainWhenEnded(client: Redis, delayMs: number): void {
  let closedByUs = false;
  const quit = client.quit.bind(client);
  const disconnect = client.disconnect.bind(client);
  client.quit = ((...args: Parameters<Redis['quit']>) => {
    closedByUs = true;
    return quit(...args);
  }) as Redis['quit'];
  client.disconnect = (reconnect?: boolean) => {
    if (reconnect !== true) closedByUs = true;
    disconnect(reconnect);
  };
  client.on('end', () => {
    if (closedByUs) return;
    setTimeout(() => {
      if (!closedByUs && client.status === 'end') client.connect().catch(() => {});
    }, delayMs).unref();
  });
}

function credentials(target: { username?: string; password?: string; tls?: boolean }): { username?: string; password?: string; tls?: object } {
  return {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls === true ? { tls: {} } : {}),
  };
}

/**
 * Corks the connection's socket at its first write in an event-loop turn and uncorks it in the
 * turn's check phase (setImmediate), so every command issued while the loop handles one batch of
 * I/O (a connection storm's CONNECTs, a chunk of QoS 1 PUBLISHes) leaves in one writev instead
 * of one write syscall each, which on loopback also wakes redis-server once instead of N times.
 * Commands keep their order and nothing waits longer than the current turn. (ioredis'
 * auto-pipelining batches too, but builds a Pipeline object per turn; this is a cork.)
 * ioredis writes each command with stream.write; a new stream per (re)connect.
 */
function corkEachTurn(client: Redis): void {
  client.on('connect', () => {
    const stream = (client as unknown as { stream: Socket }).stream;
    const write = stream.write;
    let corked = false;
    const uncork = (): void => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(uncork);
      }
      return write.apply(this, args);
    } as Socket['write'];
  });
}

/** Redis did not answer within the start-up bound (--redis-timeout). */
export class RedisUnreachableError extends Error {
  constructor(
    readonly url: string | undefined,
    readonly timeoutMs: number,
    lastError: string | undefined,
  ) {
    super(`Redis${url !== undefined ? ` at ${redactUrl(url)}` : ''} not reachable within ${timeoutMs / 1000} s${lastError !== undefined ? ` (${lastError})` : ''}`);
  }
}

/** Waits until the client is ready (first connect); rejects with RedisUnreachableError after timeoutMs. */
export function waitReady(client: RedisConn, timeoutMs = 10_000, url?: string): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  let lastError: string | undefined;
  const onError = (err: Error): void => {
    lastError = err.message;
  };
  client.on('error', onError);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new RedisUnreachableError(url, timeoutMs, lastError));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  }).finally(() => client.off('error', onError));
}

/**
 * Whether a command failed because Redis cannot be reached (the connection is down or dropped
 * while the command was out) rather than because of the command: the caller should tell its
 * client to come back later, not log an internal error.
 */
export function isConnectionFailure(client: RedisConn, err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (/Stream isn't writeable|Connection is closed|CLUSTERDOWN|TRYAGAIN|^MOVED |^ASK |Failed to refresh slots cache|None of the nodes/.test(err.message)) return true;
  return client.status !== 'ready' && err.name !== 'ReplyError';
}
