// The MessageBus over Redis: routing by interest.
//
// Each node SUBSCRIBEs to exactly two channels: its own ({p}node:{id}) and the routes channel.
// It keeps a route table of the OTHER nodes' filters (RouteSync). publish(msg) matches the
// topic against that table and sends the message only to the nodes that want it: one PUBLISH
// per target node per event-loop turn, carrying every message gathered for that node in the
// turn (a MESSAGES frame, node-batches.ts). Local subscribers are the core's business: they never see Redis.
//
// A PUBLISH that reaches no subscriber means the target node is gone (or its subscriber is
// between reconnects): the frame is pushed onto {p}limbo:{node}, which that node drains when it
// (re)subscribes and a recovering node drains when it is dead. A heard frame is also kept for
// 2 s (ReplayBuffer): a node killed a moment ago still counts as a receiver until Redis sees its
// socket close, so when a node is announced gone its recent frames go to its limbo too. So once
// publish() resolves, the message is with a live node or (eventually) in Redis.
//
// Shared subscriptions (MQTT 5 4.8.2): a group's route is the subscription itself
// ($share/{name}/{filter}), announced like any filter. The publishing core chooses, per matching
// group, one node (itself or one from matchSharedRoutes) and passes the others to publish() as
// node → groups: the message's entry in that node's batch is then marked with the groups
// (node-frames.ts), and the receiving core delivers it to one of its members of each. A node
// that gets the message for normal subscribers only never delivers it to its group members.
// Without shared routes and groups, publish() does exactly what it did before.
//
// addRoute waits until every other node has applied the route: the count PUBLISH returns on
// the routes channel says how many subscribers heard it, and each node acks on our channel
// (route-acks.ts; a node that does not ack within ackTimeoutMs is logged and not waited for).
//
// Flow control (bus-flow.ts): a node acks the bytes it processed from each sender; a sender whose
// unacked bytes to a node reach a window pauses the publishers whose messages go there until
// that node catches up, as TCP does between a client and one process. A node's reset connection
// ('rejoin') resets the credit both ways. Bytes written to Redis and not yet answered are capped
// too (redis-backlog.ts), so a stopped Redis holds the publishers instead of filling our memory.
//
// Membership is not the bus's job (membership.ts: the heartbeat, liveness, dead-node reports).
// The bus sees it through NodeRegistry only: it registers the node when it (re)joins, asks which
// nodes are live (route loads, ack waits), and removes a gone node's entry with its announcement.
//
// The command connection runs with enableOfflineQueue false, so while Redis is away publish()
// rejects at once (the core then does not acknowledge the PUBLISH). When Redis comes back the
// node re-registers, rewrites its routes hash, reloads the table and drains its limbo.
import { isCluster, type RedisConn } from './connection.js';
import type { Logger } from 'pino';
import type { Message, MessageBus, Reach, SharedRoute, Throttled } from '../types.js';
import { BusFlow, type BusFlowOptions } from './bus-flow.js';
import type { NodeRegistry } from './membership.js';
import {
  ackTarget,
  decodeFlowAck,
  decodeMessagesFrame,
  decodeRouteAnnouncement,
  decodeTextFields,
  encodeFlowAck,
  encodeQueued,
  encodeRouteAck,
  encodeRouteAnnouncement,
  isMessagesFrame,
  MarkedEntry,
  messagesFrameSender,
  type MessageCodec,
  TAG_FLOW_ACK,
  TAG_MESSAGES,
  TAG_MESSAGES_FROM,
  TAG_MESSAGES_SEQ,
  TAG_PROBE,
  TAG_QUEUED,
  TAG_ROUTE_ACK,
  TAG_TAKEOVER,
  TAG_UNHEARD,
} from './node-frames.js';
import { NodeBatches } from './node-batches.js';
import { onFrame, onResubscribed, publish, publishIn, subscribe } from './pubsub.js';
import { RedisBacklog } from './redis-backlog.js';
import { ReplayBuffer } from './replay-buffer.js';
import { Announcements } from './route-acks.js';
import { RouteSync, type BusKeys } from './route-sync.js';

/** Pause before a failed resync after a reconnect is tried again. */
const RESYNC_RETRY_MS = 250;
/** A probe frame not heard back within this is sent again (sharded subscriptions coming up). */
const PROBE_RETRY_MS = 100;
/** How often the node looks for frames that reached its limbo after it last drained it. */
const LIMBO_SWEEP_MS = 1000;

export interface RedisBusOptions {
  nodeId: string;
  keys: BusKeys;
  /** Commands; must be created with enableOfflineQueue: false. */
  redis: RedisConn;
  /** A connection of its own, in subscriber mode. */
  subscriber: RedisConn;
  /** Node membership (membership.ts): registration, liveness, leaving. */
  members: NodeRegistry;
  logger: Logger;
  /** Binary message encoding (codec.ts): never JSON per message. */
  codec: MessageCodec;
  ackTimeoutMs?: number;
  /** How long frames sent to a node are kept to be replayed into its limbo if it dies. */
  replayMs?: number;
  /** Flow control between nodes (window, stall time). */
  flow?: BusFlowOptions;
  /** Bytes written to Redis and not yet answered past which publishers wait (--redis-pending-bytes). */
  pendingBytes?: number;
}

export class BusUnavailableError extends Error {
  constructor() {
    super('message bus unavailable: Redis is not connected');
  }
}

type MessageHandler = (message: Message, groups: readonly string[] | undefined) => void;

type TakeoverHandler = (clientId: string, connectionId: string, epoch: number, clean: boolean) => void;

const resolved = Promise.resolve();

export class RedisBus implements MessageBus {
  readonly nodeId: string;
  received = 0;
  /** Messages handed to the bus so far: each one's number (origin.seq at the receivers). */
  private published = 0;
  readonly sync: RouteSync;
  readonly flow: BusFlow;
  readonly backlog: RedisBacklog;
  private readonly redis: RedisConn;
  private readonly subscriber: RedisConn;
  private readonly keys: BusKeys;
  private readonly members: NodeRegistry;
  private readonly log: Logger;
  private readonly codec: MessageCodec;
  private messageHandlers: MessageHandler[] = [];
  private readonly replay: ReplayBuffer;
  private takeoverHandlers: TakeoverHandler[] = [];
  private queuedHandlers: Array<(clientId: string) => void> = [];
  private readonly batches: NodeBatches;
  private readonly announcements: Announcements;
  private up = false;
  private closed = false;
  private resyncing: Promise<void> | null = null;
  /** Subscriptions moved while a resync was under way: one more follows it. */
  private movePending = false;
  /** On a Redis Cluster: SPUBLISH/SSUBSCRIBE, and subscriptions are checked with probe frames. */
  private readonly sharded: boolean;
  private readonly probes = new Map<string, () => void>();
  private probeSeq = 0;
  private limboSweep: NodeJS.Timeout | undefined;

  constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId;
    this.redis = options.redis;
    this.subscriber = options.subscriber;
    this.keys = options.keys;
    this.members = options.members;
    this.log = options.logger;
    this.codec = options.codec;
    this.replay = new ReplayBuffer(options.replayMs ?? 2000);
    this.sync = new RouteSync(this.redis, this.keys, this.nodeId, this.members);
    this.announcements = new Announcements(this.redis, options.ackTimeoutMs ?? 1000, this.log, async () => (await this.members.liveNodes()).filter((id) => id !== this.nodeId));
    this.sharded = isCluster(this.redis);
    this.flow = new BusFlow(options.flow ?? {}, (to, bytes) => void publish(this.redis, this.keys.nodeChannel(to), encodeFlowAck(bytes, this.nodeId)).catch(() => {}));
    this.backlog = new RedisBacklog(options.pendingBytes);
    this.batches = new NodeBatches(this.nodeId, this.redis, this.keys, this.flow, this.replay, this.backlog);
    onFrame(this.subscriber, (channel, data) => this.onFrame(channel, data));
  }

  /** Both Redis connections are up and the node is part of the cluster again (/readyz, /metrics). */
  get connected(): boolean {
    return this.up && !this.closed && this.redis.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Subscribes, registers, announces and loads routes; resolves when the node is part of the cluster. */
  async start(): Promise<void> {
    // One at a time: on a cluster the two channels are in different slots (and shards).
    await subscribe(this.subscriber, this.keys.nodeChannel(this.nodeId));
    await subscribe(this.subscriber, this.keys.routesChannel);
    await this.resync();
    this.up = true;
    this.redis.on('close', () => this.onConnectionLost());
    this.subscriber.on('close', () => this.onConnectionLost());
    // ioredis re-subscribes by itself; once both connections are back, rebuild what Redis may have lost.
    this.redis.on('ready', () => this.onConnectionBack());
    this.subscriber.on('ready', () => this.onConnectionBack());
    // A shard's failover or a slot migration: ioredis moves the sharded subscriptions to the shard's
    // new master and says so; frames sent meanwhile went to our limbo, and route announcements
    // may have been missed: the same rebuild as after a reconnect.
    if (this.sharded) onResubscribed(this.subscriber, () => this.onSubscriptionsMoved());
    // A frame pushed to our limbo just after we drained it (its PUBLISH found us away, its RPUSH
    // came after our drain) is picked up by this sweep: one LLEN a second.
    this.limboSweep = setInterval(() => void this.sweepLimbo(), LIMBO_SWEEP_MS);
    this.limboSweep.unref();
  }

  /**
   * Resolves once our subscriptions are in effect on Redis. One Redis: a PING on the subscriber
   * connection answers after the (re)SUBSCRIBE queued before it. A Redis Cluster: the sharded
   * subscriptions are on other connections (one per shard), so a probe frame is sent on each of
   * our channels until it comes back to us.
   */
  async whenSubscribed(): Promise<void> {
    if (!this.sharded) {
      await this.subscriber.ping();
      return;
    }
    await Promise.all([this.probe(this.keys.nodeChannel(this.nodeId)), this.probe(this.keys.routesChannel)]);
  }

  addRoute(filter: string): Promise<void> {
    const holders = this.sync.ownRoutes.get(filter) ?? 0;
    this.sync.ownRoutes.set(filter, holders + 1);
    // Announced again even when held already: the caller needs the "every node has it" guarantee,
    // which an earlier announcement still in flight does not give yet. Repeats are idempotent.
    return this.announcements.send(
      (multi, seq) => publishIn(multi.hset(this.keys.routesHash(this.nodeId), filter, '1'), this.sharded, this.keys.routesChannel, encodeRouteAnnouncement({ kind: 'add', nodeId: this.nodeId, seq, filter })),
      `route ${filter}`,
    );
  }

  removeRoute(filter: string): void {
    const holders = this.sync.ownRoutes.get(filter);
    if (holders === undefined) return;
    if (holders > 1) {
      this.sync.ownRoutes.set(filter, holders - 1);
      return;
    }
    this.sync.ownRoutes.delete(filter);
    const announcement = encodeRouteAnnouncement({ kind: 'remove', nodeId: this.nodeId, filter });
    // Not awaited: a stale route only costs the other nodes a message we drop; a resync rewrites the hash.
    publishIn(this.redis.multi().hdel(this.keys.routesHash(this.nodeId), filter), this.sharded, this.keys.routesChannel, announcement).exec().catch(() => {});
  }

  /**
   * Tells every node that deadNode is gone (drop its routes) and waits for their acks, so that
   * after it resolves nobody pushes to deadNode's limbo any more. Used by recovery.
   */
  async announceGone(deadNode: string): Promise<void> {
    // The other nodes hand its routes to us (routes.ts handOver); we deliver to its adopted sessions locally.
    this.sync.table.dropNode(deadNode);
    // Our frames on their way to it settle first (unheard ones land in its limbo, which recovery drains next).
    await this.batches.settled(deadNode);
    const replay = this.replay.take(deadNode);
    this.flow.forget(deadNode);
    return this.announcements.send(
      (multi, seq) => {
        // Ahead of what is in the limbo already (frames sent after it died, unheard): a sender's frames
        // are then drained in the order it sent them, which the replay's dedup relies on.
        if (replay.length > 0) multi.lpush(this.keys.limbo(deadNode), ...replay.reverse());
        const announcement = encodeRouteAnnouncement({ kind: 'gone', nodeId: deadNode, seq, origin: this.nodeId });
        return publishIn(this.members.removeIn(multi, deadNode).del(this.keys.routesHash(deadNode)), this.sharded, this.keys.routesChannel, announcement);
      },
      `node ${deadNode} gone`,
    );
  }

  publish(message: Message, shared?: ReadonlyMap<string, readonly string[]>, reach?: Reach): Promise<void> {
    this.flow.beginMessage();
    this.backlog.beginMessage();
    // Numbered already when the core reserved its number (reserveSeq).
    const seq = message.origin !== undefined && message.origin.sender === this.nodeId ? message.origin.seq : ++this.published;
    const nodes = this.sync.table.nodesFor(message.topic);
    // A route is a subscriber on that node (online or parked): what a v5 PUBACK 0x10 needs to know.
    if (reach !== undefined && nodes.length > 0) reach.matched = true;
    if (shared !== undefined) return this.publishShared(message, nodes, shared, seq);
    if (nodes.length === 0) return resolved;
    if (!this.up || this.redis.status !== 'ready') return Promise.reject(new BusUnavailableError());
    const encoded = this.codec.encodeNumbered(message, seq);
    if (nodes.length === 1) return this.batches.add(nodes[0]!, encoded);
    const waits: Promise<void>[] = [];
    for (const node of nodes) waits.push(this.batches.add(node, encoded));
    return Promise.all(waits).then(() => undefined);
  }

  /** Sends to the nodes with normal routes and to those chosen for shared groups (their entries marked). */
  private publishShared(message: Message, nodes: readonly string[], shared: ReadonlyMap<string, readonly string[]>, seq: number): Promise<void> {
    if (!this.up || this.redis.status !== 'ready') return Promise.reject(new BusUnavailableError());
    const encoded = this.codec.encodeNumbered(message, seq);
    const waits: Promise<void>[] = [];
    for (const node of nodes) {
      const groups = shared.get(node);
      waits.push(this.batches.add(node, groups === undefined ? encoded : new MarkedEntry(encoded, groups)));
    }
    for (const [node, groups] of shared) if (!nodes.includes(node)) waits.push(this.batches.add(node, new MarkedEntry(encoded, groups)));
    return Promise.all(waits).then(() => undefined);
  }

  /**
   * Rewrites our routes hash from the routes we hold and has every node reload it: after a recovery,
   * the dead node's routes that were handed to us and that none of our subscribers needs go away.
   */
  rewriteRoutes(): Promise<void> {
    return this.sync.publishOwnRoutes();
  }

  reserveSeq(): number {
    return ++this.published;
  }

  throttle(publisher: Throttled): void {
    this.flow.throttle(publisher);
    this.backlog.throttle(publisher);
  }

  get sharedRouteCount(): number {
    return this.sync.table.sharedCount;
  }

  matchSharedRoutes(topic: string, visit: (route: SharedRoute) => void): void {
    this.sync.table.matchShared(topic, visit);
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandlers.push(handler);
  }

  /** Takeover notices for clients held on this node (ownership.ts sends them with encodeTakeover). */
  onTakeover(handler: TakeoverHandler): void {
    this.takeoverHandlers.push(handler);
  }

  /** QUEUED notices: another node appended messages to the queue of a client held here. */
  onQueued(handler: (clientId: string) => void): void {
    this.queuedHandlers.push(handler);
  }

  /** Tells nodeId (this node: directly) that clientId's queue got messages; resolves once sent. */
  async notifyQueued(nodeId: string, clientId: string): Promise<void> {
    if (nodeId === this.nodeId) for (const handler of this.queuedHandlers) handler(clientId);
    else await publish(this.redis, this.keys.nodeChannel(nodeId), encodeQueued(clientId));
  }

  /** Delivers a MESSAGES frame to `deliver` (default: every onMessage handler, as if it had arrived on our channel). */
  deliverFrame(frame: Buffer, deliver?: MessageHandler): number {
    let count = 0;
    // Pushed to a limbo because nobody heard it: its messages are marked (Origin.unheard).
    const unheard = frame[0] === TAG_UNHEARD;
    if (unheard) frame = frame.subarray(1);
    if (!isMessagesFrame(frame)) return 0;
    decodeMessagesFrame(frame, (bytes) => this.codec.decode(bytes), (message, groups) => {
      if (unheard && message.origin !== undefined) message.origin = { ...message.origin, unheard: true };
      count++;
      this.received++;
      if (deliver !== undefined) deliver(message, groups);
      else for (const handler of this.messageHandlers) handler(message, groups);
    });
    return count;
  }

  /**
   * Empties nodeId's limbo list into `deliver` (our own limbo: into our local subscribers; a dead
   * node's: into the sessions adopted from it only, since our own subscribers had their copy).
   */
  async drainLimbo(nodeId: string, deliver?: MessageHandler): Promise<number> {
    const key = this.keys.limbo(nodeId);
    let delivered = 0;
    while (true) {
      const frames = await this.redis.lpopBuffer(key, 100);
      if (frames === null || frames.length === 0) return delivered;
      for (const frame of frames) delivered += this.deliverFrame(frame, deliver);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    clearInterval(this.limboSweep);
    for (const heard of this.probes.values()) heard();
    this.announcements.closeAll();
    this.flow.close();
    this.backlog.close();
    try {
      // Our routes stay: the live node that recovers us drops them (membership.ts: leave()).
      await this.members.leave();
    } catch {
      // Redis is away: our heartbeat expires by itself, with the same outcome.
    }
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  private onFrame(_channel: Buffer, data: Buffer): void {
    const tag = data[0];
    if (tag === TAG_MESSAGES_SEQ || tag === TAG_MESSAGES_FROM || tag === TAG_MESSAGES) {
      try {
        this.deliverFrame(data);
        const sender = messagesFrameSender(data);
        if (sender !== undefined) this.flow.processed(sender.from, sender.entries);
      } catch (err) {
        this.log.error({ err }, 'bus: dropped a malformed message frame');
      }
    } else if (tag === TAG_FLOW_ACK) {
      const ack = decodeFlowAck(data);
      if (ack !== null) this.flow.onAck(ack.from, ack.bytes);
    } else if (tag === TAG_ROUTE_ACK) {
      const [seq, from] = decodeTextFields(data);
      if (from !== undefined) this.announcements.ack(Number(seq), from);
    } else if (tag === TAG_TAKEOVER) {
      const [clientId, connectionId, epoch, clean] = decodeTextFields(data);
      if (clientId === undefined || connectionId === undefined) return;
      for (const handler of this.takeoverHandlers) handler(clientId, connectionId, Number(epoch), clean === 'clean');
    } else if (tag === TAG_PROBE) {
      this.probes.get(data.toString('utf8', 1))?.();
    } else if (tag === TAG_QUEUED) {
      const clientId = data.toString('utf8', 1);
      for (const handler of this.queuedHandlers) handler(clientId);
    } else {
      this.onAnnouncement(data.toString('utf8'));
    }
  }

  private onAnnouncement(text: string): void {
    const a = decodeRouteAnnouncement(text);
    if (a === null) return;
    // Gone, or back on a new connection: either way what it never acked will not be acked.
    if (a.kind === 'gone' || a.kind === 'rejoin') this.flow.forget(a.nodeId);
    if (a.kind === 'gone' && a.nodeId === this.nodeId) {
      // Someone declared us dead (we stalled past the ttl): put our routes back.
      if (a.origin !== this.nodeId) void this.resync().catch(() => {});
    } else if (a.nodeId !== this.nodeId || a.kind === 'gone') {
      if (a.kind === 'rejoin') void this.sync.loadNode(a.nodeId).catch(() => {});
      else this.sync.apply(a);
    }
    const target = ackTarget(a);
    if (target === null || target.to === this.nodeId) return;
    const ack = () => publish(this.redis, this.keys.nodeChannel(target.to), encodeRouteAck(target.seq, this.nodeId));
    if (a.kind !== 'gone') {
      ack().catch(() => {});
      return;
    }
    // A gone node: frames on their way to it settle first (unheard ones land in its limbo), then
    // what we sent it lately (it may have died with it unread) goes into its limbo, then we ack.
    const gone = a.nodeId;
    void this.batches.settled(gone).then(() => {
      const replay = this.replay.take(gone);
      if (replay.length === 0) return ack();
      return this.redis.lpush(this.keys.limbo(gone), ...replay.reverse()).then(ack); // ahead of later unheard frames, as in announceGone
    }).catch(() => {});
  }

  /** Registers, rewrites our routes, reloads everyone's, drains our limbo. Idempotent. */
  private resync(): Promise<void> {
    if (this.resyncing === null) {
      this.resyncing = (async () => {
        // After a reconnect, 'ready' can come before the re-SUBSCRIBE is in effect. The PING
        // queued behind it answers once it is: only then load the other nodes' routes, so a node
        // that rewrites its routes after our load is heard ('j'), not missed (Redis lost them all
        // when it restarted without persistence, so every node rewrites them).
        await this.whenSubscribed();
        await this.members.register();
        await this.sync.publishOwnRoutes();
        await this.sync.loadAll();
        await this.drainLimbo(this.nodeId);
      })().finally(() => (this.resyncing = null));
    }
    return this.resyncing;
  }

  /** Sends a probe on channel until it comes back to us (or the bus closes). */
  private async probe(channel: string): Promise<void> {
    const token = `${this.nodeId}\0${++this.probeSeq}`;
    const heard = new Promise<boolean>((resolve) => this.probes.set(token, () => resolve(true)));
    const frame = Buffer.concat([Buffer.of(TAG_PROBE), Buffer.from(token)]);
    try {
      while (!this.closed) {
        await publish(this.redis, channel, frame).catch(() => 0);
        const timer = new Promise<boolean>((resolve) => setTimeout(resolve, PROBE_RETRY_MS, false).unref());
        if (await Promise.race([heard, timer])) return;
      }
    } finally {
      this.probes.delete(token);
    }
  }

  private async sweepLimbo(): Promise<void> {
    if (!this.up || this.resyncing !== null) return;
    try {
      if ((await this.redis.llen(this.keys.limbo(this.nodeId))) > 0) await this.drainLimbo(this.nodeId);
    } catch {
      // Redis away: the reconnect drains it.
    }
  }

  /** The sharded subscriptions were moved to other servers (cluster only). */
  private onSubscriptionsMoved(): void {
    if (this.closed || !this.up) return;
    const running = this.resyncing;
    if (running !== null) {
      // A resync under way may have read what moved just now: one more after it (however many
      // moves came meanwhile: during a failover ioredis says so every few tens of ms).
      if (!this.movePending) {
        this.movePending = true;
        void running.catch(() => {}).finally(() => {
          this.movePending = false;
          this.onSubscriptionsMoved();
        });
      }
      return;
    }
    this.resync().then(
      () => this.log.info({ nodeId: this.nodeId }, 'bus: subscriptions moved to a new shard master; routes rebuilt and limbo drained'),
      (err: unknown) => {
        this.log.warn({ err }, 'bus: resync after a shard change failed; retrying');
        setTimeout(() => this.onSubscriptionsMoved(), RESYNC_RETRY_MS).unref();
      },
    );
  }

  private onConnectionLost(): void {
    if (this.closed || !this.up) return;
    this.up = false;
    // Acks in flight are lost with the connection: nobody waits on credit that cannot come back.
    this.flow.forgetAll();
    this.log.warn({ nodeId: this.nodeId }, 'bus: Redis connection lost; publishes are refused until it is back');
  }

  private onConnectionBack(): void {
    if (this.closed || this.up || this.redis.status !== 'ready' || this.subscriber.status !== 'ready') return;
    this.resync().then(
      () => {
        if (this.closed) return;
        this.up = true;
        this.log.info({ nodeId: this.nodeId, routes: this.sync.ownRoutes.size }, 'bus: Redis is back; node re-registered and routes rebuilt');
      },
      (err: unknown) => {
        // Both links may be up again already (no next reconnect would come): try again shortly.
        this.log.warn({ err }, 'bus: resync after reconnect failed; retrying');
        setTimeout(() => this.onConnectionBack(), RESYNC_RETRY_MS).unref();
      },
    );
  }
}
