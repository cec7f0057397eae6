// The broker core: the registry of connections and of the sessions this node owns, the local
// subscription index, and publish() — the one routing function.
//
// Ownership: a session is owned by the node that holds its client id (backend.ownership). The
// owner keeps the session's subscriptions in its TopicTree while the client is online AND while
// a persistent session is offline (delivery then goes to backend.sessions.enqueue). A persistent
// session keeps its claim after disconnect, so a reconnect on any node triggers onTakeover here
// and this node lets go of the offline session. Clean sessions release the claim when they end.
//
// Routing: publish() stores retained messages, delivers to local subscribers (deliveries.ts: the
// sessions here, their store queues, the authorizeDelivery hook) and hands the message to the bus
// for other nodes. Messages from the bus are delivered locally only.
// Shared subscriptions ($share/...) live in SharedSubscriptions, not in the TopicTree: each
// matching group gets the message once, on one node, through one member. Both, and the bus routes
// that follow them, are in LocalSubscriptions.
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../log.js';
import { ReasonCode, type Packet } from '../protocol/index.js';
import type { Backend, Message, QueueLimits, Reach, SubscriptionOptions, Throttled } from '../store/types.js';
import { DeadNodeSessions } from './dead-node-sessions.js';
import { DropLog } from './drop-log.js';
import { Connection, type ClientSocket, type ConnectionHost } from './connection.js';
import { dispatchPacket } from './handlers/dispatch.js';
import { ownPayload } from './outgoing.js';
import { LocalSubscriptions } from './local-subscriptions.js';
import { OfflineSessions } from './offline-sessions.js';
import { sweepConnections } from './keepalive.js';
import { QueueWriter } from './queue-writer.js';
import { Session, type SessionDeps } from './session.js';
import { BrokerCounters, type BrokerStats, type StatsSource } from './stats.js';
import { Wills } from './wills.js';
import { logClosed, logConnected } from './connection-log.js';
import { isSysTopic } from './sys-topics.js';
import { createAuthMethods, type AuthMethods } from './auth/enhanced-auth.js';
import { createCredentials, type Credentials } from './auth/credentials.js';
import { FailedLogins } from './auth/failed-logins.js';
import { Acl } from './acl/acl.js';
import { pruneDeniedSubscriptions, type NodeSessions } from './acl/prune.js';
import type { Hooks } from './hooks/hooks.js';
import { Deliveries } from './deliveries.js';
import type { ClientInfo } from './hooks/types.js';

/** What a library user or cluster worker adds to a broker beyond its config. */
export interface BrokerExtras {
  /** Plugin hooks (broker/hooks/); none: nothing asked, nothing told. */
  hooks?: Hooks | undefined;
  /** Users and ACL rules read by the caller (--auth redis: cluster/redis-auth.ts); default: from config's files. */
  credentials?: Credentials | undefined;
  acl?: Acl | undefined;
}

export interface SessionRequest {
  clientId: string;
  /** The username the client connected with (its identity for the ACL); undefined: anonymous. */
  username?: string | undefined;
  /** Who the client is, as plugin hooks are told. */
  client: ClientInfo;
  /** Clean session (v3/v4) / Clean Start (v5): discard any previous session [v3:MQTT-3.1.2-6] [v5:MQTT-3.1.2-4]. */
  clean: boolean;
  expiryInterval: number;
  will: Message | null;
  /** v5 Will Delay Interval, seconds. */
  willDelay: number;
  window: number;
  /** The CONNACK to send once the session is ready, given the session-present flag. */
  connack(sessionPresent: boolean): Buffer;
}

/**
 * How long a bridge outlives its cause (a takeover from another node, or the end of a dead node's
 * recovery): longer than the new holder needs to load the session and have its routes acked by
 * every node (the bus waits up to 1 s for acks).
 */
const BRIDGE_MS = 3000;
/** Drop reason: a shared group's last member here left while a message for it was on the bus. */
const SHARED_GROUP_GONE = 'shared group gone from this node';


export class Broker implements ConnectionHost, StatsSource {
  readonly counters = new BrokerCounters();
  /** --max-write-buffer; SIGHUP may change it (setLiveLimits). */
  maxWriteBuffer: number;
  readonly startedAt = Date.now();
  private readonly local: LocalSubscriptions;
  private readonly connections = new Map<string, Connection>();
  /** Client id → the connection holding it (connecting or connected). */
  private readonly online = new Map<string, Connection>();
  private readonly offline: OfflineSessions;
  /** --max-queued / --max-queued-bytes, for the queue behind the window and the offline queue alike; one object, changed in place by setLiveLimits. */
  readonly queueLimits: { -readonly [K in keyof QueueLimits]: QueueLimits[K] };
  readonly drops: DropLog;
  /** Store writes made by deliveries (in-flight records, queue entries): publish() waits for those it caused. */
  private readonly deliveryWrites = { count: 0 };
  /** Writes store queues; holds and retries, in order, what no publisher waits for (queue-writer.ts). */
  readonly queueWriter: QueueWriter;
  private connectedCount = 0;
  private nextConnection = 0;
  private readonly sweepTimer: NodeJS.Timeout;
  private closing = false;
  private readonly wills: Wills;
  /** The sessions of dead nodes that recovery hands to this node (cluster/recovery.ts). */
  readonly deadNodes: DeadNodeSessions;
  /** Shared by every session (not one object per session). */
  private readonly sessionDeps: SessionDeps;
  /** v5 enhanced authentication methods offered, by name (a library may add its own). */
  readonly authMethods: AuthMethods;
  /** Users and passwords (--password-file or --username/--password); SIGHUP re-reads them. */
  readonly credentials: Credentials;
  /** --acl-file's rules (re-read by reloadAcl); null: no ACL, everything allowed. */
  readonly acl: Acl | null;
  /** Plugin hooks; null: none (the hot path then pays one null check). */
  readonly hooks: Hooks | null;
  /** Where routed messages go on this node (sessions, store queues; the authorizeDelivery hook). */
  private readonly deliveries: Deliveries;
  /** Failed logins per remote address: counted, logged, their refusals held (auth/failed-logins.ts). */
  readonly failedLogins: FailedLogins;

  /** `extras`: plugin hooks; users and rules read by the caller (--auth redis; default: from config's files). */
  constructor(readonly config: BrokerConfig, readonly backend: Backend, readonly log: Logger, extras: BrokerExtras = {}) {
    this.maxWriteBuffer = config.maxWriteBuffer;
    // First: a bad password file or ACL throws before anything is started.
    this.credentials = extras.credentials ?? createCredentials(config);
    this.acl = extras.acl ?? (config.aclFile === undefined ? null : Acl.load(config.aclFile));
    this.authMethods = createAuthMethods(config, this.credentials);
    this.hooks = extras.hooks !== undefined && extras.hooks.size > 0 ? extras.hooks : null;
    this.failedLogins = new FailedLogins(config, log);
    this.local = new LocalSubscriptions(
      backend.bus,
      log,
      (clientId) => this.online.get(clientId)?.state === 'connected',
      (clientId, fan, target) => this.deliveries.to(clientId, fan, target),
    );
    this.offline = new OfflineSessions(
      (clientId, entry) => {
        // v5 Session Expiry Interval elapsed while offline.
        this.local.remove(clientId, entry.subscriptions.keys());
        backend.sessions.delete(clientId);
        backend.ownership.release(clientId, entry.epoch);
      },
      (clientId, entry) => this.local.remove(clientId, entry.subscriptions.keys()), // a bridge ended
    );
    this.queueLimits = { messages: config.maxQueued, bytes: config.maxQueuedBytes };
    this.drops = new DropLog(this.counters, log);
    this.queueWriter = new QueueWriter({
      store: backend.sessions,
      limits: this.queueLimits,
      drops: this.drops,
      log,
      nodeId: backend.bus.nodeId,
      maxWaitingBytes: config.redisPendingBytes,
      notifyHolder: (clientId) => backend.ownership.notifyQueued?.(clientId),
      queueChanged: (clientId) => this.queueChanged(clientId),
    });
    const queue = this.queueWriter;
    this.deliveries = new Deliveries({ online: this.online, offline: this.offline, local: () => this.local, hooks: this.hooks, writes: this.deliveryWrites, queue });
    this.sessionDeps = { store: backend.sessions, counters: this.counters, log, limits: this.queueLimits, drops: this.drops, nodeId: backend.bus.nodeId, writes: this.deliveryWrites, queue };
    this.wills = new Wills((will) => this.publish(will), backend.sessions, log);
    this.deadNodes = new DeadNodeSessions({
      local: this.local,
      offline: this.offline,
      wills: this.wills,
      bus: backend.bus,
      holds: (clientId) => this.online.has(clientId),
      dropStale: (clientId) => this.dropStale(clientId),
      enqueue: (clientId, message, notifyHolder, replayedFrom) => this.deliveries.enqueueReplayed(clientId, message, notifyHolder, replayedFrom),
    });
    backend.bus.onMessage((message, groups) => {
      const fan = this.deliveries.local(message);
      if (groups === undefined) return;
      const dropped = this.local.shared.deliverFromBus(message, groups, fan);
      if (dropped > 0) this.counters.drop(SHARED_GROUP_GONE, dropped);
    });
    backend.ownership.onTakeover((clientId, connectionId, _epoch, remote, clean) => this.onTakeover(clientId, connectionId, remote === true, clean === true));
    backend.bus.onQueued?.((clientId) => this.queueChanged(clientId));
    // One timer for every connection's keep-alive and connect timeout (no timer per connection).
    const sweepMs = Math.max(25, Math.min(1000, Math.floor(config.connectTimeoutMs / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
    this.sweepTimer.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Takes a freshly accepted socket. */
  accept(socket: ClientSocket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const id = `${this.backend.bus.nodeId}:${++this.nextConnection}`;
    const conn = new Connection(id, socket, this, this.config.maxPacketSize);
    this.connections.set(id, conn);
  }

  dispatch(conn: Connection, packet: Packet): void {
    dispatchPacket(this, conn, packet);
  }

  private corked: Connection[] = [];
  private readonly uncorkAll = (): void => {
    const corked = this.corked;
    this.corked = [];
    for (const conn of corked) conn.uncork();
  };

  scheduleUncork(conn: Connection): void {
    if (this.corked.push(conn) === 1) process.nextTick(this.uncorkAll);
  }

  // ---- routing ----------------------------------------------------------------------------

  /**
   * Routes a message published on this node: retained store, local subscribers, other nodes.
   * The promise settles when other nodes have it (QoS 1/2 acknowledgements wait for it).
   * `publisher`: the client connection it came from, which the bus may hold back (flow control).
   * `reach`: marked matched if a subscriber anywhere matched the message (v5 PUBACK 0x10 when not);
   * told by the steps that route it, so a caller that does not ask pays nothing and no topic is matched twice.
   */
  publish(message: Message, originClientId?: string, publisher?: Throttled, reach?: Reach): Promise<void> {
    if (message.retain) {
      // An empty payload clears the retained message [v3:MQTT-3.3.1-10] [v5:MQTT-3.3.1-6]; otherwise it replaces it [MQTT-3.3.1-5].
      this.backend.retained.set(message.topic, message.payload.length === 0 ? null : ownPayload(message));
    }
    const bus = this.backend.bus;
    // A bridge here may queue this message for a client whose new node gets it from the bus too:
    // numbered now (as the bus numbers it), the holder can tell the two copies apart.
    if (this.offline.bridgeCount > 0 && message.origin === undefined && bus.reserveSeq !== undefined) message.origin = { sender: bus.nodeId, seq: bus.reserveSeq() };
    const writesBefore = this.deliveryWrites.count;
    const gate = this.deliveries.gate;
    const outer = gate?.begin() ?? null;
    const fan = this.deliveries.local(message, originClientId, true);
    // Shared subscriptions, here or elsewhere in the cluster: choose a node (and member) per group.
    const shared = this.local.shared;
    const away = shared.size === 0 && bus.sharedRouteCount === 0 ? undefined : shared.deliverPublished(message, fan, bus, reach);
    const held = gate === null ? null : gate.end(outer);
    // A matching subscription counts even when No Local skips its copy (as Mosquitto counts it).
    if (reach !== undefined && (fan !== undefined || away !== undefined)) reach.matched = true;
    const handedOver = bus.publish(message, away, reach);
    // Flow control: a publisher whose message went to a node that is behind waits for it.
    if (publisher !== undefined) bus.throttle?.(publisher);
    if (message.qos === 0) return handedOver;
    // The acknowledgement promises what this node stored for its subscribers too (in flight, queued),
    // including for deliveries an async authorizeDelivery hook was still deciding.
    const stored = this.deliveryWrites.count !== writesBefore;
    if (!stored && !message.retain && held === null) return handedOver;
    const waits = [handedOver];
    if (stored) waits.push(this.backend.sessions.flush());
    if (held !== null) waits.push(held.promise().then(() => this.backend.sessions.flush()));
    if (message.retain) waits.push(this.backend.retained.flush());
    return Promise.all(waits).then(() => undefined);
  }

  /** An entry this node still has for clientId (a bridge, say) gives way to a session of it here. */
  private dropStale(clientId: string): void {
    const stale = this.offline.take(clientId);
    if (stale !== undefined) this.local.remove(clientId, stale.subscriptions.keys());
  }

  // ---- subscriptions ------------------------------------------------------------------------

  /** Adds subscriptions; resolves when every node routes matching messages here (then SUBACK). */
  async subscribe(session: Session, subs: Array<readonly [string, SubscriptionOptions]>): Promise<void> {
    const routes: Promise<void>[] = [];
    const connected = this.online.get(session.clientId)?.state === 'connected';
    const now = Date.now();
    for (let i = 0; i < subs.length; i++) {
      const [filter, given] = subs[i]!;
      // Stamped with when it began (a replacement keeps the first time): a replay after a node's death
      // gives a session only what was published while it was subscribed.
      const options: SubscriptionOptions = { ...given, since: session.subscriptions.get(filter)?.since ?? now };
      subs[i] = [filter, options];
      session.subscriptions.set(filter, options); // replaces an existing one [MQTT-3.8.4-3]
      this.local.add(session.clientId, filter, options, connected, routes);
    }
    if (session.persistent) {
      this.backend.sessions.addSubscriptions(session.clientId, subs);
      routes.push(this.backend.sessions.flush());
    }
    await Promise.all(routes);
  }

  /** Returns, per filter, whether a subscription existed. */
  unsubscribe(session: Session, filters: readonly string[]): boolean[] {
    const existed = filters.map((filter) => session.subscriptions.delete(filter));
    this.local.remove(session.clientId, filters.filter((_, i) => existed[i]));
    if (session.persistent) this.backend.sessions.removeSubscriptions(session.clientId, filters);
    return existed;
  }

  /** Sends the retained messages matching a new subscription, RETAIN set (Deliveries.retained). */
  async sendRetained(conn: Connection, filter: string, options: SubscriptionOptions): Promise<void> {
    const messages = await this.backend.retained.match(filter);
    if (conn.session === null || conn.state !== 'connected') return;
    await this.deliveries.retained(conn, messages, options);
  }

  // ---- sessions -------------------------------------------------------------------------------

  /**
   * Claims the client id (closing any older holder [v3:MQTT-3.1.4-2] [v5:MQTT-3.1.4-3]), then resumes or starts the
   * session, sends CONNACK and then what the session still owes the client (in-flight messages
   * again with DUP, then the offline queue, in order). Returns false if the connection closed meanwhile.
   */
  async openSession(conn: Connection, request: SessionRequest): Promise<boolean> {
    const { clientId } = request;
    const store = this.backend.sessions;
    conn.clientId = clientId;
    const epoch = await this.backend.ownership.claim(clientId, conn.id, request.clean);
    conn.epoch = epoch;
    if (conn.closed) {
      if (!conn.takenOver) this.backend.ownership.release(clientId, epoch);
      return false;
    }
    this.online.set(clientId, conn);
    // What this node still indexes for clientId (its parked session, a bridge, the connection just
    // taken over) passes to this connection: kept until the session's own subscriptions are in the
    // index, so nothing published meanwhile finds no subscriber (it is queued, and taken once connected).
    const inherited = this.offline.take(clientId);
    let record = null;
    if (request.clean) store.delete(clientId); // [v3:MQTT-3.1.2-6] [v5:MQTT-3.1.2-4]
    else record = await store.load(clientId);
    const session = new Session(clientId, request.expiryInterval, request.window, conn, this.sessionDeps);
    session.epoch = epoch;
    session.client = request.client;
    const acl = (session.acl = this.acl?.forClient(clientId, request.username) ?? null);
    if (acl !== null && request.will !== null && !acl.canPublish(request.will.topic)) {
      // A will is a publish: one the client may not make is dropped now, never stored or published.
      this.log.warn({ clientId, topic: request.will.topic }, 'will dropped: the ACL denies the client writing its topic');
      request.will = null;
    }
    if (request.will !== null && isSysTopic(request.will.topic)) {
      this.log.warn({ clientId, topic: request.will.topic }, 'will dropped: $SYS is read-only for clients');
      request.will = null;
    }
    session.will = request.will;
    session.willDelay = request.willDelay;
    session.stored = !request.clean || session.persistent || request.will !== null;
    conn.session = session;
    if (conn.closed) {
      // detached() ran before the session existed: the claim is still ours to give back.
      if (this.online.get(clientId) === conn) this.online.delete(clientId);
      if (!conn.takenOver) this.backend.ownership.release(clientId, epoch);
      if (inherited !== undefined) this.local.remove(clientId, inherited.subscriptions.keys());
      return false;
    }
    const routes: Promise<void>[] = [];
    if (record !== null) {
      const denied = acl === null ? [] : [...record.subscriptions.keys()].filter((filter) => !acl.canSubscribe(filter));
      if (denied.length > 0) {
        // Rights that shrank while the session was away: it resumes without what is now denied.
        this.log.info({ clientId, filters: denied }, 'ACL: subscriptions now denied removed from the resumed session');
        store.removeSubscriptions(clientId, denied);
      }
      for (const [filter, options] of record.subscriptions) {
        if (denied.includes(filter)) continue;
        session.subscriptions.set(filter, options);
        this.local.add(clientId, filter, options, false, routes);
      }
    }
    if (inherited !== undefined) this.local.remove(clientId, [...inherited.subscriptions.keys()].filter((filter) => !session.subscriptions.has(filter)));
    if (session.persistent) store.save(clientId, request.expiryInterval);
    // A clean start's delete() already removed any stored will: no second DEL for a will-less client.
    if (request.will !== null || !request.clean) store.setWill(clientId, request.will, request.willDelay);
    const [inflight, incoming] = await Promise.all([
      record !== null ? store.loadInflight(clientId) : Promise.resolve([]),
      record !== null ? store.loadIncomingQos2(clientId) : Promise.resolve([]),
      store.flush(),
      ...routes,
    ]);
    session.restoreIncomingQos2(incoming);
    // The routes are in place: if the previous holder died unrecovered, wait (bounded) until what
    // was routed to it is forwarded into the queue (cluster; see store/redis/ownership.ts).
    await this.backend.ownership.settle?.(clientId, record !== null);
    if (conn.closed) return false; // detached() has already parked or ended the session
    // From here on synchronously: nothing may be delivered to the client before its CONNACK.
    conn.state = 'connected';
    conn.everConnected = true;
    this.connectedCount++;
    this.counters.connectionsAccepted++;
    conn.write(request.connack(record !== null)); // session present [v3:MQTT-3.2.2-1/2/3] [v5:MQTT-3.2.2-2/3]
    logConnected(this.log, conn, request.clean, record !== null);
    this.local.setOnline(session, true);
    if (record !== null) session.watchCopies();
    session.resume(inflight);
    // What waits in the store queue (offline, or queued while connecting) fills the window next, in
    // order, ahead of anything new (Session: spilled).
    session.goOnline(record !== null);
    if (this.hooks?.has.connected === true) this.hooks.emit('connected', request.client);
    return true;
  }

  /** Another node appended to clientId's store queue (QUEUED notice): deliver it if online here. */
  private queueChanged(clientId: string): void {
    // Offline: the next resume takes it. Connecting: taken once connected.
    this.online.get(clientId)?.session?.queueChanged();
  }

  /** v5 DISCONNECT may change the Session Expiry Interval. */
  setSessionExpiry(session: Session, seconds: number): void {
    session.expiryInterval = seconds;
    if (seconds > 0) {
      session.stored = true;
      this.backend.sessions.save(session.clientId, seconds);
    }
  }

  /** A connection is gone: publish its will if due, then park or end its session. */
  detached(conn: Connection, publishWill: boolean): void {
    this.connections.delete(conn.id);
    logClosed(this.log, conn);
    const session = conn.session;
    if (session === null) return;
    const clientId = session.clientId;
    session.online = false;
    if (this.online.get(clientId) === conn) this.online.delete(clientId);
    if (conn.everConnected) {
      this.connectedCount--;
      if (this.hooks?.has.disconnected === true && session.client !== null) this.hooks.emit('disconnected', session.client, { reason: conn.closeReason });
    }
    if (!this.online.has(clientId)) this.local.setOnline(session, false);
    this.wills.connectionEnded(session, publishWill, conn.takenOver);
    const pending = session.takePending();
    if (session.persistent) for (const m of pending) void this.deliveries.enqueue(clientId, m);
    if (conn.takenOver) {
      // The newer connection owns the session now and restores its subscriptions from the store.
      // Until it has (here: its openSession takes this entry over) or its node's routes are in effect
      // everywhere (another node), what comes for the client here goes to its queue: a bridge.
      if (session.persistent && !conn.discardedByCleanStart) this.offline.bridge(clientId, BRIDGE_MS, session.subscriptions);
      else this.local.remove(clientId, session.subscriptions.keys());
      return;
    }
    if (session.persistent) {
      this.offline.park(clientId, conn.epoch, session.subscriptions, session.expiryInterval, undefined, session.acl, session.client);
      // Its expiry counts from now: a node that adopts it after this one dies keeps the count.
      this.backend.sessions.parked(clientId, Date.now());
      return;
    }
    this.local.remove(clientId, session.subscriptions.keys());
    // A clean start deleted what was stored; if nothing was stored since, there is nothing to delete.
    if (session.stored) this.backend.sessions.delete(clientId);
    this.backend.ownership.release(clientId, conn.epoch);
  }

  /** A newer claim took clientId (remote: on another node; clean: with Clean Start). */
  private onTakeover(clientId: string, connectionId: string, remote: boolean, clean: boolean): void {
    this.wills.cancel(clientId);
    const conn = this.connections.get(connectionId);
    if (conn !== undefined && conn.clientId === clientId) {
      conn.takenOver = true;
      // A Clean Start elsewhere discarded the session: no bridge for it (detached).
      conn.discardedByCleanStart = remote && clean;
      this.log.debug({ clientId, otherNode: remote }, 'takeover: a newer connection took the session; closing this one');
      conn.close('session taken over', { will: true, disconnectCode: ReasonCode.SessionTakenOver });
      return;
    }
    // Parked here and back on another node: a bridge until that node's routes are in effect
    // everywhere. Back on this node: its openSession takes the entry over.
    if (!remote || this.offline.get(clientId)?.mode !== 'parked') return;
    this.log.debug({ clientId, cleanStart: clean }, clean ? 'takeover: parked session discarded (Clean Start on another node)' : 'takeover: parked session bridged to its new node');
    if (clean) {
      // A Clean Start discarded the session [v3:MQTT-3.1.2-6] [v5:MQTT-3.1.2-4]: its subscriptions
      // must not deliver, not even for a while through a bridge into the new session's queue.
      const parked = this.offline.take(clientId);
      if (parked !== undefined) this.local.remove(clientId, parked.subscriptions.keys());
      return;
    }
    this.offline.bridge(clientId, BRIDGE_MS);
  }

  // ---- ACL reload ----------------------------------------------------------------------------

  /**
   * SIGHUP (config-reload.ts): limits that may change while clients are connected. Each is read
   * where it is used next: a queued message, a QoS 0 write, the connect sweep, a new CONNECT.
   */
  setLiveLimits(limits: Pick<BrokerConfig, 'maxQueued' | 'maxQueuedBytes' | 'maxWriteBuffer' | 'connectTimeoutMs' | 'maxInflight' | 'maxKeepalive'>): void {
    this.queueLimits.messages = limits.maxQueued;
    this.queueLimits.bytes = limits.maxQueuedBytes;
    this.maxWriteBuffer = limits.maxWriteBuffer;
    this.config.connectTimeoutMs = limits.connectTimeoutMs;
    this.config.maxInflight = limits.maxInflight;
    this.config.maxKeepalive = limits.maxKeepalive;
  }

  /**
   * Reads --acl-file again (SIGHUP). A bad file leaves the old rules in force (one error line).
   * With the new rules, the sessions of this node (connected and parked) lose the subscriptions
   * they no longer allow; every client's cached decisions are dropped. Returns whether it reloaded.
   */
  reloadAcl(): boolean {
    const acl = this.acl;
    if (acl === null) {
      this.log.debug('reload: no --acl-file, nothing to reload');
      return false;
    }
    try {
      acl.reload();
    } catch (err) {
      this.log.error({ file: acl.file }, `ACL not reloaded, the old rules stay: ${(err as Error).message}`);
      return false;
    }
    const removed = pruneDeniedSubscriptions(this.nodeSessions, this.log);
    this.log.info({ file: acl.file, rules: acl.ruleCount, subscriptionsRemoved: removed }, 'ACL reloaded');
    return true;
  }

  /** This node's sessions, as an ACL change prunes them. */
  private readonly nodeSessions: NodeSessions = {
    connected: () => this.connectedSessions(),
    parked: () => this.offline.parked(),
    unsubscribe: (session, filters) => this.unsubscribe(session, filters),
    unsubscribeParked: (clientId, filters) => {
      this.local.remove(clientId, filters);
      this.backend.sessions.removeSubscriptions(clientId, filters);
    },
  };

  private *connectedSessions(): IterableIterator<Session> {
    for (const conn of this.online.values()) if (conn.session !== null) yield conn.session;
  }

  // ---- timers, stats, shutdown --------------------------------------------------------------

  private sweep(): void {
    sweepConnections(this.connections.values(), this.config.connectTimeoutMs, Date.now());
  }

  /** Messages held in memory for connected clients: behind their in-flight window (queued), and sent but not acknowledged (inflight). */
  queueDepth(): { queued: number; inflight: number } {
    let queued = 0;
    let inflight = 0;
    for (const session of this.connectedSessions()) {
      queued += session.pendingCount;
      inflight += session.inflightCount;
    }
    return { queued, inflight };
  }

  /** Clients connected now (CONNACK sent, not gone). */
  get connectedClients(): number {
    return this.connectedCount;
  }

  /** Persistent sessions parked here while their clients are away. */
  get offlineSessions(): number {
    return this.offline.size;
  }

  /** Subscriptions indexed on this node. */
  get subscriptionCount(): number {
    return this.local.count;
  }

  async stats(): Promise<BrokerStats> {
    const c = this.counters;
    return {
      clientsConnected: this.connectedCount,
      clientsTotal: this.connectedCount + this.offline.size,
      messagesReceived: c.messagesReceived,
      messagesSent: c.messagesSent,
      messagesDropped: c.messagesDropped,
      bytesReceived: c.bytesReceived,
      bytesSent: c.bytesSent,
      subscriptions: this.local.count,
      retainedMessages: await this.backend.retained.count(),
    };
  }

  /** Closes every client (publishing wills: the server ended them [MQTT-3.1.2-8]) and stops timers. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    // Wills first, while every subscriber is still connected to receive them.
    this.wills.publishDelayedNow();
    for (const conn of this.connections.values()) {
      const session = conn.session;
      if (session === null || session.will === null) continue;
      this.wills.publishNow(session.will);
      session.will = null;
      if (session.persistent) this.backend.sessions.setWill(session.clientId, null);
    }
    for (const conn of [...this.connections.values()]) conn.close('server shutting down', { will: true, disconnectCode: ReasonCode.ServerShuttingDown });
    this.offline.close();
    this.queueWriter.close();
    this.drops.close();
    await this.wills.settled();
    await Promise.allSettled([this.backend.sessions.flush(), this.backend.retained.flush()]);
    await this.hooks?.close();
  }
}
