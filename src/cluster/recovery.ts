// Dead-node recovery: what a live node does for a node that died (kill -9, a lost host, or a
// clean stop, which marks its heartbeat expired on purpose).
//
// Triggered by the primary (a worker's 'exit'), by heartbeat expiry seen by any node, and by a
// node that resumes a client whose previous holder did not hear the takeover and is gone (see
// awaitRecovered); the claim in Redis (SET NX) lets exactly one node act. Then, in this order:
//   1. For each client the dead node held, still held by it: take its will atomically and
//      publish it (once: the take deletes it); adopt its persistent session — ownership moves
//      here with a fresh epoch, and its subscriptions go into ForwardedSessions, which queues
//      matching bus messages into the session's offline queue; clean sessions are released.
//      Clients claimed away from the dead node after it died (its moved set, or an adoption that
//      lost the race against the client's own claim) are BRIDGED: their current subscriptions go
//      into ForwardedSessions too, whose queued messages are then announced to the node holding
//      the client (a QUEUED frame; the core there drains the queue into the live session).
//   2. Add routes for the adopted and bridged filters (acked by every node), THEN announce the
//      dead node gone — each node first pushes the frames it sent the dead node in the last
//      seconds into its limbo (they may have died in its socket), then acks, and drops its routes —
//      THEN drain the limbo into the adopted and bridged sessions, THEN mark the node "done".
//      Messages in between go both ways: at least once.
// Why bridges: a client that reconnected elsewhere before recovery had messages routed to the
// dead node (in its limbo now) and, until its new node's routes are visible everywhere, messages
// routed to nobody once the dead node's routes are dropped. The bridge's routes cover the second
// part; it lasts BRIDGE_MS after recovery, longer than the new node's route announcement waits
// for acks, so the handover has no gap (duplicates are possible). A node that resumes such a
// client waits (bounded) for "done" before draining its queue, so the dead node's messages come
// first, in order; anything forwarded later arrives through the QUEUED notice.
// A client that reconnects anywhere after recovery claims its id from us: the takeover notice
// arrives on our node channel (or through our ownership handlers when it lands here) and its
// adopted session becomes a bridge for BRIDGE_MS for the same reason, then it is let go.
// Shared subscriptions of adopted sessions are not routed here (this node has no member to
// serve the group with; the group's other members get its messages); frames in the dead
// node's limbo marked for a group are queued to one adopted member of that group.
import type { Logger } from 'pino';
import { topicMatchesFilter } from '../broker/topic-match.js';
import { willPublication } from '../broker/wills.js';
import { isSharedSubscription } from '../protocol/index.js';
import type { RedisBackend } from '../store/redis/index.js';
import { NodeRecoveryStore } from '../store/redis/node-recovery.js';
import type { Message, QueueLimits, ReplayOrigin, SubscriptionOptions } from '../store/types.js';

export interface RecoveryOptions {
  backend: RedisBackend;
  /** The broker's publish (retained store, local subscribers, bus). */
  publish: (message: Message) => Promise<void>;
  /** The broker's queue limits, and where its drops are counted. */
  limits: QueueLimits;
  dropped: (clientId: string, reason: string) => void;
  /** Whether the broker of this node holds clientId's connection: its messages reach it directly, no bridge needed. */
  holds: (clientId: string) => boolean;
  logger: Logger;
}

const ADOPTED_PREFIX = 'adopted:';
/** How long a node with an expired heartbeat but an open Redis connection is taken for stalled, not dead. */
const STALL_GRACE_MS = 60_000;
/**
 * How long a bridge outlives its cause (recovery done, or the adopted client's takeover): more than
 * the new holder needs to load the session and have its routes acked (the bus waits 1 s for acks).
 */
const BRIDGE_MS = 3000;
/** How long a resuming session waits for its dead previous node to be recovered before it goes on without. */
const SETTLE_TIMEOUT_MS = 3000;
const SETTLE_POLL_MS = 20;

interface Forwarded {
  subscriptions: Map<string, SubscriptionOptions>;
  /** adopted: we hold the offline session. bridge: another connection holds it; tell its node. */
  mode: 'adopted' | 'bridge';
  /** Session expiry (adopted) or end of the bridge. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Sessions whose messages this node queues into {p}queue:{cid}: persistent sessions adopted from
 * dead nodes until their clients return, and bridges for clients that returned elsewhere.
 */
class ForwardedSessions {
  private readonly sessions = new Map<string, Forwarded>();
  private readonly toNotify = new Set<string>();
  private notifyScheduled = false;
  private readonly writes = new Set<Promise<unknown>>();

  constructor(
    private readonly options: RecoveryOptions,
    private readonly store: NodeRecoveryStore,
  ) {
    // Messages from other nodes, and those published here (the bus sees every one).
    options.backend.bus.onMessage((message, groups) => this.deliver(message, groups));
    // Numbered as the bus numbers them for other nodes, so the client's holder can tell this copy
    // from the one it gets directly (broker/recent-copies.ts).
    options.backend.bus.onLocalPublish((message, seq) => {
      if (this.sessions.size > 0 && message.qos > 0) this.deliver({ ...message, origin: { sender: options.backend.bus.nodeId, seq } });
    });
    // The client came back: on another node (a TAKEOVER frame on our channel) or on this one
    // (ownership calls its handlers directly). Until its new holder's routes are visible, what
    // comes our way still goes into its queue.
    const onTakeover = (clientId: string, connectionId: string): void => {
      if (connectionId.startsWith(ADOPTED_PREFIX) && this.sessions.get(clientId)?.mode === 'adopted') this.bridge(clientId);
    };
    options.backend.bus.onTakeover(onTakeover);
    options.backend.ownership.onTakeover(onTakeover);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Queues for clientId until it reconnects, or until its session expires (then it is deleted). */
  async adopt(clientId: string, subscriptions: Map<string, SubscriptionOptions>, expiryInterval: number, epoch: number): Promise<void> {
    const entry: Forwarded = { subscriptions, mode: 'adopted', timer: undefined };
    this.replace(clientId, entry);
    // Longer than a timer can wait (~24.8 days; 0xFFFFFFFF = never): left to the store's TTL.
    if (expiryInterval * 1000 <= 2_147_483_647) {
      entry.timer = setTimeout(() => {
        if (this.sessions.get(clientId) !== entry) return;
        this.release(clientId);
        this.options.backend.sessions.delete(clientId);
        this.options.backend.ownership.release(clientId, epoch);
      }, expiryInterval * 1000);
      entry.timer.unref();
    }
    await Promise.all(routedFilters(subscriptions).map((filter) => this.options.backend.bus.addRoute(filter)));
  }

  /** Forwards to the queue of clientId, held elsewhere (or by a connection here), until endBridge. */
  async addBridge(clientId: string, subscriptions: Map<string, SubscriptionOptions>): Promise<void> {
    this.replace(clientId, { subscriptions, mode: 'bridge', timer: undefined });
    await Promise.all(routedFilters(subscriptions).map((filter) => this.options.backend.bus.addRoute(filter)));
  }

  /** An adopted session whose client came back: a bridge for BRIDGE_MS. */
  bridge(clientId: string): void {
    const entry = this.sessions.get(clientId);
    if (entry === undefined) return;
    entry.mode = 'bridge';
    this.endBridge(clientId);
  }

  /** The bridge of clientId ends BRIDGE_MS from now. */
  endBridge(clientId: string): void {
    const entry = this.sessions.get(clientId);
    if (entry === undefined || entry.mode !== 'bridge') return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.sessions.get(clientId) === entry && this.release(clientId), BRIDGE_MS);
    entry.timer.unref();
  }

  /**
   * Resolves when the queue writes issued so far, and the QUEUED notices they lead to, are done
   * (failures are logged). Later writes are not waited for: a bridge may be busy all along.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.writes]);
    // Their notices were scheduled as they resolved; let the scheduled turn run, then wait for it.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([...this.writes]);
  }

  private replace(clientId: string, entry: Forwarded): void {
    // A second adoption or bridge of one id: keep the routes counted once.
    if (this.sessions.has(clientId)) this.release(clientId);
    this.sessions.set(clientId, entry);
  }

  private release(clientId: string): void {
    const entry = this.sessions.get(clientId);
    if (entry === undefined) return;
    this.sessions.delete(clientId);
    clearTimeout(entry.timer);
    for (const filter of routedFilters(entry.subscriptions)) this.options.backend.bus.removeRoute(filter);
  }

  /** Few sessions, adopted or bridged only after a crash: a linear scan is fine here. */
  readonly deliver = (message: Message, groups?: readonly string[]): void => {
    this.forward(message, groups, undefined);
  };

  /**
   * A visitor for the frames deadNode received and may not have handed on (its limbo): each message
   * goes only to sessions that were subscribed when it was published, and not to a session whose
   * copy on deadNode had already taken it (the store skips those, ReplayOrigin).
   */
  replayOf(deadNode: string): (message: Message, groups: readonly string[] | undefined) => void {
    return (message, groups) => this.forward(message, groups, deadNode);
  }

  private forward(message: Message, groups: readonly string[] | undefined, replayedFrom: string | undefined): void {
    if (message.qos === 0 || this.sessions.size === 0) return;
    const origin = message.origin === undefined ? undefined : { sender: message.origin.sender, seq: message.origin.seq, holder: replayedFrom ?? this.options.backend.bus.nodeId };
    // A replay compares subscription times with the time the message was sent (live messages need not).
    const sentAt = replayedFrom === undefined ? undefined : message.publishedAt;
    if (groups !== undefined) for (const group of groups) this.deliverToGroup(message, group, origin, sentAt);
    for (const [clientId, entry] of this.sessions) {
      // A live message for a client now held here reaches it directly (a replayed one does not).
      if (replayedFrom === undefined && entry.mode === 'bridge' && this.options.holds(clientId)) continue;
      let qos = -1;
      for (const [filter, options] of entry.subscriptions) {
        if (options.qos > qos && subscribedAt(options, sentAt) && topicMatchesFilter(message.topic, filter)) qos = options.qos;
      }
      if (qos <= 0) continue;
      const queued: Message = { ...message, qos: (qos < message.qos ? qos : message.qos) as 1 | 2, retain: false };
      this.enqueue(clientId, queued, origin);
    }
  }

  /** A limbo message marked for a shared subscription group: to the first adopted member, if any. */
  private deliverToGroup(message: Message, group: string, origin: ReplayOrigin | undefined, sentAt: number | undefined): void {
    for (const [clientId, entry] of this.sessions) {
      const options = entry.subscriptions.get(group);
      if (options === undefined || options.qos === 0 || !subscribedAt(options, sentAt)) continue;
      this.enqueue(clientId, { ...message, qos: (options.qos < message.qos ? options.qos : message.qos) as 1 | 2, retain: false }, origin);
      return;
    }
  }

  private enqueue(clientId: string, queued: Message, origin: ReplayOrigin | undefined): void {
    const write = this.options.backend.sessions.enqueue(clientId, queued, this.options.limits, origin).then(
      (kept) => {
        if (!kept) this.options.dropped(clientId, 'offline queue full');
        // A bridge (now or since): the client is online somewhere; its node drains the queue.
        else if (this.sessions.get(clientId)?.mode !== 'adopted') this.notify(clientId);
      },
      (err: unknown) => this.options.logger.error({ err, clientId }, 'recovery: could not queue for an adopted session'),
    );
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /** One QUEUED notice per client per turn, to the node holding it now. */
  private notify(clientId: string): void {
    this.toNotify.add(clientId);
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      const clientIds = [...this.toNotify];
      this.toNotify.clear();
      const sent = Promise.all(
        clientIds.map(async (id) => {
          const node = await this.store.ownerNode(id);
          if (node !== null) await this.options.backend.bus.notifyQueued(node, id);
        }),
      ).catch((err: unknown) => this.options.logger.warn({ err }, 'recovery: could not tell a node about forwarded messages; they wait in the queue'));
      this.writes.add(sent);
      void sent.finally(() => this.writes.delete(sent));
      this.notifyScheduled = false;
    });
  }
}

/** Whether a subscription existed when a message sent at sentAt was published (unknown times: yes). */
function subscribedAt(options: SubscriptionOptions, sentAt: number | undefined): boolean {
  return sentAt === undefined || options.since === undefined || options.since <= sentAt;
}

/** Filters an adopted session routes to this node: not its shared subscriptions. */
function routedFilters(subscriptions: Map<string, SubscriptionOptions>): string[] {
  return [...subscriptions.keys()].filter((filter) => !isSharedSubscription(filter));
}

export class DeadNodeRecovery {
  private readonly store: NodeRecoveryStore;
  private readonly forwarded: ForwardedSessions;
  private readonly running = new Map<string, Promise<void>>();
  private readonly log: Logger;

  constructor(private readonly options: RecoveryOptions) {
    const { backend } = options;
    this.store = new NodeRecoveryStore(backend.redis, backend.keys, backend.bus.nodeId);
    this.forwarded = new ForwardedSessions(options, this.store);
    this.log = options.logger;
    // Heartbeat expiry can also mean a stalled event loop: such a node is left alone while its
    // connection to Redis is open (the primary's report of an exit needs no such check).
    backend.membership.onDeadNode((nodeId) => void this.recoverIfGone(nodeId));
    // A client resumed here was held by a node that did not hear the takeover.
    backend.ownership.onOrphaned((deadNode) => this.awaitRecovered(deadNode));
  }

  private async recoverIfGone(nodeId: string): Promise<void> {
    if (this.running.has(nodeId)) return;
    try {
      if (await this.store.seemsAlive(nodeId, STALL_GRACE_MS)) return;
    } catch {
      return; // Redis away: the next heartbeat retries
    }
    await this.recover(nodeId);
  }

  /** Recovers deadNode unless another node already does; resolves when done (or skipped). */
  recover(deadNode: string): Promise<void> {
    if (deadNode === this.options.backend.bus.nodeId) return Promise.resolve();
    let run = this.running.get(deadNode);
    if (run === undefined) {
      run = this.run(deadNode).finally(() => this.running.delete(deadNode));
      this.running.set(deadNode, run);
    }
    return run;
  }

  /**
   * Resolves once deadNode's limbo has been forwarded (recovery "done"), recovering it here if
   * nobody does and it is gone; at once if it is not gone (a subscriber between reconnects, a
   * stalled host: whatever is owed arrives later through the moved set and a QUEUED notice); after
   * SETTLE_TIMEOUT_MS at the latest.
   */
  private async awaitRecovered(deadNode: string): Promise<void> {
    const started = Date.now();
    try {
      while (Date.now() - started < SETTLE_TIMEOUT_MS) {
        const state = await this.store.state(deadNode);
        if (state === 'done') {
          this.log.info({ deadNode, waitedMs: Date.now() - started }, 'recovery: a resumed session waited for its previous node\'s recovery');
          return;
        }
        if (state === null) {
          if (!(await this.store.isGone(deadNode))) return;
          await this.recover(deadNode);
          continue;
        }
        await (this.running.get(deadNode) ?? new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS)));
      }
      this.log.warn({ deadNode, waitedMs: Date.now() - started }, 'recovery: a resumed session stopped waiting for its previous node\'s recovery; what it is owed comes later');
    } catch (err) {
      this.log.warn({ err, deadNode }, 'recovery: could not wait for a dead node\'s recovery; what a resumed session is owed comes later');
    }
  }

  private async run(deadNode: string): Promise<void> {
    const { bus } = this.options.backend;
    try {
      if (!(await this.store.claimNode(deadNode))) return;
    } catch {
      return; // Redis away: retried by the next trigger
    }
    try {
      const started = Date.now();
      const [clients, movedIds] = await this.store.clientsAndMoved(deadNode);
      const moved = new Set(movedIds);
      let wills = 0;
      let adopted = 0;
      await Promise.all(
        clients.map(async (clientId) => {
          const outcome = await this.recoverClient(clientId, deadNode);
          if (outcome.will) wills++;
          if (outcome.adopted) adopted++;
          if (outcome.moved) moved.add(clientId);
        }),
      );
      let bridged = 0;
      await Promise.all(
        [...moved].map(async (clientId) => {
          const record = await this.options.backend.sessions.load(clientId);
          if (record === null || record.expiryInterval === 0) return; // a clean session now: owed nothing
          bridged++;
          await this.forwarded.addBridge(clientId, record.subscriptions);
        }),
      );
      await bus.announceGone(deadNode);
      const drained = await bus.drainLimbo(deadNode, this.forwarded.replayOf(deadNode));
      await this.forwarded.settled();
      await this.store.forget(deadNode);
      await this.store.markDone(deadNode);
      for (const clientId of moved) this.forwarded.endBridge(clientId);
      this.log.warn({ deadNode, clients: clients.length, wills, adopted, bridged, drained, ms: Date.now() - started }, 'recovery: recovered a dead node');
    } catch (err) {
      this.log.error({ err, deadNode }, 'recovery: failed; the node stays expired and is retried on the next heartbeat');
      await this.options.backend.redis.del(this.options.backend.keys.recovery(deadNode)).catch(() => {});
    }
  }

  private async recoverClient(clientId: string, deadNode: string): Promise<{ will: boolean; adopted: boolean; moved: boolean }> {
    const connectionId = `${ADOPTED_PREFIX}${this.options.backend.bus.nodeId}:${clientId}`;
    const epoch = await this.store.adoptClient(clientId, deadNode, connectionId);
    if (epoch === null) return { will: false, adopted: false, moved: true }; // reconnected elsewhere already
    const will = await this.store.takeWill(clientId, deadNode);
    if (will !== null) this.publishWill(clientId, connectionId, will.message, will.delaySeconds);
    const record = await this.options.backend.sessions.load(clientId);
    if (record === null || record.expiryInterval === 0) {
      this.options.backend.ownership.release(clientId, epoch);
      return { will: will !== null, adopted: false, moved: false };
    }
    await this.forwarded.adopt(clientId, record.subscriptions, record.expiryInterval, epoch);
    // The client may have come back while we adopted it (its takeover notice found nothing yet).
    const owner = await this.options.backend.ownership.ownerOf(clientId);
    if (owner?.connectionId !== connectionId) this.forwarded.bridge(clientId);
    return { will: will !== null, adopted: true, moved: false };
  }

  private publishWill(clientId: string, connectionId: string, message: Message, delaySeconds: number): void {
    const send = () => this.options.publish(willPublication(message)).catch((err: unknown) => this.log.error({ err, clientId }, 'recovery: could not publish a will'));
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
