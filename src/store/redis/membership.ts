// Node membership and liveness: who is part of the cluster, kept in one sorted set.
//
// {p}nodes scores each node id with its heartbeat expiry. Every heartbeatMs a node runs one
// script that refreshes its own entry (now + nodeTtlMs) and returns the nodes whose expiry has
// passed: those are reported to the onDeadNode handlers (recovery decides what to do with them;
// a node that is only stalled keeps its Redis connection and is left alone there). Time comes
// from Redis (TIME inside the scripts), so hosts with skewed clocks agree on who has expired.
//
// The bus registers the node (register()) between its SUBSCRIBE and its load of the other
// nodes' routes (route-sync.ts explains why that order matters), and again after every
// reconnect; it sees membership only through the narrow NodeRegistry interface below. Leaving
// marks the entry expired at once, so a live node recovers this one as it would a dead one,
// only sooner.
import type { ChainableCommander } from 'ioredis';
import type { RedisConn } from './connection.js';

export interface MembershipKeys {
  /** Sorted set: node id -> heartbeat expiry (Redis time, ms). */
  nodes: string;
}

/** What the bus needs of membership (a narrow interface: the bus never sees timers or handlers). */
export interface NodeRegistry {
  /** Registers (or refreshes) this node. */
  register(): Promise<void>;
  /** Ids of every node whose heartbeat has not expired, this one included. */
  liveNodes(): Promise<string[]>;
  /** Adds the removal of nodeId's entry to `multi` (done with its "gone" announcement, atomically). */
  removeIn(multi: ChainableCommander, nodeId: string): ChainableCommander;
  /** Stops the heartbeat and marks this node expired. */
  leave(): Promise<void>;
}

export interface NodeMembershipOptions {
  /** How often the heartbeat runs (default 1000 ms). */
  heartbeatMs?: number;
  /** A node whose heartbeat is older than this is dead (default 5000 ms). */
  nodeTtlMs?: number;
}

// Registers (or refreshes) a node and returns the nodes whose heartbeat expired.
const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)`;

const LIVE_NODES_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')`;

export class NodeMembership implements NodeRegistry {
  private readonly heartbeatMs: number;
  private readonly nodeTtlMs: number;
  private deadNodeHandlers: Array<(nodeId: string) => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisConn,
    private readonly keys: MembershipKeys,
    readonly nodeId: string,
    options: NodeMembershipOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.nodeTtlMs = options.nodeTtlMs ?? 5000;
  }

  /** Starts the heartbeat timer (the node is registered already: the bus did it when it started). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  async register(): Promise<void> {
    await this.heartbeat();
  }

  /** Refreshes this node's heartbeat; returns the ids of the other nodes whose heartbeat expired. */
  async heartbeat(): Promise<string[]> {
    const expired = (await this.redis.eval(HEARTBEAT_SCRIPT, 1, this.keys.nodes, this.nodeId, String(this.nodeTtlMs))) as string[];
    return expired.filter((id) => id !== this.nodeId);
  }

  async liveNodes(): Promise<string[]> {
    return (await this.redis.eval(LIVE_NODES_SCRIPT, 1, this.keys.nodes)) as string[];
  }

  /** Nodes whose heartbeat expired, seen by this node's heartbeat (recovery claims them). */
  onDeadNode(handler: (nodeId: string) => void): void {
    this.deadNodeHandlers.push(handler);
  }

  removeIn(multi: ChainableCommander, nodeId: string): ChainableCommander {
    return multi.zrem(this.keys.nodes, nodeId);
  }

  async leave(): Promise<void> {
    clearInterval(this.timer);
    // Leave as a dead node does, only sooner: our heartbeat is marked expired and our routes stay,
    // so a live node recovers us (adopts our offline sessions, drains our limbo, drops our routes).
    await this.redis.zadd(this.keys.nodes, 0, this.nodeId);
  }

  private async beat(): Promise<void> {
    try {
      const expired = await this.heartbeat();
      for (const id of expired) for (const handler of this.deadNodeHandlers) handler(id);
    } catch {
      // Redis away: the connection events log it once.
    }
  }
}
