// The broker core talks to shared state only through these interfaces. Two implementations
// exist: memory/ (one process, the embedded default) and redis/ (the cluster). Both pass the
// same contract suite (test/contract/).
//
// Shape of the API, chosen for the hot path:
// - Reads return Promises (Redis will be a round trip).
// - Writes return void: they are queued in order (Redis: pipelined on one connection) and the
//   core never awaits them per message. `flush()` resolves when every write issued before it
//   is durable, and rejects if any of them failed; the core awaits it only where the spec
//   needs a hand-off first (before PUBACK/PUBREC of a message whose delivery wrote state,
//   before CONNACK of a resumed session, before SUBACK).
import type { Properties, QoS } from '../protocol/types.js';

/** A message as it travels inside the broker (not tied to one client's packet id). */
export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** v5 properties forwarded to subscribers (payload format, content type, response topic, correlation data, user properties). */
  properties?: Properties;
  /** Epoch ms after which it must not be delivered (v5 Message Expiry Interval). */
  expiresAt?: number;
  /** Set on messages from the bus: the sending node and its sequence number (not stored with the message). */
  origin?: Origin;
  /** Set on messages from the bus: epoch ms the sender handed it to Redis (replay compares it with subscription times). */
  publishedAt?: number;
}

export interface SubscriptionOptions {
  qos: QoS;
  /** v5 No Local, Retain As Published, Retain Handling. */
  nl?: boolean;
  rap?: boolean;
  rh?: 0 | 1 | 2;
  /** v5 Subscription Identifier. */
  subscriptionId?: number;
  /** Epoch ms the subscription was made: a replayed message published before it is not for it. */
  since?: number;
}

/** An outgoing QoS 1/2 message awaiting acknowledgement, kept so it can be resent on resume. */
export interface InflightRecord {
  messageId: number;
  /** 'publish': PUBLISH sent, awaiting PUBACK/PUBREC. 'pubrel': PUBREC received, PUBREL sent, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
  message: Message;
}

/** Per-client bounds of a queue (--max-queued, --max-queued-bytes; bytes 0 = no byte bound). */
export interface QueueLimits {
  readonly messages: number;
  readonly bytes: number;
}

/** What a queue limit counts of a message: its payload and topic (UTF-16 length: close enough, and free). */
export function queuedSize(message: Message): number {
  return message.payload.length + message.topic.length;
}

/**
 * Where a message crossing the bus came from: the sending node and its sequence number there
 * (per sender, growing with every message it hands to the bus). A session records, per sender
 * and per node that held it, the highest sequence it took (InflightRecord.origin, enqueue), so a
 * replay of what a dead node received skips what that node's sessions had already taken.
 */
export interface Origin {
  readonly sender: string;
  readonly seq: number;
  /**
   * The frame reached this node through its limbo because nobody heard it live (the sender's
   * PUBLISH found no subscriber): never a copy of a live delivery, and it may come after newer
   * live ones, so it is not skipped by "taken already" (which assumes a sender's order).
   */
  readonly unheard?: boolean;
}

/** A replayed message: its origin, and the (dead) node whose sessions it was sent to. */
export interface ReplayOrigin extends Origin {
  readonly holder: string;
}

export interface SessionRecord {
  clientId: string;
  /** Seconds the session outlives its connection; 0xFFFFFFFF = never expires. */
  expiryInterval: number;
  /** Epoch ms its client went offline (parked), when it has not connected since: its expiry counts from then. */
  offlineAt?: number;
  subscriptions: Map<string, SubscriptionOptions>;
}

export interface SessionStore {
  /** The persisted session, or null when there is none (or it expired). */
  load(clientId: string): Promise<SessionRecord | null>;
  /** Creates or updates the session's metadata (not its subscriptions). */
  save(clientId: string, expiryInterval: number): void;
  /** The session's client went offline at `at` (epoch ms): its expiry counts from then (SessionRecord.offlineAt). */
  parked(clientId: string, at: number): void;
  /** Removes the session and everything that belongs to it: subscriptions, queue, in-flight, incoming QoS 2 ids. */
  delete(clientId: string): void;

  addSubscriptions(clientId: string, subs: ReadonlyArray<readonly [filter: string, options: SubscriptionOptions]>): void;
  removeSubscriptions(clientId: string, filters: readonly string[]): void;

  /**
   * Appends to the offline queue unless that would take it past either limit; the result says
   * whether it was kept. With `origin` it is skipped, as kept, when the session already took that
   * message on origin.holder (see ReplayOrigin); when origin.holder is this node (its session takes
   * it now) it is recorded as taken; for another (dead) holder it is only checked. durable: settles
   * only once the write is where flush() would have it (Redis: on the replicas
   * --redis-wait-replicas asks for), for a write no flush covers (broker/queue-writer.ts).
   */
  enqueue(clientId: string, message: Message, limits: QueueLimits, origin?: ReplayOrigin, durable?: boolean): Promise<boolean>;
  /** Removes and returns the queued messages, oldest first. */
  drainQueue(clientId: string): Promise<Message[]>;
  /**
   * Moves up to ids.length of the oldest queued messages into the in-flight records, atomically, the
   * i-th under packet id ids[i] (state 'publish'), and returns those records: a message is always in
   * the queue or in flight, never only in a process that may die. `epoch`: the claim of the client id
   * the taking session holds; once a newer claim took the id (a new connection, perhaps on another
   * node, that may have read the in-flight records already), nothing is moved (Redis: the owner
   * record decides; in one process the two cannot interleave).
   */
  takeQueued(clientId: string, ids: readonly number[], epoch: number): Promise<InflightRecord[]>;
  queueLength(clientId: string): Promise<number>;

  /**
   * Records a message sent and awaiting acknowledgement. A message from the bus (message.origin)
   * also advances what this node's copy of the session has taken from its sender (ReplayOrigin).
   */
  putInflight(clientId: string, record: InflightRecord): void;
  deleteInflight(clientId: string, messageId: number): void;
  /** In-flight records, in the order they were first put. */
  loadInflight(clientId: string): Promise<InflightRecord[]>;

  /** Incoming QoS 2 packet ids received (PUBREC sent) and not yet released by PUBREL. */
  addIncomingQos2(clientId: string, messageId: number): void;
  removeIncomingQos2(clientId: string, messageId: number): void;
  loadIncomingQos2(clientId: string): Promise<number[]>;

  /**
   * The will of the live connection holding clientId (null clears it). Kept in the shared store so
   * that when a worker dies, another node publishes its clients' wills (exactly once, see cluster/).
   */
  setWill(clientId: string, will: Message | null, delaySeconds?: number): void;

  /** Resolves when all writes issued so far are durable; rejects if any failed. */
  flush(): Promise<void>;

  /**
   * True when another process may resume a session from this store (Redis): a packet whose
   * exactly-once promise rests on a stored record (a QoS 2 PUBLISH, PUBREL, PUBCOMP) then waits
   * for that record to be stored before it is written to the client.
   */
  readonly sharedAcrossProcesses?: boolean;
}

export interface RetainedStore {
  /** Stores (or, with null, clears) the retained message of a topic. */
  set(topic: string, message: Message | null): void;
  /** Retained messages whose topic matches the filter, found through an index (never a scan of every topic). */
  match(filter: string): Promise<Message[]>;
  count(): Promise<number>;
  flush(): Promise<void>;
}

/** Who holds a client id: exactly one live connection per id, cluster-wide. */
export interface SessionOwnership {
  /**
   * Takes the client id for this node. Returns a fencing epoch that grows with every claim;
   * if another connection (on this or any node) held it, that holder is told to close
   * (through the handler given to onTakeover on its node). `clean`: the claim starts a new session
   * (Clean Start): the holder's handler is told, so it keeps nothing of the old one alive.
   */
  claim(clientId: string, connectionId: string, clean?: boolean): Promise<number>;
  /** Gives the id up, unless a newer claim (higher epoch) already took it. */
  release(clientId: string, epoch: number): void;
  /** Called on the node that held clientId when a newer claim took it (remote: the claim is on another node; clean: a Clean Start claimed it). */
  onTakeover(handler: (clientId: string, connectionId: string, epoch: number, remote?: boolean, clean?: boolean) => void): void;
  /**
   * Optional (cluster): tells the node holding clientId that its store queue got messages (a bridge
   * or a replay queued them on this node); that node takes them (MessageBus.onQueued there).
   */
  notifyQueued?(clientId: string): void;
  /**
   * Optional (cluster): called by the core after a resumed session's routes are in place and
   * before it drains the queue. Resolves when messages routed to the previous holder (a node
   * that died unrecovered) have been moved into the queue, or when waiting longer is pointless.
   * `wait` false: only forget what the claim noted (a clean start owes nothing).
   */
  settle?(clientId: string, wait?: boolean): Promise<void>;
}

/** Messages leaving this process for other workers and hosts. */
export interface MessageBus {
  readonly nodeId: string;
  /**
   * Declares that this node has a subscriber for filter (the core calls it when its local count
   * of subscribers for the filter goes 0 → 1). Resolves once every other live node will route
   * matching messages here, so a SUBACK sent after it is safe [request/response needs this].
   */
  addRoute(filter: string): Promise<void>;
  /** The local count went 1 → 0. */
  removeRoute(filter: string): void;
  /**
   * Hands msg to every other node with a matching route (batched; nothing is sent when none
   * matches). Resolves when handed to the transport; rejects when it could not be — the core
   * must then not acknowledge the PUBLISH.
   *
   * `shared` (node id → shared subscription groups) sends the message also to nodes chosen to
   * deliver it to one member of those groups (MQTT 5 4.8.2); they get the groups with it.
   * `reach` (optional): marked matched when some other node has a route for the topic.
   */
  publish(message: Message, shared?: ReadonlyMap<string, readonly string[]>, reach?: Reach): Promise<void>;
  /**
   * Messages from other nodes, to deliver to local subscribers only; `groups` are the shared
   * subscription groups this node was chosen for (deliver to one local member of each). A node
   * never delivers a message from the bus to a group it was not chosen for.
   */
  onMessage(handler: (message: Message, groups: readonly string[] | undefined) => void): void;
  /** Number of shared subscription groups routed to other nodes (0: nothing to choose per message). */
  readonly sharedRouteCount: number;
  /** Calls visit for each group of other nodes whose filter matches topic. */
  matchSharedRoutes(topic: string, visit: (route: SharedRoute) => void): void;
  /**
   * Optional (cluster): another node appended messages to the store queue of clientId, held on
   * this node; the core delivers them if the client is online (else they wait for its resume).
   */
  onQueued?(handler: (clientId: string) => void): void;
  /**
   * Optional (cluster) flow control, called by the core right after publish() with the publishing
   * connection: if a node the message went to is behind (too much of what we sent it unprocessed),
   * the publisher is paused and resumed once that node has caught up (bus-flow.ts).
   */
  throttle?(publisher: Throttled): void;
  /**
   * Optional (cluster): the number the bus will give the next message this node publishes, taken
   * now; publish() then uses it for a message whose origin carries it (broker.ts numbers local
   * publishes while a bridge may also queue them).
   */
  reserveSeq?(): number;
  /** Count of messages this node received from the bus (tests use it to prove routing by interest). */
  readonly received: number;
  close(): Promise<void>;
}

/**
 * Filled in while a message is routed (Broker.publish, MessageBus.publish), when the caller wants to
 * know: `matched` is set once a subscriber anywhere matched it (a local subscription, parked or not,
 * a shared subscription group here or on another node, another node's route). Nobody resets it: the
 * caller passes a fresh one. A v5 PUBACK/PUBREC then says 0x10 No matching subscribers when unset.
 */
export interface Reach {
  matched: boolean;
}

/**
 * Appended to a group's route while the node has a connected member of it. U+0000 cannot occur
 * in an MQTT filter, so such a route never collides with a real one.
 */
export const SHARED_ONLINE_SUFFIX = '\0online';

/** A shared subscription group (`$share/{name}/{filter}`) as other nodes hold it. */
export interface SharedRoute {
  /** The subscription as subscribed, `$share/{name}/{filter}`: the group's id everywhere. */
  readonly group: string;
  /** Other nodes with at least one member, in the order they announced it. */
  readonly nodes: readonly string[];
  /** Those of them with at least one connected member (route `{group}` + SHARED_ONLINE_SUFFIX). */
  readonly online: readonly string[];
  /** Round-robin position of the publishing node's choice; advanced by the chooser. */
  turn: number;
}

/** A publisher the bus can hold back: the core stops and restarts reading its socket. */
export interface Throttled {
  /** Stops reading; false if it was already stopped (then it is not resumed twice). */
  pauseReading(): boolean;
  resumeReading(): void;
}

/** Everything a broker core needs from the outside world. */
export interface Backend {
  sessions: SessionStore;
  retained: RetainedStore;
  ownership: SessionOwnership;
  bus: MessageBus;
  /**
   * Optional (Redis): whether err, from any call above, means the shared store cannot be reached
   * right now (connection down or dropped mid-command) rather than a fault of the request. The
   * core then tells a connecting client "server unavailable" instead of logging an internal error.
   */
  unavailable?(err: unknown): boolean;
  close(): Promise<void>;
}
