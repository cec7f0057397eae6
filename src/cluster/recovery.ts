// Dead-node recovery: what a live node does for a node that died (kill -9, a lost host, or a
// clean stop, which marks its heartbeat expired on purpose).
//
// Triggered by the primary (a worker's 'exit') and by heartbeat expiry seen by any node; the
// claim in Redis (SET NX) lets exactly one node act. Then, in this order:
//   1. For each client the dead node held, still held by it: take its will atomically and
//      publish it (once: the take deletes it); adopt its persistent session — ownership moves
//      here with a fresh epoch, and its subscriptions go into AdoptedSessions, which queues
//      matching bus messages into the session's offline queue; clean sessions are released.
//   2. Add routes for the adopted filters (acked by every node), THEN announce the dead node
//      gone — each node first pushes the frames it sent the dead node in the last seconds into
//      its limbo (they may have died in its socket), then acks, and drops its routes — THEN drain
//      the limbo into the adopted sessions. Messages in between go both ways: at least once.
// A client that reconnects anywhere claims its id from us: the takeover notice arrives on our
// node channel and AdoptedSessions lets the session go (it was never connected here).
// Shared subscriptions of adopted sessions are not routed here (this node has no member to
// serve the group with; the group's other members get its messages); frames in the dead
// node's limbo marked for a group are queued to one adopted member of that group.
import type { Logger } from 'pino';
import { topicMatchesFilter } from '../broker/topic-match.js';
import { isSharedSubscription } from '../protocol/index.js';
import type { RedisBackend } from '../store/redis/index.js';
import { NodeRecoveryStore } from '../store/redis/node-recovery.js';
import type { Message, SubscriptionOptions } from '../store/types.js';

export interface RecoveryOptions {
  backend: RedisBackend;
  /** The broker's publish (retained store, local subscribers, bus). */
  publish: (message: Message) => Promise<void>;
  maxQueued: number;
  logger: Logger;
}

const ADOPTED_PREFIX = 'adopted:';
/** How long a node with an expired heartbeat but an open Redis connection is taken for stalled, not dead. */
const STALL_GRACE_MS = 60_000;

/** Offline persistent sessions adopted from dead nodes, queued into until their clients return. */
class AdoptedSessions {
  private readonly sessions = new Map<string, Map<string, SubscriptionOptions>>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: RecoveryOptions) {
    // Messages from other nodes, and those published here (the bus sees every one).
    options.backend.bus.onMessage((message) => this.deliver(message));
    options.backend.bus.onLocalPublish((message) => this.deliver(message));
    // The client came back: on another node (a TAKEOVER frame on our channel) or on this one
    // (ownership calls its handlers directly).
    const onTakeover = (clientId: string, connectionId: string): void => {
      if (connectionId.startsWith(ADOPTED_PREFIX)) this.release(clientId);
    };
    options.backend.bus.onTakeover(onTakeover);
    options.backend.ownership.onTakeover(onTakeover);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Queues for clientId until it reconnects, or until its session expires (then it is deleted). */
  async adopt(clientId: string, subscriptions: Map<string, SubscriptionOptions>, expiryInterval: number, epoch: number): Promise<void> {
    this.sessions.set(clientId, subscriptions);
    // Longer than a timer can wait (~24.8 days; 0xFFFFFFFF = never): left to the store's TTL.
    if (expiryInterval * 1000 <= 2_147_483_647) {
      const timer = setTimeout(() => {
        if (!this.sessions.has(clientId)) return;
        this.release(clientId);
        this.options.backend.sessions.delete(clientId);
        this.options.backend.ownership.release(clientId, epoch);
      }, expiryInterval * 1000);
      timer.unref();
      this.expiryTimers.set(clientId, timer);
    }
    await Promise.all(routedFilters(subscriptions).map((filter) => this.options.backend.bus.addRoute(filter)));
  }

  private release(clientId: string): void {
    const subscriptions = this.sessions.get(clientId);
    if (subscriptions === undefined) return;
    this.sessions.delete(clientId);
    clearTimeout(this.expiryTimers.get(clientId));
    this.expiryTimers.delete(clientId);
    for (const filter of routedFilters(subscriptions)) this.options.backend.bus.removeRoute(filter);
  }

  /** Few sessions, adopted only after a crash: a linear scan is fine here. */
  readonly deliver = (message: Message, groups?: readonly string[]): void => {
    if (message.qos === 0 || this.sessions.size === 0) return;
    if (groups !== undefined) for (const group of groups) this.deliverToGroup(message, group);
    for (const [clientId, subscriptions] of this.sessions) {
      let qos = -1;
      for (const [filter, options] of subscriptions) if (topicMatchesFilter(message.topic, filter) && options.qos > qos) qos = options.qos;
      if (qos <= 0) continue;
      const queued: Message = { ...message, qos: (qos < message.qos ? qos : message.qos) as 1 | 2, retain: false };
      this.enqueue(clientId, queued);
    }
  };

  /** A limbo message marked for a shared subscription group: to the first adopted member, if any. */
  private deliverToGroup(message: Message, group: string): void {
    for (const [clientId, subscriptions] of this.sessions) {
      const options = subscriptions.get(group);
      if (options === undefined || options.qos === 0) continue;
      this.enqueue(clientId, { ...message, qos: (options.qos < message.qos ? options.qos : message.qos) as 1 | 2, retain: false });
      return;
    }
  }

  private enqueue(clientId: string, message: Message): void {
    this.options.backend.sessions.enqueue(clientId, message, this.options.maxQueued).catch((err: unknown) => this.options.logger.error({ err, clientId }, 'recovery: could not queue for an adopted session'));
  }
}

/** Filters an adopted session routes to this node: not its shared subscriptions. */
function routedFilters(subscriptions: Map<string, SubscriptionOptions>): string[] {
  return [...subscriptions.keys()].filter((filter) => !isSharedSubscription(filter));
}

export class DeadNodeRecovery {
  private readonly store: NodeRecoveryStore;
  private readonly adopted: AdoptedSessions;
  private readonly inProgress = new Set<string>();
  private readonly log: Logger;

  constructor(private readonly options: RecoveryOptions) {
    const { backend } = options;
    this.store = new NodeRecoveryStore(backend.redis, backend.keys, backend.bus.nodeId);
    this.adopted = new AdoptedSessions(options);
    this.log = options.logger;
    // Heartbeat expiry can also mean a stalled event loop: such a node is left alone while its
    // connection to Redis is open (the primary's report of an exit needs no such check).
    backend.bus.onDeadNode((nodeId) => void this.recoverIfGone(nodeId));
  }

  private async recoverIfGone(nodeId: string): Promise<void> {
    if (this.inProgress.has(nodeId)) return;
    try {
      if (await this.store.seemsAlive(nodeId, STALL_GRACE_MS)) return;
    } catch {
      return; // Redis away: the next heartbeat retries
    }
    await this.recover(nodeId);
  }

  /** Recovers deadNode unless another node already does; resolves when done (or skipped). */
  async recover(deadNode: string): Promise<void> {
    const { bus } = this.options.backend;
    if (deadNode === bus.nodeId || this.inProgress.has(deadNode)) return;
    this.inProgress.add(deadNode);
    try {
      if (!(await this.store.claimNode(deadNode))) return;
      const started = Date.now();
      const clients = await this.store.clientsOf(deadNode);
      let wills = 0;
      let adopted = 0;
      await Promise.all(
        clients.map(async (clientId) => {
          const outcome = await this.recoverClient(clientId, deadNode);
          if (outcome.will) wills++;
          if (outcome.adopted) adopted++;
        }),
      );
      await bus.announceGone(deadNode);
      const drained = await bus.drainLimbo(deadNode, this.adopted.deliver);
      await this.store.forget(deadNode);
      this.log.warn({ deadNode, clients: clients.length, wills, adopted, drained, ms: Date.now() - started }, 'recovery: recovered a dead node');
    } catch (err) {
      this.log.error({ err, deadNode }, 'recovery: failed; the node stays expired and is retried on the next heartbeat');
      await this.options.backend.redis.del(this.options.backend.keys.recovery(deadNode)).catch(() => {});
    } finally {
      this.inProgress.delete(deadNode);
    }
  }

  private async recoverClient(clientId: string, deadNode: string): Promise<{ will: boolean; adopted: boolean }> {
    const connectionId = `${ADOPTED_PREFIX}${this.options.backend.bus.nodeId}:${clientId}`;
    const epoch = await this.store.adoptClient(clientId, deadNode, connectionId);
    if (epoch === null) return { will: false, adopted: false }; // reconnected elsewhere already
    const will = await this.store.takeWill(clientId, deadNode);
    if (will !== null) this.publishWill(clientId, connectionId, will.message, will.delaySeconds);
    const record = await this.options.backend.sessions.load(clientId);
    if (record === null || record.expiryInterval === 0) {
      this.options.backend.ownership.release(clientId, epoch);
      return { will: will !== null, adopted: false };
    }
    await this.adopted.adopt(clientId, record.subscriptions, record.expiryInterval, epoch);
    return { will: will !== null, adopted: true };
  }

  private publishWill(clientId: string, connectionId: string, message: Message, delaySeconds: number): void {
    const send = () => this.options.publish(message).catch((err: unknown) => this.log.error({ err, clientId }, 'recovery: could not publish a will'));
    if (delaySeconds <= 0) {
      void send();
      return;
    }
    // v5 Will Delay Interval: a reconnect within the delay cancels the will [MQTT-3.1.3-9].
    setTimeout(() => {
      void this.store.notReclaimed(clientId, connectionId).then((held) => (held ? send() : undefined), () => send());
    }, delaySeconds * 1000).unref();
  }
}
