// The cluster backend: sessions, retained messages, ownership, node membership and the message
// bus, all over one Redis, a Redis Cluster, or the master of a Sentinel set (target.ts). One command connection per process is shared by the stores, membership
// and the bus (commands go out in issue order); the bus has a second connection in subscriber mode.
// This is the one wiring of these parts: workers and tests alike build them here.
import { pino, type Logger } from 'pino';
import type { Backend } from '../types.js';
import { BusUnavailableError, RedisBus } from './bus.js';
import type { BusFlowOptions } from './bus-flow.js';
import { messageCodec } from './codec.js';
import { createRedisClient, isConnectionFailure, waitReady, type RedisConn } from './connection.js';
import { DEFAULT_PREFIX, redisKeys, type RedisKeys } from './keys.js';
import { NodeMembership } from './membership.js';
import { RedisOwnership } from './ownership.js';
import { checkPubsubLimit } from './pubsub-limit.js';
import { onResubscribed } from './pubsub.js';
import { ReplicaWait, ReplicaWaitError } from './replica-wait.js';
import { describeTarget, type RedisTarget } from './target.js';
import { RedisRetainedStore } from './retained-store.js';
import { RedisSessionStore } from './session-store.js';

export { NodeMembership, RedisBus, RedisOwnership, RedisRetainedStore, RedisSessionStore, redisKeys };
export { RedisUnreachableError } from './connection.js';

export interface RedisBackendOptions {
  /** Where the store is: one Redis (a URL), a Redis Cluster, or a master found through Sentinel. */
  target: RedisTarget | string;
  /** --redis-wait-replicas: acknowledgements wait until the writes behind them are on this many replicas (0: not). */
  waitReplicas?: { replicas: number; timeoutMs: number };
  /** Key and channel prefix; clusters (or tests) sharing one Redis use different ones. */
  prefix?: string;
  nodeId: string;
  logger?: Logger;
  /** How long the bus waits for a node's ack of a route announcement (route-acks.ts). */
  ackTimeoutMs?: number;
  /** Membership (membership.ts): heartbeat period, and the silence after which a node is dead. */
  heartbeatMs?: number;
  nodeTtlMs?: number;
  /** Flow control between nodes (bus-flow.ts). */
  flow?: BusFlowOptions;
  /** Bytes written to Redis and not yet answered past which publishers wait (redis-backlog.ts). */
  pendingBytes?: number;
  /** Check Redis' pub/sub output limit at start (pubsub-limit.ts) for this many nodes; `set`: raise it. */
  pubsubCheck?: { nodes: number; set: boolean };
  /** How long to wait for the first connection. */
  connectTimeoutMs?: number;
}

export interface RedisBackend extends Backend {
  sessions: RedisSessionStore;
  retained: RedisRetainedStore;
  ownership: RedisOwnership;
  bus: RedisBus;
  /** Node membership and liveness: heartbeat, live nodes, dead-node reports (recovery listens). */
  membership: NodeMembership;
  keys: RedisKeys;
  /** The shared command connection (diagnostics, tests). */
  redis: RedisConn;
}

export async function createRedisBackend(options: RedisBackendOptions): Promise<RedisBackend> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const keys = redisKeys(options.prefix ?? DEFAULT_PREFIX);
  const target = options.target;
  const redis = createRedisClient(target, `${options.nodeId}:commands`, { logger });
  const subscriber = createRedisClient(target, `${options.nodeId}:subscriber`, { logger, subscriber: true });
  const where = typeof target === 'string' ? target : describeTarget(target);
  try {
    await Promise.all([waitReady(redis, options.connectTimeoutMs, where), waitReady(subscriber, options.connectTimeoutMs, where)]);
    const wait = options.waitReplicas;
    const replicas = wait !== undefined && wait.replicas > 0 ? new ReplicaWait(redis, wait.replicas, wait.timeoutMs) : null;
    const sessions = new RedisSessionStore(redis, keys, options.nodeId, replicas);
    const retained = new RedisRetainedStore(redis, keys, replicas);
    const ownership = new RedisOwnership(redis, keys, options.nodeId);
    const membership = new NodeMembership(redis, keys, options.nodeId, {
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      ...(options.nodeTtlMs !== undefined ? { nodeTtlMs: options.nodeTtlMs } : {}),
    });
    const bus = new RedisBus({
      nodeId: options.nodeId,
      keys,
      redis,
      subscriber,
      members: membership,
      logger,
      codec: messageCodec,
      ...(options.ackTimeoutMs !== undefined ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
      ...(options.flow !== undefined ? { flow: options.flow } : {}),
      ...(options.pendingBytes !== undefined ? { pendingBytes: options.pendingBytes } : {}),
    });
    bus.onTakeover((clientId, connectionId, epoch, clean) => ownership.handleRemoteTakeover(clientId, connectionId, epoch, true, clean));
    // TAKEOVER frames sent while our subscriber was away are lost. When it is back: once the PING
    // behind its re-SUBSCRIBE answers, every later claim's frame reaches us, so re-reading the
    // owner records then misses nothing.
    // (On a Redis Cluster the sharded subscriptions come back on their own connections: 'subscribersReady'.)
    const recheck = (): void => void setImmediate(() => void bus.whenSubscribed().then(() => ownership.recheck()).catch(() => {}));
    onResubscribed(subscriber, recheck);
    // The bus registers the node as it starts (between its SUBSCRIBE and its route load); the heartbeat follows.
    await bus.start();
    membership.start();
    const check = options.pubsubCheck;
    if (check !== undefined) void checkPubsubLimit(redis, logger, { nodes: check.nodes, windowBytes: bus.flow.windowBytes, pendingBytes: bus.backlog.capBytes }, check.set);
    return {
      sessions,
      retained,
      ownership,
      bus,
      membership,
      keys,
      redis,
      // The bus refuses while its own link is down (addRoute of a resumed session's filters).
      // (Replicas that did not confirm a write: as unavailable as Redis itself, for the client.)
      unavailable: (err) => err instanceof BusUnavailableError || err instanceof ReplicaWaitError || isConnectionFailure(redis, err),
      close: async () => {
        // Let writes already issued reach Redis before the connections go.
        await Promise.allSettled([sessions.flush(), retained.flush(), ownership.flush()]);
        // The bus leaves the membership (heartbeat stopped, marked expired) before it disconnects.
        await bus.close();
      },
    };
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    throw err;
  }
}
